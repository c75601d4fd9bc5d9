package runner

import (
	"io"
	"sync"

	"github.com/podrun/podrun/runner/shimproto"
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
	// outputEnded, if set, is called once the process's output has ended,
	// before its exit is recorded (see Invocation.OutputEnded): at the shim's
	// exit line on stderr (watched by stderr), or at the end of the stream.
	outputEnded     func()
	outputEndedOnce sync.Once
	stderr          io.Writer // an exitLineWatcher when outputEnded is set; nil: stderr not attached
}

// endOutput calls outputEnded, once; safe on a nil agentIO.
func (aio *agentIO) endOutput() {
	if aio == nil || aio.outputEnded == nil {
		return
	}
	aio.outputEndedOnce.Do(aio.outputEnded)
}

// output is where the process's stdout goes: an asynchronous invocation's
// result buffer, else the caller's writer; nil (discarded) on a nil agentIO.
func (aio *agentIO) output() io.Writer {
	switch {
	case aio == nil:
		return nil
	case aio.result != nil:
		return aio.result
	case aio.stdout != nil:
		return aio.stdout
	}
	return nil
}

// streamBroke drops the result buffer of a stream that broke before the end:
// it misses what the process wrote meanwhile, so the result is read from the
// container's log instead. Safe on a nil agentIO.
func (aio *agentIO) streamBroke() {
	if aio != nil {
		aio.result = nil
	}
}

// markExited closes exited once; safe on a nil agentIO or channel.
func (aio *agentIO) markExited() {
	if aio == nil || aio.exited == nil {
		return
	}
	aio.exitedOnce.Do(func() { close(aio.exited) })
}

// notifyOutputEnd calls outputEnded once att's stream has ended, if nothing
// did before; call it as soon as the streams are connected, so a process that
// exits at once is noticed however long the runner takes to record its start.
// Safe on a nil agentIO.
func (aio *agentIO) notifyOutputEnd(att Attachment) {
	if aio == nil || aio.outputEnded == nil {
		return
	}
	go func() {
		<-att.Done() // closed at the end of the stream, and when a shutdown closes it
		aio.endOutput()
	}()
}

// exitLineWatcher is a shim'd process's stderr as the runner sees it: it keeps
// the last bytes and calls ended once they end with the shim's exit line,
// which the shim writes after its command has exited. That comes a little
// before the end of the stream, which waits for the container's exit.
type exitLineWatcher struct {
	mu    sync.Mutex
	tail  []byte
	ended func()
}

func (e *exitLineWatcher) Write(p []byte) (int, error) {
	e.mu.Lock()
	e.tail = append(e.tail, p[max(0, len(p)-shimproto.ExitTail):]...)
	if n := len(e.tail); n > shimproto.ExitTail {
		e.tail = append(e.tail[:0], e.tail[n-shimproto.ExitTail:]...)
	}
	_, exited := shimproto.DecodeExit(e.tail)
	e.mu.Unlock()
	if exited {
		e.ended()
	}
	return len(p), nil
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
