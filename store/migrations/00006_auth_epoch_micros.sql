-- auth_epoch moves from unix seconds to unix microseconds, like every other
-- time column, so that a token minted earlier in the same second as a
-- password change is told apart from one minted later.
-- +goose Up
UPDATE users SET auth_epoch = auth_epoch * 1000000 WHERE auth_epoch > 0;

-- +goose Down
UPDATE users SET auth_epoch = auth_epoch / 1000000 WHERE auth_epoch > 0;
