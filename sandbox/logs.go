package sandbox

import (
	"context"
	"errors"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/podrun/podrun/runner"
)

// Logs writes a container's saved output, stdout and stderr apart (a nil writer
// is not asked for). With Follow it returns when the container ends or ctx is done.
func (p *Podman) Logs(ctx context.Context, id string, o runner.LogOptions, stdout, stderr io.Writer) error {
	if stdout == nil && stderr == nil {
		return nil
	}
	opts := new(containers.LogOptions).WithFollow(o.Follow).WithStdout(stdout != nil).WithStderr(stderr != nil)
	if o.Tail > 0 {
		opts = opts.WithTail(strconv.Itoa(o.Tail))
	}
	// The bindings send each frame on a channel and block until it is taken,
	// so both channels are drained until Logs returns.
	outCh, errCh := make(chan string, 16), make(chan string, 16)
	var wg sync.WaitGroup
	var outErr, errErr error
	wg.Go(func() { outErr = drain(outCh, stdout) })
	wg.Go(func() { errErr = drain(errCh, stderr) })
	logs := func(ctx context.Context) error { return containers.Logs(ctx, id, opts, outCh, errCh) }
	var err error
	if o.Follow {
		// A follow lasts as long as the container: it must not hold a slot.
		start := time.Now()
		err = logs(p.call(ctx))
		p.observe("logs", start)
	} else {
		err = p.do(ctx, "logs", logs)
	}
	close(outCh)
	close(errCh)
	wg.Wait()
	if err != nil {
		if ctx.Err() != nil && o.Follow {
			return nil // following ends with the caller's context
		}
		return wrapErr("logs of", id, err)
	}
	return errors.Join(outErr, errErr)
}

// drain writes every frame to w and keeps reading after a write error.
func drain(ch <-chan string, w io.Writer) error {
	var err error
	for s := range ch {
		if w != nil && err == nil {
			_, err = io.WriteString(w, s)
		}
	}
	return err
}
