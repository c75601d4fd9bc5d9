package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/configs"
	"github.com/podrun/podrun/runner"
)

// testDaemon is an in-process `podrun serve` on 127.0.0.1:0.
type testDaemon struct {
	*Daemon
	base string
}

// startDaemon runs a daemon with a fresh data dir; edit adjusts the config first.
func startDaemon(t testing.TB, edit func(*configs.Config)) *testDaemon {
	t.Helper()
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelInfo
	}
	return startDaemonLog(t, edit, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
}

// testConfig is a valid configuration for a test daemon on 127.0.0.1:0 with a fresh data dir.
func testConfig(t testing.TB, edit func(*configs.Config)) configs.Config {
	t.Helper()
	cfg := configs.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.PodmanSocket = podmanURI()
	cfg.Cleanup.SweepInterval = configs.Duration{Duration: time.Second}
	if edit != nil {
		edit(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// startDaemonLog is startDaemon logging to log.
func startDaemonLog(t testing.TB, edit func(*configs.Config), log *slog.Logger) *testDaemon {
	t.Helper()
	cfg := testConfig(t, edit)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := OpenDaemon(ctx, cfg, log)
	if err != nil {
		t.Fatalf("open daemon (Podman must be reachable at %s; make test starts it): %v", cfg.PodmanSocket, err)
	}
	trackInstance(d.Instance())
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(runCtx) }()
	td := &testDaemon{Daemon: d, base: "http://" + d.Addr()}
	t.Cleanup(func() {
		td.removeAll(t)
		stop()
		<-done
		d.Close()
	})
	return td
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// removeAll deletes every agent and waits until their containers are gone.
func (d *testDaemon) removeAll(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	page, err := d.runner.ListAgents(ctx, runner.AgentFilter{Limit: 1000})
	if err != nil {
		t.Errorf("list agents for cleanup: %v", err)
		return
	}
	for _, a := range page.Agents {
		_, _ = d.runner.DeleteAgent(ctx, a.ID)
	}
	fns, _ := d.runner.Functions(ctx)
	for _, f := range fns {
		_ = d.runner.DeleteFunction(ctx, f.Name) // drains its warm pool
	}
	sb := testSandbox(t)
	for ctx.Err() == nil {
		cs, err := sb.List(ctx, map[string]string{runner.LabelInstance: d.Instance()})
		if err == nil && len(cs) == 0 {
			return
		}
		if err == nil {
			_ = d.runner.Sweep(ctx) // catches containers of finished agents kept for their grace
			for _, c := range cs {
				if a, err := d.runner.Agent(ctx, c.Labels[runner.LabelAgent]); err == nil && !a.State.Live() {
					_ = sb.Remove(ctx, c.ID)
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// call sends a JSON request and decodes a JSON answer into out (if not nil).
func (d *testDaemon) call(t testing.TB, method, path string, body any, out any) *http.Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, d.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp
}

// create posts an agent and expects 201.
func (d *testDaemon) create(t testing.TB, req map[string]any) api.Agent {
	t.Helper()
	var a api.Agent
	resp := d.call(t, "POST", "/v1/agents", req, &a)
	if resp.StatusCode != http.StatusCreated {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("create agent: status %d: %s", resp.StatusCode, body)
	}
	return a
}

func (d *testDaemon) get(t testing.TB, id string) api.Agent {
	t.Helper()
	var a api.Agent
	if resp := d.call(t, "GET", "/v1/agents/"+id, nil, &a); resp.StatusCode != http.StatusOK {
		t.Fatalf("get agent %s: status %d", id, resp.StatusCode)
	}
	return a
}

// await polls until the agent is in one of the states, or fails after timeout.
func (d *testDaemon) await(t testing.TB, id string, timeout time.Duration, states ...api.State) api.Agent {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		a := d.get(t, id)
		for _, s := range states {
			if a.State == s {
				return a
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent %s is %s (reason %q) after %v, want one of %v", id, a.State, a.Reason, timeout, states)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logs returns an agent's combined output.
func (d *testDaemon) logs(t testing.TB, id, query string) string {
	t.Helper()
	resp := d.call(t, "GET", "/v1/agents/"+id+"/logs"+query, nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("logs of %s: status %d", id, resp.StatusCode)
	}
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// containerGone waits until Podman no longer knows the container.
func containerGone(t testing.TB, id string, timeout time.Duration) {
	t.Helper()
	sb := testSandbox(t)
	deadline := time.Now().Add(timeout)
	for {
		_, err := sb.Inspect(context.Background(), id)
		if errors.Is(err, runner.ErrNoContainer) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s still exists after %v", id, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
