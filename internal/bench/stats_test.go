package bench

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/client"
	"github.com/podrun/podrun/configs"
	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/sandbox"
)

func TestPercentileIsNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 10; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0, 1 * time.Millisecond}, {10, 1 * time.Millisecond}, {50, 5 * time.Millisecond}, {51, 6 * time.Millisecond}, {90, 9 * time.Millisecond}, {99, 10 * time.Millisecond}, {100, 10 * time.Millisecond}} {
		if got := percentile(ds, tc.p); got != tc.want {
			t.Errorf("percentile(1..10 ms, %v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestSummarizeDoesNotReorderItsInput(t *testing.T) {
	ds := []time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond}
	orig := slices.Clone(ds)
	got := summarize(ds)
	want := latencySummary{N: 3, P50: 2, P90: 3, P99: 3, Max: 3, Mean: 2}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if !slices.Equal(ds, orig) {
		t.Errorf("input reordered to %v", ds)
	}
	if got := summarize(nil); got != (latencySummary{}) {
		t.Errorf("summarize(nil) = %+v", got)
	}
}

func TestTableAlignsColumns(t *testing.T) {
	tb := benchTable{Title: "t", Columns: []string{"", "n", "p50 ms"}, Notes: []string{"a note"}}
	tb.add("podrun", "3", "1.500")
	tb.add("(a) podman run --rm", "30", "150.0")
	var buf bytes.Buffer
	tb.write(&buf)
	want := "\n== t ==\n" +
		"                      n  p50 ms\n" +
		"podrun                3   1.500\n" +
		"(a) podman run --rm  30   150.0\n" +
		"  * a note\n"
	if got := buf.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

func TestNumAndTargets(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{{math.NaN(), "n/a"}, {0.5123, "0.512"}, {12.345, "12.35"}, {150.04, "150.0"}, {15234.6, "15235"}} {
		if got := num(tc.v); got != tc.want {
			t.Errorf("num(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
	if !target("x", "", 0.4, "x", 0.5, true).Pass || target("x", "", 0.6, "x", 0.5, true).Pass {
		t.Error("at-most target judged wrongly")
	}
	if !target("x", "", 16000, "", 15000, false).Pass || target("x", "", math.NaN(), "", 0, false).Pass {
		t.Error("at-least target judged wrongly (NaN must miss)")
	}
	raw, err := json.Marshal(map[string]jsonFloat{"nan": jsonFloat(math.NaN()), "one": 1.5})
	if err != nil || string(raw) != `{"nan":null,"one":1.5}` {
		t.Errorf("json = %s, %v", raw, err)
	}
}

func TestPodmanOpsFromMetrics(t *testing.T) {
	page := []byte(`# HELP x
podrun_podman_request_duration_seconds_bucket{op="create",le="0.01"} 2
podrun_podman_request_duration_seconds_sum{op="create"} 0.03
podrun_podman_request_duration_seconds_count{op="create"} 3
podrun_pool_size{function="f"} 2
`)
	m, err := client.ParseMetrics(page)
	if err != nil {
		t.Fatal(err)
	}
	if m[`podrun_pool_size{function="f"}`] != 2 {
		t.Errorf("metrics = %v", m)
	}
	ops := podmanOpsFrom(m)
	if got := ops["create"]; got.count != 3 || got.sum != 0.03 || len(ops) != 1 {
		t.Errorf("ops = %+v", ops)
	}
}

// Baseline (a) is the baseline spec as sandbox.RunArgs renders it: the
// bench's limits and the run's labels, run with --rm and without pulling.
func TestBaselineArgsComeFromTheHardenedSpec(t *testing.T) {
	cfg := sandbox.ConfigFrom(configs.Default())
	cfg.Runtime = "runc"
	b := &bench{opt: benchOptions{image: "img"}, runID: "run1", limits: runner.Limits{Memory: 256 << 20, CPUs: 0.5, PIDs: 128}}
	args, err := b.podmanRunArgs(cfg)
	if err != nil {
		t.Fatal(err)
	}
	flags, err := sandbox.RunArgs(b.baselineSpec("podman-run"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(args, append([]string{"run", "--rm", "--pull=never"}, flags...)) {
		t.Errorf("baseline (a) = podman %s\nwant run --rm --pull=never and RunArgs' %s", strings.Join(args, " "), strings.Join(flags, " "))
	}
	line := strings.Join(args, " ")
	for _, want := range []string{"--memory 268435456 --memory-swap 268435456", "--cpu-quota 50000", "--pids-limit 128",
		"--label podrun.bench=podman-run --label podrun.instance=run1", " img cat"} {
		if !strings.Contains(line, want) {
			t.Errorf("podman %s\nlacks %q", line, want)
		}
	}
}
