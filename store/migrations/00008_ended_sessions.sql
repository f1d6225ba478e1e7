-- +goose Up
-- Browser sessions ended by a logout before they expired. A session lives
-- in a sealed cookie; this row is what makes a copy of it stop working.
-- Rows are deleted once the session has expired anyway.
CREATE TABLE ended_sessions (
    id_hash {{bytes}} PRIMARY KEY,
    expires BIGINT NOT NULL
);
CREATE INDEX ended_sessions_expires ON ended_sessions (expires);

-- +goose Down
DROP TABLE ended_sessions;
