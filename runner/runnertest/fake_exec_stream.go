package runnertest

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/podrun/podrun/runner"
)

// ExecStream runs the interpreter beside the container's process with the
// client's streams; with a terminal both outputs go to Stdout and resizes
// are drained.
func (f *Fake) ExecStream(ctx context.Context, id string, spec runner.ExecStreamSpec) (int, error) {
	if err := f.down("exec"); err != nil {
		return -1, err
	}
	f.mu.Lock()
	c, err := f.get("exec in", id)
	if err == nil && c.c.State != "running" {
		err = fmt.Errorf("exec in container %s: not running: %w", id, runner.ErrConflict)
	}
	f.mu.Unlock()
	if err != nil {
		return -1, err
	}
	if spec.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, spec.Timeout)
		defer cancel()
	}
	stdin, stdout, stderr := spec.Stdin, spec.Stdout, spec.Stderr
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil || spec.TTY {
		stderr = stdout
	}
	sig := make(chan struct{})
	codes := make(chan int, 1)
	go func() {
		codes <- proc{stdin: stdin, stdout: stdout, stderr: stderr, signalled: sig, env: spec.Env}.run(spec.Command)
	}()
	for {
		select {
		case <-spec.Resize:
			continue
		case code := <-codes:
			if code == codeSignalled || code == codeOOM {
				code = 137
			}
			return code, nil
		case <-c.signal:
			close(sig)
			<-codes
			return 137, nil
		case <-ctx.Done():
			close(sig)
			<-codes
			return -1, fmt.Errorf("exec in container %s: %w", id, ctx.Err())
		}
	}
}
