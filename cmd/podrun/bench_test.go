package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
)

// BenchmarkEchoAgent measures one echo agent from POST to succeeded, through HTTP and real Podman.
func BenchmarkEchoAgent(b *testing.B) {
	d := startDaemon(b, nil)
	for b.Loop() {
		a := d.create(b, map[string]any{"image": testImage, "command": []string{"echo", "hi"}})
		for d.get(b, a.ID).State != api.StateSucceeded {
			time.Sleep(time.Millisecond)
		}
	}
}

// BenchmarkDeleteAccepted measures DELETE to 202 of a running agent.
func BenchmarkDeleteAccepted(b *testing.B) {
	d := startDaemon(b, nil)
	for b.Loop() {
		b.StopTimer()
		a := d.create(b, map[string]any{"image": testImage, "command": []string{"sleep", "600"}})
		for d.get(b, a.ID).State != api.StateRunning {
			time.Sleep(time.Millisecond)
		}
		b.StartTimer()
		if resp := d.call(b, "DELETE", "/v1/agents/"+a.ID, nil, nil); resp.StatusCode != http.StatusAccepted {
			b.Fatalf("DELETE = %d", resp.StatusCode)
		}
	}
}
