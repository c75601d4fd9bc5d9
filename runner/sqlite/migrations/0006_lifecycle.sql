-- Idle timeouts, pause and lifecycle webhooks (see docs/sandboxes.md).
-- Times and durations are unix nanoseconds and nanoseconds, 0 meaning unset,
-- as in 0001. Existing agents have no idle timeout and no webhook, which is
-- what the defaults say.
ALTER TABLE agents ADD COLUMN idle_timeout    INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN idle_expires_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN webhook_url     TEXT    NOT NULL DEFAULT '';
-- warn_before is how long before expires_at the "expiring" event is due, so
-- that a PATCH of the deadline moves warn_at with it; warn_at is 0 once sent.
ALTER TABLE agents ADD COLUMN warn_before     INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN warn_at         INTEGER NOT NULL DEFAULT 0;

-- A paused agent's hard deadline still runs: the reaper's index now holds it.
DROP INDEX agents_live_expires;
CREATE INDEX agents_live_expires ON agents (expires_at)
	WHERE state IN ('pending', 'running', 'paused') AND expires_at > 0;

-- Only a running agent idles out: a paused one's idle clock is stopped.
CREATE INDEX agents_idle_expires ON agents (idle_expires_at)
	WHERE state = 'running' AND idle_expires_at > 0;

-- "expiring" warnings still to send.
CREATE INDEX agents_warn ON agents (warn_at)
	WHERE state IN ('pending', 'running', 'paused') AND warn_at > 0;

-- The webhook outbox: each row is one event, written in the same transaction
-- as the state change it reports, so a kill -9 loses none. id is the event's
-- id, which receivers dedupe by; each agent's events are sent in id order.
CREATE TABLE webhooks (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	agent_id   TEXT    NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
	url        TEXT    NOT NULL,
	type       TEXT    NOT NULL, -- state or expiring
	state      TEXT    NOT NULL,
	reason     TEXT    NOT NULL DEFAULT '',
	message    TEXT    NOT NULL DEFAULT '',
	exit_code  INTEGER,
	time       INTEGER NOT NULL DEFAULT 0,
	expires_at INTEGER NOT NULL DEFAULT 0,
	status     TEXT    NOT NULL DEFAULT 'pending', -- pending, delivered or failed
	attempts   INTEGER NOT NULL DEFAULT 0
);

-- The backlog, per agent in order; the index holds only pending rows.
CREATE INDEX webhooks_pending ON webhooks (agent_id, id) WHERE status = 'pending';
