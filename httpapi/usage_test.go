package httpapi

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

func TestUsageQueryAndAnswer(t *testing.T) {
	h := newHarness(t, Options{})
	peak := int64(48 << 20)
	h.fake.ev.usage = runner.UsageSummary{
		Since: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC), GroupBy: "function",
		Groups: []runner.UsageGroup{{
			Key: "echo", Agents: 3, States: map[runner.State]int{runner.StateSucceeded: 2, runner.StateFailed: 1},
			Invocations: 3, Cold: 1, Warm: 2, Outcomes: map[string]int{"succeeded": 2, "oom": 1},
			Durations:  runner.DurationSummary{Count: 3, Total: 1500 * time.Millisecond, P50: 500 * time.Millisecond, P99: 700 * time.Millisecond},
			MemoryPeak: &peak, ReservedCPUSeconds: 0.75,
		}},
	}
	rec := h.do(t, http.MethodGet, "/v1/usage?since=2h&until=2025-01-02T00:00:00Z&group_by=label:team", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /v1/usage = %d %s", rec.Code, rec.Body)
	}
	q := h.fake.ev.lastQ
	if q.GroupBy != "label:team" || !q.Until.Equal(time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)) ||
		time.Since(q.Since) < 2*time.Hour || time.Since(q.Since) > 2*time.Hour+time.Minute {
		t.Fatalf("query reached the service as %+v", q)
	}
	var u api.UsageSummary
	if err := json.Unmarshal(rec.Body.Bytes(), &u); err != nil {
		t.Fatal(err)
	}
	g := u.Groups[0]
	if g.Key != "echo" || g.Invocations.Warm != 2 || g.Invocations.Outcomes["oom"] != 1 || g.Duration.P99Seconds != 0.7 ||
		g.Duration.TotalSeconds != 1.5 || g.MemoryPeak == nil || *g.MemoryPeak != peak || g.CPUSeconds != nil || g.States[api.StateFailed] != 1 {
		t.Fatalf("group = %+v", g)
	}
	for _, target := range []string{"/v1/usage?since=yesterday", "/v1/usage?until=-1h"} {
		rec := h.do(t, http.MethodGet, target, "")
		if e := apiErrorOf(t, rec); rec.Code != http.StatusBadRequest || e.Field == "" {
			t.Errorf("GET %s = %d %+v, want 400 naming the field", target, rec.Code, e)
		}
	}
}

func TestNodeAnswer(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.ev.node = runner.Node{
		Instance: "abc", Host: runner.Host{Version: "4.3.1", Runtime: "runc", CgroupVersion: "v1", CPUs: 2, Memory: 4 << 30},
		LimitsEnforced: true,
		Capacity:       runner.NodeCapacity{CPUs: 2, Memory: 4 << 30, MaxAgentLimits: runner.Limits{Memory: 1 << 30, CPUs: 2, PIDs: 512}, MaxConcurrency: 8},
		InUse: runner.NodeUse{LiveAgents: 1, States: map[runner.State]int{runner.StateRunning: 1}, ReservedMemory: 64 << 20, ReservedCPUs: 0.5,
			WarmContainers: 1, Pools: []runner.PoolFill{{Function: "echo", Ready: 1, Target: 2}}},
	}
	rec := h.do(t, http.MethodGet, "/v1/node", "")
	var n api.Node
	if err := json.Unmarshal(rec.Body.Bytes(), &n); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("GET /v1/node = %d %s", rec.Code, rec.Body)
	}
	if n.Instance != "abc" || n.Host.OCIRuntime != "runc" || !n.Host.LimitsEnforced || n.Host.Controllers == nil ||
		n.Capacity.MaxAgentLimits.PIDs != 512 || n.InUse.Reserved.Memory != 64<<20 || n.InUse.Pools[0].Target != 2 {
		t.Fatalf("node = %+v", n)
	}
}
