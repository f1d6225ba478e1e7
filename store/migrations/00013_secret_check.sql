-- +goose Up
-- A check value of the server secret (an HMAC of a fixed label under it,
-- from which the secret cannot be read back): every DRF key and OAuth
-- client secret stored depends on the secret, so gatehouse refuses to
-- start or load with another one instead of failing every login later.
CREATE TABLE secret_check (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    value   {{bytes}} NOT NULL,
    created BIGINT NOT NULL
);

-- +goose Down
DROP TABLE secret_check;
