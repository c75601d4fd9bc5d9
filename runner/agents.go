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
	if err := r.add(ctx, &a, nil); err != nil {
		return Agent{}, err
	}
	return a, nil
}

// add records a new agent and hands it to its supervisor. The supervisor is
// claimed first, so no sweep mistakes the pending row for one a crash left
// and launches it a second time; then the agent is stored durably and
// counted, the reaper told of its deadline, the caller told it exists, and
// its container launched in the background. It gives *ap its webhook (hookUp).
func (r *Runner) add(ctx context.Context, ap *Agent, aio *agentIO) error {
	r.hookUp(ap)
	a := *ap
	s := r.agents.claim(a, aio)
	if s == nil {
		return fmt.Errorf("agent %s: %w", a.ID, errClosed)
	}
	if err := r.journal.record(ctx, a); err != nil {
		r.agents.release(s)
		return fmt.Errorf("store agent: %w", err)
	}
	r.notifyDeadline()
	aio.announce(a)
	r.agents.launch(ctx, s)
	return nil
}

// Agent returns one agent, with its usage if the monitor has sampled it.
func (r *Runner) Agent(ctx context.Context, id string) (Agent, error) {
	a, err := r.store.Agent(ctx, id)
	if err != nil {
		return a, err
	}
	u, err := r.store.Usage(ctx, id)
	switch {
	case err == nil:
		a.Usage = &u
	case !errors.Is(err, ErrNotFound):
		return Agent{}, err
	}
	return a, nil
}

// ListAgents returns one page of agents, newest first, without their stdin.
func (r *Runner) ListAgents(ctx context.Context, f AgentFilter) (AgentPage, error) {
	for _, st := range f.States {
		if !st.Valid() {
			return AgentPage{}, invalid("state", "unknown state %q", st)
		}
	}
	return r.store.ListAgents(ctx, f)
}

// DeleteAgent marks a live agent terminating and stops it in the background; it never waits for the sandbox.
// A final agent keeps its state; its container, if still kept, is removed now.
func (r *Runner) DeleteAgent(ctx context.Context, id string) (Agent, error) {
	a, err := r.agents.end(ctx, id, deletion)
	switch {
	case err == nil:
		return a, nil
	case errors.Is(err, ErrConflict):
		if !a.State.Live() && a.ContainerID != "" && a.RemovedAt.IsZero() {
			r.agents.cleanup(a)
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
	done := r.Touch(ctx, id) // a PATCH is activity
	defer done()
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
	a, err := r.execAgent(ctx, id)
	if err != nil {
		return ExecResult{}, err
	}
	done := r.Touch(ctx, id) // an exec is activity for as long as it runs
	defer done()
	ctx, cancel := context.WithTimeout(ctx, spec.Timeout+5*time.Second)
	defer cancel()
	return r.sb.Exec(ctx, a.ContainerID, spec)
}

// execAgent returns a running agent that podrun may run processes in beside
// its command: exec and file transfers (which run the shim through exec).
// In a gvisor agent the sandbox puts them under the agent's seccomp profile
// itself, as runsc does not, and refuses them (a FieldError naming
// isolation) where it cannot (docs/isolation.md).
func (r *Runner) execAgent(ctx context.Context, id string) (Agent, error) {
	return r.runningAgent(ctx, id)
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
