package runnertest

import (
	"context"
	"fmt"
	"io"

	"github.com/podrun/podrun/runner"
)

// fakeStream is one attachment's output streams; broken is closed by BreakStreams.
type fakeStream struct {
	out    runner.Streams
	broken chan struct{}
}

// down returns the error of a call made while the service is Unavailable, or nil.
func (f *Fake) down(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Unavailable {
		return fmt.Errorf("%s: dial unix /run/podman/podman.sock: no such file or directory: %w", op, runner.ErrUnavailable)
	}
	return nil
}

// BreakStreams ends every open attachment as a restart of the container
// service does: their Wait fails (the exit unknown) while the containers run
// on, and what the processes write next reaches only their logs.
func (f *Fake) BreakStreams() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.ctrs {
		for _, st := range c.attached {
			close(st.broken)
		}
		c.attached = nil
	}
}

// Attach connects streams; to an exited container it reports the exit at once.
func (f *Fake) Attach(_ context.Context, id string, s runner.Streams) (runner.Attachment, error) {
	if err := f.down("attach"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.get("attach", id)
	if err != nil {
		return nil, err
	}
	st := &fakeStream{out: runner.Streams{Stdout: s.Stdout, Stderr: s.Stderr}, broken: make(chan struct{})}
	a := &fakeAttachment{f: f, c: c, st: st, ended: make(chan struct{})}
	if c.c.State != "exited" {
		c.attached = append(c.attached, st)
		if s.Stdin != nil {
			go func() {
				_, _ = io.Copy(c.stdinW, s.Stdin)
				c.stdinW.Close()
			}()
		}
	}
	go func() {
		select {
		case <-c.done:
		case <-st.broken:
		}
		close(a.ended)
	}()
	return a, nil
}

type fakeAttachment struct {
	f     *Fake
	c     *fakeContainer
	st    *fakeStream
	ended chan struct{} // the process exited or the stream broke
}

// Done is closed once the process has exited or the stream broke.
func (a *fakeAttachment) Done() <-chan struct{} { return a.ended }

// Wait returns once the process has exited; if the stream breaks first, it
// fails as the real sandbox does when it cannot tell how the process ended.
func (a *fakeAttachment) Wait(ctx context.Context) (runner.Exit, error) {
	select {
	case <-a.c.done:
	case <-a.st.broken:
		select {
		case <-a.c.done: // it had exited: the stream's end was the exit
		default:
			if err := a.f.down("wait"); err != nil {
				return runner.Exit{}, err
			}
			return runner.Exit{}, fmt.Errorf("stream of container %s ended while it still runs", a.c.c.ID)
		}
	case <-ctx.Done():
		return runner.Exit{}, ctx.Err()
	}
	a.f.mu.Lock()
	defer a.f.mu.Unlock()
	ex := runner.Exit{Code: a.c.c.ExitCode, OOMKilled: a.c.c.OOMKilled, FinishedAt: a.c.c.FinishedAt}
	if u, ok := a.f.ExitSamples[a.c.c.ID]; ok {
		ex.Usage = &u
	}
	return ex, nil
}
