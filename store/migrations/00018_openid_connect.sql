-- +goose Up
-- OpenID Connect: when the user authenticated (the login that a code was
-- issued under, carried by the refresh tokens descended from it, so that
-- an id_token on refresh names the original authentication), and the
-- URIs an application may be sent to after RP-initiated logout (DOT's
-- post_logout_redirect_uris, whitespace-separated, matched exactly), and
-- the format of its access tokens.
ALTER TABLE oauth_grants ADD COLUMN auth_time BIGINT;
ALTER TABLE oauth_refresh_tokens ADD COLUMN auth_time BIGINT;
ALTER TABLE oauth_applications ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '';
-- How the application's access tokens are made: '' (opaque, DOT's) or
-- 'jwt' (RFC 9068, signed with the signing keys, still stored by hash).
ALTER TABLE oauth_applications ADD COLUMN token_format TEXT NOT NULL DEFAULT '';
-- A nonce is used once per client while its code is kept (CreateGrant).
CREATE INDEX oauth_grants_app_nonce ON oauth_grants (application_id, nonce) WHERE nonce <> '';

-- +goose Down
DROP INDEX oauth_grants_app_nonce;
ALTER TABLE oauth_applications DROP COLUMN token_format;
ALTER TABLE oauth_applications DROP COLUMN post_logout_redirect_uris;
ALTER TABLE oauth_refresh_tokens DROP COLUMN auth_time;
ALTER TABLE oauth_grants DROP COLUMN auth_time;
