package api_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
)

// BenchmarkEncodeAgentPage measures encoding a 100-agent page of the api types, the work a
// list answer's encoding costs the server.
func BenchmarkEncodeAgentPage(b *testing.B) {
	now := api.Time(time.Now())
	later, code := api.Time(now.Time().Add(time.Minute)), 0
	a := api.Agent{
		ID: "01m8qbggj5kwppv51vgxa9jw5h", Function: "echo", Image: "localhost/podrun/busybox:latest", Command: []string{"sh", "-c", "sleep 600"},
		Env: map[string]string{"LANG": "C.UTF-8"}, State: api.StateSucceeded, Reason: api.ReasonExit, ExitCode: &code,
		ContainerID: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		Limits:      api.Limits{Memory: 128 << 20, CPUs: 0.5, PIDs: 64}, Labels: map[string]string{"team": "platform", "bench-run": "x"},
		CreatedAt: now, StartedAt: &now, FinishedAt: &now, ExpiresAt: &later, ContainerRemoved: true,
	}
	page := api.AgentPage{NextCursor: "cursor"}
	for range 100 {
		page.Agents = append(page.Agents, a)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(page); err != nil {
			b.Fatal(err)
		}
	}
}
