package runner_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/podrun/podrun/runner"
)

func TestCappedKeepsTheFirstBytes(t *testing.T) {
	for _, c := range []struct {
		max       int64
		writes    []string
		want      string
		truncated bool
	}{
		{4, []string{"ab", "cd"}, "abcd", false},
		{4, []string{"abc", "def"}, "abcd", true},
		{4, []string{"abcdef", "gh"}, "abcd", true},
		{0, []string{"no", " cap"}, "no cap", false},
	} {
		b := runner.NewCapped(c.max)
		for _, w := range c.writes {
			if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
				t.Fatalf("Write(%q) = %d, %v; want every byte taken", w, n, err)
			}
		}
		if got := b.String(); got != c.want || b.Truncated() != c.truncated {
			t.Errorf("max %d, writes %q: kept %q truncated %v; want %q %v", c.max, c.writes, got, b.Truncated(), c.want, c.truncated)
		}
	}
}

type failingWriter struct{ n int }

func (f *failingWriter) Write(p []byte) (int, error) {
	f.n++
	return 0, errors.New("client gone")
}

func TestCappedWriterPassesOnAndTellsOnce(t *testing.T) {
	var out bytes.Buffer
	overs := 0
	w := runner.NewCappedWriter(&out, 5, func() { overs++ })
	for _, s := range []string{"abc", "def", "ghi"} {
		if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if out.String() != "abcde" || overs != 1 || !w.Truncated() {
		t.Errorf("passed on %q, over called %d times, truncated %v; want abcde, once, true", out.String(), overs, w.Truncated())
	}

	// A reader that fails is dropped, and the stream keeps draining.
	f := &failingWriter{}
	w = runner.NewCappedWriter(f, 100, nil)
	for range 3 {
		if n, err := w.Write([]byte("x")); n != 1 || err != nil {
			t.Fatalf("Write to a failed reader = %d, %v; want the byte taken", n, err)
		}
	}
	if f.n != 1 {
		t.Errorf("the failed reader was written %d times, want once", f.n)
	}
}
