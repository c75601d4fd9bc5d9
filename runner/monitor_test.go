package runner_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
)

var defaultThresholds = runner.Thresholds{Memory: 0.9, PIDs: 0.9, CPUThrottled: 0.5, Tmp: 0.9, Hysteresis: 0.05}

func withThresholds(o *recorder) func(*runner.Config, *runnertest.Fake) {
	return func(c *runner.Config, _ *runnertest.Fake) {
		c.Thresholds = defaultThresholds
		c.Observer = o
	}
}

// sampleWith makes the fake report s for the agent's container and takes one monitor sample a second later.
func (h *harness) sampleWith(t *testing.T, a runner.Agent, s runner.Sample) {
	t.Helper()
	h.fake.Set(func(f *runnertest.Fake) {
		if f.Samples == nil {
			f.Samples = map[string]runner.Sample{}
		}
		f.Samples[a.ContainerID] = s
	})
	h.clock.Advance(time.Second)
	n, err := h.r.SampleUsage(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("SampleUsage = %d, %v; want 1 agent sampled", n, err)
	}
}

// alertEvents lists an agent's alert and resolved events as "type name".
func (h *harness) alertEvents(t *testing.T, id string) []string {
	t.Helper()
	evs, err := h.r.Events(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		if e.Type == runner.EventAlert || e.Type == runner.EventResolved {
			out = append(out, e.Type+" "+e.Name)
		}
	}
	return out
}

// TestMonitorAlertsWithHysteresis: crossing a threshold raises one alert,
// staying above it (or dipping by less than the hysteresis) raises no other,
// falling below threshold minus hysteresis resolves it, and a new crossing
// raises it again.
func TestMonitorAlertsWithHysteresis(t *testing.T) {
	o := &recorder{}
	h := newHarness(t, withThresholds(o))
	a := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}, Limits: limitsReq(100<<20, 10)})
	a = h.awaitState(t, a.ID, runner.StateRunning)

	const mi = 1 << 20
	steps := []struct {
		memory uint64
		want   []string // alert events after this sample
	}{
		{50 * mi, nil},
		{95 * mi, []string{"alert memory"}},
		{88 * mi, []string{"alert memory"}}, // below 90% but not below 85%: still up
		{97 * mi, []string{"alert memory"}}, // no repeat while up
		{80 * mi, []string{"alert memory", "resolved memory"}},
		{89 * mi, []string{"alert memory", "resolved memory"}},
		{90 * mi, []string{"alert memory", "resolved memory", "alert memory"}},
	}
	for i, s := range steps {
		h.sampleWith(t, a, runner.Sample{MemoryUsage: s.memory, PIDs: 1})
		if got := h.alertEvents(t, a.ID); !slices.Equal(got, s.want) {
			t.Fatalf("after sample %d (%d MiB of 100): alert events %q, want %q", i, s.memory/mi, got, s.want)
		}
	}
	if got, want := o.sorted(&o.alerted), []string{"/memory", "/memory"}; !slices.Equal(got, want) {
		t.Errorf("alerts counted %q, want %q", got, want)
	}
	evs, _ := h.r.Events(context.Background(), a.ID)
	last := evs[len(evs)-1]
	if !strings.Contains(last.Detail, "90.0Mi of 100.0Mi") || !strings.Contains(last.Detail, "threshold 90%") {
		t.Errorf("alert detail %q does not give the value, the limit and the threshold", last.Detail)
	}
}

// TestMonitorAlertsOnEveryKind: pids against the pids limit, CPU throttling
// over the interval (not since start) and /tmp against its size.
func TestMonitorAlertsOnEveryKind(t *testing.T) {
	h := newHarness(t, withThresholds(&recorder{}))
	a := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}, Limits: limitsReq(100<<20, 10)})
	a = h.awaitState(t, a.ID, runner.StateRunning)

	// Before: throttled in 1000 of 1000 periods, all of them before the first sample.
	h.sampleWith(t, a, runner.Sample{MemoryUsage: 1, PIDs: 8, Periods: 1000, ThrottledPeriods: 1000, TmpUsed: 10, TmpSize: 100})
	if got := h.alertEvents(t, a.ID); got != nil {
		t.Fatalf("first sample raised %q; throttling is judged over an interval and nothing else is high", got)
	}
	h.sampleWith(t, a, runner.Sample{MemoryUsage: 1, PIDs: 9, Periods: 1100, ThrottledPeriods: 1060, TmpUsed: 95, TmpSize: 100})
	want := []string{"alert pids", "alert cpu_throttled", "alert tmp"}
	if got := h.alertEvents(t, a.ID); !slices.Equal(got, want) {
		t.Fatalf("alert events %q, want %q", got, want)
	}
	// Throttled in 10 of 100 periods since: resolved, though 1070 of 1200 overall.
	h.sampleWith(t, a, runner.Sample{MemoryUsage: 1, PIDs: 2, Periods: 1200, ThrottledPeriods: 1070, TmpUsed: 10, TmpSize: 100})
	want = append(want, "resolved pids", "resolved cpu_throttled", "resolved tmp")
	if got := h.alertEvents(t, a.ID); !slices.Equal(got, want) {
		t.Fatalf("alert events %q, want %q", got, want)
	}
}

// TestPIDsAreJudgedAgainstTheEnforcedLimit: where the sandbox reads the
// limit the pids cgroup enforces, the pids alert is judged against it, not
// against the agent's own: under gVisor the cgroup counts gVisor's threads
// and its limit has room for them.
func TestPIDsAreJudgedAgainstTheEnforcedLimit(t *testing.T) {
	h := newHarness(t, withThresholds(&recorder{}))
	a := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}, Limits: limitsReq(100<<20, 32)})
	a = h.awaitState(t, a.ID, runner.StateRunning)
	h.sampleWith(t, a, runner.Sample{MemoryUsage: 1, PIDs: 49, PIDsLimit: 544})
	if got := h.alertEvents(t, a.ID); got != nil {
		t.Fatalf("49 of an enforced 544 raised %q", got)
	}
	h.sampleWith(t, a, runner.Sample{MemoryUsage: 1, PIDs: 500, PIDsLimit: 544})
	evs, err := h.r.Events(context.Background(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var detail string
	for _, e := range evs {
		if e.Type == runner.EventAlert && e.Name == runner.AlertPIDs {
			detail = e.Detail
		}
	}
	if !strings.Contains(detail, "500 of 544") {
		t.Fatalf("pids alert %q, want it judged against the enforced 544", detail)
	}
}

// TestUsageKeepsPeaksAndOutlivesTheAgent: GET's usage holds the latest
// sample and the peaks, and stays once the agent has ended and the monitor
// let go of it.
func TestUsageKeepsPeaksAndOutlivesTheAgent(t *testing.T) {
	o := &recorder{}
	h := newHarness(t, withThresholds(o))
	a := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}, Limits: limitsReq(100<<20, 10)})
	a = h.awaitState(t, a.ID, runner.StateRunning)
	if got, _ := h.r.Agent(context.Background(), a.ID); got.Usage != nil {
		t.Fatalf("usage before any sample: %+v, want nil", got.Usage)
	}
	h.sampleWith(t, a, runner.Sample{MemoryUsage: 40 << 20, PIDs: 5, CPUNanos: 2e9, BlockWrite: 7})
	h.sampleWith(t, a, runner.Sample{MemoryUsage: 10 << 20, MemoryPeak: 60 << 20, PIDs: 2, CPUNanos: 3e9, BlockWrite: 9})
	if _, err := h.r.DeleteAgent(context.Background(), a.ID); err != nil {
		t.Fatal(err)
	}
	h.awaitState(t, a.ID, runner.StateTerminated)
	if n, err := h.r.SampleUsage(context.Background()); err != nil || n != 0 {
		t.Fatalf("SampleUsage after the end = %d, %v", n, err)
	}
	got, err := h.r.Agent(context.Background(), a.ID)
	if err != nil || got.Usage == nil {
		t.Fatalf("agent after its end: usage %v, %v", got.Usage, err)
	}
	u := *got.Usage
	if u.Samples != 2 || u.MemoryBytes != 10<<20 || u.MemoryPeak != 60<<20 || u.PIDs != 2 || u.PIDsPeak != 5 ||
		u.CPUSeconds != 3 || u.BlockWrite != 9 || u.CPUPercent != 100 {
		t.Errorf("usage = %+v, want 2 samples, memory 10Mi peak 60Mi, pids 2 peak 5, 3 CPU seconds at 100%%, 9 bytes written", u)
	}
	if o.cpu != 3 {
		t.Errorf("CPU seconds counted %v, want 3", o.cpu)
	}
	if got, want := o.sorted(&o.peaks), []string{"/62914560"}; !slices.Equal(got, want) {
		t.Errorf("memory peaks reported %q, want %q (once, when the monitor let go)", got, want)
	}
}

func limitsReq(memory runner.ByteSize, pids int64) runner.LimitsRequest {
	return runner.LimitsRequest{Memory: &memory, PIDs: &pids}
}

// TestMonitorAlertsSurviveARestart: an alert up when podrun restarts is
// neither forgotten (it is resolved later) nor raised again, and the peaks
// carry over.
func TestMonitorAlertsSurviveARestart(t *testing.T) {
	h := newHarness(t, withThresholds(&recorder{}))
	a := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}, Limits: limitsReq(100<<20, 10)})
	a = h.awaitState(t, a.ID, runner.StateRunning)
	h.sampleWith(t, a, runner.Sample{MemoryUsage: 95 << 20, PIDs: 7})
	h.r.Close() // the daemon dies; the agent's container lives on
	h.r = h.open(t)
	h.sampleWith(t, a, runner.Sample{MemoryUsage: 96 << 20, PIDs: 1})
	if got, want := h.alertEvents(t, a.ID), []string{"alert memory"}; !slices.Equal(got, want) {
		t.Fatalf("after the restart: alert events %q, want %q (no repeat)", got, want)
	}
	h.sampleWith(t, a, runner.Sample{MemoryUsage: 10 << 20, PIDs: 1})
	if got, want := h.alertEvents(t, a.ID), []string{"alert memory", "resolved memory"}; !slices.Equal(got, want) {
		t.Fatalf("alert events %q, want %q", got, want)
	}
	got, err := h.r.Agent(context.Background(), a.ID)
	if err != nil || got.Usage == nil || got.Usage.PIDsPeak != 7 || got.Usage.MemoryPeak != 96<<20 || got.Usage.Samples != 3 {
		t.Errorf("usage after the restart = %+v, %v; want the peaks of both runs and 3 samples", got.Usage, err)
	}
}

// TestExitReadingIsTheLastSample: the reading the sandbox takes as the
// process ends is folded into the usage of an agent no pass sampled (its
// peak reported once), and of one a pass did, without resolving its alert.
func TestExitReadingIsTheLastSample(t *testing.T) {
	o := &recorder{}
	h := newHarness(t, withThresholds(o))
	short := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}})
	hog := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}, Limits: limitsReq(100<<20, 10)})
	short = h.awaitState(t, short.ID, runner.StateRunning)
	hog = h.awaitState(t, hog.ID, runner.StateRunning)
	h.fake.Set(func(f *runnertest.Fake) {
		f.ExitSamples = map[string]runner.Sample{
			short.ContainerID: {MemoryUsage: 2 << 20, MemoryPeak: 3 << 20, CPUNanos: 5e8},
			hog.ContainerID:   {MemoryUsage: 1 << 20, MemoryPeak: 99 << 20, CPUNanos: 2e9},
		}
	})
	end := func(a runner.Agent) {
		t.Helper()
		if _, err := h.r.DeleteAgent(context.Background(), a.ID); err != nil {
			t.Fatal(err)
		}
		h.awaitState(t, a.ID, runner.StateTerminated)
	}
	end(short) // before any pass
	h.sampleWith(t, hog, runner.Sample{MemoryUsage: 95 << 20, PIDs: 1, CPUNanos: 1e9})
	end(hog)
	usage := func(a runner.Agent) runner.Usage {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			got, err := h.r.Agent(context.Background(), a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Usage != nil && got.Usage.CPUSeconds >= 0.5 || time.Now().After(deadline) {
				if got.Usage == nil {
					t.Fatalf("agent %s has no usage after its exit", a.ID)
				}
				return *got.Usage
			}
		}
	}
	if u := usage(short); u.Samples != 1 || u.MemoryPeak != 3<<20 || u.CPUSeconds != 0.5 || u.Alerts != nil {
		t.Errorf("usage of the never sampled agent = %+v, want its exit reading as 1 sample", u)
	}
	if u := usage(hog); u.Samples != 2 || u.MemoryPeak != 99<<20 || u.CPUSeconds != 2 || !slices.Equal(u.Alerts, []string{runner.AlertMemory}) {
		t.Errorf("usage of the hog = %+v, want 2 samples, the exit's peak and CPU, the memory alert still up", u)
	}
	if got := h.alertEvents(t, hog.ID); !slices.Equal(got, []string{"alert memory"}) {
		t.Errorf("hog's alert events %q: the exit resolved nothing", got)
	}
	if _, err := h.r.SampleUsage(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := o.sorted(&o.peaks), []string{"/103809024", "/3145728"}; !slices.Equal(got, want) {
		t.Errorf("memory peaks reported %q, want %q, once each", got, want)
	}
	if o.cpu != 2.5 {
		t.Errorf("CPU seconds counted %v, want 2.5", o.cpu)
	}
}

// TestOOMKillKeepsOrRaisesTheMemoryAlert: memory an OOM kill freed does not
// resolve the memory alert (a pass can land between the kill and the exit),
// and an OOM kill no pass saw coming raises it at the exit, so an agent
// killed for memory always has the memory alert as its last word.
func TestOOMKillKeepsOrRaisesTheMemoryAlert(t *testing.T) {
	h := newHarness(t, withThresholds(&recorder{}))
	seen := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}, Limits: limitsReq(100<<20, 10)})
	seen = h.awaitState(t, seen.ID, runner.StateRunning)
	h.sampleWith(t, seen, runner.Sample{MemoryUsage: 95 << 20, PIDs: 2})
	h.sampleWith(t, seen, runner.Sample{MemoryUsage: 1 << 20, PIDs: 1, OOMKills: 1})
	if got, want := h.alertEvents(t, seen.ID), []string{"alert memory"}; !slices.Equal(got, want) {
		t.Fatalf("after the OOM kill: alert events %q, want %q", got, want)
	}
	if _, err := h.r.DeleteAgent(context.Background(), seen.ID); err != nil {
		t.Fatal(err)
	}
	h.awaitState(t, seen.ID, runner.StateTerminated)

	sudden := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}, Limits: limitsReq(100<<20, 10)})
	sudden = h.awaitState(t, sudden.ID, runner.StateRunning)
	h.fake.Set(func(f *runnertest.Fake) {
		f.ExitSamples = map[string]runner.Sample{sudden.ContainerID: {MemoryUsage: 1 << 20, OOMKills: 1}}
	})
	if _, err := h.r.DeleteAgent(context.Background(), sudden.ID); err != nil {
		t.Fatal(err)
	}
	h.awaitState(t, sudden.ID, runner.StateTerminated)
	var got []string
	for deadline := time.Now().Add(5 * time.Second); len(got) == 0 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		got = h.alertEvents(t, sudden.ID)
	}
	if want := []string{"alert memory"}; !slices.Equal(got, want) {
		t.Fatalf("OOM kill at the exit: alert events %q, want %q", got, want)
	}
	evs, _ := h.r.Events(context.Background(), sudden.ID)
	for _, e := range evs {
		if e.Type == runner.EventAlert && !strings.Contains(e.Detail, "OOM-killed") {
			t.Errorf("alert detail %q does not say the kernel OOM-killed a process", e.Detail)
		}
	}
}
