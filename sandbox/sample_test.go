package sandbox

import (
	"context"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
)

// TestSampleReadsTheKernelsCounters: besides Podman's stats, Sample reports
// what only the kernel knows: CFS throttling of a container spinning under a
// tenth of a core, the memory high-water mark, and how full /tmp is.
func TestSampleReadsTheKernelsCounters(t *testing.T) {
	p := podmanWith(t, func(c *Config) { c.TmpfsSize = 16 << 20 })
	ctx := context.Background()
	spin := runnertest.Spec(labels, "sh", "-c", "dd if=/dev/zero of=/tmp/fill bs=1M count=8 2>/dev/null; while :; do :; done")
	spin.Limits = runner.Limits{Memory: 64 << 20, CPUs: 0.1, PIDs: 32}
	id := runnertest.StartDetached(t, p, spin)

	var s runner.Sample
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		got, err := p.Sample(ctx, []string{id})
		if err != nil {
			t.Fatalf("Sample: %v", err)
		}
		if s = got[id]; s.ThrottledPeriods > 0 && s.TmpUsed >= 8<<20 {
			break
		}
	}
	t.Logf("sample: %+v", s)
	if s.Periods == 0 || s.ThrottledPeriods == 0 || s.ThrottledPeriods > s.Periods {
		t.Errorf("throttled in %d of %d periods; a spinning container capped at 0.1 core is throttled in most", s.ThrottledPeriods, s.Periods)
	}
	if s.TmpSize != 16<<20 || s.TmpUsed < 8<<20 || s.TmpUsed > 9<<20 {
		t.Errorf("/tmp: %d of %d bytes used, want about 8 MiB of 16 MiB", s.TmpUsed, s.TmpSize)
	}
	if s.MemoryPeak < s.MemoryUsage || s.MemoryPeak < 8<<20 {
		t.Errorf("memory peak %d, usage %d: the tmpfs's 8 MiB are charged, so the peak is at least that", s.MemoryPeak, s.MemoryUsage)
	}
	if s.CPUNanos == 0 {
		t.Errorf("CPU time %d ns, want some", s.CPUNanos)
	}
	if s.PIDsLimit != 32 || s.PIDs == 0 || s.PIDs > 32 {
		t.Errorf("pids %d of limit %d, want a few of the cgroup's 32", s.PIDs, s.PIDsLimit)
	}
}

// TestSampleUnderGVisor: the host's pids cgroup of a gVisor container counts
// runsc's threads, far over the agent's own limit, and Sample reports the
// limit the cgroup enforces (the agent's plus gvisorPIDOverhead) to judge
// them against; /tmp lives inside gVisor's Sentry, so it reports none
// rather than the host's.
func TestSampleUnderGVisor(t *testing.T) {
	p := podmanWith(t, func(c *Config) { c.GVisorURI = gvisorService(t) })
	spec := gvisorSpec("sh", "-c", "dd if=/dev/zero of=/tmp/fill bs=1M count=4 2>/dev/null; sleep 120")
	spec.Limits = runner.Limits{Memory: 128 << 20, PIDs: 32}
	id := runnertest.StartDetached(t, p, spec)
	time.Sleep(time.Second)
	got, err := p.Sample(context.Background(), []string{id})
	if err != nil {
		t.Fatal(err)
	}
	s, ok := got[id]
	t.Logf("sample: %+v", s)
	if !ok || s.MemoryUsage == 0 || s.CPUNanos == 0 {
		t.Fatalf("no sample of the running gVisor container: %+v, %v", s, ok)
	}
	if s.PIDsLimit != 32+gvisorPIDOverhead || s.PIDs <= 32 || s.PIDs >= s.PIDsLimit {
		t.Errorf("pids %d of limit %d; want runsc's threads, over 32, under the cgroup's %d", s.PIDs, s.PIDsLimit, 32+gvisorPIDOverhead)
	}
	if s.TmpSize != 0 || s.TmpUsed != 0 {
		t.Errorf("/tmp %d of %d bytes: the host's view of a gVisor container's /tmp is not its /tmp", s.TmpUsed, s.TmpSize)
	}
}
