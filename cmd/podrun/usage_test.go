package main

import (
	"context"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
)

// TestUsageSummaryMatchesTheWorkload runs a known mix of invocations and a
// plain agent, then checks GET /v1/usage against what each agent recorded.
func TestUsageSummaryMatchesTheWorkload(t *testing.T) {
	d := startDaemon(t, nil)
	ctx := context.Background()
	d.putFunction(t, "sum-echo", api.FunctionRequest{Command: []string{"cat"}})
	d.putFunction(t, "sum-fail", api.FunctionRequest{Command: []string{"sh", "-c", "exit 3"}})
	d.putFunction(t, "sum-warm", api.FunctionRequest{Command: []string{"cat"}, Warm: ptr(1)})
	awaitWarm(t, d, "sum-warm", "")

	var ids []string
	for range 3 {
		res := d.invoke(t, "sum-echo", []byte("hi"), nil)
		if res.status != http.StatusOK {
			t.Fatalf("sum-echo answered %d", res.status)
		}
		ids = append(ids, res.agentID())
	}
	for range 2 {
		ids = append(ids, d.invoke(t, "sum-fail", nil, nil).agentID())
	}
	ids = append(ids, d.invoke(t, "sum-warm", []byte("w"), nil).agentID())
	plain := d.create(t, api.AgentRequest{Command: []string{"echo", "plain"}, Labels: map[string]string{"team": "x"}})
	ids = append(ids, plain.ID)

	// What was run, from the agents themselves.
	type want struct {
		agents, cold, warm, succeeded, failed int
		runs                                  []float64
	}
	wants := map[string]*want{}
	for _, id := range ids {
		a := d.await(t, id, 30*time.Second, api.StateSucceeded, api.StateFailed)
		w := wants[a.Function]
		if w == nil {
			w = &want{}
			wants[a.Function] = w
		}
		w.agents++
		switch a.Start {
		case api.StartCold:
			w.cold++
		case api.StartWarm:
			w.warm++
		}
		if a.State == api.StateSucceeded {
			w.succeeded++
		} else {
			w.failed++
		}
		w.runs = append(w.runs, a.FinishedAt.Time().Sub(a.StartedAt.Time()).Seconds())
	}
	if wants["sum-warm"].warm != 1 || wants["sum-echo"].cold != 3 {
		t.Fatalf("the workload did not run as meant: %+v %+v", *wants["sum-warm"], *wants["sum-echo"])
	}

	u, err := d.api.Usage(ctx, api.UsageOptions{Since: "10m", GroupBy: api.GroupByFunction})
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Groups) != len(wants) {
		t.Fatalf("usage has %d groups, want %d: %+v", len(u.Groups), len(wants), u.Groups)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	for _, g := range u.Groups {
		w := wants[g.Key]
		if w == nil {
			t.Fatalf("usage has a group %q nobody ran", g.Key)
		}
		slices.Sort(w.runs)
		var total float64
		for _, r := range w.runs {
			total += r
		}
		invocations := w.agents
		if g.Key == "" {
			invocations = 0
		}
		p50, p99 := w.runs[(50*len(w.runs)+99)/100-1], w.runs[(99*len(w.runs)+99)/100-1]
		if g.Agents != w.agents || g.Invocations.Total != invocations || g.Invocations.Cold != w.cold || g.Invocations.Warm != w.warm ||
			g.States[api.StateSucceeded] != w.succeeded || g.States[api.StateFailed] != w.failed ||
			g.Duration.Count != len(w.runs) || !near(g.Duration.TotalSeconds, total) ||
			!near(g.Duration.P50Seconds, p50) || !near(g.Duration.P99Seconds, p99) {
			t.Errorf("group %q = %+v\nwant %+v (total %v, p50 %v, p99 %v)", g.Key, g, *w, total, p50, p99)
		}
		if g.Key == "sum-fail" && g.Invocations.Outcomes["failed"] != 2 || g.Key == "sum-echo" && g.Invocations.Outcomes["succeeded"] != 3 {
			t.Errorf("outcomes of %s = %v", g.Key, g.Invocations.Outcomes)
		}
		if g.ReservedCPUSeconds <= 0 || g.ReservedMemoryByteSeconds <= 0 {
			t.Errorf("group %q reserved nothing: %+v", g.Key, g)
		}
	}
	byTeam, err := d.api.Usage(ctx, api.UsageOptions{Since: "10m", GroupBy: "label:team"})
	if err != nil {
		t.Fatal(err)
	}
	if len(byTeam.Groups) != 2 || byTeam.Groups[1].Key != "x" || byTeam.Groups[1].Agents != 1 || byTeam.Groups[0].Agents != len(ids)-1 {
		t.Errorf("usage by team = %+v", byTeam.Groups)
	}
	if old, err := d.api.Usage(ctx, api.UsageOptions{Until: "10m"}); err != nil || len(old.Groups) != 0 {
		t.Errorf("usage of a window before the workload = %+v, %v", old, err)
	}

	n, err := d.api.Node(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n.Instance != d.Instance() || n.Host.OCIRuntime != "runc" || n.Host.PodmanVersion == "" || !n.Host.LimitsEnforced ||
		n.Capacity.CPUs < 1 || n.Capacity.Memory <= 0 || n.Capacity.MaxAgentLimits.Memory <= 0 || n.Capacity.MaxConcurrency < 1 {
		t.Fatalf("node = %+v", n)
	}
	if n.InUse.LiveAgents != 0 || !slices.ContainsFunc(n.InUse.Pools, func(p api.PoolFill) bool { return p.Function == "sum-warm" && p.Target == 1 }) {
		t.Fatalf("node in use = %+v", n.InUse)
	}
}

// TestCLIEventsUsageAndNode runs the podrun binary's monitoring commands against a daemon.
func TestCLIEventsUsageAndNode(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, api.AgentRequest{Command: []string{"echo", "hi"}, Labels: map[string]string{"team": "cli"}})
	d.await(t, a.ID, 30*time.Second, api.StateSucceeded)

	var events []api.Event
	jsonFrom(t, d.podrun(t, "", "events", "--json", "--filter", "type=state", "--filter", "label=team=cli").want(t, 0, "podrun events").stdout, &events)
	var names []string
	for _, e := range events {
		if e.AgentID != a.ID || e.Type != api.EventState {
			t.Fatalf("podrun events --filter type=state gave %+v", e)
		}
		names = append(names, e.Name)
	}
	if len(names) < 2 || names[0] != "pending" || names[len(names)-1] != "succeeded" {
		t.Fatalf("state events = %v", names)
	}
	if out := d.podrun(t, "", "events", a.ID).want(t, 0, "podrun events ID").stdout; !strings.Contains(out, "succeeded") || strings.Contains(out, "AGENT") {
		t.Fatalf("podrun events ID printed %q, want the agent's history table", out)
	}
	var u api.UsageSummary
	jsonFrom(t, d.podrun(t, "", "usage", "--json", "--by", "label:team", "--since", "1h").want(t, 0, "podrun usage").stdout, &u)
	if len(u.Groups) != 1 || u.Groups[0].Key != "cli" || u.Groups[0].States[api.StateSucceeded] != 1 {
		t.Fatalf("podrun usage --by label:team = %+v", u)
	}
	if out := d.podrun(t, "", "usage").want(t, 0, "podrun usage").stdout; !strings.Contains(out, "FUNCTION") || !strings.Contains(out, "RUN TOTAL") {
		t.Fatalf("podrun usage printed %q", out)
	}
	d.podrun(t, "", "usage", "--by", "image").want(t, 125, "podrun usage --by image")
	var n api.Node
	jsonFrom(t, d.podrun(t, "", "node", "--json").want(t, 0, "podrun node").stdout, &n)
	if n.Instance != d.Instance() {
		t.Fatalf("podrun node instance %q, want %q", n.Instance, d.Instance())
	}
	if out := d.podrun(t, "", "node").want(t, 0, "podrun node").stdout; !strings.Contains(out, "Limits enforced:  true") {
		t.Fatalf("podrun node printed %q", out)
	}
}
