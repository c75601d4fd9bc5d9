package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
)

func TestInvokeExitCodeFromHeaderOrTrailer(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set(api.HeaderAgentID, "ag1")
		h.Set(api.HeaderStart, api.StartWarm)
		switch r.URL.Path {
		case "/v1/functions/held/invoke": // the process ended before the answer began
			h.Set("Content-Type", api.ContentTypeOutput)
			h.Set(api.HeaderExitCode, "3")
			h.Set(api.HeaderReason, api.OutcomeFailed)
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, "partial")
		case "/v1/functions/streamed/invoke":
			h.Set("Content-Type", api.ContentTypeOutput)
			h.Set("Trailer", api.HeaderExitCode+", "+api.HeaderReason)
			w.WriteHeader(http.StatusOK)
			fmt.Fprint(w, "out")
			w.(http.Flusher).Flush()
			h.Set(api.HeaderExitCode, "7")
			h.Set(api.HeaderReason, api.OutcomeOOM)
		case "/v1/functions/silent/invoke": // failed without writing: podrun's JSON error
			h.Set("Content-Type", "application/json")
			h.Set(api.HeaderExitCode, "2")
			h.Set(api.HeaderReason, api.OutcomeFailed)
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"error":{"code":"function_failed","message":"the function failed (exit code 2)","reason":"failed","exit_code":2}}`)
		case "/v1/functions/broken/invoke": // committed to 200, then failed: no trailer
			h.Set("Content-Type", api.ContentTypeOutput)
			h.Set("Trailer", api.HeaderExitCode)
			w.WriteHeader(http.StatusOK)
			fmt.Fprint(w, "out")
		default:
			h.Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":{"code":"not_found","message":"no function named nope"}}`)
		}
	}, "")
	ctx := context.Background()

	inv, err := c.Invoke(ctx, "held", nil, nil)
	if err != nil {
		t.Fatalf("a non-zero exit is an answer, not an error: %v", err)
	}
	if code, err := inv.ExitCode(); err != nil || code != 3 || inv.StatusCode != 500 || inv.AgentID != "ag1" || inv.Start != "warm" {
		t.Errorf("held: code %d, %v, status %d, agent %q, start %q", code, err, inv.StatusCode, inv.AgentID, inv.Start)
	}
	if reason, err := inv.Reason(); err != nil || reason != api.OutcomeFailed {
		t.Errorf("held: reason %q, %v", reason, err)
	}
	inv.Body.Close()

	inv, err = c.Invoke(ctx, "streamed", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inv.ExitCode(); err == nil {
		t.Error("a streamed answer gave an exit code before its body was read")
	}
	out, _ := io.ReadAll(inv.Body)
	inv.Body.Close()
	if code, err := inv.ExitCode(); err != nil || code != 7 || string(out) != "out" {
		t.Errorf("streamed: %q, code %d, %v", out, code, err)
	}
	if reason, err := inv.Reason(); err != nil || reason != api.OutcomeOOM {
		t.Errorf("streamed: reason %q, %v", reason, err)
	}

	inv, err = c.Invoke(ctx, "broken", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(inv.Body)
	inv.Body.Close()
	if _, err := inv.ExitCode(); !errors.Is(err, ErrNoExitCode) {
		t.Errorf("no trailer: err = %v, want ErrNoExitCode", err)
	}

	_, err = c.Invoke(ctx, "nope", nil, nil)
	var e *Error
	if !errors.As(err, &e) || e.Code != api.CodeNotFound {
		t.Errorf("unknown function: %v", err)
	}

	_, err = c.Invoke(ctx, "silent", nil, nil)
	if !errors.As(err, &e) || e.Code != api.CodeFunctionFailed || e.Reason != api.OutcomeFailed || e.ExitCode == nil || *e.ExitCode != 2 {
		t.Errorf("failed without output: %#v", err)
	}
}

// TestInvokeStreamsBothWays checks that stdin is still being sent while stdout comes back:
// each line is answered before the next is written.
func TestInvokeStreamsBothWays(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.EnableFullDuplex(); err != nil {
			t.Error(err)
		}
		w.Header().Set("Trailer", api.HeaderExitCode)
		w.WriteHeader(http.StatusOK)
		_ = rc.Flush() // the answer begins before any input: Invoke must return while stdin stays open
		sc := bufio.NewScanner(r.Body)
		for sc.Scan() {
			fmt.Fprintf(w, "echo %s\n", sc.Text())
			_ = rc.Flush()
		}
		w.Header().Set(api.HeaderExitCode, "0")
	}))
	defer srv.Close()
	c, _ := New(srv.URL, "")
	pr, pw := io.Pipe()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inv, err := c.Invoke(ctx, "cat", pr, &InvokeOptions{ContentType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	defer inv.Body.Close()
	br := bufio.NewReader(inv.Body)
	for _, line := range []string{"a", "b", "c"} {
		fmt.Fprintln(pw, line)
		got, err := br.ReadString('\n')
		if err != nil || got != "echo "+line+"\n" {
			t.Fatalf("after writing %q read %q, %v", line, got, err)
		}
	}
	pw.Close()
	if _, err := io.ReadAll(br); err != nil {
		t.Fatal(err)
	}
	if code, err := inv.ExitCode(); err != nil || code != 0 {
		t.Errorf("code %d, %v", code, err)
	}
}

func TestInvokeAsyncAndResult(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/functions/f/invoke":
			body, _ := io.ReadAll(r.Body)
			if r.Header.Get("Prefer") != "respond-async" || r.Header.Get("X-Callback-Url") != "http://cb.test/x" ||
				string(body) != "in" || r.Header.Get("X-Custom") != "1" || r.URL.RawQuery != "q=1" {
				t.Errorf("async request: %v %q %q", r.Header, body, r.URL.RawQuery)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprint(w, `{"id":"ag2","state":"pending","async":true}`)
		case "/v1/agents/ag2/result":
			h := w.Header()
			h.Set(api.HeaderExitCode, "4")
			h.Set(api.HeaderTruncated, "true")
			h.Set(api.HeaderCallbackStatus, api.CallbackDelivered)
			fmt.Fprint(w, "output")
		}
	}, "")
	ctx := context.Background()
	a, err := c.InvokeAsync(ctx, "f", stringsReader("in"), &InvokeOptions{
		CallbackURL: "http://cb.test/x", Header: http.Header{"X-Custom": {"1"}}, Query: map[string][]string{"q": {"1"}},
	})
	if err != nil || a.ID != "ag2" || !a.Async || a.State != api.StatePending {
		t.Fatalf("async: %+v, %v", a, err)
	}
	res, err := c.Result(ctx, "ag2")
	if err != nil || string(res.Output) != "output" || res.ExitCode != 4 || !res.Truncated || res.CallbackStatus != "delivered" {
		t.Errorf("result: %+v, %v", res, err)
	}
}

func stringsReader(s string) io.Reader { return &stringReader{s: s} }

// stringReader hides its length, so the body goes chunked as a pipe's would.
type stringReader struct{ s string }

func (r *stringReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := copy(p, r.s)
	r.s = r.s[n:]
	return n, nil
}

func TestInvokeThroughTheOpenFaaSRoutes(t *testing.T) {
	var got []string
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.EscapedPath()+" prefer="+r.Header.Get("Prefer"))
		if strings.HasPrefix(r.URL.Path, "/async-function/") {
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprint(w, `{"id":"a"}`)
			return
		}
		w.Header().Set(api.HeaderExitCode, "0")
	}, "")
	ctx := context.Background()
	for _, o := range []*InvokeOptions{nil, {Method: http.MethodGet}, {Path: "/a b/c"}, {Method: http.MethodPut, Path: "/"}} {
		inv, err := c.Invoke(ctx, "fn", nil, o)
		if err != nil {
			t.Fatal(err)
		}
		inv.Body.Close()
	}
	if _, err := c.InvokeAsync(ctx, "fn", nil, &InvokeOptions{Path: "/x"}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"POST /v1/functions/fn/invoke prefer=",
		"GET /function/fn prefer=",
		"POST /function/fn/a%20b/c prefer=",
		"PUT /function/fn prefer=",
		"POST /async-function/fn/x prefer=",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
