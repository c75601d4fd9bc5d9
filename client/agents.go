package client

import (
	"context"
	"io"
	"iter"
	"net/http"

	"github.com/podrun/podrun/api"
)

// CreateAgent starts an agent (POST /v1/agents); it returns once the agent is recorded, usually
// still pending.
func (c *Client) CreateAgent(ctx context.Context, req api.AgentRequest) (api.Agent, error) {
	var a api.Agent
	_, err := c.call(ctx, http.MethodPost, "/v1/agents", nil, req, &a)
	return a, err
}

// Agent returns one agent (GET /v1/agents/{id}).
func (c *Client) Agent(ctx context.Context, id string) (api.Agent, error) {
	var a api.Agent
	_, err := c.call(ctx, http.MethodGet, agentPath(id, ""), nil, nil, &a)
	return a, err
}

// ListAgents returns one page of agents, newest first (GET /v1/agents); pass the page's
// NextCursor as opts.Cursor for the next one.
func (c *Client) ListAgents(ctx context.Context, opts api.ListOptions) (api.AgentPage, error) {
	var p api.AgentPage
	_, err := c.call(ctx, http.MethodGet, "/v1/agents", opts.Query(), nil, &p)
	return p, err
}

// Agents yields every agent opts selects, page after page, newest first, starting at opts.Cursor.
// It stops at the first error, which it yields with a zero Agent.
func (c *Client) Agents(ctx context.Context, opts api.ListOptions) iter.Seq2[api.Agent, error] {
	return func(yield func(api.Agent, error) bool) {
		for {
			page, err := c.ListAgents(ctx, opts)
			if err != nil {
				yield(api.Agent{}, err)
				return
			}
			for _, a := range page.Agents {
				if !yield(a, nil) {
					return
				}
			}
			if page.NextCursor == "" || len(page.Agents) == 0 {
				return
			}
			opts.Cursor = page.NextCursor
		}
	}
}

// PatchAgent changes a live agent (PATCH /v1/agents/{id}); a final agent gives a conflict.
func (c *Client) PatchAgent(ctx context.Context, id string, req api.PatchAgentRequest) (api.Agent, error) {
	var a api.Agent
	_, err := c.call(ctx, http.MethodPatch, agentPath(id, ""), nil, req, &a)
	return a, err
}

// SetTTL gives a live agent a new deadline, ttl (a Go duration like "10m") from now.
func (c *Client) SetTTL(ctx context.Context, id, ttl string) (api.Agent, error) {
	return c.PatchAgent(ctx, id, api.PatchAgentRequest{TTL: ttl})
}

// DeleteAgent asks for an agent's end (DELETE /v1/agents/{id}). The server answers 202 at once: a
// live agent comes back terminating and is stopped in the background; a final agent keeps its
// state and its container, if still kept, is removed.
func (c *Client) DeleteAgent(ctx context.Context, id string) (api.Agent, error) {
	var a api.Agent
	_, err := c.call(ctx, http.MethodDelete, agentPath(id, ""), nil, nil, &a)
	return a, err
}

// Logs returns an agent's output (GET /v1/agents/{id}/logs): plain text, or with opts.Format
// api.FormatNDJSON one api.LogLine per line. With opts.Follow the
// reader yields output as it comes and ends when the process ends; closing it (or cancelling ctx)
// stops following. The caller must close it.
func (c *Client) Logs(ctx context.Context, id string, opts api.LogOptions) (io.ReadCloser, error) {
	req, err := c.newRequest(ctx, http.MethodGet, agentPath(id, "logs"), opts.Query(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Stats samples a running agent's resource use (GET /v1/agents/{id}/stats).
func (c *Client) Stats(ctx context.Context, id string) (api.Stats, error) {
	var s api.Stats
	_, err := c.call(ctx, http.MethodGet, agentPath(id, "stats"), nil, nil, &s)
	return s, err
}

// Exec runs a command in a running agent's container and returns once it has ended
// (POST /v1/agents/{id}/exec).
func (c *Client) Exec(ctx context.Context, id string, req api.ExecRequest) (api.ExecResult, error) {
	var r api.ExecResult
	_, err := c.call(ctx, http.MethodPost, agentPath(id, "exec"), nil, req, &r)
	return r, err
}

// Events returns an agent's history, oldest first (GET /v1/agents/{id}/events); never nil.
func (c *Client) Events(ctx context.Context, id string) ([]api.Event, error) {
	var l api.EventList
	if _, err := c.call(ctx, http.MethodGet, agentPath(id, "events"), nil, nil, &l); err != nil {
		return nil, err
	}
	if l.Events == nil {
		l.Events = []api.Event{}
	}
	return l.Events, nil
}

// PauseAgent freezes a running agent (POST /v1/agents/{id}/pause) and returns it, now paused; a
// 409 *Error unless it was running.
func (c *Client) PauseAgent(ctx context.Context, id string) (api.Agent, error) {
	var a api.Agent
	_, err := c.call(ctx, http.MethodPost, agentPath(id, "pause"), nil, nil, &a)
	return a, err
}

// ResumeAgent thaws a paused agent (POST /v1/agents/{id}/resume) and returns it, running again; a
// 409 *Error unless it was paused.
func (c *Client) ResumeAgent(ctx context.Context, id string) (api.Agent, error) {
	var a api.Agent
	_, err := c.call(ctx, http.MethodPost, agentPath(id, "resume"), nil, nil, &a)
	return a, err
}
