package httpapi

import (
	"net/http"
	"strings"
	"testing"
)

func TestCreateAgentRejectsBadInput(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		contentType string // "" keeps application/json
		status      int
		code        string
		field       string
	}{
		{"missing image", `{}`, "", 400, "invalid", "image"},
		{"null body", `null`, "", 400, "invalid", "image"},
		{"upper-case image", `{"image":"UPPER/case"}`, "", 400, "invalid", "image"},
		{"upper-case image with registry", `{"image":"docker.io/UPPER/case"}`, "", 400, "invalid", "image"},
		{"image with space", `{"image":"a b"}`, "", 400, "invalid", "image"},
		{"image with empty tag", `{"image":"image:"}`, "", 400, "invalid", "image"},
		{"image padded", `{"image":" busybox"}`, "", 400, "invalid", "image"},
		{"empty command element", `{"image":"busybox","command":["sh",""]}`, "", 400, "invalid", "command[1]"},
		{"empty env key", `{"image":"busybox","env":{"":"x"}}`, "", 400, "invalid", "env"},
		{"env key with =", `{"image":"busybox","env":{"A=B":"x"}}`, "", 400, "invalid", "env.A=B"},
		{"reserved label", `{"image":"busybox","labels":{"podrun.agent":"x"}}`, "", 400, "invalid", "labels.podrun.agent"},
		{"ttl not a duration", `{"image":"busybox","ttl":"abc"}`, "", 400, "invalid", "ttl"},
		{"ttl negative", `{"image":"busybox","ttl":"-1s"}`, "", 400, "invalid", "ttl"},
		{"ttl zero", `{"image":"busybox","ttl":"0s"}`, "", 400, "invalid", "ttl"},
		{"ttl over max", `{"image":"busybox","ttl":"2h"}`, "", 400, "invalid", "ttl"},
		{"memory negative string", `{"image":"busybox","limits":{"memory":"-1"}}`, "", 400, "invalid", "limits.memory"},
		{"memory negative number", `{"image":"busybox","limits":{"memory":-1}}`, "", 400, "invalid", "limits.memory"},
		{"memory bad unit", `{"image":"busybox","limits":{"memory":"12x"}}`, "", 400, "invalid", "limits.memory"},
		{"memory fractional", `{"image":"busybox","limits":{"memory":1.5}}`, "", 400, "invalid", "limits.memory"},
		{"memory zero", `{"image":"busybox","limits":{"memory":0}}`, "", 400, "invalid", "limits.memory"},
		{"memory over max", `{"image":"busybox","limits":{"memory":"2Gi"}}`, "", 400, "invalid", "limits.memory"},
		{"memory wrong type", `{"image":"busybox","limits":{"memory":true}}`, "", 400, "invalid", "limits.memory"},
		{"cpus zero", `{"image":"busybox","limits":{"cpus":0}}`, "", 400, "invalid", "limits.cpus"},
		{"cpus negative", `{"image":"busybox","limits":{"cpus":-1}}`, "", 400, "invalid", "limits.cpus"},
		{"cpus over max", `{"image":"busybox","limits":{"cpus":3}}`, "", 400, "invalid", "limits.cpus"},
		{"cpus as string", `{"image":"busybox","limits":{"cpus":"1"}}`, "", 400, "invalid", "limits.cpus"},
		{"pids zero", `{"image":"busybox","limits":{"pids":0}}`, "", 400, "invalid", "limits.pids"},
		{"pids over max", `{"image":"busybox","limits":{"pids":100000}}`, "", 400, "invalid", "limits.pids"},
		{"pids fractional", `{"image":"busybox","limits":{"pids":1.5}}`, "", 400, "invalid", "limits.pids"},
		{"unknown top-level field", `{"image":"busybox","foo":1}`, "", 400, "invalid", "foo"},
		{"unknown nested field", `{"image":"busybox","limits":{"foo":1}}`, "", 400, "invalid", "foo"},
		{"command as string", `{"image":"busybox","command":"sh -c true"}`, "", 400, "invalid", "command"},
		{"command element number", `{"image":"busybox","command":[1]}`, "", 400, "invalid", "command"},
		{"env as array", `{"image":"busybox","env":["A=B"]}`, "", 400, "invalid", "env"},
		{"body is an array", `[]`, "", 400, "invalid", ""},
		{"trailing garbage", `{"image":"busybox"} x`, "", 400, "invalid", ""},
		{"two objects", `{"image":"busybox"}{"image":"busybox"}`, "", 400, "invalid", ""},
		{"empty body", ``, "", 400, "invalid", ""},
		{"whitespace body", "  \n", "", 400, "invalid", ""},
		{"truncated JSON", `{"image":"busybox"`, "", 400, "invalid", ""},
		{"syntax error", `{"image" "busybox"}`, "", 400, "invalid", ""},
		{"body over MaxBody", `{"image":"busybox","env":{"A":"` + strings.Repeat("x", 2048) + `"}}`, "", 413, "too_large", ""},
		{"huge trailing whitespace", `{"image":"busybox"}` + strings.Repeat(" ", 2048), "", 413, "too_large", ""},
		{"text/plain", `{"image":"busybox"}`, "text/plain", 415, "unsupported_media_type", ""},
		{"form", `image=busybox`, "application/x-www-form-urlencoded", 415, "unsupported_media_type", ""},
		{"garbled content type", `{"image":"busybox"}`, "application/json; =", 415, "unsupported_media_type", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{MaxBody: 1024})
			ct := tt.contentType
			if ct == "" {
				ct = "application/json"
			}
			rec := h.doRaw(t, http.MethodPost, "/v1/agents", tt.body, "Content-Type", ct)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			got := apiErrorOf(t, rec)
			if got.Code != tt.code || got.Field != tt.field {
				t.Errorf("code, field = %q, %q; want %q, %q (message %q)", got.Code, got.Field, tt.code, tt.field, got.Message)
			}
			if n := h.fake.createdCount(); n != 0 {
				t.Errorf("service created %d agents, want 0", n)
			}
		})
	}
}

// TestCreateAgentDecodeErrorsSkipService checks that input the HTTP layer can
// judge on its own never reaches the service at all.
func TestCreateAgentDecodeErrorsSkipService(t *testing.T) {
	for _, body := range []string{``, `{"foo":1}`, `{"image":"busybox"} x`, `{"command":"sh"}`, `{"limits":{"memory":"12x"}}`} {
		h := newHarness(t, Options{})
		rec := h.do(t, http.MethodPost, "/v1/agents", body)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%q: status = %d, want 400", body, rec.Code)
		}
		if n := h.fake.called("CreateAgent"); n != 0 {
			t.Errorf("%q: CreateAgent called %d times, want 0", body, n)
		}
	}
}

func TestCreateAgentAcceptsContentTypes(t *testing.T) {
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON", ""} {
		h := newHarness(t, Options{})
		rec := h.doRaw(t, http.MethodPost, "/v1/agents", `{"image":"busybox","limits":{"memory":"64Mi"}}`, "Content-Type", ct)
		if rec.Code != http.StatusCreated {
			t.Errorf("Content-Type %q: status = %d, want 201; body %s", ct, rec.Code, rec.Body)
		}
	}
}

func TestBadAgentIDIsNotFound(t *testing.T) {
	routes := []struct{ method, path, body string }{
		{http.MethodGet, "/v1/agents/%s", ""},
		{http.MethodDelete, "/v1/agents/%s", ""},
		{http.MethodPatch, "/v1/agents/%s", `{"ttl":"1m"}`},
		{http.MethodGet, "/v1/agents/%s/logs", ""},
		{http.MethodGet, "/v1/agents/%s/stats", ""},
		{http.MethodPost, "/v1/agents/%s/exec", `{"command":["true"]}`},
		{http.MethodGet, "/v1/agents/%s/events", ""},
	}
	badIDs := []string{"x", "0123456789ABCDEFGHJKMNPQRS", "0123456789abcdefghjkmnpqr", "0123456789abcdefghjkmnpqrsu", "0123456789abcdefghjkmnpqrs0"}
	for _, rt := range routes {
		for _, id := range badIDs {
			h := newHarness(t, Options{})
			path := strings.Replace(rt.path, "%s", id, 1)
			rec := h.do(t, rt.method, path, rt.body)
			if rec.Code != http.StatusNotFound {
				t.Errorf("%s %s: status = %d, want 404", rt.method, path, rec.Code)
				continue
			}
			if got := apiErrorOf(t, rec); got.Code != "not_found" {
				t.Errorf("%s %s: code = %q, want not_found", rt.method, path, got.Code)
			}
			h.fake.mu.Lock()
			calls := len(h.fake.calls)
			h.fake.mu.Unlock()
			if calls != 0 {
				t.Errorf("%s %s: service called %v", rt.method, path, h.fake.calls)
			}
		}
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	tests := []struct {
		method, path string
		status       int
		code         string
	}{
		{http.MethodGet, "/nope", 404, "not_found"},
		{http.MethodGet, "/v1/nope", 404, "not_found"},
		{http.MethodGet, "/v1/agents/", 404, "not_found"},
		{http.MethodGet, "/V1/agents", 404, "not_found"},
		{http.MethodPut, "/v1/agents", 405, "method_not_allowed"},
		{http.MethodDelete, "/v1/agents", 405, "method_not_allowed"},
		{http.MethodPost, "/healthz", 405, "method_not_allowed"},
		{http.MethodPut, "/v1/agents/0123456789abcdefghjkmnpqrs", 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		h := newHarness(t, Options{})
		rec := h.do(t, tt.method, tt.path, "")
		if rec.Code != tt.status {
			t.Errorf("%s %s: status = %d, want %d", tt.method, tt.path, rec.Code, tt.status)
			continue
		}
		if got := apiErrorOf(t, rec); got.Code != tt.code {
			t.Errorf("%s %s: code = %q, want %q", tt.method, tt.path, got.Code, tt.code)
		}
		if tt.status == 405 && rec.Header().Get("Allow") == "" {
			t.Errorf("%s %s: 405 without an Allow header", tt.method, tt.path)
		}
	}
}

func TestListAgentsRejectsBadQuery(t *testing.T) {
	tests := []struct{ query, field string }{
		{"state=bogus", "state"},
		{"state=RUNNING", "state"},
		{"label=novalue", "label"},
		{"label==v", "label"},
		{"label=a=1&label=a=2", "label"},
		{"limit=0", "limit"},
		{"limit=-1", "limit"},
		{"limit=1001", "limit"},
		{"limit=abc", "limit"},
		{"limit=1.5", "limit"},
	}
	for _, tt := range tests {
		h := newHarness(t, Options{})
		rec := h.do(t, http.MethodGet, "/v1/agents?"+tt.query, "")
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s: status = %d, want 400", tt.query, rec.Code)
			continue
		}
		if got := apiErrorOf(t, rec); got.Field != tt.field {
			t.Errorf("%s: field = %q, want %q", tt.query, got.Field, tt.field)
		}
		if n := h.fake.called("ListAgents"); n != 0 {
			t.Errorf("%s: ListAgents called %d times, want 0", tt.query, n)
		}
	}
}

func TestAgentQueryParamsRejected(t *testing.T) {
	tests := []struct {
		method, path, body, field string
	}{
		{http.MethodGet, "/logs?stream=neither", "", "stream"},
		{http.MethodGet, "/logs?format=xml", "", "format"},
		{http.MethodGet, "/logs?timestamps=maybe", "", "timestamps"},
		{http.MethodGet, "/logs?follow=maybe", "", "follow"},
		{http.MethodGet, "/logs?tail=-1", "", "tail"},
		{http.MethodGet, "/logs?tail=x", "", "tail"},
		{http.MethodPatch, "", `{}`, "ttl"},
		{http.MethodPatch, "", `{"ttl":null}`, "ttl"},
		{http.MethodPatch, "", `{"ttl":5}`, "ttl"},
		{http.MethodPatch, "", `{"ttl":"1m","state":"running"}`, "state"},
		{http.MethodPatch, "", `{"ttl":"abc"}`, "ttl"},
		{http.MethodPatch, "", `{"ttl":"2h"}`, "ttl"},
		{http.MethodPost, "/exec", `{"command":[]}`, "command"},
		{http.MethodPost, "/exec", `{"command":"ls"}`, "command"},
		{http.MethodPost, "/exec", `{"command":["ls"],"timeout":"1h"}`, "timeout"},
	}
	for _, tt := range tests {
		h := newHarness(t, Options{})
		id := h.fake.add()
		rec := h.do(t, tt.method, "/v1/agents/"+id+tt.path, tt.body)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s %s %s: status = %d, want 400; body %s", tt.method, tt.path, tt.body, rec.Code, rec.Body)
			continue
		}
		if got := apiErrorOf(t, rec); got.Field != tt.field {
			t.Errorf("%s %s %s: field = %q, want %q", tt.method, tt.path, tt.body, got.Field, tt.field)
		}
	}
}
