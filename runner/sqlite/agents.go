package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mattn/go-sqlite3"
	"github.com/podrun/podrun/runner"
)

// Page sizes for ListAgents.
const (
	// DefaultPageSize is used when the filter asks for no particular size.
	DefaultPageSize = 100
	// MaxPageSize bounds one page so a single request cannot read the whole table.
	MaxPageSize = 1000
)

// insertAgentSQL also keeps warn_before, the distance of the "expiring"
// warning from the deadline, so SetExpiresAt can move the warning along.
const insertAgentSQL = `INSERT INTO agents (` + agentColumns + `, warn_before)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// CreateAgent inserts the agent and its "created" state event in one durable transaction.
func (s *Store) CreateAgent(ctx context.Context, a runner.Agent) error {
	if a.ID == "" {
		return fmt.Errorf("create agent: %w", &runner.FieldError{Field: "id", Message: "is required"})
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := insertAgent(ctx, tx, a); err != nil {
			return err
		}
		if err := addWebhook(ctx, tx, a, runner.WebhookState, a.CreatedAt); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, runner.Event{
			AgentID: a.ID, Time: a.CreatedAt, Type: runner.EventState, Name: string(a.State), Detail: "created",
		})
	})
	if isConstraint(err, sqlite3.ErrConstraintPrimaryKey) {
		err = fmt.Errorf("id already exists: %w", runner.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create agent %s: %w", a.ID, err)
	}
	return nil
}

func insertAgent(ctx context.Context, tx *sql.Tx, a runner.Agent) error {
	command, err := encodeJSON(a.Command, "[]")
	if err != nil {
		return err
	}
	env, err := encodeJSON(a.Env, "{}")
	if err != nil {
		return err
	}
	labels, err := encodeJSON(a.Labels, "{}")
	if err != nil {
		return err
	}
	egress, err := encodeJSON(a.Egress, "[]")
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, insertAgentSQL,
		a.ID, a.Function, a.Image, command, env, a.Stdin, string(a.State), a.Reason, exitCodeArg(a.ExitCode),
		a.ContainerID, a.Limits.Memory, a.Limits.CPUs, a.Limits.PIDs, a.LimitsEnforced, labels,
		nanos(a.CreatedAt), nanos(a.StartedAt), nanos(a.FinishedAt), nanos(a.ExpiresAt), nanos(a.RemovedAt),
		a.Async, a.CallbackURL, a.Start, a.Message, a.KeepAlive,
		int64(a.IdleTimeout), nanos(a.IdleExpiresAt), a.WebhookURL, nanos(a.WarnAt), a.Isolation, egress, warnBefore(a))
	return err
}

// warnBefore is how long before its deadline a's "expiring" warning is due; 0 for none.
func warnBefore(a runner.Agent) int64 {
	if a.WarnAt.IsZero() || a.ExpiresAt.IsZero() {
		return 0
	}
	return max(int64(a.ExpiresAt.Sub(a.WarnAt)), 1)
}

// Agent returns one agent by ID from the read pool.
func (s *Store) Agent(ctx context.Context, id string) (runner.Agent, error) {
	a, err := scanAgent(s.agentByID.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = runner.ErrNotFound
	}
	if err != nil {
		return runner.Agent{}, fmt.Errorf("agent %s: %w", id, err)
	}
	return a, nil
}

// agentTx reads an agent inside a write transaction, to report the state that won a conflict.
func agentTx(ctx context.Context, tx *sql.Tx, id string) (runner.Agent, error) {
	a, err := scanAgent(tx.QueryRowContext(ctx, selectAgent+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return runner.Agent{}, runner.ErrNotFound
	}
	return a, err
}

// ListAgents returns one page, newest first; it fetches one extra row to know whether another page exists.
func (s *Store) ListAgents(ctx context.Context, f runner.AgentFilter) (runner.AgentPage, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultPageSize
	}
	limit = min(limit, MaxPageSize)

	var where []string
	var args []any
	if f.Cursor != "" {
		after, err := decodeCursor(f.Cursor)
		if err != nil {
			return runner.AgentPage{}, fmt.Errorf("list agents: %w", err)
		}
		where, args = append(where, `id < ?`), append(args, after)
	}
	switch len(f.States) {
	case 0:
	case 1:
		where, args = append(where, `state = ?`), append(args, string(f.States[0]))
	default:
		where, args = append(where, `state IN (SELECT value FROM json_each(?))`), append(args, statesJSON(f.States))
	}
	if f.Function != "" {
		where, args = append(where, `function = ?`), append(args, f.Function)
	}
	// json_each compares keys as data; a json_extract path built from the key
	// would misread keys holding '"' or '.'.
	for _, k := range slices.Sorted(maps.Keys(f.Labels)) {
		where = append(where, `EXISTS (SELECT 1 FROM json_each(agents.labels) AS l WHERE l.key = ? AND l.value = ?)`)
		args = append(args, k, f.Labels[k])
	}
	query := selectListed
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit+1)

	rows, err := s.reader.QueryContext(ctx, query, args...)
	if err != nil {
		return runner.AgentPage{}, fmt.Errorf("list agents: %w", err)
	}
	agents, err := scanAgents(rows)
	if err != nil {
		return runner.AgentPage{}, fmt.Errorf("list agents: %w", err)
	}
	page := runner.AgentPage{Agents: agents}
	if len(agents) > limit {
		page.Agents = agents[:limit]
		page.Next = encodeCursor(page.Agents[limit-1].ID)
	}
	return page, nil
}

// encodeCursor hides the last ID so clients treat the cursor as opaque.
func encodeCursor(lastID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(lastID))
}

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) == 0 || !utf8.Valid(b) {
		return "", &runner.FieldError{Field: "cursor", Message: "is not a cursor from a previous page"}
	}
	return string(b), nil
}

// LiveAgents returns every pending, running or terminating agent, oldest first.
func (s *Store) LiveAgents(ctx context.Context) ([]runner.Agent, error) {
	rows, err := s.reader.QueryContext(ctx, selectAgent+` WHERE state IN (`+inList(runner.LiveStates...)+`) ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("live agents: %w", err)
	}
	agents, err := scanAgents(rows)
	if err != nil {
		return nil, fmt.Errorf("live agents: %w", err)
	}
	return agents, nil
}

// CountByState counts agents per state, with a zero for every state that has none.
func (s *Store) CountByState(ctx context.Context) (map[runner.State]int, error) {
	counts := make(map[runner.State]int, len(runner.States))
	for _, st := range runner.States {
		counts[st] = 0
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT state, COUNT(*) FROM agents GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count agents by state: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st runner.State
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("count agents by state: %w", err)
		}
		counts[st] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count agents by state: %w", err)
	}
	return counts, nil
}
