package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/client"
	"github.com/podrun/podrun/configs"
	"github.com/podrun/podrun/runner"
)

// testDaemon is a `podrun serve` on 127.0.0.1:0 and a client of its API:
// in-process, or (Daemon nil) in a process of its own.
type testDaemon struct {
	*Daemon
	api *client.Client
}

// newClient is a client of the podrun at addr.
func newClient(t testing.TB, addr string) *client.Client {
	t.Helper()
	c, err := client.New(addr, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
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
	td := &testDaemon{Daemon: d, api: newClient(t, d.Addr())}
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
	secrets, _ := d.runner.Secrets(ctx) // this instance's, in Podman's shared store
	for _, s := range secrets {
		_ = d.runner.DeleteSecret(ctx, s.Name)
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

// create posts an agent and expects 201.
func (d *testDaemon) create(t testing.TB, req api.AgentRequest) api.Agent {
	t.Helper()
	if req.Image == "" {
		req.Image = testImage
	}
	a, err := d.api.CreateAgent(context.Background(), req)
	if err != nil {
		t.Fatalf("create agent: %v", err)
	}
	return a
}

func (d *testDaemon) get(t testing.TB, id string) api.Agent {
	t.Helper()
	a, err := d.api.Agent(context.Background(), id)
	if err != nil {
		t.Fatalf("get agent %s: %v", id, err)
	}
	return a
}

// await polls until the agent is in one of the states, or fails after timeout.
func (d *testDaemon) await(t testing.TB, id string, timeout time.Duration, states ...api.State) api.Agent {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		a := d.get(t, id)
		if slices.Contains(states, a.State) {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent %s is %s (reason %q) after %v, want one of %v", id, a.State, a.Reason, timeout, states)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// delete deletes an agent and expects 202.
func (d *testDaemon) delete(t testing.TB, id string) api.Agent {
	t.Helper()
	a, err := d.api.DeleteAgent(context.Background(), id)
	if err != nil {
		t.Fatalf("delete agent %s: %v", id, err)
	}
	return a
}

// logs returns an agent's output as GET /v1/agents/{id}/logs gives it.
func (d *testDaemon) logs(t testing.TB, id string, opts api.LogOptions) string {
	t.Helper()
	rc, err := d.api.Logs(context.Background(), id, opts)
	if err != nil {
		t.Fatalf("logs of %s: %v", id, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("logs of %s: %v", id, err)
	}
	return string(b)
}

// putFunction deploys a function (the test image unless req names one) and expects 201 or 200.
func (d *testDaemon) putFunction(t testing.TB, name string, req api.FunctionRequest) {
	t.Helper()
	if req.Image == "" {
		req.Image = testImage
	}
	if _, _, err := d.api.PutFunction(context.Background(), name, req); err != nil {
		t.Fatalf("PUT function %s: %v", name, err)
	}
}

// answer is an invocation's whole answer.
type answer struct {
	status  int
	header  http.Header
	trailer http.Header // once the body is read
	out     []byte      // the output; empty for an error answered in JSON
	err     *client.Error
}

// exitCode is X-Podrun-Exit-Code, from the header or, after streamed output, the trailer.
func (a answer) exitCode() string {
	return a.header.Get(api.HeaderExitCode) + a.trailer.Get(api.HeaderExitCode)
}

// agentID is X-Podrun-Agent-Id.
func (a answer) agentID() string { return a.header.Get(api.HeaderAgentID) }

// invoke invokes a function synchronously (opts nil: POST /v1/functions/{name}/invoke) and reads the whole answer.
func (d *testDaemon) invoke(t testing.TB, fn string, body []byte, opts *client.InvokeOptions) answer {
	t.Helper()
	inv, err := d.api.Invoke(context.Background(), fn, bytes.NewReader(body), opts)
	var e *client.Error
	if errors.As(err, &e) {
		return answer{status: e.Status, header: e.Header, trailer: http.Header{}, err: e}
	}
	if err != nil {
		t.Fatalf("invoke %s: %v", fn, err)
	}
	defer inv.Body.Close()
	out, err := io.ReadAll(inv.Body)
	if err != nil {
		t.Fatalf("invoke %s: read answer: %v", fn, err)
	}
	return answer{status: inv.StatusCode, header: inv.Header, trailer: inv.Trailer(), out: out}
}

// openFaaS is the options of a POST to /function/{name}.
var openFaaS = &client.InvokeOptions{Path: "/"}

// invokeAsync invokes a function asynchronously (opts nil: with Prefer: respond-async) and expects 202.
func (d *testDaemon) invokeAsync(t testing.TB, fn string, body []byte, opts *client.InvokeOptions) api.Agent {
	t.Helper()
	a, err := d.api.InvokeAsync(context.Background(), fn, bytes.NewReader(body), opts)
	if err != nil {
		t.Fatalf("async invoke of %s: %v", fn, err)
	}
	return a
}

// result is an asynchronous invocation's result; it fails the test while the invocation runs.
func (d *testDaemon) result(t testing.TB, id string) api.Result {
	t.Helper()
	r, err := d.api.Result(context.Background(), id)
	if err != nil {
		t.Fatalf("result of %s: %v", id, err)
	}
	return r
}

// events is an agent's history.
func (d *testDaemon) events(t testing.TB, id string) []api.Event {
	t.Helper()
	evs, err := d.api.Events(context.Background(), id)
	if err != nil {
		t.Fatalf("events of %s: %v", id, err)
	}
	return evs
}

// listAgents returns one page of GET /v1/agents.
func (d *testDaemon) listAgents(t testing.TB, opts api.ListOptions) api.AgentPage {
	t.Helper()
	p, err := d.api.ListAgents(context.Background(), opts)
	if err != nil {
		t.Fatalf("list agents: %v", err)
	}
	return p
}

// metrics returns /metrics as text and as a map from series to value.
func (d *testDaemon) metrics(t testing.TB) (string, map[string]float64) {
	t.Helper()
	page, err := d.api.Metrics(context.Background())
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	series, err := client.ParseMetrics(page)
	if err != nil {
		t.Fatal(err)
	}
	return string(page), series
}

// apiError is err as an *client.Error, or a failed test.
func apiError(t testing.TB, what string, err error) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s = %v, want an error answer", what, err)
	}
	return e
}

// ptr returns a pointer to v, for the optional fields of requests.
func ptr[T any](v T) *T { return &v }

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
