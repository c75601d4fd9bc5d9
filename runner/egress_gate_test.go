package runner_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
)

// fakeGate records what the runner asks of its egress gate.
type fakeGate struct {
	mu    sync.Mutex
	open  map[string]string // key -> agent
	calls []string
}

func (g *fakeGate) Open(key, agent string, allow []string) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open == nil {
		g.open = map[string]string{}
	}
	g.open[key] = agent
	g.calls = append(g.calls, "open "+key)
	return "/egress/" + key, nil
}

func (g *fakeGate) Bind(key, agent string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.open[key]
	if ok {
		g.open[key] = agent
	}
	g.calls = append(g.calls, "bind "+key+" "+agent)
	return ok
}

func (g *fakeGate) Close(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.open, key)
	g.calls = append(g.calls, "close "+key)
}

func (g *fakeGate) openKeys() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var keys []string
	for k := range g.open {
		keys = append(keys, k)
	}
	return keys
}

// TestEgressListenersFollowTheirContainers: the runner opens a listener for
// an agent with an allow list before its container and closes it when the
// agent ends; a warm container's listener is bound to the invocation that
// takes it and closed after it; agents without a list get none.
func TestEgressListenersFollowTheirContainers(t *testing.T) {
	gate := &fakeGate{}
	h := newHarness(t, func(c *runner.Config, _ *runnertest.Fake) {
		c.Egress = gate
		c.Policy.Egress = true
	})
	a := h.create(t, runner.AgentRequest{Image: "busybox", Command: []string{"true"}, Egress: []string{"x.test:80"}})
	plain := h.create(t, runner.AgentRequest{Image: "busybox", Command: []string{"true"}})
	h.awaitState(t, a.ID, runner.StateSucceeded)
	h.awaitState(t, plain.ID, runner.StateSucceeded)
	deadline := time.Now().Add(10 * time.Second)
	for len(gate.openKeys()) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	gate.mu.Lock()
	calls := slices.Clone(gate.calls)
	gate.mu.Unlock()
	if !slices.Equal(calls, []string{"open " + a.ID, "close " + a.ID}) {
		t.Errorf("gate calls for one agent with egress and one without: %q", calls)
	}

	h.putFunction(t, "out", runner.FunctionRequest{Command: []string{"cat"}, Warm: new(1), Egress: []string{"x.test:80"}})
	deadline = time.Now().Add(10 * time.Second)
	for len(gate.openKeys()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	warmKeys := gate.openKeys()
	if len(warmKeys) != 1 {
		t.Fatalf("open listeners with a warm pool of one: %q", warmKeys)
	}
	res, _ := h.invoke(t, context.Background(), "out", "hi", nil)
	if res.Agent.Start != runner.StartWarm {
		t.Fatalf("invocation started %s, want warm", res.Agent.Start)
	}
	gate.mu.Lock()
	calls = slices.Clone(gate.calls)
	gate.mu.Unlock()
	if !slices.Contains(calls, "bind "+warmKeys[0]+" "+res.Agent.ID) {
		t.Errorf("the warm listener %s was not bound to the invocation %s: %q", warmKeys[0], res.Agent.ID, calls)
	}
	deadline = time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if !slices.Contains(gate.openKeys(), warmKeys[0]) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("the warm listener %s is still open after its invocation", warmKeys[0])
}
