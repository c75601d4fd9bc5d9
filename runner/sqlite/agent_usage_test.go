package sqlite

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

// TestUsageRoundTripReplaceAndCascade: SaveUsage writes many agents' usage
// at once, a second save replaces the first, the usage of an unknown agent
// is dropped, and pruning an agent takes its usage with it.
func TestUsageRoundTripReplaceAndCascade(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a := mustCreate(t, s, testAgent(1, func(a *runner.Agent) {
		a.State, a.ContainerID, a.FinishedAt, a.RemovedAt = runner.StateSucceeded, "c1", t0, t0
	}))
	b := mustCreate(t, s, testAgent(2))
	if _, err := s.Usage(ctx, a.ID); !errors.Is(err, runner.ErrNotFound) {
		t.Fatalf("Usage before any save = %v, want ErrNotFound", err)
	}
	full := runner.Usage{AgentID: a.ID, SampledAt: t0.Add(time.Second), Samples: 2, MemoryBytes: 1 << 40, MemoryPeak: 1<<40 + 1,
		MemoryByteSeconds: 12.5, PIDs: 3, PIDsPeak: 9, CPUPercent: 150.25, CPUSeconds: 1.5, BlockRead: 7, BlockWrite: 8,
		TmpUsed: 10, TmpSize: 20, Periods: 300, ThrottledPeriods: 200, OOMKills: 1, Alerts: []string{runner.AlertMemory, runner.AlertTmp}}
	other := runner.Usage{AgentID: b.ID, SampledAt: t0, Samples: 1}
	ghost := runner.Usage{AgentID: "no-such-agent", SampledAt: t0, Samples: 1}
	if err := s.SaveUsage(ctx, []runner.Usage{full, other, ghost}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []runner.Usage{full, other} {
		got, err := s.Usage(ctx, want.AgentID)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Usage = %+v, %v\nwant    %+v", got, err, want)
		}
	}
	if _, err := s.Usage(ctx, ghost.AgentID); !errors.Is(err, runner.ErrNotFound) {
		t.Errorf("usage of an unknown agent was kept: %v", err)
	}
	replaced := runner.Usage{AgentID: a.ID, SampledAt: t0.Add(2 * time.Second), Samples: 3}
	if err := s.SaveUsage(ctx, []runner.Usage{replaced}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Usage(ctx, a.ID); !reflect.DeepEqual(got, replaced) {
		t.Errorf("after replace: %+v, want %+v", got, replaced)
	}
	if n, err := s.Prune(ctx, t0.Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want the finished agent pruned", n, err)
	}
	if _, err := s.Usage(ctx, a.ID); !errors.Is(err, runner.ErrNotFound) {
		t.Errorf("usage of a pruned agent: %v, want ErrNotFound", err)
	}
}
