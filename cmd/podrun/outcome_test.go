package main

import (
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/configs"
	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/sandbox/podmantest"
)

// message returns an agent's message as the API shows it.
func (d *testDaemon) message(t testing.TB, id string) string {
	t.Helper()
	var a struct{ Message string }
	d.call(t, "GET", "/v1/agents/"+id, nil, &a)
	return a.Message
}

// exitCode shows an agent's exit code, or null.
func exitCode(a api.Agent) string {
	if a.ExitCode == nil {
		return "null"
	}
	return strconv.Itoa(*a.ExitCode)
}

// asyncInvoke starts an asynchronous invocation and returns its agent's ID.
func (d *testDaemon) asyncInvoke(t testing.TB, fn string, body []byte) string {
	t.Helper()
	resp, out := d.invoke(t, "POST", "/async-function/"+fn, body, nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("async invoke of %s = %d: %s", fn, resp.StatusCode, out)
	}
	return resp.Header.Get("X-Podrun-Agent-Id")
}

// TestAPodmanServiceRestartLosesNoOutcome stops podrun's Podman service
// twice while agents and invocations run (SIGTERM, then SIGKILL, about two
// seconds each), as an operator restarting Podman would. Their containers run
// on, so every one must end as it really did: succeeded, exit code 0, with
// its output. A short failed grace would remove any container of an agent
// wrongly marked failed within a second, killing it.
func TestAPodmanServiceRestartLosesNoOutcome(t *testing.T) {
	svc := podmantest.Start(t) // podrun's own service: the shared one is never stopped
	d := startDaemon(t, func(c *configs.Config) {
		c.PodmanSocket = svc.URI()
		c.Cleanup.FailedGrace = configs.Duration{Duration: time.Second}
	})
	script := "sleep 25; echo done"
	var agents []string
	for range 10 {
		agents = append(agents, d.create(t, map[string]any{"image": testImage, "command": []string{"sh", "-c", script}}).ID)
	}
	d.putFunction(t, "later", map[string]any{"command": []string{"sh", "-c", script}, "timeout": "2m"})
	var invocations []string
	for range 3 {
		invocations = append(invocations, d.asyncInvoke(t, "later", nil))
	}
	type answer struct {
		status int
		exit   string
		body   string
	}
	answered := make(chan answer, 1)
	go func() { // a client waiting through both outages
		resp, out := d.invoke(t, "POST", "/function/later", nil, nil)
		exit := resp.Header.Get("X-Podrun-Exit-Code")
		if exit == "" { // sent as a trailer once output has started
			exit = resp.Trailer.Get("X-Podrun-Exit-Code")
		}
		answered <- answer{resp.StatusCode, exit, string(out)}
	}()
	for _, id := range append(agents, invocations...) {
		d.await(t, id, 60*time.Second, api.StateRunning)
	}

	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		pid := svc.PID()
		svc.Stop(sig)
		t.Logf("podman service %d stopped with %v", pid, sig)
		time.Sleep(2 * time.Second)
		svc.Restart()
		time.Sleep(time.Second)
	}

	for _, id := range append(agents, invocations...) {
		a := d.await(t, id, 90*time.Second, api.StateSucceeded, api.StateFailed, api.StateExpired, api.StateTerminated)
		if a.State != api.StateSucceeded || a.ExitCode == nil || *a.ExitCode != 0 {
			t.Errorf("agent %s after the restarts = %s/%s exit %s (%s), want succeeded with exit code 0",
				id, a.State, a.Reason, exitCode(a), d.message(t, id))
		}
	}
	for _, id := range agents {
		if got := d.logs(t, id, ""); got != "done\n" {
			t.Errorf("logs of %s = %q, want done", id, got)
		}
	}
	for _, id := range invocations {
		resp, out := d.invoke(t, "GET", "/v1/agents/"+id+"/result", nil, nil)
		if resp.StatusCode != http.StatusOK || string(out) != "done\n" || resp.Header.Get("X-Podrun-Exit-Code") != "0" {
			t.Errorf("result of %s = %d %q exit %s, want done with exit code 0", id, resp.StatusCode, out, resp.Header.Get("X-Podrun-Exit-Code"))
		}
	}
	select {
	case got := <-answered:
		if got.status != http.StatusOK || got.exit != "0" || got.body != "done\n" {
			t.Errorf("synchronous invocation across the restarts = %d exit %q %q, want 200, 0, done", got.status, got.exit, got.body)
		}
	case <-time.After(90 * time.Second):
		t.Error("the synchronous invocation never answered")
	}
}

// podmanCLI runs the podman command against the service the tests use, as an operator would.
func podmanCLI(t testing.TB, args ...string) {
	t.Helper()
	out, err := exec.Command("podman", append([]string{"--url", podmanURI()}, args...)...).CombinedOutput()
	if err != nil {
		t.Errorf("podman %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// TestKillsFromOutsideAreNotOOMKills kills agents with a memory limit with
// podman kill and podman rm -f, many at once since the old mistake showed in
// only some tries, and checks that a real memory hog is still an OOM kill.
func TestKillsFromOutsideAreNotOOMKills(t *testing.T) {
	d := startDaemon(t, nil)
	limits := map[string]any{"memory": "32Mi"}
	d.putFunction(t, "sleeper", map[string]any{"command": []string{"sleep", "600"}, "limits": limits, "timeout": "5m"})
	d.putFunction(t, "hog", map[string]any{"command": []string{"sh", "-c", `x=0123456789; while true; do x="$x$x"; done`},
		"limits": limits, "timeout": "5m"})
	type victim struct{ id, how string }
	var victims []victim
	for i := range 8 {
		a := d.create(t, map[string]any{"image": testImage, "command": []string{"sleep", "600"}, "limits": limits})
		victims = append(victims, victim{a.ID, []string{"kill", "rm -f"}[i%2]})
	}
	for range 3 {
		victims = append(victims, victim{d.asyncInvoke(t, "sleeper", nil), "kill"})
	}
	hog := d.asyncInvoke(t, "hog", nil)

	var wg sync.WaitGroup
	for _, v := range victims {
		a := d.await(t, v.id, 60*time.Second, api.StateRunning)
		wg.Go(func() { podmanCLI(t, append(strings.Fields(v.how), a.ContainerID)...) })
	}
	wg.Wait()
	for _, v := range victims {
		a := d.await(t, v.id, 60*time.Second, api.StateSucceeded, api.StateFailed)
		if a.State != api.StateFailed || a.Reason != "killed" || (a.ExitCode != nil && *a.ExitCode != 137) {
			t.Errorf("agent after podman %s = %s/%s exit %s (%s), want failed/killed, exit code 137 or unknown",
				v.how, a.State, a.Reason, exitCode(a), d.message(t, v.id))
		}
	}
	a := d.await(t, hog, 60*time.Second, api.StateSucceeded, api.StateFailed, api.StateExpired)
	if a.State != api.StateFailed || a.Reason != runner.ReasonOOM || a.ExitCode == nil || *a.ExitCode != 137 {
		t.Errorf("memory hog invocation = %s/%s exit %s (%s), want failed/oom 137", a.State, a.Reason, exitCode(a), d.message(t, hog))
	}
}

func TestAFailedAgentSaysWhy(t *testing.T) {
	d := startDaemon(t, nil)
	missing := d.create(t, map[string]any{"image": testImage, "command": []string{"/no/such/binary"}})
	exit3 := d.create(t, map[string]any{"image": testImage, "command": []string{"sh", "-c", "exit 3"}})
	if a := d.await(t, missing.ID, 30*time.Second, api.StateFailed, api.StateSucceeded); a.Reason != runner.ReasonError {
		t.Fatalf("agent running a missing binary = %s/%s, want failed/error", a.State, a.Reason)
	}
	// The runtime's own words name the binary it could not run.
	msg := d.message(t, missing.ID)
	if !strings.Contains(msg, "/no/such/binary") {
		t.Errorf("message of the agent running a missing binary = %q, want the runtime's message", msg)
	}
	t.Logf("message of the agent running a missing binary: %s", msg)
	d.await(t, exit3.ID, 30*time.Second, api.StateFailed)
	if msg := d.message(t, exit3.ID); msg != "exited with code 3" {
		t.Errorf("message of the agent that exited 3 = %q", msg)
	}
}

func TestDeleteOfAFinishedAgentKeepsItsOutcome(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, map[string]any{"image": testImage, "command": []string{"echo", "kept"}})
	a = d.await(t, a.ID, 30*time.Second, api.StateSucceeded)
	var got api.Agent
	if resp := d.call(t, "DELETE", "/v1/agents/"+a.ID, nil, &got); resp.StatusCode != http.StatusAccepted || got.State != api.StateSucceeded {
		t.Fatalf("DELETE of a succeeded agent = %d %s, want 202 and still succeeded", resp.StatusCode, got.State)
	}
	containerGone(t, a.ContainerID, 30*time.Second)
	var after struct {
		State            runner.State
		ExitCode         *int `json:"exit_code"`
		ContainerRemoved bool `json:"container_removed"`
	}
	for deadline := time.Now().Add(30 * time.Second); !after.ContainerRemoved && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		d.call(t, "GET", "/v1/agents/"+a.ID, nil, &after)
	}
	if after.State != runner.StateSucceeded || after.ExitCode == nil || *after.ExitCode != 0 || !after.ContainerRemoved {
		t.Fatalf("after DELETE: %+v, want succeeded, exit code 0, container removed", after)
	}
	if out := d.logs(t, a.ID, ""); out != "kept\n" {
		t.Fatalf("logs after DELETE = %q, want the saved output", out)
	}
}
