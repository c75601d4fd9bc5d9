package runner

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// dueBatch bounds one reaper query so a burst of deadlines is handled in slices.
const dueBatch = 128

// ExpireDue handles every deadline that is due: it expires agents past their
// hard deadline (reason ttl) or their idle deadline (reason idle) and kills
// their containers, and queues due "expiring" webhook events; then it
// returns the next deadline of any kind; ok is false when none is set.
func (r *Runner) ExpireDue(ctx context.Context) (next time.Time, ok bool, err error) {
	if err := r.expireTTL(ctx); err != nil {
		return time.Time{}, false, err
	}
	if err := r.expireIdle(ctx); err != nil {
		return time.Time{}, false, err
	}
	if err := r.warnDue(ctx); err != nil {
		return time.Time{}, false, err
	}
	return r.store.NextDeadline(ctx)
}

// expireTTL expires the agents past their hard deadline.
func (r *Runner) expireTTL(ctx context.Context) error {
	for {
		due, err := r.store.DueAgents(ctx, r.now(), dueBatch)
		if err != nil {
			return err // the store names the operation
		}
		for _, a := range due {
			if _, err := r.agents.end(ctx, a.ID, expiry(a.ExpiresAt)); err != nil {
				if !errors.Is(err, ErrConflict) {
					r.log.Error("expire agent", logAgent, a.ID, logErr, err)
				}
				continue
			}
			r.obs.Expired()
			r.log.Info("agent expired", logAgent, a.ID, logExpiresAt, a.ExpiresAt)
		}
		if len(due) < dueBatch {
			return nil
		}
	}
}

// expireIdle expires the running agents past their idle deadline, but for
// those in use now (Touch), whose deadline moves on instead.
func (r *Runner) expireIdle(ctx context.Context) error {
	for {
		now := r.now()
		due, err := r.store.DueIdle(ctx, now, dueBatch)
		if err != nil {
			return err
		}
		for _, a := range due {
			if r.activity.busy(a.ID) {
				r.touch(ctx, a.ID)
				continue
			}
			if _, err := r.agents.end(ctx, a.ID, idleExpiry(a.IdleExpiresAt)); err != nil {
				if !errors.Is(err, ErrConflict) {
					r.log.Error("expire idle agent", logAgent, a.ID, logErr, err)
				}
				continue
			}
			r.obs.Expired()
			r.log.Info("agent idled out", logAgent, a.ID, logIdleExpiresAt, a.IdleExpiresAt)
		}
		if len(due) < dueBatch {
			return nil
		}
	}
}

// warnDue queues the "expiring" webhook events that are due.
func (r *Runner) warnDue(ctx context.Context) error {
	for {
		now := r.now()
		due, err := r.store.DueWarnings(ctx, now, dueBatch)
		if err != nil {
			return err
		}
		for _, a := range due {
			sent, err := r.store.Warn(ctx, a.ID, now)
			if err != nil {
				return err
			}
			if sent {
				r.callbacks.Kick(a.ID)
			}
		}
		if len(due) < dueBatch {
			return nil
		}
	}
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
			// Unless its own supervisor is still at it.
			r.agents.with(a, func(s *supervisor) { _ = s.remove(ctx, a) })
		}
	}
	if r.cfg.Retention > 0 {
		n, err := r.store.Prune(ctx, now.Add(-r.cfg.Retention))
		if err != nil {
			return err // the store names the operation
		}
		if n > 0 {
			r.log.Info("pruned old agents", logCount, n)
		}
	}
	return nil
}
