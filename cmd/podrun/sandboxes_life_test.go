package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/client"
)

// TestIdleAgentEndsAtItsIdleDeadlineAndABusyOneDoesNot: of two agents with a
// 3s idle timeout, the one nobody uses expires (reason idle) at its idle
// deadline and its container goes; the one exec'd in every second lives on.
func TestIdleAgentEndsAtItsIdleDeadlineAndABusyOneDoesNot(t *testing.T) {
	d := startDaemon(t, nil)
	ctx := context.Background()
	idle := d.create(t, api.AgentRequest{Command: []string{"sleep", "600"}, TTL: "2m", IdleTimeout: "3s"})
	busy := d.create(t, api.AgentRequest{Command: []string{"sleep", "600"}, TTL: "2m", IdleTimeout: "3s"})
	d.await(t, busy.ID, 30*time.Second, api.StateRunning)
	if a := d.await(t, idle.ID, 30*time.Second, api.StateRunning); a.IdleExpiresAt == nil || a.IdleTimeout != "3s" {
		t.Fatalf("running agent with an idle timeout: idle_timeout %q idle_expires_at %v", a.IdleTimeout, a.IdleExpiresAt)
	}
	stop := make(chan struct{})
	execErr := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				execErr <- nil
				return
			case <-time.After(time.Second):
			}
			if _, err := d.api.Exec(ctx, busy.ID, api.ExecRequest{Command: []string{"true"}}); err != nil {
				execErr <- err
				return
			}
		}
	}()
	a := d.await(t, idle.ID, 30*time.Second, api.StateExpired)
	if a.Reason != api.ReasonIdle || a.FinishedAt == nil {
		t.Fatalf("unused agent = %s/%s, want expired/idle", a.State, a.Reason)
	}
	// Its last idle deadline was 3s after its start (nothing used it).
	if late := a.FinishedAt.Time().Sub(a.StartedAt.Time().Add(3 * time.Second)); late < 0 || late > 3*time.Second {
		t.Errorf("idled out %v after its idle deadline", late)
	}
	containerGone(t, a.ContainerID, 30*time.Second)
	time.Sleep(4 * time.Second) // more than an idle timeout after the other one ended
	close(stop)
	if err := <-execErr; err != nil {
		t.Fatalf("exec in the busy agent: %v", err)
	}
	if b := d.get(t, busy.ID); b.State != api.StateRunning {
		t.Fatalf("agent exec'd in every second = %s/%s, want running", b.State, b.Reason)
	}
}

// cpuUsage reads the CPU time, in nanoseconds, that a container's cgroup has
// used (cgroup v1 cpuacct.usage, or v2 cpu.stat usage_usec), from the host.
func cpuUsage(t *testing.T, containerID string) int64 {
	t.Helper()
	out, err := exec.Command("podman", "--remote", "--url", podmanURI(), "inspect", "--format", "{{.State.Pid}}", containerID).Output()
	if err != nil {
		t.Fatalf("podman inspect: %v", err)
	}
	pid := strings.TrimSpace(string(out))
	cg, err := os.ReadFile("/proc/" + pid + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(cg), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var file string
		switch {
		case strings.Contains(","+parts[1]+",", ",cpuacct,"):
			for _, mount := range []string{"cpuacct", "cpu,cpuacct"} {
				if f := filepath.Join("/sys/fs/cgroup", mount, parts[2], "cpuacct.usage"); fileExists(f) {
					file = f
				}
			}
		case parts[0] == "0" && parts[1] == "" && fileExists(filepath.Join("/sys/fs/cgroup", parts[2], "cpu.stat")):
			file = filepath.Join("/sys/fs/cgroup", parts[2], "cpu.stat")
		}
		if file == "" {
			continue
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.TrimSpace(string(data))
		if strings.HasSuffix(file, "cpu.stat") {
			for _, l := range strings.Split(text, "\n") {
				if v, ok := strings.CutPrefix(l, "usage_usec "); ok {
					n, _ := strconv.ParseInt(v, 10, 64)
					return n * 1000
				}
			}
		}
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		return n
	}
	t.Fatalf("no CPU accounting cgroup for container %s in:\n%s", containerID, cg)
	return 0
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func isConflict(err error) bool {
	var e *client.Error
	return errors.As(err, &e) && e.Status == http.StatusConflict
}

// TestPausedAgentUsesNoCPUAndResumes: a busy loop's cgroup CPU time grows
// while it runs, stays put while it is paused (exec answers 409 then), and
// grows again after resume, in the same process; a paused agent at its TTL
// is killed and one deleted while paused is stopped, their containers gone.
func TestPausedAgentUsesNoCPUAndResumes(t *testing.T) {
	d := startDaemon(t, nil)
	ctx := context.Background()
	a := d.create(t, api.AgentRequest{Command: []string{"sh", "-c", "while :; do :; done"}, TTL: "5m", IdleTimeout: "1m"})
	a = d.await(t, a.ID, 30*time.Second, api.StateRunning)
	if _, err := d.api.ResumeAgent(ctx, a.ID); !isConflict(err) {
		t.Fatalf("resume of a running agent = %v, want 409", err)
	}
	u0 := cpuUsage(t, a.ContainerID)
	time.Sleep(time.Second)
	if grew := cpuUsage(t, a.ContainerID) - u0; grew < int64(100*time.Millisecond) {
		t.Fatalf("a busy loop used %v of CPU in a second while running", time.Duration(grew))
	}
	p, err := d.api.PauseAgent(ctx, a.ID)
	if err != nil || p.State != api.StatePaused || p.IdleExpiresAt != nil {
		t.Fatalf("pause = %s idle %v, %v; want paused without an idle deadline", p.State, p.IdleExpiresAt, err)
	}
	if _, err := d.api.PauseAgent(ctx, a.ID); !isConflict(err) {
		t.Fatalf("second pause = %v, want 409", err)
	}
	if _, err := d.api.Exec(ctx, a.ID, api.ExecRequest{Command: []string{"true"}}); !isConflict(err) {
		t.Fatalf("exec in a paused agent = %v, want 409", err)
	}
	u1 := cpuUsage(t, a.ContainerID)
	time.Sleep(2 * time.Second)
	if grew := cpuUsage(t, a.ContainerID) - u1; grew > int64(10*time.Millisecond) {
		t.Fatalf("a paused agent used %v of CPU in 2s", time.Duration(grew))
	}
	if got := d.get(t, a.ID); got.State != api.StatePaused {
		t.Fatalf("agent = %s while paused", got.State)
	}
	r, err := d.api.ResumeAgent(ctx, a.ID)
	if err != nil || r.State != api.StateRunning || r.IdleExpiresAt == nil {
		t.Fatalf("resume = %s idle %v, %v; want running with an idle deadline", r.State, r.IdleExpiresAt, err)
	}
	u2 := cpuUsage(t, a.ContainerID)
	time.Sleep(time.Second)
	if grew := cpuUsage(t, a.ContainerID) - u2; grew < int64(100*time.Millisecond) {
		t.Fatalf("the resumed loop used %v of CPU in a second", time.Duration(grew))
	}
	if got, err := d.api.Exec(ctx, a.ID, api.ExecRequest{Command: []string{"echo", "back"}}); err != nil || got.Stdout != "back\n" {
		t.Fatalf("exec after resume = %+v, %v", got, err)
	}

	// Paused at its TTL: killed (SIGKILL reaches a frozen process).
	if _, err := d.api.PauseAgent(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.api.SetTTL(ctx, a.ID, "1s"); err != nil {
		t.Fatal(err)
	}
	e := d.await(t, a.ID, 30*time.Second, api.StateExpired)
	if e.Reason != api.ReasonTTL {
		t.Fatalf("paused agent at its TTL = %s/%s, want expired/ttl", e.State, e.Reason)
	}
	containerGone(t, e.ContainerID, 30*time.Second)

	// Deleted while paused: thawed and stopped, not left frozen.
	b := d.create(t, api.AgentRequest{Command: []string{"sleep", "600"}})
	b = d.await(t, b.ID, 30*time.Second, api.StateRunning)
	if _, err := d.api.PauseAgent(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	d.delete(t, b.ID)
	if got := d.await(t, b.ID, 60*time.Second, api.StateTerminated); got.Reason != api.ReasonDeleted {
		t.Fatalf("paused agent deleted = %s/%s", got.State, got.Reason)
	}
	containerGone(t, b.ContainerID, 30*time.Second)
}
