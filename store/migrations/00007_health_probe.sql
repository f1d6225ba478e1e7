-- +goose Up
-- One row that readiness checks rewrite: a database that answers reads but
-- cannot take a write (a full disk, a read-only file or mount) is not ready.
CREATE TABLE health_probe (
    id BIGINT PRIMARY KEY,
    at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE health_probe;
