-- +goose Up
-- Times are unix microseconds (BIGINT) on every backend, so both dialects
-- share one representation. Credentials are stored only as SHA-256 hashes.
CREATE TABLE users (
    id           {{id}},
    username     TEXT NOT NULL UNIQUE,
    email        TEXT NOT NULL DEFAULT '',
    first_name   TEXT NOT NULL DEFAULT '',
    last_name    TEXT NOT NULL DEFAULT '',
    password     TEXT NOT NULL,
    is_active    BOOLEAN NOT NULL DEFAULT TRUE,
    is_staff     BOOLEAN NOT NULL DEFAULT FALSE,
    is_superuser BOOLEAN NOT NULL DEFAULT FALSE,
    date_joined  BIGINT NOT NULL,
    last_login   BIGINT,
    auth_epoch   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX users_email ON users (email);

CREATE TABLE drf_tokens (
    id         {{id}},
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_hash   {{bytes}} NOT NULL UNIQUE,
    key_sealed {{bytes}},
    prefix     TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    created    BIGINT NOT NULL,
    last_used  BIGINT,
    expires    BIGINT
);
CREATE INDEX drf_tokens_user ON drf_tokens (user_id);
CREATE UNIQUE INDEX drf_tokens_default ON drf_tokens (user_id) WHERE is_default;

CREATE TABLE jwt_tokens (
    id             {{id}},
    jti            TEXT NOT NULL UNIQUE,
    user_id        BIGINT REFERENCES users (id) ON DELETE CASCADE,
    family         TEXT NOT NULL DEFAULT '',
    created        BIGINT NOT NULL,
    expires        BIGINT NOT NULL,
    blacklisted_at BIGINT,
    rotated        BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX jwt_tokens_family ON jwt_tokens (family);
CREATE INDEX jwt_tokens_user ON jwt_tokens (user_id);
CREATE INDEX jwt_tokens_expires ON jwt_tokens (expires);

CREATE TABLE oauth_applications (
    id                 {{id}},
    client_id          TEXT NOT NULL UNIQUE,
    secret_hash        {{bytes}},
    client_type        TEXT NOT NULL,
    grant_types        TEXT NOT NULL,
    redirect_uris      TEXT NOT NULL DEFAULT '',
    name               TEXT NOT NULL DEFAULT '',
    user_id            BIGINT REFERENCES users (id) ON DELETE CASCADE,
    skip_authorization BOOLEAN NOT NULL DEFAULT FALSE,
    default_scopes     TEXT NOT NULL DEFAULT '',
    resource_server    BOOLEAN NOT NULL DEFAULT FALSE,
    algorithm          TEXT NOT NULL DEFAULT '',
    created            BIGINT NOT NULL,
    updated            BIGINT NOT NULL
);

CREATE TABLE oauth_grants (
    id                    {{id}},
    code_hash             {{bytes}} NOT NULL UNIQUE,
    application_id        BIGINT NOT NULL REFERENCES oauth_applications (id) ON DELETE CASCADE,
    user_id               BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri          TEXT NOT NULL DEFAULT '',
    scope                 TEXT NOT NULL DEFAULT '',
    code_challenge        TEXT NOT NULL DEFAULT '',
    code_challenge_method TEXT NOT NULL DEFAULT '',
    nonce                 TEXT NOT NULL DEFAULT '',
    created               BIGINT NOT NULL,
    expires               BIGINT NOT NULL,
    used_at               BIGINT
);
CREATE INDEX oauth_grants_expires ON oauth_grants (expires);

CREATE TABLE oauth_access_tokens (
    id             {{id}},
    token_hash     {{bytes}} NOT NULL UNIQUE,
    user_id        BIGINT REFERENCES users (id) ON DELETE CASCADE,
    application_id BIGINT REFERENCES oauth_applications (id) ON DELETE CASCADE,
    scope          TEXT NOT NULL DEFAULT '',
    family         TEXT NOT NULL DEFAULT '',
    grant_id       BIGINT,
    created        BIGINT NOT NULL,
    expires        BIGINT NOT NULL
);
CREATE INDEX oauth_access_tokens_family ON oauth_access_tokens (family);
CREATE INDEX oauth_access_tokens_user ON oauth_access_tokens (user_id);
CREATE INDEX oauth_access_tokens_expires ON oauth_access_tokens (expires);

CREATE TABLE oauth_refresh_tokens (
    id              {{id}},
    token_hash      {{bytes}} NOT NULL UNIQUE,
    access_token_id BIGINT,
    user_id         BIGINT REFERENCES users (id) ON DELETE CASCADE,
    application_id  BIGINT NOT NULL REFERENCES oauth_applications (id) ON DELETE CASCADE,
    scope           TEXT NOT NULL DEFAULT '',
    family          TEXT NOT NULL DEFAULT '',
    grant_id        BIGINT,
    created         BIGINT NOT NULL,
    expires         BIGINT,
    revoked         BIGINT
);
CREATE INDEX oauth_refresh_tokens_family ON oauth_refresh_tokens (family);
CREATE INDEX oauth_refresh_tokens_user ON oauth_refresh_tokens (user_id);
CREATE INDEX oauth_refresh_tokens_access ON oauth_refresh_tokens (access_token_id);

-- +goose Down
DROP TABLE oauth_refresh_tokens;
DROP TABLE oauth_access_tokens;
DROP TABLE oauth_grants;
DROP TABLE oauth_applications;
DROP TABLE jwt_tokens;
DROP TABLE drf_tokens;
DROP TABLE users;
