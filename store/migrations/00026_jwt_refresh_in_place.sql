-- +goose Up
-- A simplejwt refresh rotation keeps the new token in the old one's record
-- (the new token names it in its gatehouse_record claim): current_jti and
-- current_expires are its current token's jti and expiry, NULL while that
-- is still the token the record was made for (jti, expires). expires stays
-- the indexed column the cleanup reads, now an upper bound of the record's
-- expiry that a rotation moves forward only when the new expiry passes it
-- (store/jwt.go), so that most rotations change no indexed column and
-- PostgreSQL updates the row without an index entry (a HOT update).
ALTER TABLE jwt_tokens ADD COLUMN current_jti TEXT NULL;
ALTER TABLE jwt_tokens ADD COLUMN current_expires BIGINT NULL;

-- +goose Down
-- Back to a record per token: each current token rotated in place gets its
-- own record in the family, and the record it was kept in is marked
-- rotated, so that the older release still refuses (and treats as reuse)
-- the tokens that record's rotations replaced.
INSERT INTO jwt_tokens (jti, user_id, family, created, expires, blacklisted_at, rotated)
SELECT current_jti, user_id, family, created, COALESCE(current_expires, expires), blacklisted_at, FALSE
FROM jwt_tokens WHERE current_jti IS NOT NULL
ON CONFLICT (jti) DO NOTHING;
UPDATE jwt_tokens SET rotated = TRUE, blacklisted_at = COALESCE(blacklisted_at, created)
WHERE current_jti IS NOT NULL;
ALTER TABLE jwt_tokens DROP COLUMN current_expires;
ALTER TABLE jwt_tokens DROP COLUMN current_jti;
