package main

import (
	"bytes"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/sandbox"
)

// BenchmarkInvokeLatency compares one invocation of a `cat` function, cold and
// warm, with `podman run --rm -i` of the same image under the same hardening
// flags, on the same machine in the same run. Run with -benchtime 100x; it
// reports p50 and p99 in milliseconds.
func BenchmarkInvokeLatency(b *testing.B) {
	d := startDaemon(b, nil)
	d.putFunction(b, "cold", api.FunctionRequest{Command: []string{"cat"}})
	d.putFunction(b, "warm", api.FunctionRequest{Command: []string{"cat"}, Warm: ptr(2)})
	run := podmanRunArgs(b, d)
	body := []byte("ping")
	b.Run("cold", func(b *testing.B) {
		latencies(b, nil, func() { d.mustInvoke(b, "cold", body, "cold") })
	})
	b.Run("warm", func(b *testing.B) {
		latencies(b, func() { d.awaitWarm(b, "warm", 2) }, func() { d.mustInvoke(b, "warm", body, "warm") })
	})
	b.Run("podman-run-rm", func(b *testing.B) {
		latencies(b, nil, func() { podmanRun(b, run, body) })
	})
}

// latencies runs prepare (untimed, may be nil) then op, b.N times, and
// reports the p50 and p99 of op alone.
func latencies(b *testing.B, prepare, op func()) {
	var ds []time.Duration
	for b.Loop() {
		if prepare != nil {
			b.StopTimer()
			prepare()
			b.StartTimer()
		}
		start := time.Now()
		op()
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	pct := func(p float64) float64 {
		return float64(ds[min(len(ds)-1, int(p*float64(len(ds))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op") // the percentiles say more than a mean here
}

func (d *testDaemon) mustInvoke(b *testing.B, fn string, body []byte, start string) {
	res := d.invoke(b, fn, body, nil)
	if res.status != http.StatusOK || !bytes.Equal(res.out, body) || res.header.Get(api.HeaderStart) != start {
		b.Fatalf("%s invocation = %d %q start %q", fn, res.status, res.out, res.header.Get(api.HeaderStart))
	}
}

// awaitWarm waits until the function's pool holds n started containers and
// the previous request's container is removed: a request paced like this
// meets a quiet host, as a warm pool sized for its load would.
func (d *testDaemon) awaitWarm(b *testing.B, fn string, n int) {
	sb := testSandbox(b)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		cs, err := sb.List(b.Context(), map[string]string{runner.LabelInstance: d.Instance()})
		warm, other := 0, 0
		for _, c := range cs {
			switch {
			case c.Labels[runner.LabelPool] == fn && c.Running:
				warm++
			default:
				other++
			}
		}
		if err == nil && warm >= n && other == 0 {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	b.Fatalf("pool of %s did not settle", fn)
}

// podmanRunArgs is the baseline: `podman run --rm` of `cat` confined as the
// daemon's sandbox confines it, flags from sandbox.RunArgs, with the default limits.
func podmanRunArgs(b *testing.B, d *testDaemon) []string {
	cfg := testSandbox(b).Config() // the daemon's, runtime resolved, without the shim `cat` does not need
	spec := runner.Spec{Image: testImage, Command: []string{"cat"}, Limits: d.cfg.Policy().Defaults,
		Labels: map[string]string{runner.LabelInstance: d.Instance()}}
	args, err := sandbox.RunArgs(spec, cfg)
	if err != nil {
		b.Fatal(err)
	}
	return append([]string{"run", "--rm", "--pull=never"}, args...)
}

// podmanRun runs the baseline once with body on stdin and checks the echo.
func podmanRun(b *testing.B, args []string, body []byte) {
	cmd := exec.Command("podman", args...)
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.Output()
	if err != nil || !bytes.Equal(out, body) {
		b.Fatalf("podman %s: %v %q", strings.Join(args, " "), err, out)
	}
}
