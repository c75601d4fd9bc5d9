package shimproto

import (
	"io"
	"sync"
)

// ExitWatcher is a shim'd process's stderr on its way to W: it passes every
// write on (a nil W discards), keeps the last ExitTail bytes, and tells
// whether they end with the shim's exit line. Safe for concurrent use.
type ExitWatcher struct {
	// W receives the stream; nil discards it.
	W io.Writer
	// OnExit, if not nil, is called after each write that leaves the stream
	// ending with the exit line (the caller makes it idempotent).
	OnExit func()

	mu   sync.Mutex
	tail []byte
}

// Write keeps the end of p, then passes p on to W.
func (w *ExitWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.tail = append(w.tail, p[max(0, len(p)-ExitTail):]...)
	if n := len(w.tail); n > ExitTail {
		w.tail = append(w.tail[:0], w.tail[n-ExitTail:]...)
	}
	_, exited := DecodeExit(w.tail)
	w.mu.Unlock()
	n, err := len(p), error(nil)
	if w.W != nil {
		n, err = w.W.Write(p)
	}
	if exited && w.OnExit != nil {
		w.OnExit()
	}
	return n, err
}

// Exit returns the exit status from the exit line that ends what was
// written so far; false if it does not end with one.
func (w *ExitWatcher) Exit() (int, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return DecodeExit(w.tail)
}
