package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/podrun/podrun/runner"
)

func TestCreateAgent(t *testing.T) {
	h := newHarness(t, Options{})
	rec := h.do(t, http.MethodPost, "/v1/agents", `{"image":"localhost/podrun/busybox:latest","command":["echo","hi"],"env":{"A":"1"},"ttl":"10m","limits":{"memory":"64Mi","cpus":0.5,"pids":64},"labels":{"team":"x"}}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("status = %d, want 201; body %s", rec.Code, rec.Body)
	}
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	id, _ := got["id"].(string)
	if !runner.ValidID(id) {
		t.Fatalf("id = %q, not a valid id", id)
	}
	if loc := rec.Header().Get("Location"); loc != "/v1/agents/"+id {
		t.Errorf("Location = %q, want /v1/agents/%s", loc, id)
	}
	if got["state"] != "pending" {
		t.Errorf("state = %v, want pending", got["state"])
	}
	limits, _ := got["limits"].(map[string]any)
	if limits["memory"] != float64(64<<20) || limits["cpus"] != 0.5 || limits["pids"] != float64(64) {
		t.Errorf("limits = %v", limits)
	}
	if n := h.fake.createdCount(); n != 1 {
		t.Errorf("created = %d, want 1", n)
	}
}

func TestAgentRoutes(t *testing.T) {
	h := newHarness(t, Options{})
	id := h.fake.add()
	tests := []struct {
		method, path, body string
		status             int
		want               string // a fragment the body must contain
	}{
		{http.MethodGet, "/v1/agents/" + id, "", 200, `"id":"` + id + `"`},
		{http.MethodDelete, "/v1/agents/" + id, "", 202, `"state":"terminating"`},
		{http.MethodPatch, "/v1/agents/" + id, `{"ttl":"10m"}`, 200, `"id":"` + id + `"`},
		{http.MethodGet, "/v1/agents/" + id + "/events", "", 200, `{"events":[{"id":1,`},
		{http.MethodGet, "/v1/agents/" + id + "/stats", "", 200, `"cpu_percent":12.5`},
		{http.MethodPost, "/v1/agents/" + id + "/exec", `{"command":["echo","hi"]}`, 200, `"stdout":"echo hi"`},
		{http.MethodGet, "/v1/agents", "", 200, `{"agents":[{"id":"` + id + `"`},
	}
	for _, tt := range tests {
		rec := h.do(t, tt.method, tt.path, tt.body)
		if rec.Code != tt.status {
			t.Errorf("%s %s: status = %d, want %d; body %s", tt.method, tt.path, rec.Code, tt.status, rec.Body)
			continue
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type = %q", tt.method, tt.path, ct)
		}
		if !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("%s %s: body %s lacks %s", tt.method, tt.path, rec.Body, tt.want)
		}
	}
	if h.fake.lastTTL != "10m" {
		t.Errorf("SetTTL got %q, want 10m", h.fake.lastTTL)
	}
}

func TestListAgentsFilter(t *testing.T) {
	h := newHarness(t, Options{})
	rec := h.do(t, http.MethodGet, "/v1/agents?state=running&label=team=a&label=env=x%3Dy&function=fn&limit=7&cursor=abc", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d; body %s", rec.Code, rec.Body)
	}
	want := runner.AgentFilter{
		States:   []runner.State{runner.StateRunning},
		Labels:   map[string]string{"team": "a", "env": "x=y"},
		Function: "fn",
		Limit:    7,
		Cursor:   "abc",
	}
	if got := h.fake.lastFilter; !reflect.DeepEqual(got, want) {
		t.Errorf("filter = %+v, want %+v", got, want)
	}
	if got, want := rec.Body.String(), "{\"agents\":[]}\n"; got != want {
		t.Errorf("empty list body = %q, want %q", got, want)
	}

	rec = h.do(t, http.MethodGet, "/v1/agents", "")
	if rec.Code != http.StatusOK || h.fake.lastFilter.Limit != defaultListLimit {
		t.Errorf("default limit = %d (status %d), want %d", h.fake.lastFilter.Limit, rec.Code, defaultListLimit)
	}
}

// TestListAgentsAnyOfStates: the state parameter may be repeated, and an agent in any of the
// states matches, so a client lists the live agents in one request.
func TestListAgentsAnyOfStates(t *testing.T) {
	h := newHarness(t, Options{})
	for _, tt := range []struct {
		query string
		want  []runner.State
	}{
		{"state=pending&state=running&state=terminating", []runner.State{runner.StatePending, runner.StateRunning, runner.StateTerminating}},
		{"state=failed&state=failed", []runner.State{runner.StateFailed}},
		{"", nil},
	} {
		if rec := h.do(t, http.MethodGet, "/v1/agents?"+tt.query, ""); rec.Code != http.StatusOK {
			t.Fatalf("%s: status = %d; body %s", tt.query, rec.Code, rec.Body)
		}
		if got := h.fake.lastFilter.States; !slices.Equal(got, tt.want) {
			t.Errorf("%s: states = %v, want %v", tt.query, got, tt.want)
		}
	}
	rec := h.do(t, http.MethodGet, "/v1/agents?state=running&state=asleep", "")
	if got := apiErrorOf(t, rec); rec.Code != http.StatusBadRequest || got.Field != "state" {
		t.Errorf("an unknown second state: status %d, field %q, want 400 naming state", rec.Code, got.Field)
	}
}

// TestServiceErrorsMapToStatuses: writeError maps each domain error to its status and code, and
// only known errors keep their message. Each error comes from a service method whose route can
// meet it, so the answers are also ones openapi.json describes for that route.
func TestServiceErrorsMapToStatuses(t *testing.T) {
	tests := []struct {
		method  string // the fake's method that fails
		err     error
		status  int
		code    string
		field   string
		message string // "" skips the check
	}{
		{"Agent", fmt.Errorf("agent x: %w", runner.ErrNotFound), 404, "not_found", "", "agent x: not found"},
		{"SetTTL", fmt.Errorf("agent x is final: %w", runner.ErrConflict), 409, "conflict", "", ""},
		{"Invoke", fmt.Errorf("too many invocations: %w", runner.ErrBusy), 429, "busy", "", ""},
		{"CreateAgent", fmt.Errorf("pull busybox: %w", runner.ErrImageUnavailable), 422, "image_unavailable", "", ""},
		{"CreateAgent", fmt.Errorf("wrapped: %w", &runner.FieldError{Field: "ttl", Message: "bad"}), 400, "invalid", "ttl", "bad"},
		{"CreateAgent", fmt.Errorf("odd: %w", runner.ErrInvalid), 400, "invalid", "", ""},
		{"Stats", fmt.Errorf("podman: %w", context.DeadlineExceeded), 504, "timeout", "", "the operation timed out"},
		{"Stats", fmt.Errorf("stats: %w: dial unix /run/podman/podman.sock: secret detail", runner.ErrUnavailable), 503, "unavailable", "",
			"the container service does not answer; try again"},
		{"Agent", errors.New("dial unix /run/podman/podman.sock: secret detail"), 500, "internal", "", "internal error"},
	}
	for _, tt := range tests {
		h := newHarness(t, Options{})
		id := h.fake.add()
		h.fake.addFunction("fn")
		h.fake.errs[tt.method] = tt.err
		route := map[string][3]string{
			"Agent":       {http.MethodGet, "/v1/agents/" + id, ""},
			"SetTTL":      {http.MethodPatch, "/v1/agents/" + id, `{"ttl":"1m"}`},
			"Invoke":      {http.MethodPost, "/v1/functions/fn/invoke", ""},
			"CreateAgent": {http.MethodPost, "/v1/agents", `{"image":"busybox"}`},
			"Stats":       {http.MethodGet, "/v1/agents/" + id + "/stats", ""},
		}[tt.method]
		rec := h.do(t, route[0], route[1], route[2])
		if rec.Code != tt.status {
			t.Errorf("%v: status = %d, want %d", tt.err, rec.Code, tt.status)
			continue
		}
		got := apiErrorOf(t, rec)
		if got.Code != tt.code || got.Field != tt.field || (tt.message != "" && got.Message != tt.message) {
			t.Errorf("%v: got %+v, want code %q field %q message %q", tt.err, got, tt.code, tt.field, tt.message)
		}
		if retry := rec.Header().Get("Retry-After"); (tt.status == 429) != (retry == "1") {
			t.Errorf("%v: Retry-After = %q", tt.err, retry)
		}
		if strings.Contains(tt.err.Error(), "secret detail") {
			if strings.Contains(rec.Body.String(), "secret detail") {
				t.Errorf("%d body leaks the error: %s", tt.status, rec.Body)
			}
			if !strings.Contains(h.logs.String(), "secret detail") {
				t.Errorf("%d error not logged; logs:\n%s", tt.status, h.logs)
			}
		}
	}
}

func TestHealthAndReady(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.errs["Ready"] = errors.New("podman is down")
	if rec := h.do(t, http.MethodGet, "/healthz", ""); rec.Code != 200 || rec.Body.String() != "{\"status\":\"ok\"}\n" {
		t.Errorf("healthz = %d %q", rec.Code, rec.Body)
	}
	rec := h.do(t, http.MethodGet, "/readyz", "")
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("readyz with a failing service = %d, want 503", rec.Code)
	}
	if got := apiErrorOf(t, rec); got.Message != "podman is down" {
		t.Errorf("readyz error = %+v", got)
	}
	h.fake.errs["Ready"] = nil
	if rec := h.do(t, http.MethodGet, "/readyz", ""); rec.Code != 200 {
		t.Errorf("readyz = %d, want 200", rec.Code)
	}
}

// TestExecAnswerHasEveryField: the README lists exit_code, stdout, stderr and
// truncated; a client must find truncated even when it is false.
func TestExecAnswerHasEveryField(t *testing.T) {
	h := newHarness(t, Options{})
	id := h.fake.add()
	rec := h.do(t, http.MethodPost, "/v1/agents/"+id+"/exec", `{"command":["echo","hi"]}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d; body %s", rec.Code, rec.Body)
	}
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	keys := slices.Sorted(maps.Keys(got))
	if want := []string{"exit_code", "stderr", "stdout", "truncated"}; !slices.Equal(keys, want) || got["truncated"] != false {
		t.Errorf("exec answer %s has keys %v, want %v with truncated false", rec.Body, keys, want)
	}
}
