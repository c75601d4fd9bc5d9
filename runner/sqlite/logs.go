package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mattn/go-sqlite3"
	"github.com/podrun/podrun/runner"
)

// SaveLogs keeps the tail of an agent's output, replacing any earlier save.
func (s *Store) SaveLogs(ctx context.Context, agentID string, stdout, stderr []byte) error {
	_, err := s.writer.ExecContext(ctx, `INSERT INTO logs (agent_id, stdout, stderr) VALUES (?, ?, ?)
		ON CONFLICT (agent_id) DO UPDATE SET stdout = excluded.stdout, stderr = excluded.stderr`,
		agentID, nonNil(stdout), nonNil(stderr))
	if isConstraint(err, sqlite3.ErrConstraintForeignKey) {
		err = runner.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("save logs of agent %s: %w", agentID, err)
	}
	return nil
}

// Logs returns the saved output tail, or ErrNotFound if none was saved.
func (s *Store) Logs(ctx context.Context, agentID string) (stdout, stderr []byte, err error) {
	err = s.reader.QueryRowContext(ctx, `SELECT stdout, stderr FROM logs WHERE agent_id = ?`, agentID).
		Scan(&stdout, &stderr)
	if errors.Is(err, sql.ErrNoRows) {
		err = runner.ErrNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("logs of agent %s: %w", agentID, err)
	}
	return nonNil(stdout), nonNil(stderr), nil
}

// nonNil binds an absent stream as an empty blob, since the columns are NOT NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
