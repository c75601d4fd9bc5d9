-- Functions (stored recipes for invocations) and the results of asynchronous
-- invocations. Times are unix nanoseconds in UTC, 0 meaning unset, as in 0001.

-- Existing agents were all synchronous, cold-started and without a callback,
-- which is what the defaults say.
ALTER TABLE agents ADD COLUMN async        INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN callback_url TEXT    NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN start        TEXT    NOT NULL DEFAULT '';

-- Listing agents by function is served by agents_function_id from 0001.

CREATE TABLE functions (
	name            TEXT    PRIMARY KEY,
	image           TEXT    NOT NULL,
	command         TEXT    NOT NULL DEFAULT '[]', -- JSON array
	env             TEXT    NOT NULL DEFAULT '{}', -- JSON object
	memory          INTEGER NOT NULL DEFAULT 0,
	cpus            REAL    NOT NULL DEFAULT 0,
	pids            INTEGER NOT NULL DEFAULT 0,
	timeout         INTEGER NOT NULL DEFAULT 0, -- nanoseconds
	warm            INTEGER NOT NULL DEFAULT 0,
	max_concurrency INTEGER NOT NULL DEFAULT 0,
	max_output      INTEGER NOT NULL DEFAULT 0, -- bytes
	created_at      INTEGER NOT NULL DEFAULT 0,
	updated_at      INTEGER NOT NULL DEFAULT 0
);

-- A result belongs to its agent and is pruned with it.
CREATE TABLE results (
	agent_id          TEXT    PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
	exit_code         INTEGER NOT NULL DEFAULT 0,
	output            BLOB    NOT NULL DEFAULT x'',
	truncated         INTEGER NOT NULL DEFAULT 0,
	created_at        INTEGER NOT NULL DEFAULT 0,
	callback_url      TEXT    NOT NULL DEFAULT '',
	callback_status   TEXT    NOT NULL DEFAULT '', -- '', pending, delivered or failed
	callback_attempts INTEGER NOT NULL DEFAULT 0
);

-- Callbacks still to deliver, oldest first: the index holds only pending rows,
-- so it stays as small as the delivery backlog.
CREATE INDEX results_pending_callbacks ON results (created_at, agent_id)
	WHERE callback_status = 'pending';
