package runner

import (
	"context"
	"io"
	"path"
	"time"
)

// ExecStreamRequest asks to run a command inside a running agent's container
// with its standard streams connected while it runs (a WebSocket, or a
// streamed HTTP answer), instead of buffered until it ends.
type ExecStreamRequest struct {
	Command []string
	Env     map[string]string // set over the container's environment
	Workdir string            // absolute; "" is the container's working directory
	// TTY runs the command on a terminal: stdout and stderr are one stream
	// (the terminal's), and the terminal can be resized.
	TTY     bool
	Timeout string   // a Go duration; "" for none (the client's presence and the agent's life bound it)
	Size    TermSize // the terminal's first size when TTY; zero leaves the engine's default
}

// TermSize is a terminal's size in character cells.
type TermSize struct {
	Rows, Cols uint16
}

// MaxStreamExecTimeout bounds a streaming exec's timeout when one is given.
const MaxStreamExecTimeout = 24 * time.Hour

// ExecIO connects a streaming exec to its client.
type ExecIO struct {
	// Stdin is read until EOF, which closes the command's stdin; nil gives it none.
	Stdin io.Reader
	// Stdout and Stderr receive the output as it is written; with a
	// terminal everything arrives on Stdout. Writes must not block for long:
	// the command waits on them.
	Stdout, Stderr io.Writer
	// Resize delivers new terminal sizes while the command runs (TTY only); may be nil.
	Resize <-chan TermSize
}

// ExecStreamSpec is a streaming command for the sandbox to run.
type ExecStreamSpec struct {
	Command []string
	Env     map[string]string
	Workdir string
	TTY     bool
	Timeout time.Duration // 0 for none
	Size    TermSize
	ExecIO
}

// Validate checks the request and returns the exec it describes, without its streams.
func (req ExecStreamRequest) Validate() (ExecStreamSpec, error) {
	if len(req.Command) == 0 {
		return ExecStreamSpec{}, invalid("command", "is required")
	}
	if err := validateCommand(req.Command); err != nil {
		return ExecStreamSpec{}, err
	}
	if err := validateExecPlace(req.Env, req.Workdir); err != nil {
		return ExecStreamSpec{}, err
	}
	var timeout time.Duration
	if req.Timeout != "" {
		var err error
		timeout, err = ParseTTL("timeout", req.Timeout, Policy{MaxTTL: MaxStreamExecTimeout})
		if err != nil {
			return ExecStreamSpec{}, err
		}
	}
	if !req.TTY && req.Size != (TermSize{}) {
		return ExecStreamSpec{}, invalid("rows", "a terminal size needs tty")
	}
	if (req.Size.Rows == 0) != (req.Size.Cols == 0) {
		return ExecStreamSpec{}, invalid("rows", "rows and cols are given together")
	}
	return ExecStreamSpec{Command: req.Command, Env: req.Env, Workdir: req.Workdir, TTY: req.TTY, Timeout: timeout, Size: req.Size}, nil
}

// validateExecPlace checks an exec's environment and working directory.
func validateExecPlace(env map[string]string, workdir string) error {
	if err := validateEnv(env); err != nil {
		return err
	}
	if workdir == "" {
		return nil
	}
	if err := validText("workdir", workdir); err != nil {
		return err
	}
	if !path.IsAbs(workdir) {
		return invalid("workdir", "must be an absolute path")
	}
	return nil
}

// ExecStream runs a command inside a running agent's container with its
// streams connected as it runs, and returns its exit code once it has ended
// and its output is delivered. The command's whole process tree is killed
// when ctx ends (its client left) or its timeout passes; the error then
// wraps ctx's error or context.DeadlineExceeded.
func (r *Runner) ExecStream(ctx context.Context, id string, req ExecStreamRequest, eio ExecIO) (int, error) {
	spec, err := req.Validate()
	if err != nil {
		return -1, err
	}
	a, err := r.execAgent(ctx, id)
	if err != nil {
		return -1, err
	}
	// Activity for as long as it runs: the agent cannot idle out meanwhile.
	defer r.Touch(ctx, id)()
	spec.ExecIO = eio
	return r.sb.ExecStream(ctx, a.ContainerID, spec)
}
