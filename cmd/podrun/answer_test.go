package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// invocationError is the JSON error of an invocation that ended badly without writing.
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
	d.putFunction(t, "late-fail", map[string]any{"command": []string{"sh", "-c", "sleep 1; echo 'error: bad input'; exit 2"}, "max_concurrency": 8})
	d.putFunction(t, "quick-fail", map[string]any{"command": []string{"sh", "-c", "echo out; exit 3"}, "max_concurrency": 8})
	loadHost(t, 2)
	type want struct{ path, body, code string }
	var calls []want
	for range 3 {
		calls = append(calls, want{"/function/late-fail", "error: bad input\n", "2"})
	}
	for range 8 {
		calls = append(calls, want{"/function/quick-fail", "out\n", "3"})
	}
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Go(func() {
			resp, out := d.invoke(t, "POST", c.path, nil, nil)
			if resp.StatusCode != http.StatusInternalServerError || string(out) != c.body ||
				resp.Header.Get("X-Podrun-Exit-Code") != c.code || resp.Header.Get("X-Podrun-Reason") != "failed" {
				t.Errorf("%s = %d %q, exit code header %q, reason %q, trailers %v; want 500 %q with exit code %s and reason failed in headers",
					c.path, resp.StatusCode, out, resp.Header.Get("X-Podrun-Exit-Code"), resp.Header.Get("X-Podrun-Reason"), resp.Trailer, c.body, c.code)
			}
		})
	}
	wg.Wait()
}

// TestFailedInvocationsWithoutOutputAnswerJSON: no empty 500s; the body names the reason and the exit code.
func TestFailedInvocationsWithoutOutputAnswerJSON(t *testing.T) {
	d := startDaemon(t, nil)
	d.putFunction(t, "missing", map[string]any{"command": []string{"no-such-command"}})
	d.putFunction(t, "hog", map[string]any{"command": []string{"sh", "-c", `x=0123456789; while true; do x="$x$x"; done`},
		"limits": map[string]any{"memory": "32Mi"}})
	d.putFunction(t, "hang", map[string]any{"command": []string{"sleep", "600"}, "timeout": "2s"})
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
		resp, out := d.invoke(t, "POST", tt.path, nil, nil)
		var e invocationError
		if err := json.Unmarshal(out, &e); err != nil || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s = %d %q: not a JSON error (%v)", tt.path, resp.StatusCode, out, err)
			continue
		}
		if resp.StatusCode != tt.status || e.Error.Code != tt.code || e.Error.Reason != tt.reason ||
			e.Error.ExitCode == nil || *e.Error.ExitCode != tt.exit || !strings.Contains(e.Error.Message, tt.messageContent) {
			t.Errorf("%s = %d %s; want %d, code %s, reason %s, exit code %d, a message with %q",
				tt.path, resp.StatusCode, out, tt.status, tt.code, tt.reason, tt.exit, tt.messageContent)
		}
		if resp.Header.Get("X-Podrun-Reason") != tt.reason || resp.Header.Get("X-Podrun-Exit-Code") != fmt.Sprint(tt.exit) {
			t.Errorf("%s: headers %v", tt.path, resp.Header)
		}
	}
}

// TestStreamedAnswersSayWhyTheyEnded: once streaming, the status is 200 and a
// timeout, an OOM kill and the output limit all exit 137; the X-Podrun-Reason
// trailer says which.
func TestStreamedAnswersSayWhyTheyEnded(t *testing.T) {
	d := startDaemon(t, nil)
	d.putFunction(t, "hang", map[string]any{"command": []string{"sh", "-c", "echo start; sleep 600"}, "timeout": "3s"})
	d.putFunction(t, "hog", map[string]any{"command": []string{"sh", "-c", `echo start; sleep 1; x=0123456789; while true; do x="$x$x"; done`},
		"limits": map[string]any{"memory": "32Mi"}})
	d.putFunction(t, "chatty", map[string]any{"command": []string{"yes"}, "max_output": "100Ki"})
	for _, tt := range []struct {
		path, body, reason string
	}{
		{"/function/hang", "start\n", "expired"},
		{"/function/hog", "start\n", "oom"},
		{"/function/chatty", strings.Repeat("y\n", 50<<10), "output_limit"},
	} {
		resp, out := d.invoke(t, "POST", tt.path, nil, nil)
		if resp.StatusCode != 200 || string(out) != tt.body || resp.Trailer.Get("X-Podrun-Exit-Code") != "137" ||
			resp.Trailer.Get("X-Podrun-Reason") != tt.reason {
			t.Errorf("%s = %d, %d bytes, trailers %v; want 200, %d bytes, exit code 137 and reason %s in trailers",
				tt.path, resp.StatusCode, len(out), resp.Trailer, len(tt.body), tt.reason)
		}
	}
}
