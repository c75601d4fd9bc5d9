package shimproto

import (
	"bytes"
	"strings"
	"testing"
)

func TestExitWatcherSeesTheExitLineAcrossWrites(t *testing.T) {
	var out bytes.Buffer
	exits := 0
	w := &ExitWatcher{W: &out, OnExit: func() { exits++ }}
	stream := strings.Repeat("noise ", 40) + "\n" + string(EncodeExit(3))
	for i := 0; i < len(stream); i += 7 { // the line arrives in pieces
		if _, err := w.Write([]byte(stream[i:min(i+7, len(stream))])); err != nil {
			t.Fatal(err)
		}
		if code, ok := w.Exit(); ok != (i+7 >= len(stream)) || (ok && code != 3) {
			t.Fatalf("after %d bytes: Exit() = %d, %v", min(i+7, len(stream)), code, ok)
		}
	}
	if out.String() != stream || exits != 1 {
		t.Errorf("passed on %q, OnExit called %d times; want the whole stream and once", out.String(), exits)
	}
	if _, err := w.Write([]byte("more\n")); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.Exit(); ok {
		t.Error("Exit() still reports an exit line that no longer ends the stream")
	}
}
