package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/runner/shimproto"
)

// shimCommand is this test binary run as the shim.
func shimCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = []string{"PODRUN_SHIM_TEST_AS_SHIM=1", "PATH=" + filepath.Dir(sh) + ":/usr/bin:/bin"}
	return cmd
}

func TestExecRunsTheCommandInItsOwnSession(t *testing.T) {
	cmd := shimCommand(t, shimproto.ExecFlag, "tok", "--", "sh", "-c", `read -r stat < /proc/$$/stat; echo "$$ $stat"; exit 7`)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	_ = cmd.Run()
	f := strings.Fields(out.String())
	// "PID  PID (sh) STATE PPID PGRP SESSION ..."
	if len(f) < 7 || f[5] != f[0] || f[6] != f[0] {
		t.Errorf("the command's stat %q: want its own process group and session", out.String())
	}
	if f[4] != fmt.Sprint(cmd.Process.Pid) {
		t.Errorf("the command's parent is %s, want the shim %d", f[4], cmd.Process.Pid)
	}
	if code := cmd.ProcessState.ExitCode(); code != 7 || errOut.Len() != 0 {
		t.Errorf("exec exited %d, stderr %q; want the command's 7 and nothing else", code, errOut.String())
	}
}

func TestExecUsage(t *testing.T) {
	for _, args := range [][]string{{shimproto.ExecFlag}, {shimproto.ExecFlag, "tok", "sh"}, {shimproto.ExecFlag, "tok", "--"}, {shimproto.KillFlag}, {shimproto.KillFlag, "a", "b"}} {
		cmd := shimCommand(t, args...)
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		_ = cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != exitBadHeader || !strings.HasPrefix(errOut.String(), "podrun-shim: ") {
			t.Errorf("%q: exit %d, stderr %q", args, code, errOut.String())
		}
	}
	cmd := shimCommand(t, shimproto.ExecFlag, "tok", "--", "no-such-command")
	_ = cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != exitNotFound {
		t.Errorf("exec of a missing command exited %d, want 127", code)
	}
}

// TestKillKillsTheWholeTree starts an exec whose command leaves processes
// of every kind: a child, a grandchild, one in a session of its own, and an
// orphan of a parent that exited (double fork). --kill must leave none.
func TestKillKillsTheWholeTree(t *testing.T) {
	mark := 100000 + rand.IntN(800000) // sleep lengths no other process uses
	script := fmt.Sprintf(`sleep %[1]d1 &
sh -c 'sleep %[1]d2' &
setsid sh -c 'sleep %[1]d3 & sleep %[1]d4' &
(setsid sleep %[1]d5 &)
echo ready
sleep %[1]d6`, mark)
	token := fmt.Sprint("t", mark)
	cmd := shimCommand(t, shimproto.ExecFlag, token, "--", "sh", "-c", script)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("read %q, %v", line, err)
	}
	marked := func() []string { return processesMatching(t, fmt.Sprint("sleep ", mark)) }
	deadline := time.Now().Add(10 * time.Second)
	for len(marked()) < 6 {
		if time.Now().After(deadline) {
			t.Fatalf("the tree never grew to 6 sleeps: %q", marked())
		}
		time.Sleep(10 * time.Millisecond)
	}
	kill := shimCommand(t, shimproto.KillFlag, token)
	out, err := kill.CombinedOutput()
	var n int
	if _, serr := fmt.Sscanf(string(out), "killed %d\n", &n); err != nil || serr != nil || n < 7 {
		// The six sleeps and the script's shell, and whatever shells did not exec their last command.
		t.Errorf("--kill = %q, %v; want at least 7 processes killed", out, err)
	}
	if left := marked(); len(left) > 0 {
		t.Errorf("left running: %q", left)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		if code := cmd.ProcessState.ExitCode(); code != 137 {
			t.Errorf("the exec shim exited %d, want 137 (its command was killed)", code)
		}
	case <-time.After(10 * time.Second):
		t.Error("the exec shim did not end after its tree was killed")
	}
	// Once the exec has ended, there is nothing to kill.
	if out, err := shimCommand(t, shimproto.KillFlag, token).CombinedOutput(); err != nil || string(out) != "killed 0\n" {
		t.Errorf("--kill of an ended exec = %q, %v", out, err)
	}
}

// processesMatching lists the running (not zombie) processes whose command line contains s.
func processesMatching(t *testing.T, s string) []string {
	t.Helper()
	procs, err := readProcs("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for pid, p := range procs {
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || p.gone() {
			continue
		}
		line := string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
		if strings.Contains(line, s) && !strings.Contains(line, "setsid") {
			out = append(out, fmt.Sprintf("%d: %s", pid, line))
		}
	}
	return out
}

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		stat string
		want proc
		ok   bool
	}{
		{"12 (sh) S 1 12 12 0 -1", proc{ppid: 1, state: 'S'}, true},
		{"13 (a) b) (c) T 12 13", proc{ppid: 12, state: 'T'}, true},
		{"14 (x", proc{}, false},
		{"15 (x) Z", proc{}, false},
	} {
		got, ok := parseStat([]byte(tc.stat))
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v, %v", tc.stat, got, ok, tc.want, tc.ok)
		}
	}
}
