-- +goose Up
-- The admin's user list at a million users (docs/performance.md): an
-- index for each order of UserFilter.Order in the very form of its ORDER
-- BY (store/users.go: userOrders; a descending order reads it backwards),
-- one per boolean filter in id order, and the index of the substring
-- search, which differs by dialect (the placeholders users_search_up and
-- users_search_down: store/usersearch.go).
DROP INDEX users_email;
CREATE INDEX users_email ON users (email, id);
CREATE INDEX users_date_joined ON users (date_joined, id);
CREATE INDEX users_last_login ON users ((last_login IS NULL), last_login, id);
CREATE INDEX users_active ON users (is_active, id);
CREATE INDEX users_staff ON users (is_staff, id);
CREATE INDEX users_superuser ON users (is_superuser, id);
{{users_search_up}}

-- +goose Down
{{users_search_down}}
DROP INDEX users_superuser;
DROP INDEX users_staff;
DROP INDEX users_active;
DROP INDEX users_last_login;
DROP INDEX users_date_joined;
DROP INDEX users_email;
CREATE INDEX users_email ON users (email);
