package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/podrun/podrun/api"
)

// headerReason says how an invocation ended (failed, oom, expired, output_limit), in the header
// or the trailer; package api does not name it yet.
const headerReason = "X-Podrun-Reason"

// invocationError is the JSON error of an invocation that ended badly without writing: the
// error of package api with the invocation's reason and exit code, which api.Error lacks yet.
// TestFailedInvocationsWithoutOutputAnswerJSON reads it raw, as a test of that wire format.
type invocationError struct {
	Error struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		Reason   string `json:"reason"`
		ExitCode *int   `json:"exit_code"`
	} `json:"error"`
}

// loadHost keeps n processes spinning on the CPU until the test ends, so the
// host is as busy as a loaded one; they are stopped by their PIDs.
func loadHost(t *testing.T, n int) {
	t.Helper()
	for range n {
		cmd := exec.Command("sh", "-c", "while :; do :; done")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
}

// TestInvokeAnswerFollowsTheOutcomeUnderLoad: a function that writes and then
// exits at once gets the status of its outcome, whatever came before its first
// byte (a slow cold start, a sleep) and however busy the host is.
func TestInvokeAnswerFollowsTheOutcomeUnderLoad(t *testing.T) {
	d := startDaemon(t, nil)
	d.putFunction(t, "late-fail", api.FunctionRequest{Command: []string{"sh", "-c", "sleep 1; echo 'error: bad input'; exit 2"}, MaxConcurrency: ptr(8)})
	d.putFunction(t, "quick-fail", api.FunctionRequest{Command: []string{"sh", "-c", "echo out; exit 3"}, MaxConcurrency: ptr(8)})
	loadHost(t, 2)
	type want struct{ fn, body, code string }
	var calls []want
	for range 3 {
		calls = append(calls, want{"late-fail", "error: bad input\n", "2"})
	}
	for range 8 {
		calls = append(calls, want{"quick-fail", "out\n", "3"})
	}
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Go(func() {
			res := d.invoke(t, c.fn, nil, openFaaS)
			if res.status != http.StatusInternalServerError || string(res.out) != c.body ||
				res.header.Get(api.HeaderExitCode) != c.code || res.header.Get(headerReason) != "failed" {
				t.Errorf("%s = %d %q, exit code header %q, reason %q, trailers %v; want 500 %q with exit code %s and reason failed in headers",
					c.fn, res.status, res.out, res.header.Get(api.HeaderExitCode), res.header.Get(headerReason), res.trailer, c.body, c.code)
			}
		})
	}
	wg.Wait()
}

// TestFailedInvocationsWithoutOutputAnswerJSON: no empty 500s; the body names the reason and the exit code.
func TestFailedInvocationsWithoutOutputAnswerJSON(t *testing.T) {
	d := startDaemon(t, nil)
	d.putFunction(t, "missing", api.FunctionRequest{Command: []string{"no-such-command"}})
	d.putFunction(t, "hog", api.FunctionRequest{Command: []string{"sh", "-c", `x=0123456789; while true; do x="$x$x"; done`},
		Limits: api.LimitsRequest{Memory: "32Mi"}})
	d.putFunction(t, "hang", api.FunctionRequest{Command: []string{"sleep", "600"}, Timeout: "2s"})
	for _, tt := range []struct {
		path           string
		status         int
		code, reason   string
		exit           int
		messageContent string
	}{
		{"/function/missing", 500, "function_failed", "failed", 127, "exit code 127: the command was not found"},
		{"/function/hog", 500, "function_failed", "oom", 137, "ran out of memory"},
		{"/function/hang", 504, "timeout", "expired", 137, "did not finish within its timeout"},
	} {
		status, hdr, out := d.wireCall(t, "POST", tt.path, "", map[string]string{"Content-Type": api.ContentTypeOutput})
		var e invocationError
		if err := json.Unmarshal(out, &e); err != nil || hdr.Get("Content-Type") != api.ContentTypeJSON {
			t.Errorf("%s = %d %q: not a JSON error (%v)", tt.path, status, out, err)
			continue
		}
		if status != tt.status || e.Error.Code != tt.code || e.Error.Reason != tt.reason ||
			e.Error.ExitCode == nil || *e.Error.ExitCode != tt.exit || !strings.Contains(e.Error.Message, tt.messageContent) {
			t.Errorf("%s = %d %s; want %d, code %s, reason %s, exit code %d, a message with %q",
				tt.path, status, out, tt.status, tt.code, tt.reason, tt.exit, tt.messageContent)
		}
		if hdr.Get(headerReason) != tt.reason || hdr.Get(api.HeaderExitCode) != fmt.Sprint(tt.exit) {
			t.Errorf("%s: headers %v", tt.path, hdr)
		}
	}
}

// TestStreamedAnswersSayWhyTheyEnded: once streaming, the status is 200 and a
// timeout, an OOM kill and the output limit all exit 137; the X-Podrun-Reason
// trailer says which.
func TestStreamedAnswersSayWhyTheyEnded(t *testing.T) {
	d := startDaemon(t, nil)
	d.putFunction(t, "hang", api.FunctionRequest{Command: []string{"sh", "-c", "echo start; sleep 600"}, Timeout: "3s"})
	d.putFunction(t, "hog", api.FunctionRequest{Command: []string{"sh", "-c", `echo start; sleep 1; x=0123456789; while true; do x="$x$x"; done`},
		Limits: api.LimitsRequest{Memory: "32Mi"}})
	d.putFunction(t, "chatty", api.FunctionRequest{Command: []string{"yes"}, MaxOutput: "100Ki"})
	for _, tt := range []struct {
		fn, body, reason string
	}{
		{"hang", "start\n", "expired"},
		{"hog", "start\n", "oom"},
		{"chatty", strings.Repeat("y\n", 50<<10), "output_limit"},
	} {
		res := d.invoke(t, tt.fn, nil, openFaaS)
		if res.status != 200 || string(res.out) != tt.body || res.trailer.Get(api.HeaderExitCode) != "137" ||
			res.trailer.Get(headerReason) != tt.reason {
			t.Errorf("%s = %d, %d bytes, trailers %v; want 200, %d bytes, exit code 137 and reason %s in trailers",
				tt.fn, res.status, len(res.out), res.trailer, len(tt.body), tt.reason)
		}
	}
}
