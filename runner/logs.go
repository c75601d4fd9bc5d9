package runner

import (
	"context"
	"errors"
	"time"
)

// Logs passes an agent's output to emit one line at a time: stdout and
// stderr as one stream in the order they were logged, from its container
// while it exists, else from the tail saved at its removal. Tail counts the
// lines of the selected streams together. A follow ends once the process's
// output has ended, with every line it wrote (see logReader.follow), or when
// ctx is done.
func (r *Runner) Logs(ctx context.Context, id string, opts LogOptions, emit func(LogLine) error) error {
	a, err := r.store.Agent(ctx, id)
	if err != nil {
		return err
	}
	if a.State == StatePending && opts.Follow {
		// Podman stops following at once for a container that has not
		// started yet: wait for its supervisor to say it has.
		if err := r.agents.awaitStart(ctx, id); err != nil {
			return err
		}
		if a, err = r.store.Agent(ctx, id); err != nil {
			return err
		}
	}
	streams := opts.Streams
	if streams == 0 {
		streams = BothStreams
	}
	lr := &logReader{sb: r.sb, store: r.store, agent: a, streams: streams}
	if opts.Follow && a.State.Live() {
		done := r.Touch(ctx, id) // a follow is activity for as long as it follows
		defer done()
	}
	if opts.Follow {
		lr.ended = r.agents.doneOf(id)
		if lr.ended == nil && !a.State.Live() {
			opts.Follow = false // its output is complete: nothing is left to wait for
		}
	}
	if !opts.Follow || opts.Tail > 0 {
		// With Follow, the lines still being written are left to the follow.
		if err := lr.tail(ctx, opts.Tail, !opts.Follow, emit); err != nil {
			return err
		}
		if !opts.Follow {
			return nil
		}
	}
	return lr.follow(ctx, emit)
}

// logReader reads one agent's output from wherever it is, possibly in
// several passes, and never passes a line twice: every line carries its
// position in the container's log (Seq), and lines at or before the last one
// read are skipped.
type logReader struct {
	sb      Sandbox
	store   Store
	agent   Agent
	streams LogStream
	last    int64 // Seq of the last line read, from any stream
	// ended, if set, is closed once the agent's supervisor is done: its exit
	// is recorded, so a follower still waiting then is waiting for nothing.
	ended <-chan struct{}
}

// followerGrace is how long a follow may go on after the agent's exit is
// recorded, for Podman's follower to pass the last lines; a follower still
// open after that (Podman's can miss a container's exit) is cut, and the
// last read passes what it had not.
const followerGrace = 2 * time.Second

// tail passes the last n lines (all if n <= 0) of the selected streams of
// the output logged so far. Without withPartial, a line still unfinished
// counts but is left to the follow that comes next.
func (lr *logReader) tail(ctx context.Context, n int, withPartial bool, emit func(LogLine) error) error {
	ring := &lineRing{max: n}
	err := lr.read(ctx, false, func(l LogLine) error {
		ring.add(l) // counted in the tail either way
		if l.Partial && !withPartial {
			return errSkip
		}
		return nil
	})
	if err != nil {
		return err
	}
	return ring.each(func(l LogLine) error {
		if l.Partial && !withPartial {
			return nil // the follow passes it once it is whole
		}
		return emit(l)
	})
}

// follow passes lines as the container logs them until its output ends.
// Podman's follower can end without the last lines of a container removed
// right after it exits (the runner removes a stopped agent at once), so
// once it ends the output is read once more, from the container if it is
// still there, else from the tail saved before its removal, and what the
// follower missed is passed on. A line still unfinished when the follower
// ends is left to that last read, which has it whole.
func (lr *logReader) follow(ctx context.Context, emit func(LogLine) error) error {
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if lr.ended != nil {
		go func() { // ends with the follow, at the latest
			select {
			case <-lr.ended:
			case <-fctx.Done():
				return
			}
			t := time.NewTimer(followerGrace)
			defer t.Stop()
			select {
			case <-t.C:
				cancel()
			case <-fctx.Done():
			}
		}()
	}
	err := lr.read(fctx, true, func(l LogLine) error {
		if l.Partial {
			return errSkip
		}
		return emit(l)
	})
	if err != nil || ctx.Err() != nil {
		return err
	}
	if a, err := lr.store.Agent(ctx, lr.agent.ID); err == nil {
		lr.agent = a // it may have been removed meanwhile
	}
	return lr.read(ctx, false, emit)
}

// errSkip, returned by a read's callback, leaves a line out without counting it as read.
var errSkip = errors.New("skip this line")

// read passes the selected lines after lr.last from the container, or from
// the saved tail once the container is gone.
func (lr *logReader) read(ctx context.Context, follow bool, fn func(LogLine) error) error {
	pass := func(l LogLine) error {
		if l.Seq == 0 && lr.last > 0 {
			return nil // unnumbered lines cannot be placed after numbered ones
		}
		if l.Seq != 0 && l.Seq <= lr.last {
			return nil
		}
		if l.Stream&lr.streams == 0 {
			lr.last = l.Seq
			return nil
		}
		err := fn(l)
		if errors.Is(err, errSkip) {
			return nil
		}
		lr.last = l.Seq
		return err
	}
	a := lr.agent
	if a.ContainerID != "" && a.RemovedAt.IsZero() {
		err := lr.sb.Logs(ctx, a.ContainerID, LogRead{Follow: follow}, pass)
		if !errors.Is(err, ErrNoContainer) {
			if err != nil && ctx.Err() != nil && follow {
				return nil // following ends with the caller's context
			}
			return err
		}
		// Gone: the runner saves the tail before it removes a container.
	}
	lines, err := lr.store.Logs(ctx, a.ID)
	if errors.Is(err, ErrNotFound) {
		return nil // the agent produced nothing podrun kept
	}
	if err != nil {
		return err
	}
	for _, l := range lines {
		if err := pass(l); err != nil {
			return err
		}
	}
	return nil
}
