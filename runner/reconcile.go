package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// reconcile matches live agents with the containers labelled with this
// instance: it has supervisors relaunch, take back or mark lost the agents
// nobody supervises, and removes orphans past their grace. Containers of
// other instances are never touched.
func (r *Runner) reconcile(ctx context.Context) error {
	listCtx, cancel := r.agents.bounded(ctx)
	defer cancel()
	cs, err := r.sb.List(listCtx, map[string]string{LabelInstance: r.cfg.Instance})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	byAgent := make(map[string]Container, len(cs))
	byID := make(map[string]Container, len(cs))
	for _, c := range cs {
		byID[c.ID] = c
		if id := c.Labels[LabelAgent]; id != "" {
			byAgent[id] = c
		}
	}
	live, err := r.store.LiveAgents(ctx)
	if err != nil {
		return fmt.Errorf("list live agents: %w", err)
	}
	// Pending agents last: a container taken back holds its admission slot
	// before a queued invocation is relaunched to compete for it.
	slices.SortStableFunc(live, func(x, y Agent) int {
		return cmp.Compare(boolInt(x.State == StatePending), boolInt(y.State == StatePending))
	})
	for _, a := range live {
		c, ok := byAgent[a.ID]
		if !ok && a.ContainerID != "" { // a warm container carries no agent label
			c, ok = byID[a.ContainerID]
		}
		delete(byID, c.ID)
		r.agents.takeBack(ctx, a, c, ok)
	}
	for id, c := range byID {
		if c.Labels[LabelPool] != "" {
			// A pool's own, or one taken a moment ago; older strays (a pool
			// stopped mid-refill, say) are removed.
			if !r.pools.Owns(id) && r.now().Sub(c.CreatedAt) > staleWarm {
				r.pools.RemoveStray(id)
			}
			continue
		}
		r.removeIfOrphan(ctx, c.Labels[LabelAgent], c)
	}
	return nil
}

// staleWarm is how old a warm container no pool holds and no live agent uses must be to be removed.
const staleWarm = time.Minute

// takeBack puts a live agent back on track if nobody supervises it (after a
// restart of podrun, or a supervisor that gave up): a pending one is
// launched (a half-made container removed first), one whose container is
// gone is lost, and the container of any other is adopted (still running)
// or has its exit recorded. A synchronous invocation still running lost its
// client with the previous run, so it is ended (client_gone).
func (sv *supervisors) takeBack(ctx context.Context, a Agent, c Container, exists bool) {
	switch {
	case a.State == StatePending:
		s := sv.claim(a, nil)
		if s == nil {
			return // supervised (being launched, or waiting for its slot)
		}
		if exists {
			callCtx, cancel := sv.bounded(ctx)
			err := sv.sb.Remove(callCtx, c.ID)
			cancel()
			if err != nil && !errors.Is(err, ErrNoContainer) {
				sv.log.Warn("remove half-made container", logAgent, a.ID, logContainer, c.ID, logErr, err)
				sv.release(s)
				return
			}
		}
		sv.log.Info("relaunching pending agent", logAgent, a.ID)
		sv.launch(ctx, s)
	case !exists:
		sv.with(a, func(s *supervisor) {
			sv.log.Warn("agent's container is gone", logAgent, a.ID, logContainer, a.ContainerID)
			s.fail(ctx, ReasonLost, "its container is gone: the container service no longer lists it")
		})
	default:
		s := sv.claim(a, nil)
		if s == nil {
			return
		}
		if a.ContainerID == "" {
			if err := sv.store.SetContainer(ctx, a.ID, c.ID); err != nil {
				sv.log.Error("record container", logAgent, a.ID, logErr, err)
			}
		}
		free := func() {}
		if a.Kind().Invocation() {
			// It keeps counting against the concurrency caps until it ends, as
			// it did before the restart; taken now, before any queued
			// invocation is relaunched to compete for its slot.
			free = sv.limiter.Hold(a.Function)
		}
		sv.run(s, func(ctx context.Context) {
			defer free()
			if c.Running || c.State == ContainerPaused { // a paused one is taken back paused
				s.adopt(ctx, c)
			} else {
				s.recordExit(ctx, c)
			}
		})
		if a.Kind() == KindSync && a.State == StateRunning && c.Running {
			_, _ = sv.end(ctx, a.ID, clientGone("podrun restarted while the client waited for the answer", "podrun restarted"))
		}
	}
}

// removeIfOrphan removes a labelled container whose agent podrun no longer knows, once past the grace.
func (r *Runner) removeIfOrphan(ctx context.Context, agentID string, c Container) {
	a, err := r.store.Agent(ctx, agentID)
	switch {
	case err == nil && a.RemovedAt.IsZero():
		return // a finished agent's container, kept for its grace period by the sweeper
	case err != nil && !errors.Is(err, ErrNotFound):
		r.log.Warn("look up container's agent", logContainer, c.ID, logErr, err)
		return
	case err != nil && r.now().Sub(c.CreatedAt) < r.cfg.OrphanGrace:
		return
	}
	callCtx, cancel := r.agents.bounded(ctx)
	defer cancel()
	err = r.sb.Remove(callCtx, c.ID)
	switch {
	case errors.Is(err, ErrNoContainer):
		return // removed since the listing, by its agent's own cleanup: not an orphan
	case err != nil:
		r.log.Warn("remove orphan container", logContainer, c.ID, logErr, err)
		return
	}
	r.log.Info("removed orphan container", logContainer, c.ID, logAgent, agentID)
	r.obs.Removed("orphan")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
