-- Agents, their history and their saved output.
-- Times are unix nanoseconds in UTC; 0 means unset so that indexes and
-- comparisons never have to deal with NULL.

CREATE TABLE agents (
	id              TEXT    PRIMARY KEY,
	function        TEXT    NOT NULL DEFAULT '',
	image           TEXT    NOT NULL,
	command         TEXT    NOT NULL DEFAULT '[]', -- JSON array
	env             TEXT    NOT NULL DEFAULT '{}', -- JSON object
	stdin           BLOB,
	state           TEXT    NOT NULL,
	reason          TEXT    NOT NULL DEFAULT '',
	exit_code       INTEGER,
	container_id    TEXT    NOT NULL DEFAULT '',
	memory          INTEGER NOT NULL DEFAULT 0,
	cpus            REAL    NOT NULL DEFAULT 0,
	pids            INTEGER NOT NULL DEFAULT 0,
	limits_enforced INTEGER NOT NULL DEFAULT 0,
	labels          TEXT    NOT NULL DEFAULT '{}', -- JSON object
	created_at      INTEGER NOT NULL DEFAULT 0,
	started_at      INTEGER NOT NULL DEFAULT 0,
	finished_at     INTEGER NOT NULL DEFAULT 0,
	expires_at      INTEGER NOT NULL DEFAULT 0,
	removed_at      INTEGER NOT NULL DEFAULT 0
);

-- Listing newest first, optionally by state or function (IDs sort by creation time).
CREATE INDEX agents_state_id ON agents (state, id);
CREATE INDEX agents_function_id ON agents (function, id);

-- The reaper's next deadline: only agents that can still expire, so the index
-- stays as small as the number of live agents.
CREATE INDEX agents_live_expires ON agents (expires_at)
	WHERE state IN ('pending', 'running') AND expires_at > 0;

-- The sweeper's containers left to remove.
CREATE INDEX agents_unremoved ON agents (state, finished_at) WHERE removed_at = 0;

-- Pruning old finished agents.
CREATE INDEX agents_finished ON agents (finished_at) WHERE finished_at > 0;

CREATE TABLE events (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	agent_id TEXT    NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
	time     INTEGER NOT NULL DEFAULT 0,
	type     TEXT    NOT NULL,
	name     TEXT    NOT NULL,
	detail   TEXT    NOT NULL DEFAULT ''
);

-- History of one agent, and the cascade when the agent is pruned.
CREATE INDEX events_agent ON events (agent_id, id);

CREATE TABLE logs (
	agent_id TEXT PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
	stdout   BLOB NOT NULL DEFAULT x'',
	stderr   BLOB NOT NULL DEFAULT x''
);
