-- +goose Up
-- A record of each browser session a login starts (gatehouse.BrowserSession):
-- what lets an administrator list a user's sessions and end one alone.
-- The session itself stays in its sealed cookie; the row holds the hash of
-- its id, never the id. revoked is set by a logout or a revocation; rows
-- are deleted once the session has expired anyway (StartSession deletes a
-- few each time). Times are microseconds since the epoch.
CREATE TABLE sessions (
    id         {{id}},
    id_hash    {{bytes}} NOT NULL UNIQUE,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created    BIGINT NOT NULL,
    expires    BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    revoked    BIGINT,
    user_agent TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id, created);
CREATE INDEX sessions_expires ON sessions (expires);

-- +goose Down
DROP TABLE sessions;
