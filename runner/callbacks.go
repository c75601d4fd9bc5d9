package runner

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// deliverer is the one owner of outgoing deliveries: asynchronous
// invocations' results to their callback URLs, and agents' lifecycle events
// to their webhooks. Each delivery gets bounded retries with doubling
// backoff (retry), and every attempt is recorded, so that Open resumes what
// a previous run left: at least once, across a kill -9. Webhook events of
// one agent go out one at a time, in the order they happened. It has its own
// goroutines, which Close stops and waits for.
type deliverer struct {
	notifier Notifier      // nil: no callbacks
	hooks    WebhookSender // nil: no webhooks
	store    deliveryStore
	attempts int
	backoff  time.Duration
	log      *slog.Logger

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	g      group

	mu      sync.Mutex
	senders map[string]*bool // by agent ID: the agent's webhook sender, and whether more events came meanwhile
}

// deliveryStore is what the deliverer needs of the Store.
type deliveryStore interface {
	SaveResult(ctx context.Context, r Result) error
	PendingCallbacks(ctx context.Context) ([]Result, error)
	Agent(ctx context.Context, id string) (Agent, error)
	WebhookBacklog(ctx context.Context) ([]string, error)
	PendingWebhooks(ctx context.Context, agentID string) ([]WebhookEvent, error)
	SaveWebhook(ctx context.Context, e WebhookEvent) error
}

func newDeliverer(n Notifier, hooks WebhookSender, store deliveryStore, attempts int, backoff time.Duration, log *slog.Logger) *deliverer {
	ctx, cancel := context.WithCancel(context.Background())
	return &deliverer{notifier: n, hooks: hooks, store: store, attempts: attempts, backoff: backoff, log: log,
		ctx: ctx, cancel: cancel, senders: map[string]*bool{}}
}

// Open resumes the deliveries a previous run did not finish.
func (d *deliverer) Open(ctx context.Context) error {
	if d.hooks != nil {
		ids, err := d.store.WebhookBacklog(ctx)
		if err != nil {
			return err
		}
		for _, id := range ids {
			d.Kick(id)
		}
	}
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
	res.CallbackStatus = d.retry(&res.CallbackAttempts, func(ctx context.Context) error {
		return d.notifier.Notify(ctx, res.CallbackURL, a, res)
	}, func(status string) error {
		res.CallbackStatus = status
		return d.store.SaveResult(d.ctx, res)
	}, "callback", a.ID)
}

// retry makes the attempts left of a delivery whose attempts so far are
// *made, recording each with save(status), and returns the final status:
// CallbackDelivered, CallbackFailed, or CallbackPending when Close cut it
// short (it is retried after the next Open).
func (d *deliverer) retry(made *int, send func(context.Context) error, save func(status string) error, what, agent string) string {
	backoff := d.backoff
	for *made < d.attempts {
		*made++
		err := send(d.ctx)
		if d.ctx.Err() != nil {
			return CallbackPending // shutting down: the attempt is retried after restart
		}
		status := CallbackPending
		switch {
		case err == nil:
			status = CallbackDelivered
		case *made >= d.attempts:
			status = CallbackFailed
			d.log.Warn(what+" failed for good", logAgent, agent, logAttempt, *made, logErr, err)
		default:
			d.log.Info(what+" failed, will retry", logAgent, agent, logAttempt, *made, logErr, err)
		}
		if err := save(status); err != nil {
			d.log.Error("record "+what+" attempt", logAgent, agent, logErr, err)
		}
		if status != CallbackPending {
			return status
		}
		select {
		case <-d.ctx.Done():
			return CallbackPending
		case <-time.After(backoff):
		}
		backoff *= 2
	}
	return CallbackFailed
}

// Kick has agent id's pending webhook events sent, in order, by the agent's
// one sender goroutine: started now if there is none, or told to look again.
func (d *deliverer) Kick(id string) {
	if d.hooks == nil {
		return
	}
	d.mu.Lock()
	if more := d.senders[id]; more != nil {
		*more = true
		d.mu.Unlock()
		return
	}
	d.senders[id] = new(bool)
	d.mu.Unlock()
	if !d.g.start(func() { d.sendWebhooks(id) }) {
		d.mu.Lock()
		delete(d.senders, id)
		d.mu.Unlock()
	}
}

// sendWebhooks delivers agent id's pending events, oldest first, each to
// its end (delivered or failed for good) before the next, until none is left.
func (d *deliverer) sendWebhooks(id string) {
	for d.ctx.Err() == nil {
		evs, err := d.store.PendingWebhooks(d.ctx, id)
		if err != nil {
			d.log.Error("read pending webhooks", logAgent, id, logErr, err)
			select {
			case <-d.ctx.Done():
			case <-time.After(max(d.backoff, time.Second)):
			}
			continue
		}
		if len(evs) == 0 {
			d.mu.Lock()
			more := d.senders[id]
			again := *more
			*more = false
			if !again {
				delete(d.senders, id) // under the lock: a Kick from now on starts a new sender
			}
			d.mu.Unlock()
			if !again {
				return
			}
			continue
		}
		for _, e := range evs {
			e.Status = d.retry(&e.Attempts, func(ctx context.Context) error {
				return d.hooks.SendWebhook(ctx, e)
			}, func(status string) error {
				e.Status = status
				return d.store.SaveWebhook(d.ctx, e)
			}, "webhook", id)
			if e.Status == CallbackPending {
				break // shutting down
			}
		}
	}
	// Shutting down: what is left is sent after the next Open.
	d.mu.Lock()
	delete(d.senders, id)
	d.mu.Unlock()
}
