package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// smokeUser is prepared by scripts/setup-rootless-user.sh, which `make test` runs.
const smokeUser = "podrun-smoke"

// TestRootlessOnCgroupV1IsRefused runs podrun as an unprivileged user against
// that user's rootless Podman: on cgroup v1 limits would be silently ignored.
func TestRootlessOnCgroupV1IsRefused(t *testing.T) {
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
	defer os.RemoveAll(dir)
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
	run := func(extra ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		dataDir := filepath.Join("/tmp", fmt.Sprintf("podrun-smoke-data-%d", time.Now().UnixNano()))
		defer os.RemoveAll(dataDir)
		args := append([]string{"-u", smokeUser, "--", "env", "PODRUN_TEST_AS_DAEMON=1", "XDG_RUNTIME_DIR=/run/user/" + u.Uid,
			bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--podman-socket", sock}, extra...)
		out, err := exec.CommandContext(ctx, "runuser", args...).CombinedOutput()
		return string(out), err
	}
	out, err := run()
	if err == nil {
		t.Fatalf("rootless podrun on cgroup v1 started; want a refusal. Output:\n%s", out)
	}
	for _, want := range []string{"refusing to start", "rootless", "cgroup v1", "--allow-unenforced-limits"} {
		if !strings.Contains(out, want) {
			t.Errorf("refusal does not mention %q:\n%s", want, out)
		}
	}
	t.Logf("refusal: %s", strings.TrimSpace(out))
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
