package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

// answer makes an invoke behaviour that starts, writes out and ends with state and code.
func answer(out string, state runner.State, code int) func(context.Context, runner.Invocation) (runner.InvokeResult, error) {
	return func(ctx context.Context, inv runner.Invocation) (runner.InvokeResult, error) {
		a := runner.Agent{ID: runner.NewID(time.Now()), Function: inv.Function, Start: runner.StartWarm, State: runner.StateRunning}
		inv.Started(a)
		if out != "" {
			if _, err := io.WriteString(inv.Output, out); err != nil {
				return runner.InvokeResult{}, err
			}
		}
		a.State = state
		return runner.InvokeResult{Agent: a, ExitCode: code}, nil
	}
}

// serve sends req through the full handler stack.
func (h *harness) serve(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	return rec
}

func TestInvokeQuickAnswers(t *testing.T) {
	tests := []struct {
		name   string
		out    string
		state  runner.State
		code   int
		status int
	}{
		{"exit 0", "hello\n", runner.StateSucceeded, 0, 200},
		{"exit 0, no output", "", runner.StateSucceeded, 0, 200},
		{"exit 3", "oops\n", runner.StateFailed, 3, 500},
		{"oom", "", runner.StateFailed, 137, 500},
		{"timed out with output", "partial", runner.StateExpired, 137, 504},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.fake.addFunction("fn")
			h.fake.onInvoke(answer(tt.out, tt.state, tt.code))
			rec := h.doRaw(t, http.MethodPost, "/v1/functions/fn/invoke", "in")
			if rec.Code != tt.status || rec.Body.String() != tt.out {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body, tt.status, tt.out)
			}
			hd := rec.Header()
			want := map[string]string{
				headerExitCode:           fmt.Sprint(tt.code),
				"Content-Length":         fmt.Sprint(len(tt.out)),
				"Content-Type":           "application/octet-stream",
				"X-Content-Type-Options": "nosniff",
				headerStart:              "warm",
				"Trailer":                "",
			}
			for k, v := range want {
				if got := hd.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if !runner.ValidID(hd.Get(headerAgentID)) {
				t.Errorf("%s = %q, not an agent id", headerAgentID, hd.Get(headerAgentID))
			}
		})
	}
}

func TestInvokeTimeoutWithoutOutput(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.addFunction("fn")
	h.fake.onInvoke(answer("", runner.StateExpired, 137))
	rec := h.doRaw(t, http.MethodPost, "/v1/functions/fn/invoke", "")
	if rec.Code != http.StatusGatewayTimeout {
		t.Fatalf("status = %d, want 504", rec.Code)
	}
	if got := apiErrorOf(t, rec); got.Code != "timeout" {
		t.Errorf("code = %q, want timeout", got.Code)
	}
	if rec.Header().Get(headerExitCode) != "137" || rec.Header().Get(headerAgentID) == "" {
		t.Errorf("headers = %v", rec.Header())
	}
}

func TestInvokeEchoesBody(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.addFunction("fn")
	rec := h.doRaw(t, http.MethodPost, "/function/fn", "ping")
	if rec.Code != 200 || rec.Body.String() != "ping" || rec.Header().Get(headerStart) != "cold" {
		t.Errorf("got %d %q start %q", rec.Code, rec.Body, rec.Header().Get(headerStart))
	}
}

func TestInvokeErrorsBeforeStart(t *testing.T) {
	tests := []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("function fn: %w", runner.ErrBusy), 429, "busy"},
		{fmt.Errorf("function fn: %w", runner.ErrNotFound), 404, "not_found"},
		{&runner.FieldError{Field: "env", Message: "bad"}, 400, "invalid"},
		{fmt.Errorf("pull: %w", runner.ErrImageUnavailable), 422, "image_unavailable"},
	}
	for _, tt := range tests {
		h := newHarness(t, Options{})
		h.fake.addFunction("fn")
		h.fake.errs["Invoke"] = tt.err
		rec := h.doRaw(t, http.MethodPost, "/function/fn", "x")
		if rec.Code != tt.status {
			t.Errorf("%v: status = %d, want %d", tt.err, rec.Code, tt.status)
			continue
		}
		if got := apiErrorOf(t, rec); got.Code != tt.code {
			t.Errorf("%v: code = %q, want %q", tt.err, got.Code, tt.code)
		}
		if (tt.status == 429) != (rec.Header().Get("Retry-After") == "1") {
			t.Errorf("%v: Retry-After = %q", tt.err, rec.Header().Get("Retry-After"))
		}
		if rec.Header().Get(headerAgentID) != "" {
			t.Errorf("%v: agent header on an answer without an agent", tt.err)
		}
	}
	h := newHarness(t, Options{})
	if rec := h.doRaw(t, http.MethodPost, "/function/unknown", ""); rec.Code != http.StatusNotFound {
		t.Errorf("unknown function: status = %d, want 404", rec.Code)
	}
}

func TestInvokeBodyLimit(t *testing.T) {
	h := newHarness(t, Options{MaxInvokeBody: 8})
	h.fake.addFunction("fn")
	for _, path := range []string{"/function/fn", "/async-function/fn", "/v1/functions/fn/invoke"} {
		rec := h.doRaw(t, http.MethodPost, path, "123456789")
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: status = %d, want 413", path, rec.Code)
		}
	}
	if n := h.fake.called("Invoke"); n != 0 {
		t.Errorf("Invoke called %d times for oversized bodies", n)
	}
	// Without a declared length the limit bites while stdin is read.
	for _, path := range []string{"/function/fn", "/async-function/fn"} {
		req := httptest.NewRequest(http.MethodPost, path, io.MultiReader(strings.NewReader("123456789")))
		if req.ContentLength != -1 {
			t.Fatalf("ContentLength = %d, want unknown", req.ContentLength)
		}
		if rec := h.serve(req); rec.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("chunked %s: status = %d, want 413; body %s", path, rec.Code, rec.Body)
		}
	}
	if rec := h.doRaw(t, http.MethodPost, "/function/fn", "12345678"); rec.Code != 200 || rec.Body.String() != "12345678" {
		t.Errorf("body at the limit: %d %q", rec.Code, rec.Body)
	}
}

func TestInvokeEnv(t *testing.T) {
	for _, token := range []string{"", testToken} {
		h := newHarness(t, Options{Token: token})
		h.fake.addFunction("fn")
		req := httptest.NewRequest(http.MethodPut, "/function/fn/a/b?x=1&y=%20", strings.NewReader("body"))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("X-Request-Id", "req-1")
		req.Header.Add("X-Multi", "one")
		req.Header.Add("X-Multi", "two")
		req.Header.Set("Cookie", "a=b")
		req.Header.Set("Method", "FORGED")
		req.Header.Set("Odd.Name", "skipped")
		req.Header.Set("Authorization", "Bearer "+testToken)
		if rec := h.serve(req); rec.Code != 200 {
			t.Fatalf("token %q: status = %d; body %s", token, rec.Code, rec.Body)
		}
		env := h.fake.lastInvocation().Env
		want := map[string]string{
			"Http_Method":         "PUT",
			"Http_Path":           "/a/b",
			"Http_Query":          "x=1&y=%20",
			"Http_Content_Type":   "text/plain",
			"Http_Content_Length": "4",
			"Http_X_Request_Id":   "req-1",
			"Http_X_Multi":        "one, two",
			"Http_Cookie":         "a=b",
		}
		if token == "" {
			want["Http_Authorization"] = "Bearer " + testToken
		}
		for k, v := range want {
			if env[k] != v {
				t.Errorf("token %q: %s = %q, want %q", token, k, env[k], v)
			}
		}
		if _, ok := env["Http_Authorization"]; ok && token != "" {
			t.Errorf("Authorization reached the function although it carries podrun's token")
		}
		for k := range env {
			if _, ok := want[k]; !ok {
				t.Errorf("token %q: unexpected variable %s=%q", token, k, env[k])
			}
		}
	}
}

func TestInvokePaths(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.addFunction("fn")
	tests := []struct{ method, target, path string }{
		{http.MethodPost, "/v1/functions/fn/invoke", "/"},
		{http.MethodGet, "/function/fn", "/"},
		{http.MethodPut, "/function/fn/", "/"},
		{http.MethodDelete, "/function/fn/x", "/x"},
		{http.MethodPatch, "/function/fn/x/y/", "/x/y/"},
		{http.MethodHead, "/function/fn/h", "/h"},
		{http.MethodOptions, "/function/fn", "/"},
	}
	for _, tt := range tests {
		rec := h.doRaw(t, tt.method, tt.target, "")
		if rec.Code != http.StatusOK {
			t.Errorf("%s %s: status = %d; body %s", tt.method, tt.target, rec.Code, rec.Body)
			continue
		}
		env := h.fake.lastInvocation().Env
		if env["Http_Method"] != tt.method || env["Http_Path"] != tt.path {
			t.Errorf("%s %s: Http_Method %q Http_Path %q, want %q %q", tt.method, tt.target, env["Http_Method"], env["Http_Path"], tt.method, tt.path)
		}
		if _, ok := env["Http_Query"]; ok {
			t.Errorf("%s %s: Http_Query set without a query", tt.method, tt.target)
		}
	}
}

func TestInvokeRoutesNeedToken(t *testing.T) {
	h := newHarness(t, Options{Token: testToken})
	h.fake.addFunction("fn")
	for _, tt := range []struct{ method, path string }{
		{http.MethodGet, "/function/fn"},
		{http.MethodPost, "/function/fn/a"},
		{http.MethodPost, "/async-function/fn"},
		{http.MethodPost, "/v1/functions/fn/invoke"},
		{http.MethodGet, "/v1/functions"},
		{"TRACE", "/function/fn"},
		{http.MethodGet, "/function"},
	} {
		if rec := h.doRaw(t, tt.method, tt.path, ""); rec.Code != http.StatusUnauthorized {
			t.Errorf("%s %s without token: status = %d, want 401", tt.method, tt.path, rec.Code)
		}
	}
	if rec := h.doRaw(t, http.MethodGet, "/function/fn", "", "Authorization", "Bearer "+testToken); rec.Code != 200 {
		t.Errorf("with token: status = %d, want 200", rec.Code)
	}
	if n := h.fake.called("Invoke"); n != 1 {
		t.Errorf("Invoke called %d times, want 1", n)
	}
}

func TestInvokeFailureAfterStartIsAnError(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.addFunction("fn")
	h.fake.onInvoke(func(ctx context.Context, inv runner.Invocation) (runner.InvokeResult, error) {
		inv.Started(runner.Agent{ID: runner.NewID(time.Now()), Start: runner.StartCold})
		io.WriteString(inv.Output, "half")
		return runner.InvokeResult{}, errors.New("wait for container: connection reset")
	})
	rec := h.doRaw(t, http.MethodPost, "/function/fn", "")
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "half") {
		t.Errorf("got %d %q, want a 500 JSON error without the partial output", rec.Code, rec.Body)
	}
	if got := apiErrorOf(t, rec); got.Code != "internal" {
		t.Errorf("code = %q", got.Code)
	}
}
