package runner

import (
	"io"
	"sync"
)

// agentIO is how a supervisor connects an invocation's process to its
// caller. Every method is safe on a nil agentIO: an agent created by
// CreateAgent, or taken back after a restart, has no caller to connect.
type agentIO struct {
	stdin    io.Reader      // the body; the shim header is put in front for function agents
	stdout   io.Writer      // nil: discarded (Podman's log keeps it)
	result   *Capped        // asynchronous invocations: stdout kept as the Result
	prepared *warmContainer // created, attached and started ahead, blocked on its stdin
	// started, if set, is called once the agent is stored, before its
	// container is made (see Invocation.Started).
	started func(Agent)
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
	// requestEnv is the invocation's request metadata (Http_* variables). It
	// reaches the process through the shim header but is never stored: headers
	// carry the callers' cookies and keys. An invocation run after a restart
	// (asynchronous, still pending) runs without it.
	requestEnv map[string]string
}

// env is the environment an invocation's process gets: the agent's stored
// env, with the request's metadata set over it.
func (aio *agentIO) env(stored map[string]string) map[string]string {
	if aio == nil || len(aio.requestEnv) == 0 {
		return stored
	}
	env := make(map[string]string, len(stored)+len(aio.requestEnv))
	for k, v := range stored {
		env[k] = v
	}
	for k, v := range aio.requestEnv {
		env[k] = v
	}
	return env
}

// announce calls started with the agent just stored.
func (aio *agentIO) announce(a Agent) {
	if aio != nil && aio.started != nil {
		aio.started(a)
	}
}

// endOutput calls outputEnded, once.
func (aio *agentIO) endOutput() {
	if aio == nil || aio.outputEnded == nil {
		return
	}
	aio.outputEndedOnce.Do(aio.outputEnded)
}

// output is where the process's stdout goes: an asynchronous invocation's
// result buffer, else the caller's writer; nil (discarded) without a caller.
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

// resultBuffer is the asynchronous invocation's output as its stream brought
// it; nil if there is none to trust (see streamBroke).
func (aio *agentIO) resultBuffer() *Capped {
	if aio == nil {
		return nil
	}
	return aio.result
}

// streamBroke drops the result buffer of a stream that broke before the end:
// it misses what the process wrote meanwhile, so the result is read from the
// container's log instead.
func (aio *agentIO) streamBroke() {
	if aio != nil {
		aio.result = nil
	}
}

// markExited closes exited once.
func (aio *agentIO) markExited() {
	if aio == nil || aio.exited == nil {
		return
	}
	aio.exitedOnce.Do(func() { close(aio.exited) })
}
