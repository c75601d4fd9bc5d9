package main

import (
	"testing"
	"time"

	"github.com/podrun/podrun/api"
)

// BenchmarkEchoAgent measures one echo agent from POST to succeeded, through HTTP and real Podman.
func BenchmarkEchoAgent(b *testing.B) {
	d := startDaemon(b, nil)
	for b.Loop() {
		a := d.create(b, api.AgentRequest{Command: []string{"echo", "hi"}})
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
		a := d.create(b, api.AgentRequest{Command: []string{"sleep", "600"}})
		for d.get(b, a.ID).State != api.StateRunning {
			time.Sleep(time.Millisecond)
		}
		b.StartTimer()
		d.delete(b, a.ID)
	}
}
