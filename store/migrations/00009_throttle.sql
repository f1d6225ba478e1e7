-- +goose Up
-- The counters of throttling and failed-login tracking (package throttle),
-- shared by every replica. n is a count (0 for a rate bucket); at is the
-- last time it was added to, or a rate bucket's theoretical arrival time;
-- a row past expires reads as absent and is deleted by the cleanup.
CREATE TABLE throttle_counters (
    key TEXT PRIMARY KEY,
    n BIGINT NOT NULL,
    at BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX throttle_counters_expires ON throttle_counters (expires);

-- +goose Down
DROP TABLE throttle_counters;
