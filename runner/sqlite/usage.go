package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/podrun/podrun/runner"
)

// The resource monitor's measures, per agent, as UsageTally reads them:
// usageMeasures selects CPU seconds, peak memory in bytes and memory
// byte-seconds (NULL for an agent never sampled) from the resource monitor's
// usage table (migration 0010), joined by usageJoin on its primary key.
const (
	usageMeasures = `u.cpu_seconds AS cpu, u.memory_peak AS mem_peak, u.memory_byte_seconds AS mem_seconds`
	usageJoin     = `LEFT JOIN usage AS u ON u.agent_id = a.id`
)

// UsageTally aggregates in SQLite, in two passes over the window (served by
// agents_created, 0009): one GROUP BY for the counts and sums, one window
// function for each group's run-time percentiles. Only a few rows per group
// reach Go, so the cost stays with SQLite's C loop however many agents match.
func (s *Store) UsageTally(ctx context.Context, q runner.UsageQuery) (runner.UsageTally, error) {
	tally := runner.UsageTally{P50: map[string]time.Duration{}, P99: map[string]time.Duration{}}
	window, args := usageWindow(q)
	rows, err := s.reader.QueryContext(ctx, `SELECT key, function <> '', state, reason, start, COUNT(*),
		COUNT(run), COALESCE(SUM(run), 0), TOTAL(cpus * run), TOTAL(CAST(memory AS REAL) * run),
		SUM(cpu), MAX(mem_peak), SUM(mem_seconds)
		FROM (`+window+`) GROUP BY 1, 2, 3, 4, 5`, args...)
	if err != nil {
		return tally, fmt.Errorf("usage: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			c               runner.UsageCell
			run             int64
			cpuRun, memRun  float64
			cpu, memSeconds sql.NullFloat64
			memPeak         sql.NullInt64
		)
		if err := rows.Scan(&c.Key, &c.Invocation, &c.State, &c.Reason, &c.Start, &c.Agents,
			&c.Runs, &run, &cpuRun, &memRun, &cpu, &memPeak, &memSeconds); err != nil {
			return tally, fmt.Errorf("usage: %w", err)
		}
		c.RunTime = time.Duration(run)
		c.ReservedCPUSeconds, c.ReservedMemorySeconds = cpuRun/1e9, memRun/1e9
		if cpu.Valid {
			c.CPUSeconds = &cpu.Float64
		}
		if memPeak.Valid {
			c.MemoryPeak = &memPeak.Int64
		}
		if memSeconds.Valid {
			c.MemorySeconds = &memSeconds.Float64
		}
		tally.Cells = append(tally.Cells, c)
	}
	if err := rows.Err(); err != nil {
		return tally, fmt.Errorf("usage: %w", err)
	}
	return tally, s.usagePercentiles(ctx, window, args, &tally)
}

// usagePercentiles reads the nearest-rank 50th and 99th percentile of each group's run times.
func (s *Store) usagePercentiles(ctx context.Context, window string, args []any, tally *runner.UsageTally) error {
	rows, err := s.reader.QueryContext(ctx, `SELECT key, rn, n, run FROM (
		SELECT key, run, ROW_NUMBER() OVER (PARTITION BY key ORDER BY run) AS rn, COUNT(*) OVER (PARTITION BY key) AS n
		FROM (`+window+`) WHERE run IS NOT NULL)
		WHERE rn = (50 * n + 99) / 100 OR rn = (99 * n + 99) / 100`, args...)
	if err != nil {
		return fmt.Errorf("usage percentiles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var rn, n, run int64
		if err := rows.Scan(&key, &rn, &n, &run); err != nil {
			return fmt.Errorf("usage percentiles: %w", err)
		}
		if rn == (50*n+99)/100 {
			tally.P50[key] = time.Duration(run)
		}
		if rn == (99*n+99)/100 {
			tally.P99[key] = time.Duration(run)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("usage percentiles: %w", err)
	}
	return nil
}

// usageWindow is the subquery of the agents created in q's window, one row
// each with its group key and its run time in nanoseconds (NULL unless it
// started and ended). The key is the function, the state, or one label's
// value (json_each compares the key as data, so any key is safe).
func usageWindow(q runner.UsageQuery) (string, []any) {
	key, args := `a.function`, []any{}
	switch {
	case q.GroupBy == runner.GroupByState:
		key = `a.state`
	case q.LabelKey() != "":
		key = `COALESCE((SELECT l.value FROM json_each(a.labels) AS l WHERE l.key = ?), '')`
		args = append(args, q.LabelKey())
	}
	return `SELECT ` + key + ` AS key, a.function, a.state, a.reason, a.start, a.memory, a.cpus,
		CASE WHEN a.started_at > 0 AND a.finished_at >= a.started_at THEN a.finished_at - a.started_at END AS run, ` +
			usageMeasures + ` FROM agents AS a ` + usageJoin + ` WHERE a.created_at >= ? AND a.created_at < ?`,
		append(args, nanos(q.Since), nanos(q.Until))
}
