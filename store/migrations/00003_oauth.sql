-- +goose Up
-- family_expires: the absolute deadline of a refresh-token family (the
-- optional absolute refresh lifetime); rotations never move it.
ALTER TABLE oauth_refresh_tokens ADD COLUMN family_expires BIGINT;
CREATE INDEX oauth_refresh_tokens_grant ON oauth_refresh_tokens (grant_id);
CREATE INDEX oauth_refresh_tokens_revoked ON oauth_refresh_tokens (revoked);
CREATE INDEX oauth_refresh_tokens_expires ON oauth_refresh_tokens (expires);
CREATE INDEX oauth_access_tokens_grant ON oauth_access_tokens (grant_id);
CREATE INDEX oauth_access_tokens_app ON oauth_access_tokens (application_id);

-- +goose Down
DROP INDEX oauth_access_tokens_app;
DROP INDEX oauth_access_tokens_grant;
DROP INDEX oauth_refresh_tokens_expires;
DROP INDEX oauth_refresh_tokens_revoked;
DROP INDEX oauth_refresh_tokens_grant;
ALTER TABLE oauth_refresh_tokens DROP COLUMN family_expires;
