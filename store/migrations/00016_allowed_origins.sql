-- +goose Up
-- The browser origins each application may call the token, revocation and
-- introspection endpoints from (DOT 2's Application.allowed_origins):
-- space-separated origins in lower case, '' for none.
ALTER TABLE oauth_applications ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE oauth_applications DROP COLUMN allowed_origins;
