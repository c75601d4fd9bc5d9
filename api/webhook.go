package api

// Webhook event types (WebhookEvent.Type).
const (
	WebhookState    = "state"    // the agent moved to State
	WebhookExpiring = "expiring" // the agent's TTL ends at ExpiresAt, webhooks.warn_before from now
)

// Webhook headers. HeaderSignature is "t=<unix seconds>,v1=<hex HMAC-SHA256>" where the MAC is
// of "<t>.<body>" under webhooks.secret (absent when no secret is set); see docs/sandboxes.md.
const (
	HeaderSignature = "X-Podrun-Signature"
	HeaderEventID   = "X-Podrun-Event-Id"
)

// WebhookEvent is the JSON body podrun POSTs to an agent's webhook URL. Delivery is at least
// once: a receiver dedupes by ID, which is unique and grows with time; the events of one agent
// are sent one at a time, in the order they happened.
type WebhookEvent struct {
	// ID is the event's id.
	ID int64 `json:"id"`
	// Type is WebhookState or WebhookExpiring.
	Type string `json:"type"`
	// AgentID names the agent.
	AgentID string `json:"agent_id"`
	// State is the agent's state: the new one for a state event.
	State State `json:"state"`
	// Reason says why a final agent ended (Agent.Reason); "" while live.
	Reason string `json:"reason"`
	// Message is the cause of a failure in words; optional.
	Message string `json:"message,omitempty"`
	// ExitCode is the process's exit status; null until it has exited.
	ExitCode *int `json:"exit_code"`
	// Time is when it happened.
	Time Time `json:"time"`
	// ExpiresAt is the agent's hard deadline then; null for none.
	ExpiresAt *Time `json:"expires_at"`
}
