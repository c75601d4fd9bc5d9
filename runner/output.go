package runner

import (
	"io"
	"sync"
)

// agentIO is how a supervisor connects an invocation's process to its caller.
type agentIO struct {
	stdin    io.Reader      // the body; the shim header is put in front for function agents
	stdout   io.Writer      // nil: discarded (Podman's log keeps it)
	result   *cappedBuffer  // asynchronous invocations: stdout kept as the Result
	prepared *warmContainer // created, attached and started ahead, blocked on its stdin
	// exited is closed once the exit is recorded, before the container's
	// removal, so the caller's answer does not wait for cleanup.
	exited     chan struct{}
	exitedOnce sync.Once
}

// markExited closes exited once; safe on a nil agentIO or channel.
func (aio *agentIO) markExited() {
	if aio == nil || aio.exited == nil {
		return
	}
	aio.exitedOnce.Do(func() { close(aio.exited) })
}

// cappedWriter passes through at most max bytes, then calls over once and drops the rest.
type cappedWriter struct {
	mu   sync.Mutex
	w    io.Writer
	left int64
	over func()
	hit  bool
}

func newCappedWriter(w io.Writer, max int64, over func()) *cappedWriter {
	return &cappedWriter{w: w, left: max, over: over}
}

// Write never fails the stream: a failing client or the cap only drop bytes, so the
// attach stream keeps draining and the exit is still seen.
func (c *cappedWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(p)
	if int64(len(p)) > c.left {
		p = p[:c.left]
		if !c.hit {
			c.hit = true
			defer c.over()
		}
	}
	c.left -= int64(len(p))
	if len(p) > 0 && c.w != nil {
		if _, err := c.w.Write(p); err != nil {
			c.w = nil // the client is gone; its context ends the agent
		}
	}
	return n, nil
}

// cappedBuffer keeps the first max bytes written and notes whether more came.
type cappedBuffer struct {
	mu        sync.Mutex
	max       int64
	buf       []byte
	truncated bool
}

// writeLine appends a logged line as the process wrote it: with its newline unless it had none.
func (b *cappedBuffer) writeLine(l LogLine) {
	_, _ = b.Write([]byte(l.Text))
	if !l.Partial {
		_, _ = b.Write([]byte{'\n'})
	}
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := b.max - int64(len(b.buf))
	if int64(len(p)) > room {
		b.truncated = true
		b.buf = append(b.buf, p[:max(room, 0)]...)
	} else {
		b.buf = append(b.buf, p...)
	}
	return len(p), nil
}

func (b *cappedBuffer) bytes() ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf, b.truncated
}
