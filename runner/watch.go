package runner

import (
	"context"
	"errors"
	"time"
)

// Backoff of reattach while the container service is away.
const (
	reattachFirst = 100 * time.Millisecond
	reattachMax   = 5 * time.Second
)

type waitResult struct {
	exit Exit
	err  error
}

// watch follows the started container to its end. A stream that breaks first
// (the container service restarted, say) says nothing about the container,
// which runs on without it: it is attached again and watched as before, and
// its exit is recorded as if nothing had happened.
func (s *supervisor) watch(ctx context.Context, att Attachment) {
	for {
		res := s.await(ctx, att)
		switch {
		case ctx.Err() != nil:
			return // shutting down: the container lives on and the next Open takes it back
		case res.err == nil:
			s.finish(ctx, res.exit)
			return
		case errors.Is(res.err, ErrNoContainer):
			// The stream ended with the process and the container was gone at
			// once: someone removed it (podman rm -f), killing the process.
			s.fail(ctx, ReasonKilled, "its container was removed from outside podrun while it ran")
			return
		}
		s.sv.log.Warn("agent's stream broke; attaching again", logAgent, s.agent.ID, logContainer, s.container, logErr, res.err)
		s.event(ctx, PhaseError, "stream broke: "+res.err.Error())
		s.io.streamBroke()
		var ok bool
		if att, ok = s.reattach(ctx); !ok {
			return
		}
		s.event(ctx, PhaseRunning, "attached again")
	}
}

// await waits for the end of att's stream, stopping the container when asked
// to. A stop requested before is sent at once: after a reattach, its first
// signal may not have reached the container.
func (s *supervisor) await(ctx context.Context, att Attachment) waitResult {
	exited := make(chan waitResult, 1)
	s.sv.g.fork(func() {
		ended := make(chan time.Time, 1)
		s.sv.g.fork(func() {
			select {
			case <-att.Done():
				ended <- time.Now()
			case <-ctx.Done():
			}
		})
		ex, err := att.Wait(ctx) // returns when ctx ends, too
		if err == nil {          // the stream has ended, so its time is on the way
			select {
			case t := <-ended:
				s.phase(PhaseExit, t)
			case <-time.After(time.Second):
			}
		}
		exited <- waitResult{ex, err}
	})
	stop := s.stopped
	for {
		select {
		case <-stop:
			stop = nil
			s.signal(ctx)
		case res := <-exited:
			return res
		}
	}
}

// reattach attaches to the container (again), retrying for as long as the
// container service is away: only the service saying the container does not
// exist ends the agent (lost). A stop requested meanwhile is sent at once, in
// case only the attach fails, and again once attached (await). ok is false
// when the supervisor is done: podrun is shutting down, or the agent is lost.
func (s *supervisor) reattach(ctx context.Context) (Attachment, bool) {
	streams := Streams{Stdout: s.io.output(), Shim: s.agent.Kind().Invocation()}
	stop := s.stopped
	for delay := reattachFirst; ; delay = min(2*delay, reattachMax) {
		callCtx, cancel := s.sv.bounded(ctx)
		att, err := s.sv.sb.Attach(callCtx, s.container, streams)
		cancel()
		switch {
		case err == nil:
			return att, true
		case ctx.Err() != nil:
			return nil, false
		case errors.Is(err, ErrNoContainer):
			s.fail(ctx, ReasonLost, "its container disappeared while podrun could not watch it")
			return nil, false
		}
		s.sv.log.Debug("attach again", logAgent, s.agent.ID, logContainer, s.container, logErr, err)
		select {
		case <-ctx.Done():
			return nil, false
		case <-stop:
			stop = nil
			s.signal(ctx)
		case <-time.After(delay):
		}
	}
}

// signal stops the container gracefully on DELETE, and kills it for every other reason.
func (s *supervisor) signal(ctx context.Context) {
	reason, _ := s.stopReason()
	id := s.container
	s.event(ctx, PhaseStopping, reason)
	if reason != ReasonDeleted {
		ctx, cancel := s.sv.bounded(ctx)
		defer cancel()
		if err := s.sv.sb.Kill(ctx, id); err != nil && !errors.Is(err, ErrNoContainer) {
			s.sv.log.Warn("kill container", logAgent, s.agent.ID, logContainer, id, logErr, err)
		}
		return
	}
	s.sv.g.fork(func() { // Stop blocks for up to the stop timeout; keep watching meanwhile
		ctx, cancel := context.WithTimeout(ctx, s.sv.cfg.stopTimeout+30*time.Second)
		defer cancel()
		if err := s.sv.sb.Stop(ctx, id, s.sv.cfg.stopTimeout); err != nil && !errors.Is(err, ErrNoContainer) && ctx.Err() == nil {
			s.sv.log.Warn("stop container", logAgent, s.agent.ID, logContainer, id, logErr, err)
		}
	})
}
