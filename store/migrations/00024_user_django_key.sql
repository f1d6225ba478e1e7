-- +goose Up
-- A user loaded from a Django project whose user model's primary key is
-- not an integer (a UUIDField) keeps that key here, as Django wrote it
-- (a UUID dashed), so that the simplejwt tokens Django issued, whose
-- user_id claim is that key, still name the user (authn, simplejwt).
ALTER TABLE users ADD COLUMN django_key TEXT NULL;
CREATE UNIQUE INDEX users_django_key ON users (django_key) WHERE django_key IS NOT NULL;

-- +goose Down
DROP INDEX users_django_key;
ALTER TABLE users DROP COLUMN django_key;
