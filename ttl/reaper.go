// Package ttl holds podrun's background loops: the reaper that kills agents
// at their deadline and the sweeper that cleans up after finished ones.
package ttl

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Expirer is what the reaper needs from the runner.
type Expirer interface {
	// ExpireDue expires every agent past its deadline and returns the next deadline, if any.
	ExpireDue(ctx context.Context) (next time.Time, ok bool, err error)
	// DeadlineChanged is signalled when a deadline is added or moved earlier.
	DeadlineChanged() <-chan struct{}
}

// Reaper sleeps until the earliest agent deadline, not on a coarse poll, and expires what is due.
type Reaper struct {
	exp Expirer
	log *slog.Logger
	// MaxSleep bounds one sleep, a safety net should a deadline change go unsignalled.
	MaxSleep time.Duration
	// RetryDelay is the pause after a failed pass.
	RetryDelay time.Duration

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewReaper returns a reaper for exp; Open starts it.
func NewReaper(exp Expirer, log *slog.Logger) *Reaper {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reaper{exp: exp, log: log, MaxSleep: time.Minute, RetryDelay: time.Second}
}

// Step expires what is due and returns how long to sleep before the next deadline.
func (r *Reaper) Step(ctx context.Context) (time.Duration, error) {
	next, ok, err := r.exp.ExpireDue(ctx)
	if err != nil {
		return r.RetryDelay, err
	}
	if !ok {
		return r.MaxSleep, nil
	}
	return min(max(time.Until(next), 0), r.MaxSleep), nil
}

// Open starts the loop.
func (r *Reaper) Open() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.run(ctx)
	}()
}

// Close stops the loop and waits for it.
func (r *Reaper) Close() {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
}

func (r *Reaper) run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-r.exp.DeadlineChanged():
		}
		wait, err := r.Step(ctx)
		if err != nil && ctx.Err() == nil {
			r.log.Error("reaper pass failed", "err", err)
		}
		timer.Reset(wait)
	}
}
