package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// TestSecondDaemonOnTheSameDataDirFailsAndTouchesNothing starts a daemon with
// a running agent, a warm pool and an invocation in flight, then a second
// `podrun serve` on the same data dir, once on the first's port and once on a
// free one: each must fail at once naming the first's PID, and the first's
// work must go on untouched.
func TestSecondDaemonOnTheSameDataDirFailsAndTouchesNothing(t *testing.T) {
	d := startDaemon(t, nil)
	agent := d.create(t, map[string]any{"image": testImage, "command": []string{"sleep", "600"}, "ttl": "1h"})
	agent = d.await(t, agent.ID, 30*time.Second, api.StateRunning)
	d.putFunction(t, "slow", map[string]any{"command": []string{"sh", "-c", "cat; sleep 15; echo done"}, "warm": 1})
	warm := awaitWarm(t, d, "slow", "")

	type answer struct {
		status int
		body   string
		agent  string
	}
	answered := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("POST", d.base+"/v1/functions/slow/invoke", strings.NewReader("in "))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- answer{status: -1, body: err.Error()}
			return
		}
		defer resp.Body.Close()
		answered <- answer{resp.StatusCode, readAll(resp), resp.Header.Get("X-Podrun-Agent-Id")}
	}()
	// The invocation took the warm container; wait for the pool to refill too.
	invoked := awaitAgent(t, d, func(a runner.Agent) bool { return a.Function == "slow" && a.State == runner.StateRunning })
	refill := awaitWarm(t, d, "slow", invoked.ContainerID)
	if invoked.ContainerID != warm {
		t.Logf("the invocation ran in %s, not the warm container %s (cold start)", invoked.ContainerID, warm)
	}
	before := containerStates(t, d)

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pid := strconv.Itoa(os.Getpid())
	for _, listen := range []string{d.Addr(), freeAddr(t)} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, exe, "serve", "--listen", listen, "--data-dir", d.cfg.DataDir, "--podman-socket", podmanURI())
		cmd.Env = append(os.Environ(), "PODRUN_TEST_AS_DAEMON=1")
		start := time.Now()
		out, err := cmd.CombinedOutput()
		timedOut := ctx.Err() != nil
		cancel()
		if timedOut {
			t.Errorf("second podrun on %s was still running after 30s (killed); want it to fail at once:\n%s", listen, out)
			continue
		}
		if err == nil {
			t.Errorf("second podrun on %s exited 0; want a failure:\n%s", listen, out)
		}
		msg := string(out)
		if !strings.Contains(msg, "in use") || !strings.Contains(msg, "pid "+pid) || !strings.Contains(msg, d.cfg.DataDir) {
			t.Errorf("second podrun on %s said %q; want the data dir in use by pid %s", listen, msg, pid)
		}
		t.Logf("second podrun on %s failed in %v: %s", listen, time.Since(start).Round(time.Millisecond), strings.TrimSpace(msg))
	}

	// The first daemon's work goes on.
	select {
	case a := <-answered:
		if a.status != http.StatusOK || a.body != "in done\n" || a.agent != invoked.ID {
			t.Errorf("in-flight invocation answered %d %q (agent %s), want 200 \"in done\\n\" from %s", a.status, a.body, a.agent, invoked.ID)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the in-flight invocation did not answer in 60s")
	}
	if a := d.get(t, agent.ID); a.State != api.StateRunning || a.ContainerID != agent.ContainerID {
		t.Errorf("running agent is %s in %s, want running in %s", a.State, a.ContainerID, agent.ContainerID)
	}
	after := containerStates(t, d)
	for _, id := range []string{agent.ContainerID, refill} {
		if before[id] != "running" || after[id] != "running" {
			t.Errorf("container %s was %q, is %q; want it running throughout", id, before[id], after[id])
		}
	}
	if resp := d.call(t, "GET", "/healthz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("first daemon's /healthz = %d", resp.StatusCode)
	}
}

// TestSecondOpenDaemonFailsBeforeTouchingAnything: in-process, the lock is
// taken before the listener, the store and Podman are touched.
func TestSecondOpenDaemonFailsBeforeTouchingAnything(t *testing.T) {
	cfg := testConfig(t, nil)
	first, err := OpenDaemon(t.Context(), cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	trackInstance(first.Instance())
	defer first.Close()
	second := cfg
	second.PodmanSocket = "unix:///nonexistent/podman.sock" // were it asked, the error would say so
	_, err = OpenDaemon(t.Context(), second, discardLogger())
	var inUse *DataDirInUseError
	if !errors.As(err, &inUse) || inUse.Holder != "pid "+strconv.Itoa(os.Getpid()) || inUse.Dir != cfg.DataDir {
		t.Fatalf("second OpenDaemon on one data dir = %v; want a DataDirInUseError naming %s and pid %d", err, cfg.DataDir, os.Getpid())
	}
	// Once the first is closed, the data dir is free again.
	first.Close()
	again, err := OpenDaemon(t.Context(), cfg, discardLogger())
	if err != nil {
		t.Fatalf("OpenDaemon after the first closed: %v", err)
	}
	again.Close()
}

// awaitWarm waits for a running warm container of function that is not except, and returns its id.
func awaitWarm(t *testing.T, d *testDaemon, function, except string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		cs, err := testSandbox(t).List(t.Context(), map[string]string{runner.LabelInstance: d.Instance(), runner.LabelPool: function})
		for _, c := range cs {
			if c.Running && c.ID != except {
				return c.ID
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no running warm container for %s after 60s (err %v)", function, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// awaitAgent waits for an agent that satisfies ok.
func awaitAgent(t *testing.T, d *testDaemon, ok func(runner.Agent) bool) runner.Agent {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		page, err := d.runner.ListAgents(t.Context(), runner.AgentFilter{Limit: 100})
		if err == nil {
			if i := slices.IndexFunc(page.Agents, ok); i >= 0 {
				return page.Agents[i]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no such agent after 60s (err %v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// containerStates maps the ids of the daemon's containers to their states.
func containerStates(t *testing.T, d *testDaemon) map[string]string {
	t.Helper()
	cs, err := testSandbox(t).List(t.Context(), map[string]string{runner.LabelInstance: d.Instance()})
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]string, len(cs))
	for _, c := range cs {
		m[c.ID] = c.State
	}
	return m
}

// freeAddr returns a loopback address nothing listens on (a moment ago).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
