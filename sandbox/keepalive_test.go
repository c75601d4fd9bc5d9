package sandbox

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
)

// keepAliveSpec is a keep-alive spec for image (busybox when ""), labelled for this run.
func keepAliveSpec(image string) runner.Spec {
	s := runnertest.Spec(labels)
	s.Command = nil
	s.KeepAlive = true
	if image != "" {
		s.Image = image
	}
	return s
}

// pid1Probe adds to probeScript what PID 1, the shim, runs under.
const pid1Probe = probeScript + `
awk '/^(CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs):/ {print "pid1_" $1 "=" $2}' /proc/1/status
echo "pid1_cmd=$(tr '\0' ' ' < /proc/1/cmdline)"
`

// TestKeepAliveHardeningFromInside proves every property
// TestHardeningFromInside proves of an agent, from inside a keep-alive
// agent: its processes are execs, and its PID 1 is the shim, confined alike.
func TestKeepAliveHardeningFromInside(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig()
	cfg.TmpfsSize = 8 << 20
	cfg.ShimPath = shimPath
	p, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	host, err := p.Probe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec := keepAliveSpec("")
	spec.Limits = hardLimits
	// busybox's own command is sh, which exits at once without a terminal:
	// only the shim keeps this container running.
	id := runnertest.StartDetached(t, p, spec)
	time.Sleep(time.Second)
	res, err := p.Exec(ctx, id, runner.ExecSpec{Command: []string{"sh", "-c", pid1Probe}, Timeout: time.Minute, MaxOutput: 1 << 20})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("probe = %+v, %v", res, err)
	}
	t.Logf("inside the keep-alive container:\n%s", res.Stdout)
	got := parseProbe(res.Stdout)
	checkConfined(t, got)
	mem := strconv.FormatInt(hardLimits.Memory, 10)
	want := map[string]string{
		"rootfs":           "readonly",
		"tmp":              "writable",
		"tmp_kb":           "8192",
		"tmpfill":          "failed",
		"net":              "lo",
		"nofile":           strconv.FormatUint(cfg.NoFile, 10),
		"pid1_cmd":         ShimTarget + " --wait",
		"pid1_CapEff:":     "0000000000000000",
		"pid1_CapPrm:":     "0000000000000000",
		"pid1_CapBnd:":     "0000000000000000",
		"pid1_CapAmb:":     "0000000000000000",
		"pid1_NoNewPrivs:": "1",
	}
	if host.CgroupVersion == "v1" {
		want["cg:memory/memory.limit_in_bytes"] = mem
		want["cg:pids/pids.max"] = "32"
		want["cg:cpu/cpu.cfs_quota_us"] = "50000"
	} else {
		want["cg:memory.max"] = mem
		want["cg:pids.max"] = "32"
		want["cg:cpu.max"] = "50000 100000"
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

// TestKeepAliveLivesUntilStopped: a keep-alive container whose image's
// command would exit at once runs on, and ends cleanly (0, not 137) at
// SIGTERM, which the shim as PID 1 catches.
func TestKeepAliveLivesUntilStopped(t *testing.T) {
	p := newShimPodman(t, nil)
	ctx := context.Background()
	id := runnertest.StartDetached(t, p, keepAliveSpec(""))
	time.Sleep(2 * time.Second)
	c, err := p.Inspect(ctx, id)
	if err != nil || !c.Running {
		t.Fatalf("after 2s: %+v, %v; want it running", c, err)
	}
	if err := p.Stop(ctx, id, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	c, err = p.Inspect(ctx, id)
	if err != nil || c.Running || c.ExitCode != 0 {
		t.Errorf("after stop: %+v, %v; want exited 0", c, err)
	}
}

// TestKeepAliveRefusesACommand: the sandbox refuses a keep-alive spec that also names a command.
func TestKeepAliveRefusesACommand(t *testing.T) {
	p := newShimPodman(t, nil)
	spec := keepAliveSpec("")
	spec.Command = []string{"sleep", "1"}
	if id, err := p.Create(context.Background(), spec); err == nil || !strings.Contains(err.Error(), "keep-alive") {
		if err == nil {
			_ = p.Remove(context.Background(), id)
		}
		t.Fatalf("Create = %v, want a refusal", err)
	}
}
