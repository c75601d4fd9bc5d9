package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/podrun/podrun/runner"
)

const usageColumns = `agent_id, sampled_at, samples, memory_bytes, memory_peak, memory_byte_seconds,
	pids, pids_peak, cpu_percent, cpu_seconds, block_read, block_write, tmp_used, tmp_size,
	periods, throttled_periods, oom_kills, alerts`

// saveUsageSQL replaces an agent's row; the SELECT drops the usage of an agent pruned meanwhile.
const saveUsageSQL = `INSERT OR REPLACE INTO usage (` + usageColumns + `)
	SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM agents WHERE id = ?)`

// SaveUsage stores each agent's usage, replacing the previous, in one transaction.
func (s *Store) SaveUsage(ctx context.Context, us []runner.Usage) error {
	if len(us) == 0 {
		return nil
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, saveUsageSQL)
		if err != nil {
			return fmt.Errorf("save usage: %w", err)
		}
		defer stmt.Close()
		for _, u := range us {
			_, err := stmt.ExecContext(ctx, u.AgentID, nanos(u.SampledAt), u.Samples,
				int64(u.MemoryBytes), int64(u.MemoryPeak), u.MemoryByteSeconds,
				int64(u.PIDs), int64(u.PIDsPeak), u.CPUPercent, u.CPUSeconds,
				int64(u.BlockRead), int64(u.BlockWrite), int64(u.TmpUsed), int64(u.TmpSize),
				int64(u.Periods), int64(u.ThrottledPeriods), int64(u.OOMKills), strings.Join(u.Alerts, ","), u.AgentID)
			if err != nil {
				return fmt.Errorf("save usage of agent %s: %w", u.AgentID, err)
			}
		}
		return nil
	})
}

// Usage returns an agent's stored usage, or ErrNotFound if it was never sampled.
func (s *Store) Usage(ctx context.Context, agentID string) (runner.Usage, error) {
	var (
		u                                                      runner.Usage
		sampledAt, mem, memPeak, pids, pidsPeak                int64
		blockRead, blockWrite, tmpUsed, tmpSize, per, throttle int64
		oomKills                                               int64
		alerts                                                 string
	)
	err := s.reader.QueryRowContext(ctx, `SELECT `+usageColumns+` FROM usage WHERE agent_id = ?`, agentID).Scan(
		&u.AgentID, &sampledAt, &u.Samples, &mem, &memPeak, &u.MemoryByteSeconds,
		&pids, &pidsPeak, &u.CPUPercent, &u.CPUSeconds, &blockRead, &blockWrite, &tmpUsed, &tmpSize,
		&per, &throttle, &oomKills, &alerts)
	if errors.Is(err, sql.ErrNoRows) {
		err = runner.ErrNotFound
	}
	if err != nil {
		return runner.Usage{}, fmt.Errorf("usage of agent %s: %w", agentID, err)
	}
	u.SampledAt = fromNanos(sampledAt)
	u.MemoryBytes, u.MemoryPeak, u.PIDs, u.PIDsPeak = uint64(mem), uint64(memPeak), uint64(pids), uint64(pidsPeak)
	u.BlockRead, u.BlockWrite, u.TmpUsed, u.TmpSize = uint64(blockRead), uint64(blockWrite), uint64(tmpUsed), uint64(tmpSize)
	u.Periods, u.ThrottledPeriods, u.OOMKills = uint64(per), uint64(throttle), uint64(oomKills)
	if alerts != "" {
		u.Alerts = strings.Split(alerts, ",")
	}
	return u, nil
}
