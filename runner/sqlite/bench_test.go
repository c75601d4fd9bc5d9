package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

// Run with: go test -run '^$' -bench . -benchmem ./runner/sqlite/
// TMPDIR must be on a real disk for the FULL/NORMAL comparison to mean anything.

func benchStore(b *testing.B, synchronous string) *Store {
	b.Helper()
	s, err := open(filepath.Join(b.TempDir(), "podrun.db"), synchronous)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

func BenchmarkCreateAgent(b *testing.B) {
	for _, mode := range []string{"FULL", "NORMAL"} {
		b.Run("synchronous="+mode, func(b *testing.B) {
			s := benchStore(b, mode)
			ctx := context.Background()
			agents := make([]runner.Agent, b.N)
			for i := range agents {
				agents[i] = testAgent(i)
			}
			b.ResetTimer()
			for i := range b.N {
				if err := s.CreateAgent(ctx, agents[i]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkTransition(b *testing.B) {
	for _, mode := range []string{"FULL", "NORMAL"} {
		b.Run("synchronous="+mode, func(b *testing.B) {
			s := benchStore(b, mode)
			ctx := context.Background()
			agents := seed(b, s, b.N, func(int, *runner.Agent) {})
			change := runner.Change{To: runner.StateRunning, At: t0, Detail: "started"}
			b.ResetTimer()
			for i := range b.N {
				if _, err := s.Transition(ctx, agents[i].ID, change); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAgentByID(b *testing.B) {
	s := benchStore(b, "FULL")
	agents := seed(b, s, 10_000, func(int, *runner.Agent) {})
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Agent(ctx, agents[rand.IntN(len(agents))].ID); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkListAgents(b *testing.B) {
	s := benchStore(b, "FULL")
	agents := seed(b, s, 10_000, func(i int, a *runner.Agent) {
		a.Labels = map[string]string{"shard": fmt.Sprint(i % 4)}
		if i%2 == 0 {
			a.State = runner.StateRunning
		}
	})
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		filter runner.AgentFilter
	}{
		{"first page", runner.AgentFilter{Limit: 100}},
		{"middle page", runner.AgentFilter{Limit: 100, Cursor: encodeCursor(agents[5000].ID)}},
		{"state", runner.AgentFilter{Limit: 100, States: []runner.State{runner.StateRunning}, Cursor: encodeCursor(agents[5000].ID)}},
		{"label", runner.AgentFilter{Limit: 100, Labels: map[string]string{"shard": "3"}, Cursor: encodeCursor(agents[5000].ID)}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				page, err := s.ListAgents(ctx, tt.filter)
				if err != nil {
					b.Fatal(err)
				}
				if len(page.Agents) != 100 {
					b.Fatalf("page of %d", len(page.Agents))
				}
			}
		})
	}
}

func BenchmarkNextDeadline(b *testing.B) {
	s := benchStore(b, "FULL")
	seed(b, s, 10_000, func(i int, a *runner.Agent) {
		if i%2 == 0 {
			a.State = runner.StateRunning
		}
	})
	ctx := context.Background()
	for b.Loop() {
		if _, ok, err := s.NextDeadline(ctx); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkPutFunction(b *testing.B) {
	for _, tt := range []struct {
		name    string
		replace bool
	}{{"create", false}, {"replace", true}} {
		b.Run(tt.name, func(b *testing.B) {
			s := benchStore(b, "FULL")
			ctx := context.Background()
			if tt.replace {
				if _, err := s.PutFunction(ctx, testFunction("fn")); err != nil {
					b.Fatal(err)
				}
			}
			i := 0
			for b.Loop() {
				name := "fn"
				if !tt.replace {
					name = fmt.Sprintf("fn-%d", i)
				}
				// A new updated_at each time: SQLite skips writing a row that does not change.
				f := testFunction(name, func(f *runner.Function) { f.UpdatedAt = t0.Add(time.Duration(i)) })
				i++
				created, err := s.PutFunction(ctx, f)
				if err != nil || created == tt.replace {
					b.Fatal(created, err)
				}
			}
		})
	}
}

func BenchmarkFunctionByName(b *testing.B) {
	s := benchStore(b, "FULL")
	ctx := context.Background()
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("fn-%d", i)
		if _, err := s.PutFunction(ctx, testFunction(names[i])); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Function(ctx, names[rand.IntN(len(names))]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
