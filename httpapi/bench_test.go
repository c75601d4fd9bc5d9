package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

const typicalCreateBody = `{
	"image": "localhost/podrun/busybox:latest",
	"command": ["sh", "-c", "echo hello && sleep 1"],
	"env": {"LANG": "C.UTF-8", "PODRUN_TASK": "demo"},
	"stdin": "some input\n",
	"ttl": "10m",
	"limits": {"memory": "128Mi", "cpus": 0.5, "pids": 64},
	"labels": {"team": "platform", "job": "bench"}
}`

// BenchmarkDecodeValidate measures what every create pays before the service does real work.
func BenchmarkDecodeValidate(b *testing.B) {
	s := newServer(b, newFake(), Options{})
	body := []byte(typicalCreateBody)
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/v1/agents", nil)
	r.Header.Set("Content-Type", "application/json")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		r.Body = io.NopCloser(bytes.NewReader(body))
		var in api.AgentRequest
		if err := s.decode(w, r, &in); err != nil {
			b.Fatal(err)
		}
		req, err := agentRequestIn(in)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := req.Validate(testPolicy); err != nil {
			b.Fatal(err)
		}
	}
}

// staticService answers Agent with a fixed agent, so the benchmark measures only the HTTP stack.
type staticService struct {
	Service // nil: other methods are not called
	agent   runner.Agent
}

func (s staticService) Agent(context.Context, string) (runner.Agent, error) { return s.agent, nil }

// BenchmarkGetAgent measures GET /v1/agents/:id through every middleware, auth included.
func BenchmarkGetAgent(b *testing.B) {
	now := time.Now()
	code := 0
	a := runner.Agent{
		ID: runner.NewID(now), Image: "localhost/podrun/busybox:latest", Command: []string{"sh", "-c", "true"},
		State: runner.StateSucceeded, ExitCode: &code, CreatedAt: now, StartedAt: now, FinishedAt: now, ExpiresAt: now.Add(time.Minute),
		Limits: runner.Limits{Memory: 128 << 20, CPUs: 0.5, PIDs: 64}, Labels: map[string]string{"team": "platform"},
	}
	h := newServer(b, staticService{agent: a}, Options{Token: testToken}).Handler()
	r := httptest.NewRequest(http.MethodGet, "/v1/agents/"+a.ID, nil)
	r.Header.Set("Authorization", "Bearer "+testToken)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

func (s staticService) ListAgents(context.Context, runner.AgentFilter) (runner.AgentPage, error) {
	page := runner.AgentPage{Next: "cursor"}
	for range 100 {
		page.Agents = append(page.Agents, s.agent)
	}
	return page, nil
}

// BenchmarkListPage measures GET /v1/agents?limit=100 through the HTTP stack: routing, auth, encoding 100 agents.
func BenchmarkListPage(b *testing.B) {
	now := time.Now()
	code := 0
	a := runner.Agent{
		ID: runner.NewID(now), Function: "echo", Image: "localhost/podrun/busybox:latest", Command: []string{"sh", "-c", "sleep 600"},
		Env: map[string]string{"LANG": "C.UTF-8"}, State: runner.StateSucceeded, ExitCode: &code, ContainerID: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		CreatedAt: now, StartedAt: now, FinishedAt: now, ExpiresAt: now.Add(time.Minute), RemovedAt: now,
		Limits: runner.Limits{Memory: 128 << 20, CPUs: 0.5, PIDs: 64}, Labels: map[string]string{"team": "platform", "bench-run": "x"},
	}
	h := newServer(b, staticService{agent: a}, Options{Token: testToken}).Handler()
	r := httptest.NewRequest(http.MethodGet, "/v1/agents?limit=100", nil)
	r.Header.Set("Authorization", "Bearer "+testToken)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
