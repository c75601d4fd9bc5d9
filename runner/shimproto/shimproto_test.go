package shimproto

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestRoundTripLeavesTheBodyUntouched(t *testing.T) {
	h := Header{Env: map[string]string{"Http_Method": "POST", "Http_X_Weird": "a\nb=c"}}
	framed, err := Encode(h)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("\x00binary\nbody")
	r := bytes.NewReader(append(framed, body...))
	got, err := Decode(r)
	if err != nil {
		t.Fatal(err)
	}
	if got.Env["Http_Method"] != "POST" || got.Env["Http_X_Weird"] != "a\nb=c" {
		t.Fatalf("env = %v", got.Env)
	}
	rest, _ := io.ReadAll(r)
	if !bytes.Equal(rest, body) {
		t.Fatalf("body after header = %q, want %q", rest, body)
	}
}

func TestDecodeRejectsGarbage(t *testing.T) {
	for _, in := range []string{"", "hello\n", "PODRUN1 x\n", "PODRUN1 99999999\n", "PODRUN1 5\n{}", "PODRUN2 2\n{}"} {
		if _, err := Decode(strings.NewReader(in)); err == nil {
			t.Errorf("Decode(%q) succeeded", in)
		}
	}
}

func TestExitLineRoundTrip(t *testing.T) {
	for _, code := range []int{0, 1, 3, 125, 127, 137, 255} {
		line := EncodeExit(code)
		for _, tail := range [][]byte{line, append([]byte("some error output\n"), line...), append([]byte("no newline"), line...)} {
			if got, ok := DecodeExit(tail); !ok || got != code {
				t.Errorf("DecodeExit(%q) = %d, %v; want %d", tail, got, ok, code)
			}
		}
	}
}

func TestDecodeExitRejects(t *testing.T) {
	for _, tail := range []string{
		"", "hello\n", "podrun-shim: exit status 0", "podrun-shim: exit status \n",
		"podrun-shim: exit status 256\n", "podrun-shim: exit status -1\n", "podrun-shim: exit status +1\n",
		"podrun-shim: exit status 0\nmore\n", "podrun-shim: exit status 1x\n", "podrun-shim: exit status 0\n\n",
	} {
		if code, ok := DecodeExit([]byte(tail)); ok {
			t.Errorf("DecodeExit(%q) = %d, true; want false", tail, code)
		}
	}
}
