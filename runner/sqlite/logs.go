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
func (s *Store) SaveLogs(ctx context.Context, agentID string, lines []runner.LogLine) error {
	blob, err := encodeLines(lines)
	if err != nil {
		return fmt.Errorf("save logs of agent %s: %w", agentID, err)
	}
	_, err = s.writer.ExecContext(ctx, `INSERT INTO logs (agent_id, lines) VALUES (?, ?)
		ON CONFLICT (agent_id) DO UPDATE SET lines = excluded.lines, stdout = x'', stderr = x''`,
		agentID, blob)
	if isConstraint(err, sqlite3.ErrConstraintForeignKey) {
		err = runner.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("save logs of agent %s: %w", agentID, err)
	}
	return nil
}

// Logs returns the saved output tail in log order, or ErrNotFound if none
// was saved. A tail saved before lines were kept (stdout and stderr apart)
// reads as its stdout lines, then its stderr lines, without times.
func (s *Store) Logs(ctx context.Context, agentID string) ([]runner.LogLine, error) {
	var lines, stdout, stderr []byte
	err := s.reader.QueryRowContext(ctx, `SELECT lines, stdout, stderr FROM logs WHERE agent_id = ?`, agentID).
		Scan(&lines, &stdout, &stderr)
	if errors.Is(err, sql.ErrNoRows) {
		err = runner.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("logs of agent %s: %w", agentID, err)
	}
	if lines == nil {
		return legacyLines(stdout, stderr), nil
	}
	out, err := decodeLines(lines)
	if err != nil {
		return nil, fmt.Errorf("logs of agent %s: %w", agentID, err)
	}
	return out, nil
}

// nonNil binds an absent blob as an empty one, for NOT NULL columns.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
