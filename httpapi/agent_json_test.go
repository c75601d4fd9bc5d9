package httpapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

func TestAgentJSONShape(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))
	code := 3
	for _, tt := range []struct {
		name string
		a    runner.Agent
		want map[string]string
	}{
		{"pending", runner.Agent{ID: "a", State: runner.StatePending, CreatedAt: at, ExpiresAt: at},
			map[string]string{"started_at": "null", "finished_at": "null", "expires_at": `"2026-01-02T02:04:05.000000006Z"`,
				"exit_code": "null", "container_removed": "false", "command": "null"}},
		{"finished", runner.Agent{ID: "b", State: runner.StateFailed, Reason: runner.ReasonExit, Message: "exited with code 3",
			ExitCode: &code, StartedAt: at, FinishedAt: at, RemovedAt: at, Command: []string{"x"}},
			map[string]string{"started_at": `"2026-01-02T02:04:05.000000006Z"`, "exit_code": "3", "container_removed": "true",
				"expires_at": "null", "command": `["x"]`, "state": `"failed"`, "message": `"exited with code 3"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(agentView(tt.a))
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]json.RawMessage
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.want {
				if string(got[k]) != want {
					t.Errorf("%s = %s, want %s", k, got[k], want)
				}
			}
			if _, ok := got["stdin"]; ok {
				t.Error("stdin is shown")
			}
		})
	}
	b, _ := json.Marshal(agentPageView(runner.AgentPage{}))
	if string(b) != `{"agents":[]}` {
		t.Errorf("empty page = %s, want an empty list", b)
	}
}
