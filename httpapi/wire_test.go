package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

func TestAgentJSONShape(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))
	code := 3
	for _, tt := range []struct {
		name string
		a    runner.Agent
		want map[string]string
	}{
		{"pending", runner.Agent{ID: "a", State: runner.StatePending, CreatedAt: at, ExpiresAt: at, Stdin: []byte("secret")},
			map[string]string{"started_at": "null", "finished_at": "null", "expires_at": `"2026-01-02T02:04:05.000000006Z"`,
				"exit_code": "null", "container_removed": "false", "command": "[]", "env": "{}", "labels": "{}"}},
		{"finished", runner.Agent{ID: "b", State: runner.StateFailed, Reason: runner.ReasonExit, Message: "exited with code 3",
			ExitCode: &code, StartedAt: at, FinishedAt: at, RemovedAt: at, Command: []string{"x"}},
			map[string]string{"started_at": `"2026-01-02T02:04:05.000000006Z"`, "exit_code": "3", "container_removed": "true",
				"expires_at": "null", "command": `["x"]`, "state": `"failed"`, "message": `"exited with code 3"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(agentOut(tt.a))
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]json.RawMessage
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.want {
				if string(got[k]) != want {
					t.Errorf("%s = %s, want %s", k, got[k], want)
				}
			}
			if bytes.Contains(b, []byte("secret")) {
				t.Error("stdin is shown")
			}
		})
	}
	b, _ := json.Marshal(agentPageOut(runner.AgentPage{}))
	if string(b) != `{"agents":[]}` {
		t.Errorf("empty page = %s, want an empty list", b)
	}
}

// TestEmptyCollectionsAreNeverNull checks every answer that carries a list or a map: an empty one
// is [] or {}, whichever route made it, so a client never tells null from empty.
func TestEmptyCollectionsAreNeverNull(t *testing.T) {
	h := newHarness(t, Options{})
	agentShape := map[string]string{"command": "[]", "env": "{}", "labels": "{}"}
	functionShape := map[string]string{"command": "[]", "env": "{}"}
	check := func(route string, rec *httptest.ResponseRecorder, status int, want map[string]string) {
		t.Helper()
		got := fields(t, rec, status)
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s: %s = %s, want %s", route, k, got[k], w)
			}
		}
	}
	check("POST /v1/agents", h.do(t, http.MethodPost, "/v1/agents", `{"image":"busybox"}`), http.StatusCreated, agentShape)
	check("PUT /v1/functions/f", h.do(t, http.MethodPut, "/v1/functions/f", `{"image":"busybox"}`), http.StatusCreated, functionShape)
	check("PUT /v1/functions/f again", h.do(t, http.MethodPut, "/v1/functions/f", `{"image":"busybox"}`), http.StatusOK, functionShape)
	check("GET /v1/functions/f", h.do(t, http.MethodGet, "/v1/functions/f", ""), http.StatusOK, functionShape)
	id := h.fake.add() // an agent the store gave back without command, env or labels
	check("GET /v1/agents/{id}", h.do(t, http.MethodGet, "/v1/agents/"+id, ""), http.StatusOK, agentShape)
	check("PATCH /v1/agents/{id}", h.do(t, http.MethodPatch, "/v1/agents/"+id, `{"ttl":"1m"}`), http.StatusOK, agentShape)
	check("DELETE /v1/agents/{id}", h.do(t, http.MethodDelete, "/v1/agents/"+id, ""), http.StatusAccepted, agentShape)

	h.fake.mu.Lock()
	h.fake.agents, h.fake.fn.funcs = map[string]runner.Agent{}, nil
	h.fake.mu.Unlock()
	for path, want := range map[string]string{
		"/v1/functions": `{"functions":[]}`,
		"/v1/agents":    `{"agents":[]}`,
	} {
		if rec := h.do(t, http.MethodGet, path, ""); rec.Code != http.StatusOK || !bytes.Equal(bytes.TrimSpace(rec.Body.Bytes()), []byte(want)) {
			t.Errorf("GET %s = %d %s, want %s", path, rec.Code, rec.Body, want)
		}
	}
}

// fields decodes a JSON object answer into its raw members.
func fields(t *testing.T, rec *httptest.ResponseRecorder, status int) map[string]string {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil || rec.Code != status {
		t.Fatalf("status %d (want %d), body %s: %v", rec.Code, status, rec.Body, err)
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		out[k] = string(v)
	}
	return out
}

// TestRequestsArriveWhole sends every request type of package api, as the client encodes it,
// through the handlers and checks the service receives each value.
func TestRequestsArriveWhole(t *testing.T) {
	stdin, cpus, pids, warm, conc := "in", 0.5, int64(16), 2, 3
	encode := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	t.Run("agent", func(t *testing.T) {
		h := newHarness(t, Options{})
		in := api.AgentRequest{
			Image: "img", Command: []string{"sh", "-c", "x"}, Env: map[string]string{"A": "1"}, Stdin: &stdin,
			TTL: "5m", Limits: api.LimitsRequest{Memory: "256Mi", CPUs: &cpus, PIDs: &pids}, Labels: map[string]string{"k": "v"},
			Isolation: api.IsolationGVisor, Egress: &api.Egress{Allow: []string{"API.example.com:443"}},
		}
		rec := h.do(t, http.MethodPost, "/v1/agents", encode(in))
		if rec.Code != http.StatusCreated {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		var a api.Agent
		if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
			t.Fatal(err)
		}
		stored, _ := h.fake.get(a.ID)
		want := runner.Limits{Memory: 256 << 20, CPUs: 0.5, PIDs: 16}
		if stored.Image != "img" || !reflect.DeepEqual(stored.Command, in.Command) || !reflect.DeepEqual(stored.Env, in.Env) ||
			string(stored.Stdin) != "in" || stored.Limits != want || !reflect.DeepEqual(stored.Labels, in.Labels) ||
			stored.ExpiresAt.Sub(stored.CreatedAt) != 5*time.Minute ||
			stored.Isolation != runner.IsolationGVisor || !reflect.DeepEqual(stored.Egress, []string{"api.example.com:443"}) {
			t.Errorf("stored %+v", stored)
		}
		if a.Isolation != api.IsolationGVisor || a.Egress == nil || !reflect.DeepEqual(a.Egress.Allow, []string{"api.example.com:443"}) {
			t.Errorf("answered isolation %q, egress %+v", a.Isolation, a.Egress)
		}
		if a.Limits != (api.Limits{Memory: 256 << 20, CPUs: 0.5, PIDs: 16}) {
			t.Errorf("answered limits %+v", a.Limits)
		}
	})
	t.Run("function", func(t *testing.T) {
		h := newHarness(t, Options{})
		in := api.FunctionRequest{Image: "img", Command: []string{"cat"}, Env: map[string]string{"A": "1"},
			Limits: api.LimitsRequest{Memory: api.Bytes(32 << 20)}, Timeout: "90s", Warm: &warm, MaxConcurrency: &conc, MaxOutput: "1Mi",
			Isolation: api.IsolationGVisor, Egress: &api.Egress{Allow: []string{"*.example.org"}}}
		rec := h.do(t, http.MethodPut, "/v1/functions/echo", encode(in))
		if rec.Code != http.StatusCreated {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		var f api.Function
		if err := json.Unmarshal(rec.Body.Bytes(), &f); err != nil {
			t.Fatal(err)
		}
		want := api.Function{Name: "echo", Image: "img", Command: in.Command, Env: in.Env,
			Limits: api.Limits{Memory: 32 << 20, CPUs: 1, PIDs: 256}, Timeout: "1m30s", Warm: 2, MaxConcurrency: 3, MaxOutput: 1 << 20,
			Isolation: api.IsolationGVisor, Egress: &api.Egress{Allow: []string{"*.example.org"}},
			CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt}
		if !reflect.DeepEqual(f, want) || f.CreatedAt.IsZero() {
			t.Errorf("got  %+v\nwant %+v", f, want)
		}
	})
	t.Run("exec", func(t *testing.T) {
		h := newHarness(t, Options{})
		id := h.fake.add()
		rec := h.do(t, http.MethodPost, "/v1/agents/"+id+"/exec", encode(api.ExecRequest{Command: []string{"id"}, Stdin: "x", Timeout: "3s"}))
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if got, want := h.fake.lastExec, (runner.ExecRequest{Command: []string{"id"}, Stdin: "x", Timeout: "3s"}); !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
		var res api.ExecResult
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || res.Stdout != "id" || !bytes.Contains(rec.Body.Bytes(), []byte(`"truncated":false`)) {
			t.Errorf("answer %s: %v", rec.Body, err)
		}
	})
	t.Run("patch", func(t *testing.T) {
		h := newHarness(t, Options{})
		id := h.fake.add()
		if rec := h.do(t, http.MethodPatch, "/v1/agents/"+id, encode(api.PatchAgentRequest{TTL: "1m"})); rec.Code != http.StatusOK || h.fake.lastTTL != "1m" {
			t.Errorf("status %d, ttl %q", rec.Code, h.fake.lastTTL)
		}
	})
}
