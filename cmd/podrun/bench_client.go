package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// benchClient talks to podrun's HTTP API over keep-alive connections.
type benchClient struct {
	base  string
	token string
	hc    *http.Client
}

func newBenchClient(base, token string) *benchClient {
	return &benchClient{base: base, token: token, hc: &http.Client{Transport: newBenchTransport(64)}}
}

func newBenchTransport(idle int) *http.Transport {
	return &http.Transport{MaxIdleConns: idle, MaxIdleConnsPerHost: idle, IdleConnTimeout: time.Minute, DisableCompression: true}
}

// benchAgent is the part of an agent the bench reads.
type benchAgent struct {
	ID          string            `json:"id"`
	Function    string            `json:"function"`
	State       string            `json:"state"`
	Reason      string            `json:"reason"`
	ContainerID string            `json:"container_id"`
	Start       string            `json:"start"`
	Labels      map[string]string `json:"labels"`
	CreatedAt   time.Time         `json:"created_at"`
	StartedAt   *time.Time        `json:"started_at"`
	FinishedAt  *time.Time        `json:"finished_at"`
	ExpiresAt   *time.Time        `json:"expires_at"`
	Removed     bool              `json:"container_removed"`
}

func (a benchAgent) live() bool {
	return a.State == "pending" || a.State == "running" || a.State == "terminating"
}

type benchEvent struct {
	Time time.Time `json:"time"`
	Type string    `json:"type"`
	Name string    `json:"name"`
}

func (c *benchClient) request(ctx context.Context, method, path string, body io.Reader, ctype string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return c.hc.Do(req)
}

// call sends in as JSON (if not nil), expects one of the want statuses and decodes the answer into out (if not nil).
func (c *benchClient) call(ctx context.Context, method, path string, in, out any, want ...int) error {
	var body io.Reader
	ctype := ""
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, ctype = bytes.NewReader(raw), "application/json"
	}
	resp, err := c.request(ctx, method, path, body, ctype)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	ok := false
	for _, w := range want {
		ok = ok || resp.StatusCode == w
	}
	if !ok {
		return fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

func (c *benchClient) health(ctx context.Context) error {
	return c.call(ctx, http.MethodGet, "/healthz", nil, nil, http.StatusOK)
}

func (c *benchClient) agent(ctx context.Context, id string) (benchAgent, error) {
	var a benchAgent
	err := c.call(ctx, http.MethodGet, "/v1/agents/"+id, nil, &a, http.StatusOK)
	return a, err
}

func (c *benchClient) createAgent(ctx context.Context, req map[string]any) (benchAgent, error) {
	var a benchAgent
	err := c.call(ctx, http.MethodPost, "/v1/agents", req, &a, http.StatusCreated)
	return a, err
}

// deleteAgent sends DELETE and returns the time to its 202.
func (c *benchClient) deleteAgent(ctx context.Context, id string) (time.Duration, error) {
	start := time.Now()
	err := c.call(ctx, http.MethodDelete, "/v1/agents/"+id, nil, nil, http.StatusAccepted)
	return time.Since(start), err
}

// expireNow moves a live agent's deadline to now, so the reaper kills it (SIGKILL, no stop grace).
func (c *benchClient) expireNow(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodPatch, "/v1/agents/"+id, map[string]string{"ttl": "1ms"}, nil, http.StatusOK, http.StatusConflict)
}

func (c *benchClient) setTTL(ctx context.Context, id string, ttl time.Duration) (benchAgent, error) {
	var a benchAgent
	err := c.call(ctx, http.MethodPatch, "/v1/agents/"+id, map[string]string{"ttl": ttl.String()}, &a, http.StatusOK)
	return a, err
}

func (c *benchClient) events(ctx context.Context, id string) ([]benchEvent, error) {
	var out struct {
		Events []benchEvent `json:"events"`
	}
	err := c.call(ctx, http.MethodGet, "/v1/agents/"+id+"/events", nil, &out, http.StatusOK)
	return out.Events, err
}

// list returns every agent matching the query (label, state, ...), page by page.
func (c *benchClient) list(ctx context.Context, q url.Values) ([]benchAgent, error) {
	var all []benchAgent
	q.Set("limit", "1000")
	for {
		var page struct {
			Agents []benchAgent `json:"agents"`
			Next   string       `json:"next_cursor"`
		}
		if err := c.call(ctx, http.MethodGet, "/v1/agents?"+q.Encode(), nil, &page, http.StatusOK); err != nil {
			return all, err
		}
		all = append(all, page.Agents...)
		if page.Next == "" || len(page.Agents) == 0 {
			return all, nil
		}
		q.Set("cursor", page.Next)
	}
}

func (c *benchClient) putFunction(ctx context.Context, name string, f map[string]any) error {
	return c.call(ctx, http.MethodPut, "/v1/functions/"+name, f, nil, http.StatusCreated, http.StatusOK)
}

func (c *benchClient) deleteFunction(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodDelete, "/v1/functions/"+name, nil, nil, http.StatusOK, http.StatusNoContent, http.StatusNotFound)
}

// invocation is one synchronous invocation as the client saw it.
type invocation struct {
	took    time.Duration // request sent to the last byte of the answer, trailer included
	ended   time.Time
	agentID string
	start   string // X-Podrun-Start: cold or warm
}

// invoke posts body to a function, reads the whole answer and checks that it is body echoed with exit code 0.
func (c *benchClient) invoke(ctx context.Context, fn string, body []byte) (invocation, error) {
	begin := time.Now()
	resp, err := c.request(ctx, http.MethodPost, "/v1/functions/"+fn+"/invoke", bytes.NewReader(body), "application/octet-stream")
	if err != nil {
		return invocation{}, err
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	inv := invocation{took: time.Since(begin), agentID: resp.Header.Get("X-Podrun-Agent-Id"), start: resp.Header.Get("X-Podrun-Start")}
	inv.ended = begin.Add(inv.took)
	if err != nil {
		return inv, fmt.Errorf("invoke %s: read answer: %w", fn, err)
	}
	code := resp.Header.Get("X-Podrun-Exit-Code") + resp.Trailer.Get("X-Podrun-Exit-Code")
	if resp.StatusCode != http.StatusOK || code != "0" || !bytes.Equal(out, body) {
		return inv, fmt.Errorf("invoke %s: status %d, exit code %q, %d bytes back of %d: %.200s",
			fn, resp.StatusCode, code, len(out), len(body), out)
	}
	return inv, nil
}

// metrics returns the /metrics page parsed into sample name (labels included) → value.
func (c *benchClient) metrics(ctx context.Context) (map[string]float64, error) {
	resp, err := c.request(ctx, http.MethodGet, "/metrics", nil, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return parseMetrics(raw), nil
}

// parseMetrics reads Prometheus text samples; comments and malformed lines are skipped.
func parseMetrics(raw []byte) map[string]float64 {
	m := map[string]float64{}
	for _, line := range bytes.Split(raw, []byte("\n")) {
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		i := bytes.LastIndexByte(line, ' ')
		if i <= 0 {
			continue
		}
		v, err := strconv.ParseFloat(string(line[i+1:]), 64)
		if err != nil {
			continue
		}
		m[string(line[:i])] = v
	}
	return m
}
