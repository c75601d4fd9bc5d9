package main

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// scrapeMetrics returns /metrics as text and as a map from series (name and
// labels as written) to value.
func (d *testDaemon) scrapeMetrics(t *testing.T) (string, map[string]float64) {
	t.Helper()
	resp := d.call(t, "GET", "/metrics", nil, nil)
	body := readAll(resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics = %d", resp.StatusCode)
	}
	series := map[string]float64{}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		series[line[:i]] = v
	}
	return body, series
}

// awaitMetric polls /metrics until series has the value want.
func (d *testDaemon) awaitMetric(t *testing.T, series string, want float64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		_, got := d.scrapeMetrics(t)
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
	d.putFunction(t, "ok", map[string]any{"command": []string{"cat"}})
	d.putFunction(t, "bad", map[string]any{"command": []string{"sh", "-c", "echo no >&2; exit 3"}})
	d.putFunction(t, "slow", map[string]any{"command": []string{"sleep", "600"}, "timeout": "2s"})
	d.putFunction(t, "hot", map[string]any{"command": []string{"cat"}, "warm": 1})
	d.awaitMetric(t, `podrun_pool_size{function="hot"}`, 1, 60*time.Second)

	var ids []string
	for _, c := range []struct {
		path   string
		status int
	}{
		{"/function/ok", 200}, {"/function/ok", 200}, {"/function/bad", 500}, {"/function/slow", 504}, {"/function/hot", 200},
		{"/async-function/ok", 202}, {"/async-function/bad", 202},
	} {
		resp, out := d.invoke(t, "POST", c.path, []byte("x"), nil)
		if resp.StatusCode != c.status {
			t.Fatalf("%s = %d %q, want %d", c.path, resp.StatusCode, out, c.status)
		}
		ids = append(ids, resp.Header.Get("X-Podrun-Agent-Id"))
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

	body, got := d.scrapeMetrics(t)
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
	var a struct {
		State   runner.State `json:"state"`
		Removed bool         `json:"container_removed"`
	}
	d.call(t, "GET", "/v1/agents/"+id, nil, &a)
	return !a.State.Live() && a.Removed
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
	d.putFunction(t, "ok", map[string]any{"command": []string{"cat"}})
	if resp, _ := d.invoke(t, "POST", "/function/ok", []byte("x"), nil); resp.StatusCode != 200 {
		t.Fatalf("invoke = %d", resp.StatusCode)
	}
	resp, _ := d.invoke(t, "POST", "/async-function/ok", []byte("x"), nil)
	d.await(t, resp.Header.Get("X-Podrun-Agent-Id"), 30*time.Second, api.StateSucceeded)
	a := d.create(t, map[string]any{"image": testImage, "command": []string{"true"}})
	d.await(t, a.ID, 30*time.Second, api.StateSucceeded)

	body, got := d.scrapeMetrics(t)
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
