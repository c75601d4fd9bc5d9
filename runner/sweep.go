package runner

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// dueBatch bounds one reaper query so a burst of deadlines is handled in slices.
const dueBatch = 128

// ExpireDue marks every agent past its deadline expired and kills its
// container, then returns the next deadline; ok is false when none is set.
func (r *Runner) ExpireDue(ctx context.Context) (next time.Time, ok bool, err error) {
	for {
		due, err := r.store.DueAgents(ctx, r.now(), dueBatch)
		if err != nil {
			return time.Time{}, false, err // the store names the operation
		}
		for _, a := range due {
			r.expire(ctx, a)
		}
		if len(due) < dueBatch {
			break
		}
	}
	return r.store.NextDeadline(ctx)
}

func (r *Runner) expire(ctx context.Context, a Agent) {
	cur, err := r.transition(ctx, a.ID, Change{
		To: StateExpired, Reason: ReasonTTL,
		Message: "killed at its deadline (ttl): expires_at " + a.ExpiresAt.UTC().Format(time.RFC3339Nano),
		Detail:  "deadline " + a.ExpiresAt.UTC().Format(time.RFC3339Nano),
	})
	if err != nil {
		if !errors.Is(err, ErrConflict) {
			r.log.Error("expire agent", "agent", a.ID, "err", err)
		}
		return
	}
	r.obs.Expired()
	r.log.Info("agent expired", "agent", a.ID, "expires_at", a.ExpiresAt)
	r.stop(cur, ReasonTTL)
}

// Sweep reconciles with the containers, removes finished agents' containers
// past their grace period and prunes agent rows past the retention.
func (r *Runner) Sweep(ctx context.Context) error {
	if err := r.reconcile(ctx); err != nil {
		return err
	}
	now := r.now()
	for _, p := range []struct {
		state State
		grace time.Duration
	}{
		{StateExpired, 0}, {StateTerminated, 0},
		{StateSucceeded, r.cfg.SucceededGrace}, {StateFailed, r.cfg.FailedGrace},
	} {
		agents, err := r.store.Unremoved(ctx, p.state, now.Add(-p.grace), 100)
		if err != nil {
			return fmt.Errorf("finished %s agents: %w", p.state, err)
		}
		for _, a := range agents {
			if !r.isActive(a.ID) {
				_ = r.removeContainer(ctx, a, string(p.state))
			}
		}
	}
	if r.cfg.Retention > 0 {
		n, err := r.store.Prune(ctx, now.Add(-r.cfg.Retention))
		if err != nil {
			return err // the store names the operation
		}
		if n > 0 {
			r.log.Info("pruned old agents", "count", n)
		}
	}
	return nil
}
