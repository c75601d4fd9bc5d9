package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// adopt takes back a container after a restart: it watches a running one and
// finishes one that ended while podrun was away.
func (r *Runner) adopt(s *supervisor, c Container) {
	ctx := r.ctx
	s.container = c.ID
	if mustStop(s.agent) {
		s.request(stopReason(s.agent))
	}
	if !c.Running {
		r.finish(ctx, s, Exit{Code: c.ExitCode, OOMKilled: c.OOMKilled, FinishedAt: c.FinishedAt})
		return
	}
	att, ok := r.reattach(ctx, s)
	if !ok {
		return
	}
	r.event(ctx, s.agent.ID, PhaseRunning, "taken back after restart")
	r.watch(ctx, s, att)
}

// stopAndCleanup stops and removes the container of an agent that has no supervisor.
func (r *Runner) stopAndCleanup(ctx context.Context, a Agent) {
	if a.ContainerID != "" && a.RemovedAt.IsZero() && a.State == StateTerminating {
		r.event(ctx, a.ID, PhaseStopping, ReasonDeleted)
		callCtx, cancel := r.bounded(ctx)
		defer cancel()
		if err := r.sb.Stop(callCtx, a.ContainerID, r.cfg.StopTimeout); err != nil && !errors.Is(err, ErrNoContainer) {
			r.log.Debug("stop container", "agent", a.ID, "err", err)
		}
	}
	r.cleanup(ctx, a)
}

// reconcile matches live agents with the containers labelled with this
// instance: it relaunches, takes back or marks lost the agents, and removes
// orphans past their grace. Containers of other instances are never touched.
func (r *Runner) reconcile(ctx context.Context) error {
	listCtx, cancel := r.bounded(ctx)
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
		if r.isActive(a.ID) {
			continue
		}
		r.recover(ctx, a, c, ok)
	}
	for id, c := range byID {
		if c.Labels[LabelPool] != "" {
			// A pool's own, or one taken a moment ago; older strays (a pool
			// stopped mid-refill, say) are removed.
			if !r.pools.owns(id) && r.now().Sub(c.CreatedAt) > staleWarm {
				r.pools.removeWarm(id, nil)
			}
			continue
		}
		r.removeIfOrphan(ctx, c.Labels[LabelAgent], byID[id])
	}
	return nil
}

// staleWarm is how old a warm container no pool holds and no live agent uses must be to be removed.
const staleWarm = time.Minute

// recover puts an unsupervised live agent back on track.
func (r *Runner) recover(ctx context.Context, a Agent, c Container, exists bool) {
	switch {
	case a.State == StatePending:
		if exists { // half made before a crash: start over with a fresh container
			callCtx, cancel := r.bounded(ctx)
			defer cancel()
			if err := r.sb.Remove(callCtx, c.ID); err != nil && !errors.Is(err, ErrNoContainer) {
				r.log.Warn("remove half-made container", "agent", a.ID, "container", c.ID, "err", err)
				return
			}
		}
		r.log.Info("relaunching pending agent", "agent", a.ID)
		r.supervise(a, nil, nil)
	case !exists:
		r.log.Warn("agent's container is gone", "agent", a.ID, "container", a.ContainerID)
		r.fail(ctx, a.ID, ReasonLost, "its container is gone: the container service no longer lists it")
	default:
		if a.ContainerID == "" {
			if err := r.store.SetContainer(ctx, a.ID, c.ID); err != nil {
				r.log.Error("record container", "agent", a.ID, "err", err)
			}
		}
		if a.Kind() == KindSync && a.State == StateRunning && c.Running {
			// A synchronous invocation's client left with the previous run.
			if cur, err := r.transition(ctx, a.ID, Change{
				To: StateFailed, Reason: ReasonClientGone,
				Message: "podrun restarted while the client waited for the answer", Detail: "podrun restarted",
			}); err == nil {
				a = cur
			}
		}
		r.supervise(a, &c, nil)
	}
}

// removeIfOrphan removes a labelled container whose agent podrun no longer knows, once past the grace.
func (r *Runner) removeIfOrphan(ctx context.Context, agentID string, c Container) {
	a, err := r.store.Agent(ctx, agentID)
	switch {
	case err == nil && a.RemovedAt.IsZero():
		return // a finished agent's container, kept for its grace period by the sweeper
	case err != nil && !errors.Is(err, ErrNotFound):
		r.log.Warn("look up container's agent", "container", c.ID, "err", err)
		return
	case err != nil && r.now().Sub(c.CreatedAt) < r.cfg.OrphanGrace:
		return
	}
	callCtx, cancel := r.bounded(ctx)
	defer cancel()
	err = r.sb.Remove(callCtx, c.ID)
	switch {
	case errors.Is(err, ErrNoContainer):
		return // removed since the listing, by its agent's own cleanup: not an orphan
	case err != nil:
		r.log.Warn("remove orphan container", "container", c.ID, "err", err)
		return
	}
	r.log.Info("removed orphan container", "container", c.ID, "agent", agentID)
	r.obs.Removed("orphan")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
