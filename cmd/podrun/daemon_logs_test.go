package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/internal/buildinfo"
	"github.com/podrun/podrun/runner"
)

// podrunCommand is this test binary re-executed as podrun with args.
func podrunCommand(t *testing.T, ctx context.Context, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), "PODRUN_TEST_AS_DAEMON=1")
	return cmd
}

// TestVersionWritesNothingToStderr: no library may print on its own, even at
// start-up (the metrics library once logged about PSI on every run).
func TestVersionWritesNothingToStderr(t *testing.T) {
	// --version, which needs no server (podrun version asks the server for its own).
	cmd := podrunCommand(t, t.Context(), "--version")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("podrun --version: %v\n%s", err, stderr.String())
	}
	v := buildinfo.Get()
	want := fmt.Sprintf("podrun version %s (commit %s, %s)\n", v.Version, v.Commit, v.GoVersion)
	if stdout.String() != want || stderr.Len() != 0 {
		t.Errorf("podrun --version wrote %q to stdout and %q to stderr; want %q and nothing", stdout.String(), stderr.String(), want)
	}
}

// TestJSONLogsAreJSONOnlyAndShutdownIsLogged runs podrun serve with JSON logs,
// sends it requests and SIGTERM: every line of its stderr must be JSON, probe
// and scrape hits must not log at info, and shutdown must log its start and end.
func TestJSONLogsAreJSONOnlyAndShutdownIsLogged(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	dataDir := t.TempDir()
	cmd := podrunCommand(t, ctx, "serve", "--log-format", "json", "--listen", "127.0.0.1:0",
		"--data-dir", dataDir, "--podman-socket", podmanURI())
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, pipe)
	}()
	var all []map[string]any
	next := func() (map[string]any, bool) {
		t.Helper()
		line, ok := <-lines
		if !ok {
			return nil, false
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("stderr line is not JSON: %q", line)
			return map[string]any{}, true
		}
		all = append(all, m)
		return m, true
	}
	var addr string
	for addr == "" {
		m, ok := next()
		if !ok {
			t.Fatalf("podrun serve exited before it was ready: %v", cmd.Wait())
		}
		if m["msg"] == "podrun ready" {
			addr, _ = m["addr"].(string)
		}
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/v1/agents"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d", path, resp.StatusCode)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for {
		if _, ok := next(); !ok {
			break
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("podrun serve after SIGTERM: %v", err)
	}
	msgs := map[string]map[string]any{}
	var routes []string
	for _, m := range all {
		msg, _ := m["msg"].(string)
		msgs[msg] = m
		if msg == "http request" {
			routes = append(routes, m["route"].(string))
		}
	}
	if strings.Join(routes, " ") != "/v1/agents" {
		t.Errorf("access lines at info for routes %q, want only /v1/agents", routes)
	}
	if m := msgs["shutting down"]; m == nil || !strings.Contains(m["cause"].(string), "terminated") {
		t.Errorf(`no "shutting down" line naming the signal: %v`, m)
	}
	for _, want := range []string{"http server stopped", "runner stopped", "shutdown complete"} {
		if msgs[want] == nil {
			t.Errorf("no %q line in %v", want, all)
		}
	}
	if m := msgs["shutdown complete"]; m != nil {
		if _, ok := m["agents_left_running"]; !ok {
			t.Errorf("shutdown complete does not say what it left running: %v", m)
		}
	}
}

// TestUnreachablePodmanErrorSaysItOnce: the daemon's start-up error names the
// socket once and says how to start Podman.
func TestUnreachablePodmanErrorSaysItOnce(t *testing.T) {
	cfg := testConfig(t, nil)
	cfg.PodmanSocket = "unix://" + t.TempDir() + "/podman.sock"
	d, err := OpenDaemon(t.Context(), cfg, discardLogger())
	if err == nil {
		d.Close()
		t.Fatal("OpenDaemon with no Podman service succeeded")
	}
	msg := err.Error()
	if n := strings.Count(msg, "connect to podman at "+cfg.PodmanSocket); n != 1 {
		t.Errorf("error says where it connected %d times, want once: %s", n, msg)
	}
	for _, want := range []string{"make setup", "podman system service --time=0 " + cfg.PodmanSocket} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not say %q: %s", want, msg)
		}
	}
}

// TestFailedStartSaysEachThingOnce: an agent whose command does not exist fails
// to start; its error names each operation and the container once.
func TestFailedStartSaysEachThingOnce(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, map[string]any{"image": testImage, "command": []string{"/no/such/command"}})
	a = d.await(t, a.ID, 30*time.Second, api.StateFailed)
	events, err := d.runner.Events(t.Context(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var detail string
	for _, e := range events {
		if e.Name == runner.PhaseError {
			detail = e.Detail
		}
	}
	if detail == "" {
		t.Fatalf("no error event in %+v", events)
	}
	// podrun's own layers come first; what Podman and runc say after them is theirs.
	parts := strings.SplitN(detail, ": ", 3)
	if op, _, _ := strings.Cut(parts[0], " "); len(parts) > 1 && strings.HasPrefix(parts[1], op) {
		t.Errorf("error repeats %q: %s", op, detail)
	}
	if a.ContainerID != "" {
		if n := strings.Count(detail, a.ContainerID[:12]); n > 1 {
			t.Errorf("error names container %s %d times: %s", a.ContainerID[:12], n, detail)
		}
	}
	t.Logf("error: %s", detail)
}

// TestInvocationAccessLineNamesItsAgent: the daemon's access line of an
// invocation names the agent the answer's X-Podrun-Agent-Id names.
func TestInvocationAccessLineNamesItsAgent(t *testing.T) {
	logs := &lockedBuilder{}
	d := startDaemonLog(t, nil, slog.New(slog.NewJSONHandler(logWriter{logs}, nil)))
	d.putFunction(t, "echo", map[string]any{"command": []string{"cat"}})
	resp, out := d.invoke(t, "POST", "/v1/functions/echo/invoke", []byte("hi"), nil)
	agent := resp.Header.Get("X-Podrun-Agent-Id")
	if resp.StatusCode != http.StatusOK || string(out) != "hi" || agent == "" {
		t.Fatalf("invoke = %d %q, agent %q", resp.StatusCode, out, agent)
	}
	found := false
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "http request" && m["route"] == "/v1/functions/:name/invoke" {
			found = true
			if m["agent"] != agent || m["function"] != "echo" {
				t.Errorf("access line names agent %v, function %v; want %s, echo: %v", m["agent"], m["function"], agent, m)
			}
		}
	}
	if !found {
		t.Errorf("no access line for the invocation in:\n%s", logs.String())
	}
}

// logWriter lets a handler write into a lockedBuilder.
type logWriter struct{ b *lockedBuilder }

func (w logWriter) Write(p []byte) (int, error) {
	w.b.WriteString(string(p))
	return len(p), nil
}
