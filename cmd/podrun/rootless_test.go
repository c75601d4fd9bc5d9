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
	case d.base = <-found:
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

	a := d.create(t, map[string]any{"image": testImage, "command": []string{"echo", "hello rootless"}})
	a = d.await(t, a.ID, 60*time.Second, api.StateSucceeded, api.StateFailed)
	if a.State != api.StateSucceeded || a.LimitsEnforced {
		t.Errorf("agent is %s (%s), limits_enforced %v; want succeeded with limits_enforced false", a.State, a.Reason, a.LimitsEnforced)
	}
	if got := d.logs(t, a.ID, ""); got != "hello rootless\n" {
		t.Errorf("agent's output = %q", got)
	}

	d.putFunction(t, "echo", map[string]any{"command": []string{"cat"}})
	resp, out := d.invoke(t, "POST", "/v1/functions/echo/invoke", []byte("invoked rootless"), nil)
	if resp.StatusCode != http.StatusOK || string(out) != "invoked rootless" {
		t.Errorf("invocation = %d %q, want 200 echoing its body", resp.StatusCode, out)
	}
	if inv := d.get(t, resp.Header.Get("X-Podrun-Agent-Id")); inv.LimitsEnforced {
		t.Errorf("invocation's agent says limits_enforced true")
	}

	long := d.create(t, map[string]any{"image": testImage, "command": []string{"sleep", "300"}})
	d.await(t, long.ID, 60*time.Second, api.StateRunning)
	var res api.ExecResult
	if resp := d.call(t, "POST", "/v1/agents/"+long.ID+"/exec", map[string]any{"command": []string{"echo", "exec rootless"}}, &res); resp.StatusCode != http.StatusOK {
		t.Errorf("exec = %d", resp.StatusCode)
	}
	if res.ExitCode != 0 || res.Stdout != "exec rootless\n" {
		t.Errorf("exec result = %+v, want exit 0 echoing", res)
	}
	if resp := d.call(t, "DELETE", "/v1/agents/"+long.ID, nil, nil); resp.StatusCode >= 300 {
		t.Errorf("DELETE agent = %d", resp.StatusCode)
	}
	d.await(t, long.ID, 60*time.Second, api.StateTerminated)
	if resp := d.call(t, "DELETE", "/v1/functions/echo", nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Errorf("DELETE function = %d", resp.StatusCode)
	}
}

// rootlessSandbox is a client of the smoke user's Podman (root may use its socket).
func rootlessSandbox(t *testing.T, sock string) *sandbox.Podman {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sb, err := sandbox.New(ctx, sandbox.Config{URI: sock})
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
