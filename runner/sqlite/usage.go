package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
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

// UsageTally aggregates in SQLite, in one pass over the window (served by
// agents_usage, 0009): a GROUP BY for the counts and sums, which also hands
// each cell's run times to Go as one group_concat text. Go sorts each group's
// run times for its exact nearest-rank 50th and 99th percentiles: eight bytes
// of memory per agent in the window, where a second pass with SQLite's window
// functions cost more than the whole first one.
func (s *Store) UsageTally(ctx context.Context, q runner.UsageQuery) (runner.UsageTally, error) {
	tally := runner.UsageTally{P50: map[string]time.Duration{}, P99: map[string]time.Duration{}}
	window, args := usageWindow(q)
	rows, err := s.reader.QueryContext(ctx, `SELECT key, function <> '', state, reason, start, COUNT(*),
		COUNT(run), COALESCE(SUM(run), 0), TOTAL(cpus * run), TOTAL(CAST(memory AS REAL) * run),
		SUM(cpu), MAX(mem_peak), SUM(mem_seconds), group_concat(run)
		FROM (`+window+`) GROUP BY 1, 2, 3, 4, 5`, args...)
	if err != nil {
		return tally, fmt.Errorf("usage: %w", err)
	}
	defer rows.Close()
	runs := map[string][]int64{} // run times by group key, in nanoseconds
	for rows.Next() {
		var (
			c               runner.UsageCell
			run             int64
			cpuRun, memRun  float64
			cpu, memSeconds sql.NullFloat64
			memPeak         sql.NullInt64
			runList         sql.NullString
		)
		if err := rows.Scan(&c.Key, &c.Invocation, &c.State, &c.Reason, &c.Start, &c.Agents,
			&c.Runs, &run, &cpuRun, &memRun, &cpu, &memPeak, &memSeconds, &runList); err != nil {
			return tally, fmt.Errorf("usage: %w", err)
		}
		if runList.Valid {
			if runs[c.Key], err = appendInts(runs[c.Key], runList.String); err != nil {
				return tally, fmt.Errorf("usage: run times of %q: %w", c.Key, err)
			}
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
	for key, r := range runs {
		slices.Sort(r)
		tally.P50[key], tally.P99[key] = time.Duration(nearestRank(r, 50)), time.Duration(nearestRank(r, 99))
	}
	return tally, nil
}

// nearestRank is the p-th percentile of sorted, non-empty values by the
// nearest-rank method: the smallest value at or above p% of them.
func nearestRank(sorted []int64, p int) int64 {
	return sorted[(p*len(sorted)+99)/100-1]
}

// appendInts appends the integers of group_concat's comma-separated text to dst.
func appendInts(dst []int64, text string) ([]int64, error) {
	for field := range strings.SplitSeq(text, ",") {
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return dst, err
		}
		dst = append(dst, n)
	}
	return dst, nil
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
