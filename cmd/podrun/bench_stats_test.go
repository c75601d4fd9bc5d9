package main

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

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

func TestParseMetricsAndPodmanOps(t *testing.T) {
	page := []byte(`# HELP x
podrun_podman_request_duration_seconds_bucket{op="create",le="0.01"} 2
podrun_podman_request_duration_seconds_sum{op="create"} 0.03
podrun_podman_request_duration_seconds_count{op="create"} 3
podrun_pool_size{function="f"} 2
broken line
`)
	m := parseMetrics(page)
	if m[`podrun_pool_size{function="f"}`] != 2 {
		t.Errorf("metrics = %v", m)
	}
	ops := podmanOpsFrom(m)
	if got := ops["create"]; got.count != 3 || got.sum != 0.03 || len(ops) != 1 {
		t.Errorf("ops = %+v", ops)
	}
}

// The baseline must carry every confinement sandbox.Harden applies.
func TestPodmanRunArgsMirrorHarden(t *testing.T) {
	cfg := sandbox.Config{Runtime: "runc", Network: "none", TmpfsSize: 64 << 20, NoFile: 1024, NProc: 1024, UserNSSize: 65536, LogMaxSize: 16 << 20}
	args := strings.Join(podmanRunArgs(cfg, runner.Limits{Memory: 256 << 20, CPUs: 0.5, PIDs: 128}, "run1", "img", []string{"cat"}), " ")
	for _, want := range []string{
		"run --rm -i ", "--runtime runc", "--cap-drop all", "--security-opt no-new-privileges", "--userns auto:size=65536",
		"--network none", "--read-only ", "--tmpfs /tmp:rw,nosuid,nodev,mode=1777,size=67108864", "--ulimit nofile=1024:1024",
		"--ulimit nproc=1024:1024", "--memory 268435456 --memory-swap 268435456", "--cpus 0.5", "--pids-limit 128",
		"--label podrun.instance=run1", "img cat",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("podman %s\nlacks %q", args, want)
		}
	}
}
