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
