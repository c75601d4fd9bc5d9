package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/runner/shimproto"
	"github.com/podrun/podrun/sandbox/seccomp"
)

// filterFile writes podrun's profile, compiled for this machine, to a file.
func filterFile(t *testing.T) string {
	t.Helper()
	prog, err := seccomp.Compile(seccomp.JSON(), seccomp.Target{GOARCH: runtime.GOARCH})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "seccomp")
	if err := os.WriteFile(path, seccomp.Encode(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSeccompFilteredExec: with --seccomp, the command runs under podrun's
// filter (on the host's kernel here; TestGVisorExecIsFiltered in package
// sandbox under gVisor's): /proc shows a filter, a new user namespace is
// refused, and the command's output and exit status come back as without.
func TestSeccompFilteredExec(t *testing.T) {
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare")
	}
	script := `grep Seccomp: /proc/self/status | tr -d '\t '; unshare -U true 2>/dev/null && echo unshare=ok; echo to-stderr >&2; exit 3`
	cmd := shimCommand(t, shimproto.SeccompFlag, filterFile(t), shimproto.ExecFlag, "tok", "--", "sh", "-c", script)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	_ = cmd.Run()
	if got := out.String(); got != "Seccomp:2\n" {
		t.Errorf("stdout %q; want the filter in force (Seccomp:2) and unshare -U refused", got)
	}
	if code := cmd.ProcessState.ExitCode(); code != 3 || errOut.String() != "to-stderr\n" {
		t.Errorf("exit %d, stderr %q; want 3 and the command's own stderr", code, errOut.String())
	}
}

// TestSeccompBadFilter: a filter the shim cannot read or install runs nothing.
func TestSeccompBadFilter(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad")
	if err := os.WriteFile(bad, []byte("not a filter"), 0o644); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "ran")
	for _, args := range [][]string{
		{shimproto.SeccompFlag, bad, shimproto.ExecFlag, "tok", "--", "touch", marker},
		{shimproto.SeccompFlag, filepath.Join(t.TempDir(), "missing"), shimproto.ExecFlag, "tok", "--", "touch", marker},
		{shimproto.SeccompFlag},
		{shimproto.SeccompFlag, filterFile(t), shimproto.WaitFlag},
	} {
		cmd := shimCommand(t, args...)
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		_ = cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != exitBadHeader || !strings.HasPrefix(errOut.String(), "podrun-shim: ") {
			t.Errorf("%q: exit %d, stderr %q; want %d and the shim's reason", args, code, errOut.String(), exitBadHeader)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command ran without its filter")
	}
}

// TestSeccompKillFindsFilteredExec: --kill finds an exec whose shim was
// started with --seccomp (its command line starts with the flag and file).
func TestSeccompKillFindsFilteredExec(t *testing.T) {
	filter := filterFile(t)
	cmd := shimCommand(t, shimproto.SeccompFlag, filter, shimproto.ExecFlag, "tok-filtered", "--", "sh", "-c", "sleep 60; sleep 60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		kill := shimCommand(t, shimproto.SeccompFlag, filter, shimproto.KillFlag, "tok-filtered")
		out, err := kill.Output()
		if err != nil {
			t.Fatalf("kill: %v", err)
		}
		if string(out) != "killed 0\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("--kill never found the filtered exec")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the filtered exec outlived --kill")
	}
}
