package runner

import (
	"io"
	"sync"
)

// handoff stands in for a warm container's stdin and stdout while it waits in
// its pool, attached ahead so a request does not pay for the attach: reads and
// writes block until connect hands over an invocation's streams, or abandon
// ends them (stdin at EOF, output dropped).
type handoff struct {
	ready  chan struct{}
	once   sync.Once
	stdin  io.Reader // nil once abandoned
	stdout io.Writer // nil: dropped
	stderr io.Writer // nil: dropped
}

func newHandoff() *handoff { return &handoff{ready: make(chan struct{})} }

// connect hands the container to an invocation; stderr may be nil.
func (h *handoff) connect(stdin io.Reader, stdout, stderr io.Writer) {
	h.once.Do(func() {
		h.stdin, h.stdout, h.stderr = stdin, stdout, stderr
		close(h.ready)
	})
}

// abandon ends the streams of a container no invocation will take.
func (h *handoff) abandon() { h.once.Do(func() { close(h.ready) }) }

func (h *handoff) Read(p []byte) (int, error) {
	<-h.ready
	if h.stdin == nil {
		return 0, io.EOF
	}
	return h.stdin.Read(p)
}

func (h *handoff) Write(p []byte) (int, error) {
	<-h.ready
	if h.stdout == nil {
		return len(p), nil
	}
	return h.stdout.Write(p)
}

// errs is the container's stderr as the handoff passes it on. Unlike stdout it
// never blocks: what the shim writes before a connect (it failed while
// waiting) belongs to no invocation and is dropped.
func (h *handoff) errs() io.Writer { return handoffStderr{h} }

type handoffStderr struct{ h *handoff }

func (e handoffStderr) Write(p []byte) (int, error) {
	select {
	case <-e.h.ready:
	default:
		return len(p), nil
	}
	if e.h.stderr == nil {
		return len(p), nil
	}
	return e.h.stderr.Write(p)
}
