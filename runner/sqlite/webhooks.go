package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/podrun/podrun/runner"
)

const webhookColumns = `id, agent_id, url, type, state, reason, message, exit_code, time, expires_at, status, attempts`

// addWebhook puts one event of agent a into the outbox, inside the
// transaction that changed a, so the event is durable exactly when the
// change is; an agent without a webhook URL gets none.
func addWebhook(ctx context.Context, tx *sql.Tx, a runner.Agent, typ string, at time.Time) error {
	if a.WebhookURL == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO webhooks
		(agent_id, url, type, state, reason, message, exit_code, time, expires_at, status)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.WebhookURL, typ, string(a.State), a.Reason, a.Message, exitCodeArg(a.ExitCode),
		nanos(at), nanos(a.ExpiresAt), runner.CallbackPending)
	if err != nil {
		return fmt.Errorf("queue webhook: %w", err)
	}
	return nil
}

// Warn puts agent id's "expiring" event into the outbox and clears its
// warn_at, in one transaction; sent is false if the warning was not due any
// more (sent already, or the agent is no longer live).
func (s *Store) Warn(ctx context.Context, id string, at time.Time) (sent bool, err error) {
	err = s.write(ctx, func(tx *sql.Tx) error {
		a, err := scanAgent(tx.QueryRowContext(ctx, `UPDATE agents SET warn_at = 0
			WHERE id = ? AND `+warning+` RETURNING `+agentColumns, id))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		sent = true
		return addWebhook(ctx, tx, a, runner.WebhookExpiring, at)
	})
	if err != nil {
		return false, fmt.Errorf("warn agent %s: %w", id, err)
	}
	return sent, nil
}

// WebhookBacklog returns the agents with webhook events still to deliver, oldest event first.
func (s *Store) WebhookBacklog(ctx context.Context) ([]string, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT agent_id FROM webhooks WHERE status = 'pending'
		GROUP BY agent_id ORDER BY MIN(id)`)
	if err != nil {
		return nil, fmt.Errorf("webhook backlog: %w", err)
	}
	ids, err := scanAll(rows, func(r scanner) (string, error) {
		var id string
		err := r.Scan(&id)
		return id, err
	})
	if err != nil {
		return nil, fmt.Errorf("webhook backlog: %w", err)
	}
	return ids, nil
}

// PendingWebhooks returns agent id's events still to deliver, in the order they happened.
func (s *Store) PendingWebhooks(ctx context.Context, agentID string) ([]runner.WebhookEvent, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT `+webhookColumns+` FROM webhooks
		WHERE agent_id = ? AND status = 'pending' ORDER BY id`, agentID)
	if err != nil {
		return nil, fmt.Errorf("pending webhooks of agent %s: %w", agentID, err)
	}
	evs, err := scanAll(rows, scanWebhook)
	if err != nil {
		return nil, fmt.Errorf("pending webhooks of agent %s: %w", agentID, err)
	}
	return evs, nil
}

// SaveWebhook records a delivery attempt: the event's status and attempts.
func (s *Store) SaveWebhook(ctx context.Context, e runner.WebhookEvent) error {
	res, err := s.writer.ExecContext(ctx, `UPDATE webhooks SET status = ?, attempts = ? WHERE id = ?`,
		e.Status, e.Attempts, e.ID)
	if err := foundIfChanged(res, err); err != nil {
		return fmt.Errorf("save webhook %d: %w", e.ID, err)
	}
	return nil
}

func scanWebhook(row scanner) (runner.WebhookEvent, error) {
	var (
		e            runner.WebhookEvent
		exitCode     sql.NullInt64
		at, expires  int64
		state, agent string
	)
	err := row.Scan(&e.ID, &agent, &e.URL, &e.Type, &state, &e.Reason, &e.Message, &exitCode,
		&at, &expires, &e.Status, &e.Attempts)
	if err != nil {
		return runner.WebhookEvent{}, err
	}
	e.AgentID, e.State = agent, runner.State(state)
	if exitCode.Valid {
		code := int(exitCode.Int64)
		e.ExitCode = &code
	}
	e.Time, e.ExpiresAt = fromNanos(at), fromNanos(expires)
	return e, nil
}
