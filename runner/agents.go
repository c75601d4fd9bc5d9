package runner

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// CreateAgent validates the request, records the agent durably and starts it in the background.
func (r *Runner) CreateAgent(ctx context.Context, req AgentRequest) (Agent, error) {
	a, err := req.Validate(r.cfg.Policy)
	if err != nil {
		return Agent{}, err
	}
	ttl := a.ExpiresAt.Sub(time.Time{})
	if err := r.sb.EnsureImage(ctx, a.Image); err != nil {
		return Agent{}, err
	}
	now := r.now()
	a.ID = NewID(now)
	a.CreatedAt = now
	a.ExpiresAt = now.Add(ttl)
	a.LimitsEnforced = r.enforced
	if err := r.store.CreateAgent(ctx, a); err != nil {
		return Agent{}, fmt.Errorf("store agent: %w", err)
	}
	r.obs.AgentCreated()
	r.obs.Transitioned(StatePending)
	r.notifyDeadline()
	r.supervise(a, nil, nil)
	return a, nil
}

// Agent returns one agent.
func (r *Runner) Agent(ctx context.Context, id string) (Agent, error) {
	return r.store.Agent(ctx, id)
}

// ListAgents returns one page of agents, newest first, without their stdin.
func (r *Runner) ListAgents(ctx context.Context, f AgentFilter) (AgentPage, error) {
	if f.State != "" && !f.State.Valid() {
		return AgentPage{}, invalid("state", "unknown state %q", f.State)
	}
	return r.store.ListAgents(ctx, f)
}

// DeleteAgent marks a live agent terminating and stops it in the background; it never waits for the sandbox.
// A final agent keeps its state; its container, if still kept, is removed now.
func (r *Runner) DeleteAgent(ctx context.Context, id string) (Agent, error) {
	a, err := r.transition(ctx, id, Change{
		To: StateTerminating, Reason: ReasonDeleted,
		Message: "deleted by request", Detail: "delete requested",
	})
	switch {
	case err == nil:
		r.stop(a, ReasonDeleted)
		return a, nil
	case errors.Is(err, ErrConflict):
		if !a.State.Live() && a.ContainerID != "" && a.RemovedAt.IsZero() {
			r.goCleanup(a)
		}
		return a, nil
	default:
		return Agent{}, err
	}
}

// SetTTL moves a live agent's deadline to now plus ttl.
func (r *Runner) SetTTL(ctx context.Context, id, ttl string) (Agent, error) {
	if ttl == "" {
		return Agent{}, invalid("ttl", "is required")
	}
	d, err := ParseTTL("ttl", ttl, r.cfg.Policy)
	if err != nil {
		return Agent{}, err
	}
	a, err := r.store.SetExpiresAt(ctx, id, r.now().Add(d))
	if err != nil {
		if errors.Is(err, ErrConflict) {
			return a, fmt.Errorf("%w: agent %s is %s; only live agents have a deadline", ErrConflict, id, a.State)
		}
		return Agent{}, err
	}
	r.notifyDeadline()
	return a, nil
}

// Events returns an agent's history.
func (r *Runner) Events(ctx context.Context, id string) ([]Event, error) {
	if _, err := r.store.Agent(ctx, id); err != nil {
		return nil, err
	}
	return r.store.Events(ctx, id)
}

// awaitStart waits for a pending agent's container to start (or the agent to end).
func (r *Runner) awaitStart(ctx context.Context, id string) (Agent, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		a, err := r.store.Agent(ctx, id)
		if err != nil || a.State != StatePending {
			return a, err
		}
		select {
		case <-ctx.Done():
			return a, ctx.Err()
		case <-tick.C:
		}
	}
}

// Stats samples a running agent's resource use.
func (r *Runner) Stats(ctx context.Context, id string) (Stats, error) {
	a, err := r.runningAgent(ctx, id)
	if err != nil {
		return Stats{}, err
	}
	return r.sb.Stats(ctx, a.ContainerID)
}

// Exec runs a command inside a running agent's container.
func (r *Runner) Exec(ctx context.Context, id string, req ExecRequest) (ExecResult, error) {
	spec, err := req.Validate()
	if err != nil {
		return ExecResult{}, err
	}
	a, err := r.runningAgent(ctx, id)
	if err != nil {
		return ExecResult{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, spec.Timeout+5*time.Second)
	defer cancel()
	return r.sb.Exec(ctx, a.ContainerID, spec)
}

func (r *Runner) runningAgent(ctx context.Context, id string) (Agent, error) {
	a, err := r.store.Agent(ctx, id)
	if err != nil {
		return Agent{}, err
	}
	if a.State != StateRunning || a.ContainerID == "" {
		return a, fmt.Errorf("%w: agent %s is %s, not running", ErrConflict, id, a.State)
	}
	return a, nil
}

// Ready reports whether the container service answers.
func (r *Runner) Ready(ctx context.Context) error { return r.sb.Ping(ctx) }

// CountByState counts agents per state.
func (r *Runner) CountByState(ctx context.Context) (map[State]int, error) {
	return r.store.CountByState(ctx)
}
