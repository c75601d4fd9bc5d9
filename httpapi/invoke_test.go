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
	return answerWithReason(out, state, "", code)
}

// answerWithReason is answer with the agent's reason too.
func answerWithReason(out string, state runner.State, reason string, code int) func(context.Context, runner.Invocation) (runner.InvokeResult, error) {
	return func(ctx context.Context, inv runner.Invocation) (runner.InvokeResult, error) {
		a := runner.Agent{ID: runner.NewID(time.Now()), Function: inv.Function, Start: runner.StartWarm, State: runner.StateRunning}
		inv.Started(a)
		if out != "" {
			if _, err := io.WriteString(inv.Output, out); err != nil {
				return runner.InvokeResult{}, err
			}
		}
		inv.OutputEnded()
		a.State, a.Reason = state, reason
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
		reason string
		code   int
		status int
	}{
		{"exit 0", "hello\n", runner.StateSucceeded, runner.ReasonExit, 0, 200},
		{"exit 0, no output", "", runner.StateSucceeded, runner.ReasonExit, 0, 200},
		{"exit 3", "oops\n", runner.StateFailed, runner.ReasonExit, 3, 500},
		{"oom with output", "partial", runner.StateFailed, runner.ReasonOOM, 137, 500},
		{"output limit", "0123456789", runner.StateFailed, runner.ReasonOutputLimit, 137, 500},
		{"timed out with output", "partial", runner.StateExpired, runner.ReasonTTL, 137, 504},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.fake.addFunction("fn")
			h.fake.onInvoke(answerWithReason(tt.out, tt.state, tt.reason, tt.code))
			rec := h.doRaw(t, http.MethodPost, "/v1/functions/fn/invoke", "in")
			if rec.Code != tt.status || rec.Body.String() != tt.out {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body, tt.status, tt.out)
			}
			hd := rec.Header()
			want := map[string]string{
				headerExitCode:           fmt.Sprint(tt.code),
				headerReason:             runner.Outcome(runner.Agent{State: tt.state, Reason: tt.reason}),
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

// TestInvokeFailureWithoutOutputIsAJSONError: a function that ends badly
// without writing gets the API's error shape naming its reason and exit code,
// not an empty body.
func TestInvokeFailureWithoutOutputIsAJSONError(t *testing.T) {
	tests := []struct {
		name           string
		state          runner.State
		reason         string
		code           int
		status         int
		apiCode        string
		outcome, words string
	}{
		{"timeout", runner.StateExpired, runner.ReasonTTL, 137, 504, "timeout", "expired", "did not finish within its timeout"},
		{"exit 3", runner.StateFailed, runner.ReasonExit, 3, 500, "function_failed", "failed", "failed (exit code 3)"},
		{"command not found", runner.StateFailed, runner.ReasonExit, 127, 500, "function_failed", "failed", "(exit code 127: the command was not found)"},
		{"oom", runner.StateFailed, runner.ReasonOOM, 137, 500, "function_failed", "oom", "ran out of memory"},
		{"container failed to start", runner.StateFailed, runner.ReasonError, -1, 500, "function_failed", "error", "its container failed to start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.fake.addFunction("fn")
			h.fake.onInvoke(answerWithReason("", tt.state, tt.reason, tt.code))
			rec := h.doRaw(t, http.MethodPost, "/v1/functions/fn/invoke", "")
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d", rec.Code, tt.status)
			}
			got := apiErrorOf(t, rec)
			id := rec.Header().Get(headerAgentID)
			if got.Code != tt.apiCode || got.Reason != tt.outcome || !strings.Contains(got.Message, tt.words) ||
				!strings.Contains(got.Message, "/v1/agents/"+id+"/logs") {
				t.Errorf("error = %+v, want code %s, reason %s, a message with %q and the logs of %s", got, tt.apiCode, tt.outcome, tt.words, id)
			}
			if tt.code >= 0 && (got.ExitCode == nil || *got.ExitCode != tt.code) || tt.code < 0 && got.ExitCode != nil {
				t.Errorf("exit_code = %v, want %d", got.ExitCode, tt.code)
			}
			if rec.Header().Get(headerExitCode) != fmt.Sprint(tt.code) || rec.Header().Get(headerReason) != tt.outcome || !runner.ValidID(id) {
				t.Errorf("headers = %v", rec.Header())
			}
		})
	}
}

// slowAnswer makes an invoke behaviour whose container takes startDelay to
// start, then writes out and exits at once; podrun then takes recordDelay to
// record the exit. Neither delay is the function's: both stand for a loaded host.
func slowAnswer(startDelay, recordDelay time.Duration, out string, code int) func(context.Context, runner.Invocation) (runner.InvokeResult, error) {
	return func(ctx context.Context, inv runner.Invocation) (runner.InvokeResult, error) {
		a := runner.Agent{ID: runner.NewID(time.Now()), Function: inv.Function, Start: runner.StartCold, State: runner.StatePending}
		inv.Started(a)
		time.Sleep(startDelay)
		io.WriteString(inv.Output, out)
		inv.OutputEnded()
		time.Sleep(recordDelay)
		a.State, a.Reason = runner.StateFailed, runner.ReasonExit
		return runner.InvokeResult{Agent: a, ExitCode: code}, nil
	}
}

// TestInvokeHoldIsIndependentOfLoad: a function that writes and exits at once
// gets its outcome's status however long its container took to start, and
// however long podrun took to record the exit: the hold clock starts at the
// first byte and stops at the end of the output stream.
func TestInvokeHoldIsIndependentOfLoad(t *testing.T) {
	for _, tt := range []struct {
		name               string
		startDelay, record time.Duration
	}{
		{"slow start", 3 * holdTime / 2, 0},
		{"slow recording of the exit", 0, 3 * holdTime / 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.fake.addFunction("fn")
			h.fake.onInvoke(slowAnswer(tt.startDelay, tt.record, "error: bad input\n", 2))
			rec := h.doRaw(t, http.MethodPost, "/function/fn", "")
			if rec.Code != 500 || rec.Body.String() != "error: bad input\n" || rec.Header().Get(headerExitCode) != "2" || rec.Header().Get(headerReason) != "failed" {
				t.Errorf("got %d %q, headers %v; want 500 with the output, exit code 2 and reason failed in headers", rec.Code, rec.Body, rec.Header())
			}
		})
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
		{fmt.Errorf("create container: %w", runner.ErrUnavailable), 503, "unavailable"},
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
		// The gateway headers podrun adds, as the OpenFaaS gateway does (TestGatewayHeaders).
		if rec := h.fake.lastInvocation(); rec.Env["Http_X_Call_Id"] == "" || rec.Env["Http_X_Start_Time"] == "" {
			t.Errorf("token %q: no Http_X_Call_Id or Http_X_Start_Time in %v", token, rec.Env)
		}
		want["Http_X_Call_Id"], want["Http_X_Start_Time"] = env["Http_X_Call_Id"], env["Http_X_Start_Time"]
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
