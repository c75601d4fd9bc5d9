-- What the OpenFaaS provider API gives a function beyond podrun's own fields,
-- kept so a function is returned with the fields it was given. Secret values
-- are not here: Podman's secret store holds them; a function keeps their names.
ALTER TABLE functions ADD COLUMN labels      TEXT    NOT NULL DEFAULT '{}'; -- JSON object
ALTER TABLE functions ADD COLUMN annotations TEXT    NOT NULL DEFAULT '{}'; -- JSON object
ALTER TABLE functions ADD COLUMN secrets     TEXT    NOT NULL DEFAULT '[]'; -- JSON array of names
ALTER TABLE functions ADD COLUMN env_process TEXT    NOT NULL DEFAULT '';
ALTER TABLE functions ADD COLUMN req_memory  INTEGER NOT NULL DEFAULT 0;   -- bytes, recorded only
ALTER TABLE functions ADD COLUMN req_cpus    REAL    NOT NULL DEFAULT 0;   -- recorded only
