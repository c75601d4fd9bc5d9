package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// daemonProcess is `podrun serve` in its own process (this test binary re-executed).
type daemonProcess struct {
	cmd    *exec.Cmd
	base   string
	stderr *strings.Builder
}

var listeningRE = regexp.MustCompile(`listening on (http://\S+)`)

// startProcess runs podrun serve as a child process and waits until it listens.
func startProcess(t *testing.T, dataDir string, args ...string) *daemonProcess {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args = append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--podman-socket", podmanURI()}, args...)
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "PODRUN_TEST_AS_DAEMON=1")
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &daemonProcess{cmd: cmd, stderr: &strings.Builder{}}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			p.stderr.WriteString(line + "\n")
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				found <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, pipe)
	}()
	select {
	case p.base = <-found:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("podrun serve did not start:\n%s", p.stderr)
	}
	id, err := os.ReadFile(filepath.Join(dataDir, "instance-id"))
	if err != nil {
		t.Fatal(err)
	}
	trackInstance(strings.TrimSpace(string(id)))
	return p
}

func (p *daemonProcess) client() *testDaemon { return &testDaemon{base: p.base} }

func TestKill9AndRestartLosesNothing(t *testing.T) {
	dataDir := t.TempDir()
	p := startProcess(t, dataDir)
	c := p.client()
	long := c.create(t, map[string]any{"image": testImage, "command": []string{"sleep", "600"}, "ttl": "1h"})
	short := c.create(t, map[string]any{"image": testImage, "command": []string{"sleep", "600"}, "ttl": "6s"})
	quick := c.create(t, map[string]any{"image": testImage, "command": []string{"sh", "-c", "sleep 2; echo finished while podrun was down"}})
	done := c.create(t, map[string]any{"image": testImage, "command": []string{"echo", "done before the crash"}})
	for _, a := range []api.Agent{long, short, quick} {
		c.await(t, a.ID, 30*time.Second, api.StateRunning)
	}
	c.await(t, done.ID, 30*time.Second, api.StateSucceeded)

	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	time.Sleep(3 * time.Second) // quick exits while podrun is down

	p = startProcess(t, dataDir)
	defer func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		_ = p.cmd.Wait()
	}()
	c = p.client()
	var page api.AgentPage
	c.call(t, "GET", "/v1/agents", nil, &page)
	if len(page.Agents) != 4 {
		t.Fatalf("after restart %d agents, want 4", len(page.Agents))
	}
	if a := c.await(t, quick.ID, 30*time.Second, api.StateSucceeded, api.StateFailed); a.State != api.StateSucceeded {
		t.Fatalf("agent that exited while podrun was down = %s/%s", a.State, a.Reason)
	}
	if a := c.get(t, long.ID); a.State != api.StateRunning {
		t.Fatalf("long agent = %s after restart, want running", a.State)
	}
	s := c.await(t, short.ID, 30*time.Second, api.StateExpired)
	if late := s.FinishedAt.Time().Sub(s.ExpiresAt.Time()); late < 0 || late > 5*time.Second {
		t.Fatalf("deadline after restart enforced %v late", late)
	}
	containerGone(t, s.ContainerID, 10*time.Second)
	if got := c.logs(t, done.ID, ""); got != "done before the crash\n" {
		t.Fatalf("logs of the finished agent = %q", got)
	}
	assertNoOrphans(t, dataDir)
	c.call(t, "DELETE", "/v1/agents/"+long.ID, nil, nil)
	l := c.await(t, long.ID, 30*time.Second, api.StateTerminated)
	containerGone(t, l.ContainerID, 10*time.Second)
	for _, a := range []api.Agent{quick, done} {
		c.call(t, "DELETE", "/v1/agents/"+a.ID, nil, nil) // removes containers kept for their grace
		containerGone(t, c.get(t, a.ID).ContainerID, 30*time.Second)
	}
}

// assertNoOrphans checks that every container of the instance belongs to a known agent.
func assertNoOrphans(t *testing.T, dataDir string) {
	t.Helper()
	id, _ := os.ReadFile(filepath.Join(dataDir, "instance-id"))
	cs, err := testSandbox(t).List(context.Background(), map[string]string{runner.LabelInstance: strings.TrimSpace(string(id))})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if !runner.ValidID(c.Labels[runner.LabelAgent]) {
			t.Errorf("container %s has no valid agent label", c.Name)
		}
	}
}

func TestAsyncAcceptedBeforeKill9CompletesAfterRestart(t *testing.T) {
	dataDir := t.TempDir()
	p := startProcess(t, dataDir)
	c := p.client()
	c.putFunction(t, "later", map[string]any{"command": []string{"sh", "-c", "sleep 2; cat"}})
	var ids []string
	for i := 0; i < 3; i++ {
		resp, _ := c.invoke(t, "POST", "/async-function/later", []byte("survives "+strconv.Itoa(i)), nil)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("async invoke = %d", resp.StatusCode)
		}
		ids = append(ids, resp.Header.Get("X-Podrun-Agent-Id"))
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()

	p = startProcess(t, dataDir)
	defer func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		_ = p.cmd.Wait()
	}()
	c = p.client()
	for i, id := range ids {
		c.await(t, id, 60*time.Second, api.StateSucceeded)
		resp, out := c.invoke(t, "GET", "/v1/agents/"+id+"/result", nil, nil)
		if resp.StatusCode != http.StatusOK || string(out) != "survives "+strconv.Itoa(i) {
			t.Fatalf("result of %s after kill -9 = %d %q", id, resp.StatusCode, out)
		}
	}
	assertNoOrphans(t, dataDir)
}

// TestTakenBackInvocationsHoldTheirSlots kills podrun while a function with
// max_concurrency 1 runs one asynchronous invocation and queues another: after
// the restart the queued one must still wait for the taken-back one to end.
func TestTakenBackInvocationsHoldTheirSlots(t *testing.T) {
	dataDir := t.TempDir()
	p := startProcess(t, dataDir)
	c := p.client()
	c.putFunction(t, "single", map[string]any{"command": []string{"sh", "-c", "sleep 6; cat"}, "max_concurrency": 1, "timeout": "2m"})
	first := c.asyncInvoke(t, "single", []byte("first"))
	c.await(t, first, 30*time.Second, api.StateRunning)
	second := c.asyncInvoke(t, "single", []byte("second"))
	time.Sleep(500 * time.Millisecond) // it had its chance to start, and must not have
	if a := c.get(t, second); a.State != api.StatePending {
		t.Fatalf("second invocation = %s before the restart, want pending behind max_concurrency 1", a.State)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()

	p = startProcess(t, dataDir)
	defer func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		_ = p.cmd.Wait()
	}()
	c = p.client()
	for _, id := range []string{first, second} {
		c.await(t, id, 60*time.Second, api.StateSucceeded)
	}
	// Event IDs follow the order of writes: the queued one may start only after the taken-back one ended.
	ended, started := c.stateEvent(t, first, api.StateSucceeded), c.stateEvent(t, second, api.StateRunning)
	if started.ID < ended.ID {
		t.Fatalf("the queued invocation started (event %d, %v) before the taken-back one ended (event %d, %v)",
			started.ID, started.Time, ended.ID, ended.Time)
	}
	for id, want := range map[string]string{first: "first", second: "second"} {
		if resp, out := c.invoke(t, "GET", "/v1/agents/"+id+"/result", nil, nil); string(out) != want {
			t.Errorf("result of %s = %d %q, want %q", id, resp.StatusCode, out, want)
		}
	}
	assertNoOrphans(t, dataDir)
}

// stateEvent returns an agent's state event for s.
func (d *testDaemon) stateEvent(t testing.TB, id string, s api.State) api.Event {
	t.Helper()
	var ev api.EventList
	d.call(t, "GET", "/v1/agents/"+id+"/events", nil, &ev)
	for _, e := range ev.Events {
		if e.Type == runner.EventState && e.Name == string(s) {
			return e
		}
	}
	t.Fatalf("agent %s has no %s event: %+v", id, s, ev.Events)
	return api.Event{}
}
