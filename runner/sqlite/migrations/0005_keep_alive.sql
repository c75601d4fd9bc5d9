-- A keep-alive agent runs no command of its own: its PID 1 is podrun's shim
-- waiting for signals, so it lives until its TTL or DELETE. Agents created
-- before this column existed were not keep-alive.
ALTER TABLE agents ADD COLUMN keep_alive INTEGER NOT NULL DEFAULT 0;
