package httpapi

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/podrun/podrun/runner"
)

// ExecStream interprets a few commands: cat (stdin to stdout), echo ARGS, fail (stderr "oops",
// exit 3), sleep (until ctx ends, counted in execsCanceled) and term (on a terminal: prints each
// resize until stdin ends).
func (f *fakeService) ExecStream(ctx context.Context, id string, req runner.ExecStreamRequest, eio runner.ExecIO) (int, error) {
	if err := f.enter("ExecStream"); err != nil {
		return -1, err
	}
	spec, err := req.Validate()
	if err != nil {
		return -1, err
	}
	a, err := f.get(id)
	if err != nil {
		return -1, err
	}
	if a.State != runner.StateRunning {
		return -1, fmt.Errorf("%w: agent %s is %s, not running", runner.ErrConflict, id, a.State)
	}
	if spec.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, spec.Timeout)
		defer cancel()
	}
	switch req.Command[0] {
	case "cat":
		_, err := io.Copy(eio.Stdout, eio.Stdin)
		return 0, err
	case "echo":
		_, err := io.WriteString(eio.Stdout, strings.Join(req.Command[1:], " ")+"\n")
		return 0, err
	case "fail":
		_, err := io.WriteString(eio.Stderr, "oops\n")
		return 3, err
	case "term":
		ended := make(chan struct{})
		go func() { _, _ = io.Copy(io.Discard, eio.Stdin); close(ended) }()
		fmt.Fprintf(eio.Stdout, "tty %v %dx%d\n", req.TTY, req.Size.Rows, req.Size.Cols)
		for {
			select {
			case sz := <-eio.Resize:
				fmt.Fprintf(eio.Stdout, "size %dx%d\n", sz.Rows, sz.Cols)
			case <-ended:
				return 0, nil
			case <-ctx.Done():
				return -1, ctx.Err()
			}
		}
	default: // sleep
		<-ctx.Done()
		f.mu.Lock()
		f.execsCanceled++
		f.mu.Unlock()
		return -1, fmt.Errorf("exec in agent %s: %w", id, ctx.Err())
	}
}
