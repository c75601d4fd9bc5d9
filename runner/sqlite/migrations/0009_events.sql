-- The host-wide event stream and usage summaries.

-- GET /v1/events?type=...: events of some types, by id.
CREATE INDEX events_type_id ON events (type, id);

-- GET /v1/usage: the agents created in a window, with every column a summary
-- reads but the labels, so a summary by function or state reads the index
-- alone and never the wide agent rows (command, env, stdin).
CREATE INDEX agents_usage ON agents (created_at, function, state, reason, start, started_at, finished_at, memory, cpus);
