package runner

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// deliverer posts asynchronous invocations' results to their callback URLs,
// each with bounded retries and doubling backoff, recording every attempt so
// that Open resumes what a previous run left. It has its own goroutines,
// which Close stops and waits for; with no Notifier it does nothing.
type deliverer struct {
	notifier Notifier
	store    resultStore
	attempts int
	backoff  time.Duration
	log      *slog.Logger

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	g      group
}

// resultStore is what the deliverer needs of the Store.
type resultStore interface {
	SaveResult(ctx context.Context, r Result) error
	PendingCallbacks(ctx context.Context) ([]Result, error)
	Agent(ctx context.Context, id string) (Agent, error)
}

func newDeliverer(n Notifier, store resultStore, attempts int, backoff time.Duration, log *slog.Logger) *deliverer {
	ctx, cancel := context.WithCancel(context.Background())
	return &deliverer{notifier: n, store: store, attempts: attempts, backoff: backoff, log: log, ctx: ctx, cancel: cancel}
}

// Open resumes the deliveries a previous run did not finish.
func (d *deliverer) Open(ctx context.Context) error {
	if d.notifier == nil {
		return nil
	}
	pending, err := d.store.PendingCallbacks(ctx)
	if err != nil {
		return err
	}
	for _, res := range pending {
		a, err := d.store.Agent(ctx, res.AgentID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		d.Deliver(a, res)
	}
	return nil
}

// Close stops the deliveries and waits for them; an attempt cut short is
// made again after the next Open.
func (d *deliverer) Close() {
	d.g.close()
	d.cancel()
	d.g.wait()
}

// Deliver posts res in the background; after Close it leaves res pending for the next Open.
func (d *deliverer) Deliver(a Agent, res Result) {
	if d.notifier == nil {
		return
	}
	d.g.start(func() { d.deliver(a, res) })
}

// deliver makes the attempts res has left, recording each.
func (d *deliverer) deliver(a Agent, res Result) {
	backoff := d.backoff
	for res.CallbackAttempts < d.attempts {
		res.CallbackAttempts++
		err := d.notifier.Notify(d.ctx, res.CallbackURL, a, res)
		if d.ctx.Err() != nil {
			return // shutting down: the attempt is retried after restart
		}
		switch {
		case err == nil:
			res.CallbackStatus = CallbackDelivered
		case res.CallbackAttempts >= d.attempts:
			res.CallbackStatus = CallbackFailed
			d.log.Warn("callback failed for good", logAgent, a.ID, logAttempt, res.CallbackAttempts, logErr, err)
		default:
			d.log.Info("callback failed, will retry", logAgent, a.ID, logAttempt, res.CallbackAttempts, logErr, err)
		}
		if err := d.store.SaveResult(d.ctx, res); err != nil {
			d.log.Error("record callback attempt", logAgent, a.ID, logErr, err)
		}
		if res.CallbackStatus != CallbackPending {
			return
		}
		select {
		case <-d.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}
