-- How an agent or function is confined beyond podrun's hardening: its
-- isolation (runc, the host kernel behind podrun's seccomp profile, or
-- gvisor) and its egress allow list (a JSON array of rules; [] is no network).
-- Rows from before these columns existed ran under runc without a network,
-- which is what the defaults say.
ALTER TABLE agents ADD COLUMN isolation TEXT NOT NULL DEFAULT 'runc';
ALTER TABLE agents ADD COLUMN egress TEXT NOT NULL DEFAULT '[]';
ALTER TABLE functions ADD COLUMN isolation TEXT NOT NULL DEFAULT 'runc';
ALTER TABLE functions ADD COLUMN egress TEXT NOT NULL DEFAULT '[]';
