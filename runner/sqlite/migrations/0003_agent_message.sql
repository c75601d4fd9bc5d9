-- Why an agent ended, in words: the container runtime's message for reason
-- error, "exited with code N" for reason exit, and so on. Agents that ended
-- before this column existed have none, which is what the default says.
ALTER TABLE agents ADD COLUMN message TEXT NOT NULL DEFAULT '';
