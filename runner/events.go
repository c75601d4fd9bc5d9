package runner

import (
	"context"
	"unicode/utf8"
)

// EventInvocation is the type filter that selects every event of function
// invocations' agents (state changes, container phases, alerts): an
// invocation has no event type of its own, its agent's history is its story.
const EventInvocation = "invocation"

// Page sizes of ListEvents.
const (
	DefaultEventPage = 100  // when EventFilter.Limit is 0
	MaxEventPage     = 1000 // the largest page a filter may ask for
)

// EventFilter selects events of every agent on this host, for ListEvents.
// Every field is optional; the fields that are set must all match.
type EventFilter struct {
	// After keeps events whose ID is greater: the cursor, 0 starting from the first event.
	After int64
	// Types keeps events of any of these types (an event's Type is a free
	// string: state, container, alert, resolved, ...); EventInvocation among
	// them also keeps every event of an invocation's agent.
	Types []string
	// AgentID keeps one agent's events.
	AgentID string
	// Function keeps the events of this function's invocations.
	Function string
	// Labels keeps the events of agents that carry every one of these labels.
	Labels map[string]string
	// Limit is the page size, 1 to MaxEventPage; 0 is DefaultEventPage.
	Limit int
	// Tail takes the newest Limit matching events instead of the oldest (still oldest first):
	// where a follower that wants recent history and then new events starts.
	Tail bool
}

// Validate checks the filter once, where it is read, naming the bad field; it fills in the default limit.
func (f *EventFilter) Validate() error {
	switch {
	case f.After < 0:
		return invalid("cursor", "must be an event id, 0 or more")
	case f.Limit < 0 || f.Limit > MaxEventPage:
		return invalid("limit", "must be between 1 and %d", MaxEventPage)
	case f.Limit == 0:
		f.Limit = DefaultEventPage
	}
	for _, t := range f.Types {
		if t == "" || len(t) > 64 || !utf8.ValidString(t) {
			return invalid("type", "must be an event type such as state, container, alert or invocation")
		}
	}
	if f.AgentID != "" && !ValidID(f.AgentID) {
		return invalid("agent", "is not an agent id")
	}
	if f.Function != "" && !ValidFunctionName(f.Function) {
		return invalid("function", "is not a function name")
	}
	return nil
}

// EventPage is one page of ListEvents, oldest first. More says whether
// events after the last one matched when the page was read.
type EventPage struct {
	Events []Event
	More   bool
}

// ListEvents returns, oldest first, the events of every agent of this host
// that match f and come after f.After. IDs are the store's durable event ids:
// they grow in the order events were committed and are never reused, so
// reading again after the last id seen neither skips nor repeats an event,
// across restarts too.
func (r *Runner) ListEvents(ctx context.Context, f EventFilter) (EventPage, error) {
	if err := f.Validate(); err != nil {
		return EventPage{}, err
	}
	return r.store.ListEvents(ctx, f)
}
