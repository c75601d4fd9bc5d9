package main

import (
	"strings"
	"testing"

	"github.com/podrun/podrun/configs"
	"github.com/podrun/podrun/sandbox/podmantest"
)

// TestStartUpAsksPodmanInfoOnce: podman info takes one to two seconds on a
// busy host, and start-up used to ask twice (sandbox.New, then the runner's probe).
func TestStartUpAsksPodmanInfoOnce(t *testing.T) {
	d := startDaemon(t, nil)
	_, series := d.metrics(t)
	if n, ok := series[`podrun_podman_request_duration_seconds_count{op="info"}`]; !ok || n != 1 {
		t.Errorf("podman info calls at start-up = %v (present %v), want 1", n, ok)
	}
}

// BenchmarkOpenDaemon measures start-up until podrun could answer: data dir
// lock, listener, store, Podman (one info) and the runner's reconcile.
// Run: go test -tags "$GO_TAGS" -run '^$' -bench OpenDaemon ./cmd/podrun/
func BenchmarkOpenDaemon(b *testing.B) {
	for b.Loop() {
		d, err := OpenDaemon(b.Context(), testConfig(b, nil), discardLogger())
		if err != nil {
			b.Fatal(err)
		}
		trackInstance(d.Instance())
		d.Close()
	}
}

// TestRlimitsTheServiceCannotGrantStopTheStart: nofile or nproc above the
// Podman service's hard limits would fail every container's start in runc;
// the daemon refuses to start instead, naming the key.
func TestRlimitsTheServiceCannotGrantStopTheStart(t *testing.T) {
	svc := podmantest.Start(t, podmantest.HardLimits(4096, 2048))
	for _, tc := range []struct {
		edit func(*configs.Config)
		want string
	}{
		{func(c *configs.Config) { c.Sandbox.NoFile = 4097 }, "sandbox.nofile (4097) is above the hard limit of open files (4096)"},
		{func(c *configs.Config) { c.Sandbox.NProc = 2049 }, "sandbox.nproc (2049) is above the hard limit of processes (2048)"},
	} {
		cfg := testConfig(t, func(c *configs.Config) {
			c.PodmanSocket = svc.URI()
			tc.edit(c)
		})
		d, err := OpenDaemon(t.Context(), cfg, discardLogger())
		if err == nil {
			trackInstance(d.Instance())
			d.Close()
			t.Errorf("the daemon started; want it refused with %q", tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("start = %v, want %q", err, tc.want)
		}
	}
}
