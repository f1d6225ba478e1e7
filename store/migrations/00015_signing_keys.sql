-- +goose Up
-- The signing keys of id_tokens and JWT access tokens (package keys),
-- shared by every replica. private_sealed is the PKCS#8 key sealed under
-- the server secret, never the key in clear; public_key is its public JWK.
-- Times are microseconds since the epoch; signs_until and published_until
-- are NULL while not scheduled.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    algorithm TEXT NOT NULL,
    public_key {{bytes}} NOT NULL,
    private_sealed {{bytes}} NOT NULL,
    created BIGINT NOT NULL,
    signs_from BIGINT NOT NULL,
    signs_until BIGINT,
    published_until BIGINT
);

-- +goose Down
DROP TABLE signing_keys;
