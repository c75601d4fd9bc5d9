package runner

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"
)

// hookUp gives a new agent its webhook: its own URL or the configured global
// one, and when its "expiring" warning is due. Without a sender there is
// none, so no event is queued that nothing would send.
func (r *Runner) hookUp(a *Agent) {
	if r.cfg.Webhooks == nil {
		a.WebhookURL, a.WarnAt = "", time.Time{}
		return
	}
	if a.WebhookURL == "" {
		a.WebhookURL = r.cfg.WebhookURL
	}
	if a.WebhookURL != "" && r.cfg.WebhookWarnBefore > 0 && !a.ExpiresAt.IsZero() {
		a.WarnAt = a.ExpiresAt.Add(-r.cfg.WebhookWarnBefore)
	}
}

// PauseAgent freezes a running agent's container (Podman's pause, the cgroup
// freezer): its processes get no CPU and keep their memory. The agent is
// paused until ResumeAgent; its hard deadline (TTL) runs on, its idle
// timeout does not. ErrConflict, with the agent, unless it is running.
func (r *Runner) PauseAgent(ctx context.Context, id string) (Agent, error) {
	return r.freeze(ctx, id, StateRunning, StatePaused, "pause", PhasePaused, r.sb.Pause)
}

// ResumeAgent thaws a paused agent's container; it is running again, its
// idle timeout counting afresh from now. ErrConflict, with the agent, unless it is paused.
func (r *Runner) ResumeAgent(ctx context.Context, id string) (Agent, error) {
	return r.freeze(ctx, id, StatePaused, StateRunning, "resume", PhaseResumed, r.sb.Unpause)
}

// freeze moves agent id from one state to the other and has the sandbox do
// it. The state changes first, so a stop racing it (TTL, DELETE) wins or
// loses in the store as usual; if the sandbox then fails, the state goes
// back. Pauses and resumes of one agent are serialized.
func (r *Runner) freeze(ctx context.Context, id string, from, to State, verb, phase string, do func(context.Context, string) error) (Agent, error) {
	mu := r.pauseLock(id)
	mu.Lock()
	defer mu.Unlock()
	a, err := r.store.Agent(ctx, id)
	if err != nil {
		return Agent{}, err
	}
	if a.State != from || a.ContainerID == "" {
		return a, fmt.Errorf("%w: agent %s is %s; only a %s agent can %s", ErrConflict, id, a.State, from, verb)
	}
	moved, err := r.journal.transition(ctx, id, Change{To: to, Detail: verb + " requested"})
	if errors.Is(err, ErrConflict) {
		return moved, fmt.Errorf("%w: agent %s is %s; only a %s agent can %s", ErrConflict, id, moved.State, from, verb)
	}
	if err != nil {
		return Agent{}, err
	}
	callCtx, cancel := r.agents.bounded(ctx)
	defer cancel()
	err = do(callCtx, a.ContainerID)
	if err == nil || (to == StateRunning && errors.Is(err, ErrConflict)) {
		// A resume finding the container not paused finds it where it wanted it.
		r.journal.event(ctx, id, phase, "")
		return moved, nil
	}
	back, berr := r.journal.transition(context.WithoutCancel(ctx), id, Change{To: from, Detail: verb + " failed: " + err.Error()})
	if berr != nil && !errors.Is(berr, ErrConflict) {
		r.log.Error("undo "+verb, logAgent, id, logErr, berr)
	}
	if berr == nil {
		moved = back
	}
	if errors.Is(err, ErrNoContainer) || errors.Is(err, ErrConflict) {
		return moved, fmt.Errorf("%w: %s agent %s: %v", ErrConflict, verb, id, err)
	}
	return Agent{}, fmt.Errorf("%s agent %s: %w", verb, id, err)
}

func (r *Runner) pauseLock(id string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return &r.pausing[h.Sum32()%uint32(len(r.pausing))]
}
