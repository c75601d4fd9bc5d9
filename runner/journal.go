package runner

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// journal is the one gate of an agent's history: every state change and
// container phase passes it. It writes them to the store, whose
// compare-and-set moves an agent only along the transition table, and tells
// the observer and the log. Nothing else calls Store.CreateAgent, Transition
// or AppendEvent, and it wakes the followers of the event stream
// (see feed) after each of them.
type journal struct {
	store Store
	obs   Observer
	log   *slog.Logger
	clock func() time.Time
	// webhook is told of every change of an agent with a webhook URL, whose
	// event the store queued with it: it has the event sent (deliverer.Kick).
	webhook func(agentID string)
	// deadline is told when a change set a new idle deadline (a start or
	// resume of an agent with an idle timeout), so the reaper looks again.
	deadline func()
	feed     *feed // followers of the event stream, told after every write
}

func (j *journal) now() time.Time { return j.clock().UTC() }

// record stores a new pending agent durably and counts it.
func (j *journal) record(ctx context.Context, a Agent) error {
	if a.State != StatePending {
		return fmt.Errorf("record agent %s: %w", a.ID, invalid("state", "a new agent is pending, not %s", a.State))
	}
	if err := j.store.CreateAgent(ctx, a); err != nil {
		return err
	}
	j.feed.notify()
	j.obs.AgentCreated()
	j.obs.Transitioned(StatePending)
	if a.WebhookURL != "" {
		j.webhook(a.ID)
	}
	return nil
}

// transition moves agent id to c.To if the table allows it from its current
// state, and reports it. ErrConflict, with the agent as stored, when it does not.
func (j *journal) transition(ctx context.Context, id string, c Change) (Agent, error) {
	if c.At.IsZero() {
		c.At = j.now()
	}
	a, err := j.store.Transition(ctx, id, c)
	if err != nil {
		return a, err
	}
	j.feed.notify()
	j.obs.Transitioned(c.To)
	if a.WebhookURL != "" {
		j.webhook(id)
	}
	if !a.IdleExpiresAt.IsZero() {
		j.deadline()
	}
	j.log.Debug("agent transition", logAgent, id, logState, c.To, logReason, c.Reason)
	// A final state is reached once, so this counts each asynchronous
	// invocation once, however it ends; Invoke counts synchronous ones.
	if a.Kind() == KindAsync && !a.State.Live() {
		j.obs.Invoked(a.Function, a.Start, Outcome(a), c.At.Sub(a.CreatedAt))
	}
	return a, nil
}

// event appends a container phase to an agent's history; a failure is logged, not fatal.
func (j *journal) event(ctx context.Context, id, phase, detail string) {
	err := j.append(ctx, Event{AgentID: id, Type: EventContainer, Name: phase, Detail: detail})
	if err != nil && ctx.Err() == nil {
		j.log.Warn("append event", logAgent, id, logPhase, phase, logErr, err)
	}
}

// append adds an event other than a state change (a container phase, an
// egress decision, an alert) to an agent's history, stamped now unless it
// has a time, and wakes the event stream's followers.
func (j *journal) append(ctx context.Context, e Event) error {
	if e.Time.IsZero() {
		e.Time = j.now()
	}
	if err := j.store.AppendEvent(ctx, e); err != nil {
		return err
	}
	// The store may hold the event briefly; ListEvents writes held events
	// before it reads, so a follower woken now sees it.
	j.feed.notify()
	return nil
}
