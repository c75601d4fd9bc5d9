package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/containers/podman/v5/libpod/define"
	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/shimproto"
)

// Attach connects streams to a created or running container and returns once
// Podman has wired them to conmon, so a Start after it loses no output.
func (p *Podman) Attach(ctx context.Context, id string, s runner.Streams) (runner.Attachment, error) {
	_, fresh := p.fresh.LoadAndDelete(id)
	if !fresh {
		// Podman re-initializes an exited container on attach (Docker
		// compatibility), throwing its exit code away: report it instead.
		data, err := p.inspect(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("attach: %w", err)
		}
		if finished(data.State) {
			return exited(p.exitOf(data)), nil
		}
	}
	q := url.Values{
		"stdin":  {strconv.FormatBool(s.Stdin != nil)},
		"stdout": {"true"},
		"stderr": {"true"},
		"stream": {"true"},
		"logs":   {"false"},
		// No byte sequence in a body may detach the stream.
		"detachKeys": {""},
	}
	st, err := p.hijack(ctx, "attach", "/containers/"+url.PathEscape(id)+"/attach", q, nil)
	if err != nil {
		err = wrapErr("attach", id, err)
		if fresh && !errors.Is(err, runner.ErrNoContainer) {
			// Podman initializes the container for the attach, so this is
			// where a command that cannot start fails: like a failed Start,
			// it must not leave the container behind.
			err = errors.Join(err, p.cleanup(ctx, id))
		}
		return nil, err
	}
	a := &attachment{p: p, id: id, done: make(chan struct{}), st: st}
	stderr := s.Stderr
	if s.Shim {
		a.tail = &shimproto.ExitWatcher{W: s.Stderr}
		stderr = a.tail
	}
	go func() {
		defer close(a.done)
		a.err = st.demux(s.Stdout, stderr)
		st.Close()
		// The stream ends when the process does (or the service goes away):
		// read the OOM evidence now, before Podman's cleanup removes the cgroup.
		a.oomKilled = p.cgroups.oomKilled(id)
		if u, ok := p.kernel.atExit(id); ok {
			a.usage = &u
		}
	}()
	if s.Stdin != nil {
		go func() {
			// Errors are expected when the process exits without reading all of
			// its input; what the process did is in the exit code.
			_ = st.feed(s.Stdin)
		}()
	}
	return a, nil
}

type attachment struct {
	p    *Podman
	id   string
	st   *stream
	tail *shimproto.ExitWatcher // the end of stderr, for a shim'd process
	done chan struct{}
	err  error // set before done is closed
	// oomKilled is the kernel's word, read as the stream ended, that it
	// OOM-killed a process in the container; set before done is closed.
	oomKilled bool
	// usage is the kernel's last word on the container's resource use, read
	// as the stream ended; nil if it could not be read. Set before done is closed.
	usage *runner.Sample
}

// Wait waits for the end of the stream. A shim'd process's exit status is the
// last line of its stderr; otherwise, or if the stream broke, Podman is asked
// (containers.Wait would be 115-350 ms slower than exitStatus, and an inspect
// right after the stream ends waits 5-10 ms for Podman's own cleanup). If ctx
// ends first the stream is closed and the container keeps running.
//
// A stream that ends while the container runs on (the service went away)
// fails with errStreamBroken, or runner.ErrUnavailable while the service
// does not answer: the exit is unknown, and attaching again finds it.
// runner.ErrNoContainer means the container was gone as its process ended.
func (a *attachment) Wait(ctx context.Context) (runner.Exit, error) {
	select {
	case <-a.done:
	case <-ctx.Done():
		a.st.Close()
		return runner.Exit{}, fmt.Errorf("wait for container %s: %w", a.id, ctx.Err())
	}
	if a.tail != nil && a.err == nil {
		if code, ok := a.tail.Exit(); ok {
			return runner.Exit{Code: code, OOMKilled: a.oomKilled, FinishedAt: time.Now(), Usage: a.usage}, nil
		}
	}
	exit, err := a.p.exitStatus(ctx, a.id)
	if err != nil && a.err != nil {
		return exit, fmt.Errorf("%w (stream: %v)", err, a.err)
	}
	exit.OOMKilled = exit.OOMKilled || a.oomKilled
	exit.Usage = a.usage
	return exit, err
}

// errStreamBroken is Wait's error for a stream that ended while its container still runs.
var errStreamBroken = errors.New("its stream ended while it still runs")

// exitStatus returns how a container whose output stream ended has exited.
func (p *Podman) exitStatus(ctx context.Context, id string) (runner.Exit, error) {
	// conmon records the exit a few milliseconds after the stream closes.
	delay := 2 * time.Millisecond
	for range 6 {
		data, err := p.inspect(ctx, id)
		if err != nil {
			return runner.Exit{}, fmt.Errorf("wait: %w", err)
		}
		if finished(data.State) {
			return p.exitOf(data), nil
		}
		if err := sleep(ctx, delay); err != nil {
			return runner.Exit{}, fmt.Errorf("wait for container %s: %w", id, err)
		}
		delay *= 2
	}
	// Still running: the stream broke (a service restart, say). The caller
	// attaches again rather than wait here without the output.
	return runner.Exit{}, fmt.Errorf("wait for container %s: %w", id, errStreamBroken)
}

func finished(st *define.InspectContainerState) bool {
	return st != nil && !st.Running && (st.Status == "exited" || st.Status == "stopped")
}

// exitOf is how an exited container ended. Podman 4 never sets OOMKilled:
// the kernel's count is asked too, and found if the cgroup is still there.
func (p *Podman) exitOf(data *define.InspectContainerData) runner.Exit {
	st := data.State
	oom := st.OOMKilled || st.ExitCode == 137 && p.cgroups.oomKilled(data.ID)
	return runner.Exit{Code: int(st.ExitCode), OOMKilled: oom, FinishedAt: st.FinishedAt}
}

// Done is closed once the stream has ended.
func (a *attachment) Done() <-chan struct{} { return a.done }

// exited is the attachment to a container that had already exited.
type exited runner.Exit

func (e exited) Wait(context.Context) (runner.Exit, error) { return runner.Exit(e), nil }

func (exited) Done() <-chan struct{} { return closed }

var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
