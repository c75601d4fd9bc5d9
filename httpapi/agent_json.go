package httpapi

import (
	"time"

	"github.com/podrun/podrun/runner"
)

// agentJSON is an agent as the API shows it: unset times are null and
// container_removed says whether its container is gone. It is a plain struct
// with no MarshalJSON, so encoding/json writes it in one pass instead of
// re-scanning a method's output (a third of a list page's encoding time);
// times are preformatted strings for the same reason.
type agentJSON struct {
	ID             string            `json:"id"`
	Function       string            `json:"function,omitempty"`
	Image          string            `json:"image"`
	Command        []string          `json:"command"`
	Env            map[string]string `json:"env"`
	State          runner.State      `json:"state"`
	Reason         string            `json:"reason"`
	Message        string            `json:"message,omitempty"`
	ExitCode       *int              `json:"exit_code"`
	ContainerID    string            `json:"container_id"`
	Limits         runner.Limits     `json:"limits"`
	LimitsEnforced bool              `json:"limits_enforced"`
	Labels         map[string]string `json:"labels"`
	CreatedAt      string            `json:"created_at"`
	Async          bool              `json:"async,omitempty"`
	CallbackURL    string            `json:"callback_url,omitempty"`
	Start          string            `json:"start,omitempty"`
	StartedAt      *string           `json:"started_at"`
	FinishedAt     *string           `json:"finished_at"`
	ExpiresAt      *string           `json:"expires_at"`
	Removed        bool              `json:"container_removed"`
}

func agentView(a runner.Agent) agentJSON {
	return agentJSON{
		ID: a.ID, Function: a.Function, Image: a.Image, Command: a.Command, Env: a.Env,
		State: a.State, Reason: a.Reason, Message: a.Message, ExitCode: a.ExitCode, ContainerID: a.ContainerID,
		Limits: a.Limits, LimitsEnforced: a.LimitsEnforced, Labels: a.Labels, CreatedAt: formatTime(a.CreatedAt),
		Async: a.Async, CallbackURL: a.CallbackURL, Start: a.Start,
		StartedAt: timeOrNil(a.StartedAt), FinishedAt: timeOrNil(a.FinishedAt), ExpiresAt: timeOrNil(a.ExpiresAt),
		Removed: !a.RemovedAt.IsZero(),
	}
}

// agentPageJSON is one page of a listing.
type agentPageJSON struct {
	Agents []agentJSON `json:"agents"`
	Next   string      `json:"next_cursor,omitempty"`
}

func agentPageView(p runner.AgentPage) agentPageJSON {
	out := agentPageJSON{Agents: make([]agentJSON, len(p.Agents)), Next: p.Next} // never null: clients iterate
	for i, a := range p.Agents {
		out.Agents[i] = agentView(a)
	}
	return out
}

// timeOrNil is a set time as formatTime writes it, or nil.
func timeOrNil(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := formatTime(t)
	return &s
}

// formatTime writes t in UTC as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds), as a plain string: encoding/json re-scans a Marshaler's output.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
