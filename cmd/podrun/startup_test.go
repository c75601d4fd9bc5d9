package main

import (
	"io"
	"net/http"
	"regexp"
	"testing"
)

// TestStartUpAsksPodmanInfoOnce: podman info takes one to two seconds on a
// busy host, and start-up used to ask twice (sandbox.New, then the runner's probe).
func TestStartUpAsksPodmanInfoOnce(t *testing.T) {
	d := startDaemon(t, nil)
	resp := d.call(t, "GET", "/metrics", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d", resp.StatusCode)
	}
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^podrun_podman_request_duration_seconds_count\{op="info"\} (\d+)$`).FindSubmatch(body)
	if m == nil || string(m[1]) != "1" {
		t.Errorf("podman info calls at start-up = %q, want 1", m)
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
