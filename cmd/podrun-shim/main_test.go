package main

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/podrun/podrun/runner/shimproto"
)

// TestMain lets the tests run this binary as the shim itself.
func TestMain(m *testing.M) {
	if os.Getenv("PODRUN_SHIM_TEST_AS_SHIM") == "1" {
		os.Unsetenv("PODRUN_SHIM_TEST_AS_SHIM")
		main()
	}
	os.Exit(m.Run())
}

func TestMergeEnv(t *testing.T) {
	base := []string{"PATH=/bin", "HOME=/root", "Http_Method=stale", "EMPTY="}
	got, err := mergeEnv(base, map[string]string{"Http_Method": "POST", "Http_Path": "/a=b", "A": ""})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"PATH=/bin", "HOME=/root", "EMPTY=", "A=", "Http_Method=POST", "Http_Path=/a=b"}
	if !slices.Equal(got, want) {
		t.Errorf("mergeEnv = %q, want %q", got, want)
	}
	for _, bad := range []map[string]string{{"": "x"}, {"A=B": "x"}, {"A\x00": "x"}, {"A": "x\x00y"}} {
		if _, err := mergeEnv(base, bad); err == nil {
			t.Errorf("mergeEnv(%q): no error", bad)
		}
	}
}

func TestEnvValue(t *testing.T) {
	env := []string{"PATH=/a", "PATHX=/x", "PATH=/b"}
	if got := envValue(env, "PATH"); got != "/b" {
		t.Errorf("envValue = %q, want the last one, /b", got)
	}
	if got := envValue(env, "HOME"); got != "" {
		t.Errorf("envValue(HOME) = %q", got)
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plainA := write("a/plain", 0o644)
	toolB := write("b/tool", 0o755)
	write("b/plain", 0o755)
	write("a/tool", 0o644) // not executable: b/tool, later on PATH, wins
	if err := os.Mkdir(filepath.Join(dir, "a", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	tests := []struct {
		file, path string
		want       string
		code       int // 0: found
	}{
		{"tool", a + ":" + b, toolB, 0},
		{"plain", a + ":" + b, filepath.Join(b, "plain"), 0},
		{"plain", a, "", exitNotExecutable},
		{"sub", a, "", exitNotFound}, // a directory on PATH is skipped
		{"missing", a + ":" + b, "", exitNotFound},
		{"tool", "", "", exitNotFound},
		{toolB, "", toolB, 0},
		{plainA, b, "", exitNotExecutable},
		{filepath.Join(dir, "a", "sub"), "", "", exitNotExecutable},
		{filepath.Join(dir, "nope", "x"), b, "", exitNotFound},
		{plainA + "/x", b, "", exitNotFound}, // ENOTDIR
		{"", b, "", exitNotFound},
	}
	for _, tt := range tests {
		got, err := lookPath(tt.file, tt.path)
		switch {
		case tt.code == 0 && (err != nil || got != tt.want):
			t.Errorf("lookPath(%q, %q) = %q, %v; want %q", tt.file, tt.path, got, err, tt.want)
		case tt.code != 0 && err == nil:
			t.Errorf("lookPath(%q, %q) = %q, want an error", tt.file, tt.path, got)
		case tt.code != 0 && exitCode(err) != tt.code:
			t.Errorf("lookPath(%q, %q): %v exits %d, want %d", tt.file, tt.path, err, exitCode(err), tt.code)
		}
	}
}

func TestLookPathEmptyElementIsWorkingDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "here"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	if got, err := lookPath("here", "/nonexistent:"); err != nil || got != "here" {
		t.Errorf("lookPath = %q, %v; want here", got, err)
	}
}

func TestExitCode(t *testing.T) {
	if got := exitCode(fs.ErrNotExist); got != 127 {
		t.Errorf("exitCode(ErrNotExist) = %d", got)
	}
	if got := exitCode(errors.New("exec format error")); got != 126 {
		t.Errorf("exitCode(other) = %d", got)
	}
}

// shim runs this test binary as the shim with stdin and returns its output and exit code.
func shim(t *testing.T, stdin []byte, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append([]string{"PODRUN_SHIM_TEST_AS_SHIM=1"}, env...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run shim: %v", err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

func header(t *testing.T, env map[string]string) []byte {
	t.Helper()
	h, err := shimproto.Encode(shimproto.Header{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestShimRunsWithEnvAndBody(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	stdin := append(header(t, map[string]string{"Http_Method": "PUT", "FROM_IMAGE": "header"}), "body\x00bytes"...)
	out, errOut, code := shim(t, stdin, []string{"PATH=" + filepath.Dir(sh) + ":/usr/bin:/bin", "FROM_IMAGE=image"},
		"sh", "-c", `printf '%s %s ' "$Http_Method" "$FROM_IMAGE"; cat`)
	if code != 0 || out != "PUT header body\x00bytes" {
		t.Errorf("shim: code %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestShimFailures(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "data"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	good := header(t, nil)
	tests := []struct {
		name  string
		stdin []byte
		args  []string
		code  int
	}{
		{"no header", []byte("hello"), []string{"true"}, 125},
		{"empty stdin", nil, []string{"true"}, 125},
		{"bad env", header(t, map[string]string{"A=B": "x"}), []string{"true"}, 125},
		{"no command", good, nil, 125},
		{"not found", good, []string{"no-such-command"}, 127},
		{"not executable", good, []string{filepath.Join(dir, "data")}, 126},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := shim(t, tt.stdin, []string{"PATH=" + dir}, tt.args...)
			if code != tt.code || !strings.HasPrefix(errOut, "podrun-shim: ") {
				t.Errorf("code %d, stderr %q; want %d and a podrun-shim: message", code, errOut, tt.code)
			}
		})
	}
}

func TestShimReportsTheExitStatusLastOnStderr(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	env := []string{"PATH=" + filepath.Dir(sh) + ":/usr/bin:/bin"}
	for _, tt := range []struct {
		script string
		code   int
	}{
		{`echo to stderr >&2; exit 3`, 3},
		{`exit 0`, 0},
		{`kill -KILL $$`, 137},
	} {
		_, errOut, code := shim(t, header(t, nil), env, "sh", "-c", tt.script)
		got, ok := shimproto.DecodeExit([]byte(errOut))
		if code != tt.code || !ok || got != tt.code {
			t.Errorf("%q: shim exited %d, stderr %q (exit line %d, %v); want %d in both", tt.script, code, errOut, got, ok, tt.code)
		}
	}
}

func TestShimForwardsSignalsToTheCommand(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	cmd := exec.Command(os.Args[0], "sh", "-c", `trap 'echo got TERM; exit 42' TERM; echo ready; while :; do sleep 0.01; done`)
	cmd.Env = []string{"PODRUN_SHIM_TEST_AS_SHIM=1", "PATH=" + filepath.Dir(sh) + ":/usr/bin:/bin"}
	cmd.Stdin = bytes.NewReader(header(t, nil))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, len("ready\n"))
	if _, err := io.ReadFull(stdout, line); err != nil || string(line) != "ready\n" {
		t.Fatalf("read %q, %v; want ready", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stdout)
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 42 || string(rest) != "got TERM\n" {
		t.Errorf("after SIGTERM: shim exited %d, stdout %q, stderr %q; want 42 from the command's trap", code, rest, errOut.String())
	}
}
