package runner

import (
	"io"
	"sync"
)

// agentIO is how a supervisor connects an invocation's process to its caller.
type agentIO struct {
	stdin    io.Reader      // the body; the shim header is put in front for function agents
	stdout   io.Writer      // nil: discarded (Podman's log keeps it)
	result   *Capped        // asynchronous invocations: stdout kept as the Result
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
	stderr          io.Writer // a shimproto.ExitWatcher when outputEnded is set; nil: stderr not attached
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
