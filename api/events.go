package api

import (
	"net/url"
	"slices"
	"strconv"
)

// EventInvocation is the type filter of GET /v1/events that keeps every event of function
// invocations' agents (an invocation's history is its agent's: state changes, container phases, alerts).
const EventInvocation = "invocation"

// Query parameters of GET /v1/events, beside QueryFunction, QueryLabel, QueryCursor, QueryLimit
// and QueryTail.
const (
	QueryType  = "type"  // an event type, repeatable: an event of any of them (EventInvocation: of an invocation)
	QueryAgent = "agent" // an agent's id
)

// QueryTail (shared with the logs) asks GET /v1/events for the newest N matching events, still
// oldest first, instead of a page from the cursor on; it takes the place of limit.

// Server-Sent Events of GET /v1/events with Accept: text/event-stream. Each event of the
// stream is one Event, as JSON in its data field, with its ID in the id field and no event
// field (so a browser's EventSource hands it to onmessage); a client resumes after a cut with
// the Last-Event-ID header (or the cursor parameter) set to the last id it saw. The server
// ends a stream with one event named SSEEnd.
const (
	// MediaEventStream is the media type of the stream.
	MediaEventStream = "text/event-stream"
	// HeaderLastEventID carries the id of the last event a reconnecting client saw.
	HeaderLastEventID = "Last-Event-ID"
	// SSEEnd names the stream's last event, whose data is a StreamEnd, when the server ends it.
	SSEEnd = "end"
)

// Why the server ended an event stream (StreamEnd.Reason).
const (
	// EndSlowClient: the client read too slowly; the events it missed are kept, resume from LastEventID.
	EndSlowClient = "slow_client"
	// EndShutdown: podrun is stopping; resume after it restarts.
	EndShutdown = "shutdown"
	// EndError: the server could not read the events; resume later.
	EndError = "error"
)

// StreamEnd is the data of the SSEEnd event that closes an event stream the server ends.
type StreamEnd struct {
	// Reason is EndSlowClient, EndShutdown or EndError.
	Reason string `json:"reason"`
	// Message says more, in words.
	Message string `json:"message"`
	// LastEventID is the id of the last event sent: resume after it; 0 when none was sent.
	LastEventID int64 `json:"last_event_id"`
}

// EventPage is one page of GET /v1/events, oldest event first.
type EventPage struct {
	// Events is the page; [] when nothing matches.
	Events []Event `json:"events"`
	// NextCursor is the cursor of the next page, the last event's id; absent when no more events
	// matched when the page was read (the cursor to poll with is then the last event's id).
	NextCursor string `json:"next_cursor,omitempty"`
}

// EventOptions select the events of GET /v1/events; every field is optional.
type EventOptions struct {
	// Types keeps events of any of these types: EventState, EventContainer, "alert",
	// "resolved", EventInvocation, or any other type an event carries.
	Types []string
	// Agent keeps one agent's events.
	Agent string
	// Function keeps the events of this function's invocations.
	Function string
	// Labels keeps the events of agents carrying every one of these labels.
	Labels map[string]string
	// After keeps events with a greater id (the cursor); 0 starts from the oldest.
	After int64
	// Limit is the page size, 1 to 1000; 0 leaves it to the server (100). Unused by the stream.
	Limit int
	// Tail asks for the newest Tail events instead of a page (1 to 1000). Unused by the stream.
	Tail int
}

// Query encodes the options as query parameters.
func (o EventOptions) Query() url.Values {
	q := url.Values{}
	for _, t := range o.Types {
		q.Add(QueryType, t)
	}
	set(q, QueryAgent, o.Agent)
	set(q, QueryFunction, o.Function)
	if o.After != 0 {
		q.Set(QueryCursor, strconv.FormatInt(o.After, 10))
	}
	if o.Limit != 0 {
		q.Set(QueryLimit, strconv.Itoa(o.Limit))
	}
	if o.Tail != 0 {
		q.Set(QueryTail, strconv.Itoa(o.Tail))
	}
	keys := make([]string, 0, len(o.Labels))
	for k := range o.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		q.Add(QueryLabel, k+"="+o.Labels[k])
	}
	return q
}
