-- +goose Up
-- The serving replicas seen (the admin's status page): each records
-- itself every minute (gatehouse.ReplicaBeat) and its row is deleted a few
-- minutes after its last record (gatehouse.ReplicaExpiry). Times are
-- microseconds since the epoch.
CREATE TABLE replicas (
    id        TEXT PRIMARY KEY,
    host      TEXT NOT NULL,
    version   TEXT NOT NULL,
    started   BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
CREATE INDEX replicas_last_seen ON replicas (last_seen);

-- +goose Down
DROP TABLE replicas;
