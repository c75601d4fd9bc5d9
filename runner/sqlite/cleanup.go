package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/podrun/podrun/runner"
)

// Unremoved returns agents in state whose container may still exist and that
// finished before the cutoff, oldest first; limit <= 0 means no limit.
func (s *Store) Unremoved(ctx context.Context, state runner.State, finishedBefore time.Time, limit int) ([]runner.Agent, error) {
	rows, err := s.reader.QueryContext(ctx, selectAgent+` WHERE removed_at = 0 AND state = ?
		AND finished_at > 0 AND finished_at < ? AND container_id <> ''
		ORDER BY finished_at, id LIMIT ?`,
		string(state), nanos(finishedBefore), sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("unremoved %s agents: %w", state, err)
	}
	agents, err := scanAgents(rows)
	if err != nil {
		return nil, fmt.Errorf("unremoved %s agents: %w", state, err)
	}
	return agents, nil
}

// Prune deletes final agents finished before the cutoff whose container is gone
// or never existed; their events and logs go by ON DELETE CASCADE.
func (s *Store) Prune(ctx context.Context, finishedBefore time.Time) (int, error) {
	// One statement is one transaction: the agents and their cascaded rows go together.
	res, err := s.writer.ExecContext(ctx, `DELETE FROM agents WHERE finished_at > 0 AND finished_at < ?
		AND state IN (`+inList(finalStates...)+`) AND (removed_at > 0 OR container_id = '')`,
		nanos(finishedBefore))
	var n int64
	if err == nil {
		// SQLite counts only the agents here, not the cascaded events and logs.
		n, err = res.RowsAffected()
	}
	if err != nil {
		return 0, fmt.Errorf("prune agents finished before %s: %w", finishedBefore.UTC().Format(time.RFC3339), err)
	}
	return int(n), nil
}
