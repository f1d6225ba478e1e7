-- +goose Up
-- The audit log: one row per security event. No foreign keys: the events
-- of a deleted user or application stay until the retention removes them.
-- user_id and actor_id are 0 for none; source is the client's address as
-- text ('' without a request); detail is a JSON object of strings. No
-- column holds a secret.
CREATE TABLE audit_events (
    id         {{id}},
    at         BIGINT NOT NULL,
    event      TEXT NOT NULL,
    user_id    BIGINT NOT NULL DEFAULT 0,
    actor_id   BIGINT NOT NULL DEFAULT 0,
    client_id  TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL DEFAULT '',
    request_id TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '{}'
);
-- Listings are newest first within a time range (at), optionally for one
-- user, client or event: each index leads with the filter and ends with
-- the order. The retention deletes by at. Events without a user (client
-- credentials, the bulk of them on a busy machine-to-machine server) or
-- without a client stay out of those two indexes; a query uses them by
-- repeating the index's condition.
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_user ON audit_events (user_id, at) WHERE user_id <> 0;
CREATE INDEX audit_events_client ON audit_events (client_id, at) WHERE client_id <> '';
CREATE INDEX audit_events_event ON audit_events (event, at);

-- +goose Down
DROP TABLE audit_events;
