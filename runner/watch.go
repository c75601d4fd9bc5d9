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

// watch follows s's started container to its end. A stream that breaks first
// (the container service restarted, say) says nothing about the container,
// which runs on without it: it is attached again and watched as before, and
// its exit is recorded as if nothing had happened.
func (r *Runner) watch(ctx context.Context, s *supervisor, att Attachment) {
	for {
		res := r.await(ctx, s, att)
		switch {
		case ctx.Err() != nil:
			return // shutting down: the container lives on and the next Open takes it back
		case res.err == nil:
			r.finish(ctx, s, res.exit)
			return
		case errors.Is(res.err, ErrNoContainer):
			// The stream ended with the process and the container was gone at
			// once: someone removed it (podman rm -f), killing the process.
			r.fail(ctx, s.agent.ID, ReasonKilled, "its container was removed from outside podrun while it ran")
			return
		}
		r.log.Warn("agent's stream broke; attaching again", "agent", s.agent.ID, "container", s.container, "err", res.err)
		r.event(ctx, s.agent.ID, PhaseError, "stream broke: "+res.err.Error())
		s.io.streamBroke()
		var ok bool
		if att, ok = r.reattach(ctx, s); !ok {
			return
		}
		r.event(ctx, s.agent.ID, PhaseRunning, "attached again")
	}
}

// await waits for the end of att's stream, acting on stop requests meanwhile.
func (r *Runner) await(ctx context.Context, s *supervisor, att Attachment) waitResult {
	exited := make(chan waitResult, 1)
	go func() {
		ex, err := att.Wait(ctx)
		exited <- waitResult{ex, err}
	}()
	for {
		select {
		case reason := <-s.stopReq:
			r.signal(ctx, s.agent.ID, s.container, reason)
		case res := <-exited:
			return res
		}
	}
}

// reattach attaches to s's container (again), retrying for as long as the
// container service is away: only the service saying the container does not
// exist ends the agent (lost). A stop requested meanwhile is requested again
// once attached, since its signal may not have reached the container. ok is
// false when the supervisor is done: podrun is shutting down, or the agent is lost.
func (r *Runner) reattach(ctx context.Context, s *supervisor) (Attachment, bool) {
	streams := Streams{Stdout: s.io.output(), Shim: s.agent.Kind().Invocation()}
	for delay := reattachFirst; ; delay = min(2*delay, reattachMax) {
		callCtx, cancel := r.bounded(ctx)
		att, err := r.sb.Attach(callCtx, s.container, streams)
		cancel()
		switch {
		case err == nil:
			r.restop(ctx, s)
			return att, true
		case ctx.Err() != nil:
			return nil, false
		case errors.Is(err, ErrNoContainer):
			r.fail(ctx, s.agent.ID, ReasonLost, "its container disappeared while podrun could not watch it")
			return nil, false
		}
		r.log.Debug("attach again", "agent", s.agent.ID, "container", s.container, "err", err)
		select {
		case <-ctx.Done():
			return nil, false
		case reason := <-s.stopReq:
			// Sent now in case only the attach fails; requested again once attached.
			r.signal(ctx, s.agent.ID, s.container, reason)
		case <-time.After(delay):
		}
	}
}

// restop requests a stop again for an agent whose state says it must end.
func (r *Runner) restop(ctx context.Context, s *supervisor) {
	cur, err := r.store.Agent(ctx, s.agent.ID)
	if err != nil {
		r.log.Warn("load agent", "agent", s.agent.ID, "err", err)
		return
	}
	if mustStop(cur) {
		s.request(stopReason(cur))
	}
}

// signal stops the container gracefully on DELETE, and kills it for every other reason.
func (r *Runner) signal(ctx context.Context, agentID, id, reason string) {
	r.event(ctx, agentID, PhaseStopping, reason)
	if reason != ReasonDeleted {
		ctx, cancel := r.bounded(ctx)
		defer cancel()
		if err := r.sb.Kill(ctx, id); err != nil && !errors.Is(err, ErrNoContainer) {
			r.log.Warn("kill container", "agent", agentID, "container", id, "err", err)
		}
		return
	}
	r.wg.Add(1)
	go func() { // Stop blocks for up to the stop timeout; keep watching meanwhile
		defer r.wg.Done()
		ctx, cancel := context.WithTimeout(ctx, r.cfg.StopTimeout+30*time.Second)
		defer cancel()
		if err := r.sb.Stop(ctx, id, r.cfg.StopTimeout); err != nil && !errors.Is(err, ErrNoContainer) && ctx.Err() == nil {
			r.log.Warn("stop container", "agent", agentID, "container", id, "err", err)
		}
	}()
}
