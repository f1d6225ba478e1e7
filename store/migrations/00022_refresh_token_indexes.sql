-- +goose Up
-- Fewer index entries written per refresh-token rotation, the busiest
-- write path (a rotation inserts a refresh token and revokes the one it
-- replaces). access_token_id's index served no query: nothing looks a
-- refresh token up by its access token. grant_id is set only for tokens
-- issued from an authorization code, expires only when refresh tokens have
-- a lifetime (never, by default), revoked only once a token is rotated or
-- revoked; every query on them names a value (grant_id = ?, expires < ?,
-- revoked < ?), which no NULL matches, so partial indexes without the NULLs
-- serve them all (TestCleanupQueriesUseIndexes).
DROP INDEX oauth_refresh_tokens_access;
DROP INDEX oauth_refresh_tokens_grant;
CREATE INDEX oauth_refresh_tokens_grant ON oauth_refresh_tokens (grant_id) WHERE grant_id IS NOT NULL;
DROP INDEX oauth_refresh_tokens_expires;
CREATE INDEX oauth_refresh_tokens_expires ON oauth_refresh_tokens (expires) WHERE expires IS NOT NULL;
DROP INDEX oauth_refresh_tokens_revoked;
CREATE INDEX oauth_refresh_tokens_revoked ON oauth_refresh_tokens (revoked) WHERE revoked IS NOT NULL;

-- +goose Down
DROP INDEX oauth_refresh_tokens_revoked;
CREATE INDEX oauth_refresh_tokens_revoked ON oauth_refresh_tokens (revoked);
DROP INDEX oauth_refresh_tokens_expires;
CREATE INDEX oauth_refresh_tokens_expires ON oauth_refresh_tokens (expires);
DROP INDEX oauth_refresh_tokens_grant;
CREATE INDEX oauth_refresh_tokens_grant ON oauth_refresh_tokens (grant_id);
CREATE INDEX oauth_refresh_tokens_access ON oauth_refresh_tokens (access_token_id);
