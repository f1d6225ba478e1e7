-- +goose Up
-- OpenID Connect: when the user authenticated (the login that a code was
-- issued under, carried by the refresh tokens descended from it, so that
-- an id_token on refresh names the original authentication), and the
-- URIs an application may be sent to after RP-initiated logout (DOT's
-- post_logout_redirect_uris, whitespace-separated, matched exactly).
ALTER TABLE oauth_grants ADD COLUMN auth_time BIGINT;
ALTER TABLE oauth_refresh_tokens ADD COLUMN auth_time BIGINT;
ALTER TABLE oauth_applications ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE oauth_applications DROP COLUMN post_logout_redirect_uris;
ALTER TABLE oauth_refresh_tokens DROP COLUMN auth_time;
ALTER TABLE oauth_grants DROP COLUMN auth_time;
