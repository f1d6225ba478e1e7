-- +goose Up
-- A refresh token gatehouse issues is split (secret/split.go): its row is
-- stored under its selector's key, holds the SHA-256 of its current token
-- (secret) and of the one before (previous_secret, rotated at rotated,
-- with its expiry, previous_expires), and a rotation rewrites these in
-- place. secret is NULL on a row of one token (imported from Django, or
-- issued before this migration), which a rotation revokes as before. None
-- of the four is indexed: PostgreSQL then updates the row without an index
-- entry (a HOT update).
ALTER TABLE oauth_refresh_tokens ADD COLUMN secret {{bytes}} NULL;
ALTER TABLE oauth_refresh_tokens ADD COLUMN previous_secret {{bytes}} NULL;
ALTER TABLE oauth_refresh_tokens ADD COLUMN rotated BIGINT NULL;
ALTER TABLE oauth_refresh_tokens ADD COLUMN previous_expires BIGINT NULL;

-- +goose Down
ALTER TABLE oauth_refresh_tokens DROP COLUMN previous_expires;
ALTER TABLE oauth_refresh_tokens DROP COLUMN rotated;
ALTER TABLE oauth_refresh_tokens DROP COLUMN previous_secret;
ALTER TABLE oauth_refresh_tokens DROP COLUMN secret;
