-- What the resource monitor measured of each agent: its latest sample, its
-- peaks and totals, and the alerts up at that sample. One row per agent,
-- replaced at every sample and kept after the agent ends (it goes with the
-- agent when the agent is pruned). Sizes in bytes, times in Unix nanoseconds.
CREATE TABLE usage (
	agent_id            TEXT    PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
	sampled_at          INTEGER NOT NULL,
	samples             INTEGER NOT NULL,
	memory_bytes        INTEGER NOT NULL,
	memory_peak         INTEGER NOT NULL,
	memory_byte_seconds REAL    NOT NULL,
	pids                INTEGER NOT NULL,
	pids_peak           INTEGER NOT NULL,
	cpu_percent         REAL    NOT NULL,
	cpu_seconds         REAL    NOT NULL,
	block_read          INTEGER NOT NULL,
	block_write         INTEGER NOT NULL,
	tmp_used            INTEGER NOT NULL,
	tmp_size            INTEGER NOT NULL,
	periods             INTEGER NOT NULL,
	throttled_periods   INTEGER NOT NULL,
	oom_kills           INTEGER NOT NULL, -- the kernel's count in the memory cgroup
	alerts              TEXT    NOT NULL -- the kinds up, comma-separated
) WITHOUT ROWID;
