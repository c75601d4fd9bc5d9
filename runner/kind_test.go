package runner_test

import (
	"context"
	"strings"
	"testing"

	"github.com/podrun/podrun/runner"
)

// TestEveryAgentKnowsItsKind: the kind an agent is created as is the kind
// read back from the store, as after a restart.
func TestEveryAgentKnowsItsKind(t *testing.T) {
	h := newHarness(t, withFunctions)
	ctx := context.Background()
	h.putFunction(t, "echo", runner.FunctionRequest{Command: []string{"cat"}})
	plain := h.create(t, runner.AgentRequest{Command: []string{"true"}})
	sync, _ := h.invoke(t, ctx, "echo", "x", nil)
	async, err := h.r.Invoke(ctx, runner.Invocation{Function: "echo", Async: true, Body: strings.NewReader("y")})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id   string
		want runner.Kind
	}{{plain.ID, runner.KindPlain}, {sync.Agent.ID, runner.KindSync}, {async.Agent.ID, runner.KindAsync}} {
		a := h.await(t, c.id, "final", func(a runner.Agent) bool { return !a.State.Live() })
		if got := a.Kind(); got != c.want {
			t.Errorf("agent %s read back as %s, want %s", c.id, got, c.want)
		}
		if a.Kind().Invocation() != (c.want != runner.KindPlain) {
			t.Errorf("%s: Invocation() = %v", c.want, a.Kind().Invocation())
		}
	}
}
