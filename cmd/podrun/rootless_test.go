package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/sandbox"
)

// smokeUser is prepared by scripts/setup-rootless-user.sh, which `make test` runs.
const smokeUser = "podrun-smoke"

// rootless is what a test needs to run podrun as smokeUser against its rootless Podman.
type rootless struct {
	uid  string
	sock string // the user's Podman service
	bin  string // a copy of this test binary the user can run, podrun-shim beside it
}

func rootlessSetup(t *testing.T) rootless {
	t.Helper()
	u, err := user.Lookup(smokeUser)
	if err != nil {
		t.Fatalf("user %s must exist (make test runs scripts/setup-rootless-user.sh): %v", smokeUser, err)
	}
	sock := fmt.Sprintf("unix:///run/user/%s/podman/podman.sock", u.Uid)
	if _, err := os.Stat(strings.TrimPrefix(sock, "unix://")); err != nil {
		t.Fatalf("rootless Podman socket %s must exist (make test starts it): %v", sock, err)
	}
	dir, err := os.MkdirTemp("", "podrun-smoke-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "podrun")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for src, dst := range map[string]string{exe: bin, filepath.Join(filepath.Dir(exe), "podrun-shim"): filepath.Join(dir, "podrun-shim")} {
		if err := copyExecutable(src, dst); err != nil {
			t.Fatal(err)
		}
	}
	return rootless{uid: u.Uid, sock: sock, bin: bin}
}

// command runs podrun serve as smokeUser with a fresh data dir, plus extra flags.
func (r rootless) command(t *testing.T, ctx context.Context, extra ...string) (*exec.Cmd, string) {
	t.Helper()
	dataDir := filepath.Join("/tmp", fmt.Sprintf("podrun-smoke-data-%d", time.Now().UnixNano()))
	t.Cleanup(func() { os.RemoveAll(dataDir) })
	args := append([]string{"-u", smokeUser, "--", "env", "PODRUN_TEST_AS_DAEMON=1", "XDG_RUNTIME_DIR=/run/user/" + r.uid,
		r.bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--podman-socket", r.sock}, extra...)
	return exec.CommandContext(ctx, "runuser", args...), dataDir
}

// TestRootlessOnCgroupV1IsRefused runs podrun as an unprivileged user against
// that user's rootless Podman: on cgroup v1 limits would be silently ignored.
func TestRootlessOnCgroupV1IsRefused(t *testing.T) {
	r := rootlessSetup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd, _ := r.command(t, ctx)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("rootless podrun on cgroup v1 started; want a refusal. Output:\n%s", out)
	}
	for _, want := range []string{"refusing to start", "rootless", "cgroup v1", "--allow-unenforced-limits"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("refusal does not mention %q:\n%s", want, out)
		}
	}
	t.Logf("refusal: %s", strings.TrimSpace(string(out)))
}

// TestRootlessWithUnenforcedLimitsAllowedRuns: with --allow-unenforced-limits,
// Podman's warning that it ignores the limits is the expected one, so agents,
// invocations and execs work, and agents say their limits are not enforced.
func TestRootlessWithUnenforcedLimitsAllowedRuns(t *testing.T) {
	r := rootlessSetup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd, dataDir := r.command(t, ctx, "--allow-unenforced-limits")
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuilder
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			stderr.WriteString(sc.Text() + "\n")
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, pipe)
	}()
	d := &testDaemon{}
	select {
	case addr := <-found:
		d.api = newClient(t, addr)
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("rootless podrun serve --allow-unenforced-limits did not start:\n%s", stderr.String())
	}
	id, err := os.ReadFile(filepath.Join(dataDir, "instance-id"))
	if err != nil {
		t.Fatal(err)
	}
	instance := strings.TrimSpace(string(id))
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		removeRootlessContainers(t, r.sock, instance)
		if t.Failed() {
			t.Logf("podrun's log:\n%s", stderr.String())
		}
	}()

	a := d.create(t, api.AgentRequest{Command: []string{"echo", "hello rootless"}})
	a = d.await(t, a.ID, 60*time.Second, api.StateSucceeded, api.StateFailed)
	if a.State != api.StateSucceeded || a.LimitsEnforced {
		t.Errorf("agent is %s (%s), limits_enforced %v; want succeeded with limits_enforced false", a.State, a.Reason, a.LimitsEnforced)
	}
	if got := d.logs(t, a.ID, api.LogOptions{}); got != "hello rootless\n" {
		t.Errorf("agent's output = %q", got)
	}

	d.putFunction(t, "echo", api.FunctionRequest{Command: []string{"cat"}})
	res := d.invoke(t, "echo", []byte("invoked rootless"), nil)
	if res.status != http.StatusOK || string(res.out) != "invoked rootless" {
		t.Errorf("invocation = %d %q, want 200 echoing its body", res.status, res.out)
	}
	if inv := d.get(t, res.agentID()); inv.LimitsEnforced {
		t.Errorf("invocation's agent says limits_enforced true")
	}

	// Busy, so its stats show CPU use: without a cgroup they come from its processes.
	long := d.create(t, api.AgentRequest{Command: []string{"sh", "-c", "sleep 300 & while :; do :; done"}})
	d.await(t, long.ID, 60*time.Second, api.StateRunning)
	ex, err := d.api.Exec(t.Context(), long.ID, api.ExecRequest{Command: []string{"echo", "exec rootless"}})
	if err != nil || ex.ExitCode != 0 || ex.Stdout != "exec rootless\n" {
		t.Errorf("exec result = %+v, %v; want exit 0 echoing", ex, err)
	}
	st, err := d.api.Stats(t.Context(), long.ID)
	if err != nil || st.PIDs != 2 || st.MemoryUsage == 0 || st.MemoryLimit != 0 {
		t.Errorf("stats of a running rootless agent = %+v, %v; want its 2 processes, their memory and no memory limit", st, err)
	}
	// CPU use over a 150 ms sample counts 10 ms ticks: on a busy host one sample may see none.
	for i := 0; err == nil && st.CPUPercent == 0 && i < 10; i++ {
		st, err = d.api.Stats(t.Context(), long.ID)
	}
	if err != nil || st.CPUPercent == 0 {
		t.Errorf("stats of a busy rootless agent never show CPU use: %+v, %v", st, err)
	}
	d.delete(t, long.ID)
	d.await(t, long.ID, 60*time.Second, api.StateTerminated)
	if err := d.api.DeleteFunction(t.Context(), "echo"); err != nil {
		t.Errorf("DELETE function: %v", err)
	}

	ttl := d.create(t, api.AgentRequest{Command: []string{"sleep", "300"}, TTL: "3s"})
	if a := d.await(t, ttl.ID, 60*time.Second, api.StateExpired, api.StateFailed, api.StateSucceeded); a.State != api.StateExpired || a.Reason != api.ReasonTTL {
		t.Errorf("agent with ttl 3s = %s/%s, want expired/ttl", a.State, a.Reason)
	}

	r.checkWarmPool(t, d, instance)
	r.checkConfinedInside(t, d)

	page := d.listAgents(t, api.ListOptions{})
	if len(page.Agents) < 6 {
		t.Errorf("%d agents listed, want every one this test made", len(page.Agents))
	}
	for _, a := range page.Agents {
		if a.LimitsEnforced {
			t.Errorf("agent %s (function %q) says limits_enforced true on rootless cgroup v1", a.ID, a.Function)
		}
	}
}

// checkWarmPool deploys a function with a warm container: the pool fills in the user's
// Podman, and an invocation is served warm.
func (r rootless) checkWarmPool(t *testing.T, d *testDaemon, instance string) {
	t.Helper()
	d.putFunction(t, "warm", api.FunctionRequest{Command: []string{"cat"}, Warm: ptr(1)})
	sb := rootlessSandbox(t, r.sock)
	filled := false
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && !filled; time.Sleep(100 * time.Millisecond) {
		cs, err := sb.List(t.Context(), map[string]string{runner.LabelInstance: instance, runner.LabelPool: "warm"})
		filled = err == nil && slices.ContainsFunc(cs, func(c runner.Container) bool { return c.Running })
	}
	if !filled {
		t.Fatal("the warm pool of a rootless function did not fill within 60s")
	}
	res := d.invoke(t, "warm", []byte("warm rootless"), nil)
	if res.status != http.StatusOK || string(res.out) != "warm rootless" || res.header.Get(api.HeaderStart) != api.StartWarm {
		t.Errorf("invocation = %d %q start %q, want 200 from a warm container", res.status, res.out, res.header.Get(api.HeaderStart))
	}
	if err := d.api.DeleteFunction(t.Context(), "warm"); err != nil {
		t.Errorf("DELETE function warm: %v", err)
	}
}

// rootlessProbe prints what a rootless agent sees of its confinement: none of it depends on
// cgroups, so all of it must hold on cgroup v1 where the limits do not.
const rootlessProbe = `awk '/^(CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs|Seccomp):/' /proc/self/status
echo "uid_map: $(head -1 /proc/self/uid_map | tr -s ' ' | sed 's/^ //')"
if touch /rootfs-write 2>/dev/null; then echo "root_writable: yes"; else echo "root_writable: no"; fi
if touch /tmp/ok 2>/dev/null; then echo "tmp_writable: yes"; else echo "tmp_writable: no"; fi
echo "net: $(ls /sys/class/net | tr '\n' ' ')"
if unshare -U true 2>/dev/null; then echo "unshare_user: ok"; else echo "unshare_user: denied"; fi
`

// checkConfinedInside runs the probe as a rootless agent, and once more under Podman's own
// default seccomp profile in the same user's Podman: there a nested user namespace works, so
// its refusal in the agent is podrun's profile at work.
func (r rootless) checkConfinedInside(t *testing.T, d *testDaemon) {
	t.Helper()
	a := d.create(t, api.AgentRequest{Command: []string{"sh", "-c", rootlessProbe}})
	a = d.await(t, a.ID, 60*time.Second, api.StateSucceeded, api.StateFailed)
	out := d.logs(t, a.ID, api.LogOptions{})
	t.Logf("inside the rootless agent:\n%s", out)
	f := probeFields(out)
	checkConfined(t, "rootless agent", f)
	if m := f["uid_map"]; m == "0 0 4294967295" {
		t.Errorf("uid_map = %q: the host's user namespace", m)
	}
	for k, v := range map[string]string{"CapAmb": "0000000000000000", "Seccomp": "2", "root_writable": "no",
		"tmp_writable": "yes", "net": "lo", "unshare_user": "denied"} {
		if f[k] != v {
			t.Errorf("rootless agent: %s = %q, want %q", k, f[k], v)
		}
	}
	cmd := exec.Command("runuser", "-u", smokeUser, "--", "env", "XDG_RUNTIME_DIR=/run/user/"+r.uid, "HOME=/tmp",
		"podman", "--remote", "--url", r.sock, "run", "--rm", "--network", "none", testImage, "sh", "-c", rootlessProbe)
	cmd.Dir = "/tmp"
	base, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("podman run under Podman's default profile: %v\n%s", err, base)
	}
	if got := probeFields(string(base))["unshare_user"]; got != "ok" {
		t.Errorf("under Podman's default seccomp profile unshare -U is %q; the check that podrun's profile denies it cannot fail", got)
	}
}

// rootlessSandbox is a client of the smoke user's Podman (root may use its socket).
func rootlessSandbox(t *testing.T, sock string) *sandbox.Podman {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sb, err := sandbox.New(ctx, testSandboxConfig(sock))
	if err != nil {
		t.Fatalf("rootless Podman at %s: %v", sock, err)
	}
	return sb
}

// removeRootlessContainers removes what the test's daemon left in the user's
// Podman (the leak check in TestMain sees only the rootful one), and fails the
// test if anything was left.
func removeRootlessContainers(t *testing.T, sock, instance string) {
	t.Helper()
	sb := rootlessSandbox(t, sock)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Finished agents keep their containers for a grace period; those go with the daemon's data.
	cs, err := sb.List(ctx, map[string]string{runner.LabelInstance: instance})
	if err != nil {
		t.Errorf("list rootless containers: %v", err)
		return
	}
	for _, c := range cs {
		if err := sb.Remove(ctx, c.ID); err != nil {
			t.Errorf("remove rootless container %s: %v", c.ID, err)
		}
	}
}

// lockedBuilder is a strings.Builder a reader goroutine fills while the test reads it.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) WriteString(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(s)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func copyExecutable(from, dst string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
