package main

import (
	"bytes"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

// BenchmarkInvokeLatency compares one invocation of a `cat` function, cold and
// warm, with `podman run --rm -i` of the same image under the same hardening
// flags, on the same machine in the same run. Run with -benchtime 100x; it
// reports p50 and p99 in milliseconds.
func BenchmarkInvokeLatency(b *testing.B) {
	d := startDaemon(b, nil)
	d.putFunction(b, "cold", map[string]any{"command": []string{"cat"}})
	d.putFunction(b, "warm", map[string]any{"command": []string{"cat"}, "warm": 2})
	body := []byte("ping")
	b.Run("cold", func(b *testing.B) {
		latencies(b, nil, func() { d.mustInvoke(b, "cold", body, "cold") })
	})
	b.Run("warm", func(b *testing.B) {
		latencies(b, func() { d.awaitWarm(b, "warm", 2) }, func() { d.mustInvoke(b, "warm", body, "warm") })
	})
	b.Run("podman-run-rm", func(b *testing.B) {
		latencies(b, nil, func() { podmanRun(b, d.Instance(), body) })
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
	resp, out := d.invoke(b, "POST", "/v1/functions/"+fn+"/invoke", body, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(out, body) || resp.Header.Get("X-Podrun-Start") != start {
		b.Fatalf("%s invocation = %d %q start %q", fn, resp.StatusCode, out, resp.Header.Get("X-Podrun-Start"))
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

// podmanRun is the baseline: the CLI with the flags sandbox.Harden applies.
func podmanRun(b *testing.B, instance string, body []byte) {
	args := []string{"run", "--rm", "-i", "--runtime", "runc", "--cap-drop", "all",
		"--security-opt", "no-new-privileges", "--userns", "auto:size=65536",
		"--memory", "256m", "--memory-swap", "256m", "--cpus", "1", "--pids-limit", "128",
		"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096", "--network", "none",
		"--read-only", "--tmpfs", "/tmp:rw,nosuid,nodev,mode=1777,size=64m", "--log-driver", "k8s-file",
		"--label", runner.LabelInstance + "=" + instance, testImage, "cat"}
	cmd := exec.Command("podman", args...)
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.Output()
	if err != nil || !bytes.Equal(out, body) {
		b.Fatalf("podman %s: %v %q", strings.Join(args, " "), err, out)
	}
}
