-- +goose Up
-- Device authorizations (RFC 8628). Both codes are kept only as hashes:
-- device_code_hash is the SHA-256 of the device code, user_code_hash that
-- of the normalised user code (upper case, no dash), unique so that it
-- names one grant. interval is in seconds; last_poll, decided_at and
-- redeemed_at are unix microseconds like every time here.
CREATE TABLE oauth_device_grants (
    id               {{id}},
    device_code_hash {{bytes}} NOT NULL UNIQUE,
    user_code_hash   {{bytes}} NOT NULL UNIQUE,
    application_id   BIGINT NOT NULL REFERENCES oauth_applications (id) ON DELETE CASCADE,
    scope            TEXT NOT NULL DEFAULT '',
    created          BIGINT NOT NULL,
    expires          BIGINT NOT NULL,
    poll_interval    BIGINT NOT NULL,
    last_poll        BIGINT,
    status           TEXT NOT NULL DEFAULT 'pending',
    user_id          BIGINT REFERENCES users (id) ON DELETE CASCADE,
    decided_at       BIGINT,
    redeemed_at      BIGINT
);
CREATE INDEX oauth_device_grants_expires ON oauth_device_grants (expires);

-- +goose Down
DROP INDEX oauth_device_grants_expires;
DROP TABLE oauth_device_grants;
