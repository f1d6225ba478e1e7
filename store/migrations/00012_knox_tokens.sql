-- +goose Up
-- django-rest-knox tokens carried over from a Django project, kept as knox
-- keeps them (knox_authtoken): digest is knox's hex hash of the token (no
-- token is stored), token_key the token's first characters by which a
-- presented token is looked up (not unique), salt set only on rows of
-- knox 4.1 and older, expiry NULL for a token that never expires.
CREATE TABLE knox_tokens (
    digest    TEXT PRIMARY KEY,
    token_key TEXT NOT NULL,
    salt      TEXT NOT NULL DEFAULT '',
    user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created   BIGINT NOT NULL,
    expiry    BIGINT
);
CREATE INDEX knox_tokens_token_key ON knox_tokens (token_key);
CREATE INDEX knox_tokens_user ON knox_tokens (user_id);
CREATE INDEX knox_tokens_expiry ON knox_tokens (expiry);

-- +goose Down
DROP TABLE knox_tokens;
