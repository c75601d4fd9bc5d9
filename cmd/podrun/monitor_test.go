package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/configs"
)

// fastMonitor samples every 200ms, so a test sees alerts within seconds.
func fastMonitor(c *configs.Config) {
	c.Monitor.Interval = configs.Duration{Duration: 200 * time.Millisecond}
}

// alerts lists an agent's alert and resolved events in order.
func alerts(evs []api.Event) []api.Event {
	var out []api.Event
	for _, e := range evs {
		if e.Type == api.EventAlert || e.Type == api.EventResolved {
			out = append(out, e)
		}
	}
	return out
}

// TestMemoryHogRaisesTheMemoryAlertBeforeItsOOMKill: an agent that takes
// 40 MiB at once, then grows by 512 KiB every 0.3s under a 64Mi limit,
// crosses 90% of it about 2 seconds (10 monitor passes) before the kernel
// kills it; it ends failed/oom, and its last alert says memory, with the
// value and the limit.
func TestMemoryHogRaisesTheMemoryAlertBeforeItsOOMKill(t *testing.T) {
	d := startDaemon(t, fastMonitor)
	hog := `awk 'BEGIN { for (i = 0; i < 40; i++) a[i] = sprintf("%1048576s", "");
		for (;; i++) { a[i] = sprintf("%524288s", ""); system("sleep 0.3") } }'`
	a := d.create(t, api.AgentRequest{Command: []string{"sh", "-c", hog}, Limits: api.LimitsRequest{Memory: "64Mi"}})
	a = d.await(t, a.ID, 2*time.Minute, api.StateFailed, api.StateSucceeded, api.StateExpired)
	if a.State != api.StateFailed || a.Reason != api.ReasonOOM {
		t.Fatalf("memory hog ended %s/%s (%s), want failed/oom", a.State, a.Reason, a.Message)
	}
	evs := d.events(t, a.ID)
	al := alerts(evs)
	if len(al) == 0 {
		t.Fatalf("no alert before the OOM kill; events: %+v", evs)
	}
	last := al[len(al)-1]
	t.Logf("last alert: %s %s: %s", last.Type, last.Name, last.Detail)
	if last.Type != api.EventAlert || last.Name != api.AlertMemory || !strings.Contains(last.Detail, "of 64.0Mi limit") {
		t.Errorf("last alert = %+v, want an alert of kind memory against the 64Mi limit", last)
	}
	var alertAt, failedAt int64
	for _, e := range evs {
		if e.Type == api.EventAlert && e.Name == api.AlertMemory && alertAt == 0 {
			alertAt = e.ID
		}
		if e.Type == api.EventState && e.Name == string(api.StateFailed) {
			failedAt = e.ID
		}
	}
	if alertAt == 0 || alertAt > failedAt {
		t.Errorf("memory alert (event %d) does not come before the failure (event %d)", alertAt, failedAt)
	}
	if a.Usage == nil || a.Usage.MemoryPeak < 58<<20 || !slices.Contains(a.Usage.Alerts, api.AlertMemory) {
		t.Errorf("usage of the ended hog = %+v, want a memory peak near 64Mi and the memory alert up", a.Usage)
	}
}

// TestForkBombRaisesThePIDsAlert: an agent forking under a pids limit of 32
// crosses 90% of it.
func TestForkBombRaisesThePIDsAlert(t *testing.T) {
	d := startDaemon(t, fastMonitor)
	pids, cpus := int64(32), 0.5
	bomb := `while :; do sleep 1000 & sleep 0.05; done`
	a := d.create(t, api.AgentRequest{Command: []string{"sh", "-c", bomb}, Limits: api.LimitsRequest{PIDs: &pids, CPUs: &cpus}})
	var got []api.Event
	for deadline := time.Now().Add(time.Minute); len(got) == 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no pids alert within a minute; agent: %+v", d.get(t, a.ID))
		}
		for _, e := range alerts(d.events(t, a.ID)) {
			if e.Type == api.EventAlert && e.Name == api.AlertPIDs {
				got = append(got, e)
			}
		}
	}
	t.Logf("pids alert: %s", got[0].Detail)
	if !strings.Contains(got[0].Detail, "of 32 limit") {
		t.Errorf("pids alert detail %q does not name the limit of 32", got[0].Detail)
	}
	u := d.get(t, a.ID).Usage
	if u == nil || u.PIDsPeak < 29 || u.PIDsPeak > 32 {
		t.Errorf("usage = %+v, want a pids peak between 29 and 32", u)
	}
}

// TestUsageOutlivesTheAgent: GET /v1/agents/{id} shows the monitor's usage
// while the agent runs and keeps it once the agent has ended and its
// container is gone.
func TestUsageOutlivesTheAgent(t *testing.T) {
	d := startDaemon(t, func(c *configs.Config) {
		fastMonitor(c)
		c.Cleanup.SucceededGrace = configs.Duration{}
	})
	work := `i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; dd if=/dev/zero of=/tmp/f bs=1M count=4 2>/dev/null; sleep 2`
	a := d.create(t, api.AgentRequest{Command: []string{"sh", "-c", work}})
	var running *api.Usage
	for deadline := time.Now().Add(time.Minute); running == nil || running.Samples < 2; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no usage within a minute: %+v", d.get(t, a.ID))
		}
		running = d.get(t, a.ID).Usage
	}
	a = d.await(t, a.ID, time.Minute, api.StateSucceeded, api.StateFailed)
	for deadline := time.Now().Add(time.Minute); !a.ContainerRemoved; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the container was never removed")
		}
		a = d.get(t, a.ID)
	}
	u := a.Usage
	t.Logf("usage after the end: %+v", u)
	if u == nil || u.Samples < 2 || u.MemoryPeak == 0 || u.PIDsPeak == 0 || u.CPUSeconds <= 0 || u.MemoryByteSeconds <= 0 {
		t.Fatalf("usage after the end = %+v, want the samples taken while it ran", u)
	}
	if u.Samples < running.Samples || u.CPUSeconds < running.CPUSeconds {
		t.Errorf("usage went back: %+v after %+v", u, running)
	}
}

// TestShortAgentGetsUsageFromItsExit: an agent that ends before the
// monitor's first pass (30s by default) still gets its usage, from the
// kernel's counters read as its process ended.
func TestShortAgentGetsUsageFromItsExit(t *testing.T) {
	d := startDaemon(t, nil)
	work := `i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done`
	a := d.create(t, api.AgentRequest{Command: []string{"sh", "-c", work}})
	a = d.await(t, a.ID, time.Minute, api.StateSucceeded, api.StateFailed)
	var u *api.Usage
	for deadline := time.Now().Add(10 * time.Second); u == nil && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		u = d.get(t, a.ID).Usage
	}
	t.Logf("usage: %+v", u)
	if u == nil || u.Samples != 1 || u.CPUSeconds <= 0.01 || u.MemoryPeak == 0 {
		t.Fatalf("usage of an agent that ended before any pass = %+v, want its exit reading: CPU time and a memory peak", u)
	}
}

// TestGVisorAgentIsMonitored: the monitor samples an agent under gVisor like
// any other (its container is started and read through the ordinary Podman
// service), and a quiet one raises no alert although the host's pids cgroup
// counts gVisor's own threads, far over the agent's limit of 32.
func TestGVisorAgentIsMonitored(t *testing.T) {
	gv := gvisorSocket(t)
	d := startDaemon(t, func(c *configs.Config) { c.Sandbox.GVisorSocket = gv; fastMonitor(c) })
	pids := int64(32)
	a := d.create(t, api.AgentRequest{Command: []string{"sh", "-c", "i=0; while [ $i -lt 50000 ]; do i=$((i+1)); done; sleep 60"},
		Isolation: api.IsolationGVisor, Limits: api.LimitsRequest{PIDs: &pids, Memory: "128Mi"}})
	var u *api.Usage
	for deadline := time.Now().Add(time.Minute); u == nil || u.Samples < 5; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gvisor agent not sampled within a minute: %+v", d.get(t, a.ID))
		}
		u = d.get(t, a.ID).Usage
	}
	t.Logf("gvisor agent's usage: %+v", u)
	if u.MemoryBytes == 0 || u.PIDs == 0 || u.CPUSeconds <= 0 {
		t.Errorf("usage = %+v, want memory, pids and CPU time", u)
	}
	if got := alerts(d.events(t, a.ID)); len(got) > 0 {
		t.Errorf("a quiet gvisor agent raised alerts: %+v", got)
	}
}
