package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
)

// agentProcesses lists, through an exec reading /proc, the command lines in an agent's container that contain mark.
func agentProcesses(t *testing.T, d *testDaemon, id, mark string) []string {
	t.Helper()
	res, err := d.api.Exec(t.Context(), id, api.ExecRequest{
		Command: []string{"sh", "-c", `for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' < "$f"; echo; done`}, Timeout: "30s",
	})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("list processes = %+v, %v", res, err)
	}
	var out []string
	for _, line := range strings.Split(res.Stdout, "\n") {
		if strings.Contains(line, mark) {
			out = append(out, line)
		}
	}
	return out
}

// TestExecTimeoutLeavesNothingRunning is the case: a shell whose
// child outlives the exec's timeout.
func TestExecTimeoutLeavesNothingRunning(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, api.AgentRequest{Command: []string{"sleep", "120"}})
	d.await(t, a.ID, 30*time.Second, api.StateRunning)
	_, err := d.api.Exec(t.Context(), a.ID, api.ExecRequest{Command: []string{"sh", "-c", "sleep 45; echo leaked"}, Timeout: "2s"})
	if e := apiError(t, "exec past its timeout", err); e.Status != http.StatusGatewayTimeout || e.Code != api.CodeTimeout {
		t.Fatalf("exec past its timeout = %d %s, want 504 timeout", e.Status, e.Code)
	}
	if left := agentProcesses(t, d, a.ID, "sleep 45"); len(left) > 0 {
		t.Errorf("still running after the 504:\n%s", strings.Join(left, "\n"))
	}
}

// TestExecOfAClientThatLeftLeavesNothingRunning closes the connection
// while the exec runs: the exec's processes must go with it.
func TestExecOfAClientThatLeftLeavesNothingRunning(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, api.AgentRequest{Command: []string{"sleep", "120"}})
	d.await(t, a.ID, 30*time.Second, api.StateRunning)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if res, err := d.api.Exec(ctx, a.ID, api.ExecRequest{Command: []string{"sh", "-c", "setsid sleep 246 & sleep 245; echo leaked"}, Timeout: "1m"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("exec answered %+v, %v before the client left", res, err)
	}
	// The kill runs as the handler ends; give it a generous moment.
	deadline := time.Now().Add(30 * time.Second)
	for {
		left := agentProcesses(t, d, a.ID, "sleep 24")
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still running 30s after the client left:\n%s", strings.Join(left, "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
