package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

func TestInvokeAsync(t *testing.T) {
	tests := []struct {
		name, target, callback, path string
		headers                      []string
		preferenceApplied            bool
	}{
		{name: "async route", target: "/async-function/fn/x/y?q=1", callback: "https://example.com/hook?k=v", path: "/x/y"},
		{name: "async route, no callback", target: "/async-function/fn", path: "/"},
		{name: "Prefer", target: "/v1/functions/fn/invoke", callback: "http://10.0.0.1:8080/cb", path: "/",
			headers: []string{"Prefer", "wait=5, Respond-Async"}, preferenceApplied: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.fake.addFunction("fn")
			headers := append([]string{"X-Callback-Url", tt.callback}, tt.headers...)
			rec := h.doRaw(t, http.MethodPost, tt.target, "payload", headers...)
			if rec.Code != http.StatusAccepted {
				t.Fatalf("status = %d, want 202; body %s", rec.Code, rec.Body)
			}
			var a api.Agent
			if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
				t.Fatal(err)
			}
			if !runner.ValidID(a.ID) || !a.Async || a.CallbackURL != tt.callback {
				t.Errorf("agent = %+v", a)
			}
			if got := rec.Header().Get("Location"); got != "/v1/agents/"+a.ID {
				t.Errorf("Location = %q", got)
			}
			if got := rec.Header().Get(headerAgentID); got != a.ID {
				t.Errorf("%s = %q, want %q", headerAgentID, got, a.ID)
			}
			if got := rec.Header().Get("Preference-Applied"); (got == "respond-async") != tt.preferenceApplied {
				t.Errorf("Preference-Applied = %q", got)
			}
			inv := h.fake.lastInvocation()
			if !inv.Async || inv.CallbackURL != tt.callback || inv.Env["Http_Path"] != tt.path || inv.Output != nil || inv.Started != nil {
				t.Errorf("invocation = %+v", inv)
			}
		})
	}
}

func TestInvokeSyncWithoutPrefer(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.addFunction("fn")
	rec := h.doRaw(t, http.MethodPost, "/v1/functions/fn/invoke", "hi", "Prefer", "return=minimal")
	if rec.Code != http.StatusOK || rec.Body.String() != "hi" || h.fake.lastInvocation().Async {
		t.Errorf("got %d %q, want a synchronous 200", rec.Code, rec.Body)
	}
}

func TestInvokeAsyncBadCallback(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.addFunction("fn")
	for _, cb := range []string{"ftp://example.com/x", "/relative/path", "example.com/hook", "http://", "http://%zz", "javascript:alert(1)"} {
		for _, target := range []string{"/async-function/fn", "/v1/functions/fn/invoke"} {
			rec := h.doRaw(t, http.MethodPost, target, "", "X-Callback-Url", cb, "Prefer", "respond-async")
			if rec.Code != http.StatusBadRequest {
				t.Errorf("%s %q: status = %d, want 400", target, cb, rec.Code)
				continue
			}
			if got := apiErrorOf(t, rec); got.Field != "X-Callback-Url" {
				t.Errorf("%s %q: field = %q", target, cb, got.Field)
			}
		}
	}
	if n := h.fake.called("Invoke"); n != 0 {
		t.Errorf("Invoke called %d times with a bad callback URL", n)
	}
}

func TestAgentResult(t *testing.T) {
	h := newHarness(t, Options{})
	id := runner.NewID(time.Now())
	h.fake.addResult(runner.Result{AgentID: id, ExitCode: 4, Output: []byte("out\x00put"), Truncated: true, CallbackStatus: runner.CallbackFailed})
	rec := h.do(t, http.MethodGet, "/v1/agents/"+id+"/result", "")
	if rec.Code != 200 || rec.Body.String() != "out\x00put" {
		t.Fatalf("got %d %q", rec.Code, rec.Body)
	}
	want := map[string]string{
		"Content-Type":           "application/octet-stream",
		"Content-Length":         "7",
		"X-Content-Type-Options": "nosniff",
		headerExitCode:           "4",
		headerTruncated:          "true",
		headerCallbackStatus:     "failed",
	}
	for k, v := range want {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}

	id2 := runner.NewID(time.Now())
	h.fake.addResult(runner.Result{AgentID: id2})
	rec = h.do(t, http.MethodGet, "/v1/agents/"+id2+"/result", "")
	if rec.Code != 200 || rec.Header().Get(headerTruncated) != "false" || rec.Header().Get(headerExitCode) != "0" {
		t.Errorf("empty result: %d %v", rec.Code, rec.Header())
	}
	if _, ok := rec.Header()[headerCallbackStatus]; ok {
		t.Errorf("callback status header without a callback")
	}

	tests := []struct {
		id     string
		err    error
		status int
	}{
		{runner.NewID(time.Now()), nil, 404},
		{"not-an-id", nil, 404},
		{id, fmt.Errorf("agent %s is running: %w", id, runner.ErrConflict), 409},
	}
	for _, tt := range tests {
		h.fake.errs["Result"] = tt.err
		rec := h.do(t, http.MethodGet, "/v1/agents/"+tt.id+"/result", "")
		if rec.Code != tt.status {
			t.Errorf("%s (%v): status = %d, want %d", tt.id, tt.err, rec.Code, tt.status)
		}
		apiErrorOf(t, rec)
	}
}
