package runner

import (
	"context"
	"time"
)

// Store keeps agents, their events and their saved logs durably.
type Store interface {
	// CreateAgent inserts a new agent and its first event; it is durable on return.
	CreateAgent(ctx context.Context, a Agent) error
	// Agent returns one agent, or ErrNotFound.
	Agent(ctx context.Context, id string) (Agent, error)
	// ListAgents returns one page of agents, newest first, without their stdin.
	ListAgents(ctx context.Context, f AgentFilter) (AgentPage, error)
	// Transition moves an agent to c.To if the transition table allows it from
	// the agent's current state (TransitionSources(c.To)), appending a state
	// event in the same transaction; ErrConflict (with the agent) otherwise, and
	// ErrInvalid for a c.To no state may move to.
	Transition(ctx context.Context, id string, c Change) (Agent, error)
	// SetContainer records the agent's container ID.
	SetContainer(ctx context.Context, id, containerID string) error
	// SetExitCode records an agent's exit code whatever its state (a stopped agent's state already says why it ended).
	SetExitCode(ctx context.Context, id string, code int) error
	// SetExpiresAt moves a live agent's deadline; ErrConflict if the agent is final.
	SetExpiresAt(ctx context.Context, id string, at time.Time) (Agent, error)
	// MarkRemoved records that the agent's container is gone.
	MarkRemoved(ctx context.Context, id string, at time.Time) error
	// AppendEvent adds an event to an agent's history. Unlike state changes it
	// may be held briefly and made durable with the next write; Events sees it.
	AppendEvent(ctx context.Context, e Event) error
	// Events returns an agent's history, oldest first.
	Events(ctx context.Context, agentID string) ([]Event, error)
	// ListEvents returns the events of every agent matching a validated
	// filter, by id, after writing any held events so that it sees every
	// event appended before the call.
	ListEvents(ctx context.Context, f EventFilter) (EventPage, error)
	// UsageTally aggregates the agents created in [q.Since, q.Until) by q's group (q is valid).
	UsageTally(ctx context.Context, q UsageQuery) (UsageTally, error)
	// LiveAgents returns every agent in a live state.
	LiveAgents(ctx context.Context) ([]Agent, error)
	// NextDeadline returns the earliest deadline the reaper keeps: a live
	// agent's expires_at (pending, running, paused), a running one's
	// idle_expires_at, or a due "expiring" warning (WarnAt).
	NextDeadline(ctx context.Context) (time.Time, bool, error)
	// DueAgents returns pending, running and paused agents whose deadline is at or before now, earliest first.
	DueAgents(ctx context.Context, now time.Time, limit int) ([]Agent, error)
	// DueIdle returns running agents whose idle deadline is at or before now, earliest first.
	DueIdle(ctx context.Context, now time.Time, limit int) ([]Agent, error)
	// Touch moves a running agent's idle deadline to now plus its idle
	// timeout; a no-op for an agent without one or not running.
	Touch(ctx context.Context, id string, now time.Time) error
	// DueWarnings returns live agents whose WarnAt is at or before now, earliest first.
	DueWarnings(ctx context.Context, now time.Time, limit int) ([]Agent, error)
	// Warn queues agent id's "expiring" webhook event and clears its WarnAt
	// in one durable step; sent is false if the warning was no longer due.
	Warn(ctx context.Context, id string, at time.Time) (sent bool, err error)
	// WebhookBacklog returns the IDs of agents with webhook events still to deliver.
	WebhookBacklog(ctx context.Context) ([]string, error)
	// PendingWebhooks returns an agent's undelivered webhook events, oldest
	// first. Transition and CreateAgent queue one per state change of an
	// agent with a WebhookURL, in the same transaction.
	PendingWebhooks(ctx context.Context, agentID string) ([]WebhookEvent, error)
	// SaveWebhook records a delivery attempt (Status, Attempts) of an event.
	SaveWebhook(ctx context.Context, e WebhookEvent) error
	// Unremoved returns agents in state whose container is not removed and that finished before cutoff.
	Unremoved(ctx context.Context, state State, finishedBefore time.Time, limit int) ([]Agent, error)
	// Prune deletes final agents (with their events and logs) finished before cutoff whose container is removed or never existed.
	Prune(ctx context.Context, finishedBefore time.Time) (int, error)
	// SaveLogs keeps the tail of an agent's output for after its container is
	// gone, replacing any earlier save: lines in log order, each with its
	// stream, time and Seq.
	SaveLogs(ctx context.Context, agentID string, lines []LogLine) error
	// Logs returns the saved output tail in log order, or ErrNotFound.
	Logs(ctx context.Context, agentID string) ([]LogLine, error)
	// PutFunction creates or replaces a function, keeping its CreatedAt on replace; created says which.
	PutFunction(ctx context.Context, f Function) (created bool, err error)
	// Function returns one function, or ErrNotFound.
	Function(ctx context.Context, name string) (Function, error)
	// Functions returns every function, by name.
	Functions(ctx context.Context) ([]Function, error)
	// DeleteFunction removes a function; ErrNotFound if there is none. Its agents stay.
	DeleteFunction(ctx context.Context, name string) error
	// SaveResult stores (or replaces) an asynchronous invocation's result.
	SaveResult(ctx context.Context, r Result) error
	// Result returns an agent's result, or ErrNotFound.
	Result(ctx context.Context, agentID string) (Result, error)
	// PendingCallbacks returns results whose callback is still to be delivered.
	PendingCallbacks(ctx context.Context) ([]Result, error)
	// SaveUsage stores (or replaces) the usage of each agent in one write;
	// usage of an agent since pruned is dropped.
	SaveUsage(ctx context.Context, us []Usage) error
	// Usage returns an agent's stored usage, or ErrNotFound before its first sample.
	Usage(ctx context.Context, agentID string) (Usage, error)
	// CountByState counts agents per state.
	CountByState(ctx context.Context) (map[State]int, error)
	// Close releases the store.
	Close() error
}

// AgentFilter selects agents for listing.
type AgentFilter struct {
	States   []State           // any of them; empty: any state
	Labels   map[string]string // all must match
	Function string            // empty: any
	Limit    int               // page size; the store caps it
	Cursor   string            // opaque, from a previous page's Next
}

// AgentPage is one page of a listing; Next is empty on the last page.
type AgentPage struct {
	Agents []Agent
	Next   string
}
