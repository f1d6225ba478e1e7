-- +goose Up
-- The cleanup deletes refresh tokens whose own lifetime, family deadline or
-- revocation grace has passed, three terms joined by OR. expires and
-- revoked had an index and family_expires had none, so no index could
-- serve the OR and every cleanup pass read the whole table. Only families
-- with an absolute deadline have one, hence a partial index.
CREATE INDEX oauth_refresh_tokens_family_expires ON oauth_refresh_tokens (family_expires) WHERE family_expires IS NOT NULL;

-- +goose Down
DROP INDEX oauth_refresh_tokens_family_expires;
