package runner

import (
	"context"
	"io"
)

// Invocation is one request to run a function.
type Invocation struct {
	Function string
	// Body is the process's stdin. A synchronous invocation streams it; an
	// asynchronous one reads it whole first (it must survive a restart).
	Body io.Reader
	// Env is the request's metadata (Http_Method, Http_Path, ...), set over the
	// function's env in the process's environment. It is neither stored with the
	// agent nor shown by it: headers carry the callers' cookies and keys.
	Env         map[string]string
	Async       bool
	CallbackURL string // asynchronous only: where the result is POSTed
	// Output receives stdout as the process writes it (synchronous only). Writes
	// past the function's max_output end the agent with reason output_limit.
	Output io.Writer
	// Started is called once the agent exists, before the first write to Output (synchronous only).
	Started func(a Agent)
	// OutputEnded is called once the process's output has ended: its stream
	// closed because it exited or was killed. It comes before the exit is
	// recorded and Invoke returns, so a caller can tell "the process is done"
	// apart from podrun's own work after it (synchronous only; nil: not called).
	OutputEnded func()
}

// InvokeResult is how an invocation ended (synchronous), or the accepted agent (asynchronous).
type InvokeResult struct {
	Agent    Agent
	ExitCode int
}

// Notifier delivers an asynchronous invocation's result to its callback URL.
type Notifier interface {
	// Notify makes one delivery attempt; an error means try again later.
	Notify(ctx context.Context, url string, a Agent, r Result) error
}
