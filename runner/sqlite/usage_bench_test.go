package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

// BenchmarkUsageSummary sums up 100,000 finished agents of 20 functions,
// the whole window, grouped each way GET /v1/usage offers.
// Run with: go test -run '^$' -bench UsageSummary ./runner/sqlite/
func BenchmarkUsageSummary(b *testing.B) {
	s, err := open(filepath.Join(b.TempDir(), "podrun.db"), "NORMAL")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	const n = 100_000
	seed(b, s, n, func(i int, a *runner.Agent) {
		a.Function, a.Start = fmt.Sprintf("fn-%d", i%20), runner.StartCold
		a.Labels = map[string]string{"team": fmt.Sprintf("t%d", i%7)}
		a.State, a.StartedAt, a.FinishedAt = runner.StateSucceeded, a.CreatedAt, a.CreatedAt.Add(time.Duration(i%1000)*time.Millisecond)
	})
	for _, groupBy := range []string{runner.GroupByFunction, runner.GroupByState, runner.GroupByLabel + "team"} {
		b.Run("group_by="+groupBy, func(b *testing.B) {
			q := runner.UsageQuery{Since: t0, Until: t0.Add(time.Hour), GroupBy: groupBy}
			// CPU time says what a summary costs on a machine busy with other work, where wall time does not.
			cpu0 := cpuTime()
			defer func() { b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op") }()
			for b.Loop() {
				u, err := runner.SummarizeUsage(context.Background(), s, q)
				if err != nil {
					b.Fatal(err)
				}
				total := 0
				for _, g := range u.Groups {
					total += g.Agents
				}
				if total != n {
					b.Fatalf("summary counts %d agents, want %d", total, n)
				}
			}
		})
	}
}

// cpuTime is the CPU time this process has used, user and system, in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
