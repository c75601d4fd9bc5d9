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
	"github.com/podrun/podrun/sandbox/podmantest"
)

// exitCode shows an agent's exit code, or null.
func exitCode(a api.Agent) string {
	if a.ExitCode == nil {
		return "null"
	}
	return strconv.Itoa(*a.ExitCode)
}

// countRunning counts fn's running agents.
func (d *testDaemon) countRunning(t testing.TB, fn string) int {
	t.Helper()
	page, err := d.api.ListAgents(t.Context(), api.ListOptions{States: []api.State{api.StateRunning}, Function: fn})
	if err != nil {
		t.Fatalf("list running agents of %s: %v", fn, err)
	}
	return len(page.Agents)
}

// asyncInvoke starts an asynchronous invocation (POST /async-function/{name}) and returns its agent's ID.
func (d *testDaemon) asyncInvoke(t testing.TB, fn string, body []byte) string {
	t.Helper()
	return d.invokeAsync(t, fn, body, openFaaS).ID
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
		agents = append(agents, d.create(t, api.AgentRequest{Command: []string{"sh", "-c", script}}).ID)
	}
	d.putFunction(t, "later", api.FunctionRequest{Command: []string{"sh", "-c", script}, Timeout: "2m"})
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
		res := d.invoke(t, "later", nil, openFaaS)
		answered <- answer{res.status, res.exitCode(), string(res.out)}
	}()
	for _, id := range append(agents, invocations...) {
		d.await(t, id, 60*time.Second, api.StateRunning)
	}
	// The synchronous invocation's id comes with its answer: find it among the function's running agents.
	deadline := time.Now().Add(60 * time.Second)
	for d.countRunning(t, "later") < len(invocations)+1 {
		if time.Now().After(deadline) {
			t.Fatal("the synchronous invocation never started")
		}
		time.Sleep(50 * time.Millisecond)
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
				id, a.State, a.Reason, exitCode(a), a.Message)
		}
	}
	for _, id := range agents {
		if got := d.logs(t, id, api.LogOptions{}); got != "done\n" {
			t.Errorf("logs of %s = %q, want done", id, got)
		}
	}
	for _, id := range invocations {
		if r := d.result(t, id); string(r.Output) != "done\n" || r.ExitCode != 0 {
			t.Errorf("result of %s = %q exit %d, want done with exit code 0", id, r.Output, r.ExitCode)
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
// Podman 4.3's rm -f can race the container's own cleanup process over its
// shm mount ("unlinkat .../userdata/shm: device or resource busy") after the
// kill has happened; it is tried again then, as a user would.
func podmanCLI(t testing.TB, args ...string) {
	t.Helper()
	for try := 1; ; try++ {
		out, err := exec.Command("podman", append([]string{"--url", podmanURI()}, args...)...).CombinedOutput()
		if err == nil {
			return
		}
		if try < 5 && strings.Contains(string(out), "device or resource busy") {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		t.Errorf("podman %s: %v: %s", strings.Join(args, " "), err, out)
		return
	}
}

// TestKillsFromOutsideAreNotOOMKills kills agents with a memory limit with
// podman kill and podman rm -f, many at once since the old mistake showed in
// only some tries, and checks that a real memory hog is still an OOM kill.
func TestKillsFromOutsideAreNotOOMKills(t *testing.T) {
	d := startDaemon(t, nil)
	limits := api.LimitsRequest{Memory: "32Mi"}
	d.putFunction(t, "sleeper", api.FunctionRequest{Command: []string{"sleep", "600"}, Limits: limits, Timeout: "5m"})
	d.putFunction(t, "hog", api.FunctionRequest{Command: []string{"sh", "-c", `x=0123456789; while true; do x="$x$x"; done`},
		Limits: limits, Timeout: "5m"})
	type victim struct{ id, how string }
	var victims []victim
	for i := range 8 {
		a := d.create(t, api.AgentRequest{Command: []string{"sleep", "600"}, Limits: limits})
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
				v.how, a.State, a.Reason, exitCode(a), a.Message)
		}
	}
	a := d.await(t, hog, 60*time.Second, api.StateSucceeded, api.StateFailed, api.StateExpired)
	if a.State != api.StateFailed || a.Reason != api.ReasonOOM || a.ExitCode == nil || *a.ExitCode != 137 {
		t.Errorf("memory hog invocation = %s/%s exit %s (%s), want failed/oom 137", a.State, a.Reason, exitCode(a), a.Message)
	}
}

func TestAFailedAgentSaysWhy(t *testing.T) {
	d := startDaemon(t, nil)
	missing := d.create(t, api.AgentRequest{Command: []string{"/no/such/binary"}})
	exit3 := d.create(t, api.AgentRequest{Command: []string{"sh", "-c", "exit 3"}})
	a := d.await(t, missing.ID, 30*time.Second, api.StateFailed, api.StateSucceeded)
	if a.Reason != api.ReasonError {
		t.Fatalf("agent running a missing binary = %s/%s, want failed/error", a.State, a.Reason)
	}
	// The runtime's own words name the binary it could not run.
	msg := a.Message
	if !strings.Contains(msg, "/no/such/binary") {
		t.Errorf("message of the agent running a missing binary = %q, want the runtime's message", msg)
	}
	t.Logf("message of the agent running a missing binary: %s", msg)
	if msg := d.await(t, exit3.ID, 30*time.Second, api.StateFailed).Message; msg != "exited with code 3" {
		t.Errorf("message of the agent that exited 3 = %q", msg)
	}
}

func TestDeleteOfAFinishedAgentKeepsItsOutcome(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, api.AgentRequest{Command: []string{"echo", "kept"}})
	a = d.await(t, a.ID, 30*time.Second, api.StateSucceeded)
	if got := d.delete(t, a.ID); got.State != api.StateSucceeded {
		t.Fatalf("DELETE of a succeeded agent = %s, want still succeeded", got.State)
	}
	containerGone(t, a.ContainerID, 30*time.Second)
	var after api.Agent
	for deadline := time.Now().Add(30 * time.Second); !after.ContainerRemoved && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		after = d.get(t, a.ID)
	}
	if after.State != api.StateSucceeded || after.ExitCode == nil || *after.ExitCode != 0 || !after.ContainerRemoved {
		t.Fatalf("after DELETE: %+v, want succeeded, exit code 0, container removed", after)
	}
	if out := d.logs(t, a.ID, api.LogOptions{}); out != "kept\n" {
		t.Fatalf("logs after DELETE = %q, want the saved output", out)
	}
}
