package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
)

// awaitMetric polls /metrics until series has the value want.
func (d *testDaemon) awaitMetric(t *testing.T, series string, want float64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		_, got := d.metrics(t)
		if v, ok := got[series]; ok && v == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v (present %v) after %v, want %v", series, got[series], got[series] != 0, timeout, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMetricsMatchWhatWasDone runs a known mix of invocations (synchronous and
// asynchronous, succeeding, failing, timing out, cold and warm) and checks
// every podrun metric it touches against what was done, exactly.
func TestMetricsMatchWhatWasDone(t *testing.T) {
	d := startDaemon(t, nil)
	d.putFunction(t, "ok", api.FunctionRequest{Command: []string{"cat"}})
	d.putFunction(t, "bad", api.FunctionRequest{Command: []string{"sh", "-c", "echo no >&2; exit 3"}})
	d.putFunction(t, "slow", api.FunctionRequest{Command: []string{"sleep", "600"}, Timeout: "2s"})
	d.putFunction(t, "hot", api.FunctionRequest{Command: []string{"cat"}, Warm: ptr(1)})
	d.awaitMetric(t, `podrun_pool_size{function="hot"}`, 1, 60*time.Second)

	var ids []string
	for _, c := range []struct {
		fn     string
		status int
	}{{"ok", 200}, {"ok", 200}, {"bad", 500}, {"slow", 504}, {"hot", 200}} {
		res := d.invoke(t, c.fn, []byte("x"), openFaaS)
		if res.status != c.status {
			t.Fatalf("/function/%s = %d %q, want %d", c.fn, res.status, res.out, c.status)
		}
		ids = append(ids, res.agentID())
	}
	for _, fn := range []string{"ok", "bad"} {
		ids = append(ids, d.invokeAsync(t, fn, []byte("x"), openFaaS).ID)
	}
	for _, id := range ids { // every container removed: the removal counters are final
		deadline := time.Now().Add(60 * time.Second)
		for !d.removed(t, id) {
			if time.Now().After(deadline) {
				t.Fatalf("agent %s (%s): its container is still there", id, d.get(t, id).State)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	d.awaitMetric(t, `podrun_pool_size{function="hot"}`, 1, 60*time.Second) // refilled
	time.Sleep(1500 * time.Millisecond)                                     // a sweep (every second here) comes and goes

	body, got := d.metrics(t)
	want := map[string]float64{
		`podrun_invocations_total{function="ok",start="cold",outcome="succeeded"}`:  3,
		`podrun_invocations_total{function="bad",start="cold",outcome="failed"}`:    2,
		`podrun_invocations_total{function="slow",start="cold",outcome="expired"}`:  1,
		`podrun_invocations_total{function="hot",start="warm",outcome="succeeded"}`: 1,
		`podrun_invocation_duration_seconds_count{start="cold"}`:                    6,
		`podrun_invocation_duration_seconds_count{start="warm"}`:                    1,
		`podrun_pool_hits_total{function="hot"}`:                                    1,
		`podrun_pool_misses_total{function="hot"}`:                                  0,
		`podrun_pool_hits_total{function="ok"}`:                                     0,
		`podrun_pool_misses_total{function="ok"}`:                                   2,
		`podrun_pool_hits_total{function="bad"}`:                                    0,
		`podrun_pool_misses_total{function="bad"}`:                                  1,
		`podrun_pool_hits_total{function="slow"}`:                                   0,
		`podrun_pool_misses_total{function="slow"}`:                                 1,
		`podrun_pool_size{function="hot"}`:                                          1,
		`podrun_pool_size{function="ok"}`:                                           0,
		`podrun_pool_size{function="bad"}`:                                          0,
		`podrun_pool_size{function="slow"}`:                                         0,
		`podrun_agents_created_total`:                                               7,
		`podrun_ttl_expired_total`:                                                  1,
		`podrun_agent_transitions_total{to="pending"}`:                              7,
		`podrun_agent_transitions_total{to="running"}`:                              7,
		`podrun_agent_transitions_total{to="succeeded"}`:                            4,
		`podrun_agent_transitions_total{to="failed"}`:                               2,
		`podrun_agent_transitions_total{to="expired"}`:                              1,
		`podrun_agent_transitions_total{to="terminating"}`:                          0,
		`podrun_agent_transitions_total{to="terminated"}`:                           0,
		`podrun_sweeper_removed_total{kind="succeeded"}`:                            4,
		`podrun_sweeper_removed_total{kind="failed"}`:                               2,
		`podrun_sweeper_removed_total{kind="expired"}`:                              1,
		`podrun_sweeper_removed_total{kind="terminated"}`:                           0,
		`podrun_sweeper_removed_total{kind="orphan"}`:                               0,
		`podrun_agents{state="pending"}`:                                            0,
		`podrun_agents{state="running"}`:                                            0,
		`podrun_agents{state="paused"}`:                                             0,
		`podrun_agents{state="terminating"}`:                                        0,
		`podrun_http_requests_total{route="/function/:name",code="200"}`:            3,
		`podrun_http_requests_total{route="/function/:name",code="500"}`:            1,
		`podrun_http_requests_total{route="/function/:name",code="504"}`:            1,
		`podrun_http_requests_total{route="/async-function/:name",code="202"}`:      2,
	}
	for series, w := range want {
		if v, ok := got[series]; !ok || v != w {
			t.Errorf("%s = %v (present %v), want %v", series, v, ok, w)
		}
	}
	// Nothing beyond what was done: no other outcome, function or state appears.
	for _, prefix := range []string{"podrun_invocations_total", "podrun_agents{", "podrun_pool_"} {
		for series := range got {
			if _, ok := want[series]; strings.HasPrefix(series, prefix) && !ok {
				t.Errorf("unexpected series %s = %v", series, got[series])
			}
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}

// removed reports whether an agent has finished and its container is gone, as the API says.
func (d *testDaemon) removed(t *testing.T, id string) bool {
	t.Helper()
	a := d.get(t, id)
	return !a.State.Live() && a.ContainerRemoved
}

// promtool finds Prometheus's promtool: $PODRUN_PROMTOOL (make test sets it),
// then PATH, then where scripts/install-promtool.sh puts it.
func promtool(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("PODRUN_PROMTOOL")}
	if p, err := exec.LookPath("promtool"); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, filepath.Join("..", "..", "bin", "tools", "promtool"))
	for _, p := range candidates {
		if p == "" {
			continue
		}
		if err := exec.Command(p, "--version").Run(); err == nil {
			return p
		}
	}
	msg := "promtool not found: run scripts/install-promtool.sh (make test does)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// TestMetricsPassPromtool runs the real `promtool check metrics` on the
// daemon's /metrics after some work, so labelled series and histograms are
// there: every family must have its TYPE and HELP, and pass the linter.
func TestMetricsPassPromtool(t *testing.T) {
	tool := promtool(t)
	d := startDaemon(t, nil)
	d.putFunction(t, "ok", api.FunctionRequest{Command: []string{"cat"}})
	if res := d.invoke(t, "ok", []byte("x"), openFaaS); res.status != 200 {
		t.Fatalf("invoke = %d", res.status)
	}
	d.await(t, d.invokeAsync(t, "ok", []byte("x"), openFaaS).ID, 30*time.Second, api.StateSucceeded)
	a := d.create(t, api.AgentRequest{Command: []string{"true"}})
	d.await(t, a.ID, 30*time.Second, api.StateSucceeded)

	body, got := d.metrics(t)
	var families []string
	for _, line := range strings.Split(body, "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			families = append(families, strings.Fields(name)[0])
		}
	}
	for _, f := range []string{"podrun_invocations_total", "podrun_invocation_duration_seconds", "podrun_agents", "podrun_pool_size",
		"podrun_http_request_duration_seconds", "podrun_podman_request_duration_seconds", "go_goroutines", "process_cpu_seconds_total"} {
		if !slices.Contains(families, f) {
			t.Errorf("/metrics has no # TYPE for %s", f)
		}
	}
	if len(got) == 0 {
		t.Fatal("/metrics has no series")
	}
	cmd := exec.Command(tool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil || out.Len() != 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out.String())
	}
}
