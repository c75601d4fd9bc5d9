package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
)

// agentProcesses lists, through an exec reading /proc, the command lines in an agent's container that contain mark.
func agentProcesses(t *testing.T, d *testDaemon, id, mark string) []string {
	t.Helper()
	var res api.ExecResult
	resp := d.call(t, "POST", "/v1/agents/"+id+"/exec", map[string]any{
		"command": []string{"sh", "-c", `for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' < "$f"; echo; done`}, "timeout": "30s",
	}, &res)
	if resp.StatusCode != http.StatusOK || res.ExitCode != 0 {
		t.Fatalf("list processes = %d %+v", resp.StatusCode, res)
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
	a := d.create(t, map[string]any{"image": testImage, "command": []string{"sleep", "120"}})
	d.await(t, a.ID, 30*time.Second, api.StateRunning)
	resp := d.call(t, "POST", "/v1/agents/"+a.ID+"/exec", map[string]any{
		"command": []string{"sh", "-c", "sleep 45; echo leaked"}, "timeout": "2s",
	}, nil)
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("exec past its timeout = %d, want 504", resp.StatusCode)
	}
	if left := agentProcesses(t, d, a.ID, "sleep 45"); len(left) > 0 {
		t.Errorf("still running after the 504:\n%s", strings.Join(left, "\n"))
	}
}

// TestExecOfAClientThatLeftLeavesNothingRunning closes the connection
// while the exec runs: the exec's processes must go with it.
func TestExecOfAClientThatLeftLeavesNothingRunning(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, map[string]any{"image": testImage, "command": []string{"sleep", "120"}})
	d.await(t, a.ID, 30*time.Second, api.StateRunning)
	body, _ := json.Marshal(map[string]any{"command": []string{"sh", "-c", "setsid sleep 246 & sleep 245; echo leaked"}, "timeout": "1m"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", d.base+"/v1/agents/"+a.ID+"/exec", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("exec answered %d before the client left", resp.StatusCode)
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
