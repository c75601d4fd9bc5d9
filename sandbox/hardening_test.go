package sandbox

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
)

// probeScript prints key=value lines describing the confinement it runs under.
const probeScript = `
awk '/^(CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs):/ {print $1 "=" $2}' /proc/self/status
echo "uid_map=$(tr -s ' ' < /proc/self/uid_map | sed 's/^ //')"
echo "userns=$(readlink /proc/self/ns/user)"
echo "init_userns=$(readlink /proc/1/ns/user)"
for f in memory/memory.limit_in_bytes memory/memory.memsw.limit_in_bytes pids/pids.max \
	cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us memory.max memory.swap.max pids.max cpu.max; do
	[ -r /sys/fs/cgroup/$f ] && echo "cg:$f=$(cat /sys/fs/cgroup/$f)"
done
touch /x 2>/dev/null && echo rootfs=writable || echo rootfs=readonly
touch /tmp/y && echo tmp=writable
echo "tmp_kb=$(df -k /tmp | tail -n 1 | awk '{print $2}')"
dd if=/dev/zero of=/tmp/fill bs=1M count=16 2>/dev/null && echo tmpfill=ok || echo tmpfill=failed
echo "net=$(ls /sys/class/net | tr '\n' ' ')"
echo "nofile=$(ulimit -n)"
`

func parseProbe(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

var hardLimits = runner.Limits{Memory: 48 << 20, CPUs: 0.5, PIDs: 32}

func TestHardeningFromInside(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig()
	cfg.TmpfsSize = 8 << 20
	p, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	host, err := p.Probe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec := runnertest.Spec(labels, "sh", "-c", probeScript)
	spec.Limits = hardLimits
	out := runnertest.Run(t, p, spec, nil)
	if out.Exit.Code != 0 {
		t.Fatalf("probe exited %d: %s", out.Exit.Code, out.Stderr)
	}
	t.Logf("inside the container:\n%s", out.Stdout)
	got := parseProbe(out.Stdout)
	checkConfined(t, got)

	mem := strconv.FormatInt(hardLimits.Memory, 10)
	want := map[string]string{
		"rootfs":  "readonly",
		"tmp":     "writable",
		"tmp_kb":  "8192",
		"tmpfill": "failed", // 16 MiB does not fit the 8 MiB /tmp
		"net":     "lo",
		"nofile":  strconv.FormatUint(cfg.NoFile, 10),
	}
	if host.CgroupVersion == "v1" {
		want["cg:memory/memory.limit_in_bytes"] = mem
		want["cg:pids/pids.max"] = "32"
		want["cg:cpu/cpu.cfs_quota_us"] = "50000"
		want["cg:cpu/cpu.cfs_period_us"] = "100000"
		if _, ok := got["cg:memory/memory.memsw.limit_in_bytes"]; ok {
			want["cg:memory/memory.memsw.limit_in_bytes"] = mem
		} else {
			t.Log("memory.memsw.limit_in_bytes not readable: swap accounting is off on this host")
		}
	} else {
		want["cg:memory.max"] = mem
		want["cg:memory.swap.max"] = "0"
		want["cg:pids.max"] = "32"
		want["cg:cpu.max"] = "50000 100000"
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

// checkConfined checks what every process in an agent's container must show.
func checkConfined(t *testing.T, got map[string]string) {
	t.Helper()
	for _, k := range []string{"CapEff:", "CapPrm:", "CapBnd:", "CapAmb:"} {
		if got[k] != "0000000000000000" {
			t.Errorf("%s = %q, want no capabilities", k, got[k])
		}
	}
	if got["NoNewPrivs:"] != "1" {
		t.Errorf("NoNewPrivs = %q, want 1", got["NoNewPrivs:"])
	}
	if m := got["uid_map"]; m == "" || m == "0 0 4294967295" {
		t.Errorf("uid_map = %q: the container shares the host user namespace", m)
	}
	if got["userns"] == "" || got["userns"] != got["init_userns"] {
		t.Errorf("user namespace %q differs from the container's %q", got["userns"], got["init_userns"])
	}
}

// TestExecIsConfined probes from an exec, run directly and under the shim.
func TestExecIsConfined(t *testing.T) {
	for name, p := range map[string]*Podman{"direct": newPodman(t), "shim": newShimPodman(t, nil)} {
		t.Run(name, func(t *testing.T) {
			spec := runnertest.Spec(labels, "sleep", "60")
			id := runnertest.StartDetached(t, p, spec)
			res, err := p.Exec(context.Background(), id, runner.ExecSpec{Command: []string{"sh", "-c", probeScript}, Timeout: time.Minute})
			if err != nil || res.ExitCode != 0 {
				t.Fatalf("Exec = %+v, %v", res, err)
			}
			got := parseProbe(res.Stdout)
			checkConfined(t, got)
			if got["rootfs"] != "readonly" || got["net"] != "lo" {
				t.Errorf("exec sees rootfs %s, net %q", got["rootfs"], got["net"])
			}
		})
	}
}

func TestForkBombIsContained(t *testing.T) {
	p := newPodman(t)
	ctx := context.Background()
	// A chain bomb: each process forks one child and waits for it; when the
	// tip fails to fork (ash exits on that) its parent forks again, so the
	// chain stays at pids.max until it is stopped.
	spec := runnertest.Spec(labels, "sh", "-c", "f() { while :; do f & wait; done; }; f")
	spec.Limits = hardLimits
	id := runnertest.Create(t, p, spec)
	a, err := p.Attach(ctx, id, runner.Streams{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	var peak uint64
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && peak < uint64(hardLimits.PIDs); {
		s, err := p.Stats(ctx, id)
		if err != nil {
			t.Fatalf("Stats: %v", err)
		}
		peak = max(peak, s.PIDs)
	}
	if peak != uint64(hardLimits.PIDs) {
		t.Errorf("peak pids = %d, want the limit %d", peak, hardLimits.PIDs)
		out, _ := exec.Command("podman", "top", id, "pid", "ppid", "args").CombinedOutput()
		t.Logf("podman top:\n%s", out)
		if data, err := p.inspect(ctx, id); err == nil {
			cur, _ := os.ReadFile("/sys/fs/cgroup/pids" + data.State.CgroupPath + "/pids.current")
			t.Logf("state %s, pids.current %s", data.State.Status, cur)
		}
	}
	if n := failedForks(t, p, id); n == 0 {
		t.Errorf("pids.events reports no fork refused at pids.max")
	}
	if err := exec.Command("true").Run(); err != nil {
		t.Errorf("the host cannot fork during the bomb: %v", err)
	}
	if err := p.Ping(ctx); err != nil {
		t.Errorf("podman does not answer during the bomb: %v", err)
	}
	begin := time.Now()
	if err := p.Stop(ctx, id, time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	stopped := time.Since(begin)
	exit, err := a.Wait(ctx)
	if err != nil || (exit.Code != 137 && exit.Code != 143) {
		t.Fatalf("Wait = %+v, %v", exit, err)
	}
	if stopped > 15*time.Second {
		t.Errorf("Stop took %v", stopped)
	}
	t.Logf("peak pids %d, stopped in %v", peak, stopped)
}

func TestParallelAttach32(t *testing.T) {
	runnertest.ParallelEcho(t, newPodman(t), labels, 32)
}

func TestUnexpectedWarnings(t *testing.T) {
	other := "Something else is ignored"
	for _, tc := range []struct {
		name     string
		warnings []string
		accepted []string
		want     []string
	}{
		{"none", nil, nil, nil},
		{"dropped limits fail the create", []string{limitsIgnoredWarning}, nil, []string{limitsIgnoredWarning}},
		{"unless accepted", []string{limitsIgnoredWarning}, []string{limitsIgnoredWarning}, nil},
		{"accepting them keeps refusing others", []string{limitsIgnoredWarning, other}, []string{limitsIgnoredWarning}, []string{other}},
	} {
		if got := unexpectedWarnings(tc.warnings, tc.accepted...); !slices.Equal(got, tc.want) {
			t.Errorf("%s: unexpectedWarnings(%q, %q) = %q, want %q", tc.name, tc.warnings, tc.accepted, got, tc.want)
		}
	}
}

// TestIgnoredLimitsAreAcceptedOnlyWhereUnenforceable: the flag alone does not
// let a host that enforces limits (this rootful one) accept Podman's warning.
func TestIgnoredLimitsAreAcceptedOnlyWhereUnenforceable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := testConfig()
	cfg.AllowUnenforcedLimits = true
	p, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	h, _ := p.Probe(ctx)
	if why := runner.LimitsUnenforced(h); why != "" {
		t.Fatalf("the test host must enforce limits (rootful Podman): %s", why)
	}
	if accepted, err := p.acceptedWarnings(ctx); len(accepted) != 0 || err != nil {
		t.Errorf("a host that enforces limits accepts warnings %q (%v)", accepted, err)
	}
}

// failedForks reads, on the host, how often the container's pids cgroup refused a fork.
func failedForks(t *testing.T, p *Podman, id string) int {
	t.Helper()
	data, err := p.inspect(context.Background(), id)
	if err != nil || data.State == nil || data.State.CgroupPath == "" {
		t.Fatalf("inspect cgroup path: %v", err)
	}
	var events []byte
	for _, dir := range []string{"/sys/fs/cgroup/pids", "/sys/fs/cgroup"} {
		if events, err = os.ReadFile(dir + data.State.CgroupPath + "/pids.events"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("read pids.events: %v", err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(string(events), "max")))
	return n
}
