package runner

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestValidateFilePath(t *testing.T) {
	for in, want := range map[string]string{
		"/tmp/x":          "/tmp/x",
		"/tmp/../../etc/": "/etc",
		"//tmp/./a//b":    "/tmp/a/b",
		"/":               "/",
	} {
		if got, err := ValidateFilePath(in); err != nil || got != want {
			t.Errorf("ValidateFilePath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "tmp/x", "/tmp/\x00", "/tmp/\xff", "/" + strings.Repeat("a", MaxFilePath)} {
		var fe *FieldError
		if _, err := ValidateFilePath(in); !errors.As(err, &fe) || fe.Field != "path" {
			t.Errorf("ValidateFilePath(%q) = %v, want a FieldError naming path", in, err)
		}
	}
}

// TestLimitReaderTellsExactlyMaxFromMore: a body of exactly the maximum passes, one byte more is ErrTooLarge.
func TestLimitReaderTellsExactlyMaxFromMore(t *testing.T) {
	for size, over := range map[int]bool{0: false, 9: false, 10: false, 11: true, 1000: true} {
		l := &limitReader{r: strings.NewReader(strings.Repeat("x", size)), left: 10}
		n, err := io.Copy(io.Discard, l)
		if over != l.over || over != errors.Is(err, ErrTooLarge) || (!over && int(n) != size) {
			t.Errorf("size %d: read %d, over %v, err %v", size, n, l.over, err)
		}
	}
}

func TestKeepAliveRefusesCommandAndStdin(t *testing.T) {
	p := Policy{DefaultTTL: 1e9, MaxTTL: 1e12}
	stdin := "x"
	for field, req := range map[string]AgentRequest{
		"command": {Image: "busybox", KeepAlive: true, Command: []string{"sh"}},
		"stdin":   {Image: "busybox", KeepAlive: true, Stdin: &stdin},
	} {
		var fe *FieldError
		if _, err := req.Validate(p); !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("keep_alive with %s: %v, want a FieldError naming %s", field, err, field)
		}
	}
	a, err := AgentRequest{Image: "busybox", KeepAlive: true}.Validate(p)
	if err != nil || !a.KeepAlive {
		t.Errorf("keep_alive alone = %+v, %v", a, err)
	}
}
