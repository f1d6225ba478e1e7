package store

// The index of UserFilter.Search, which migration 00019 builds through
// the placeholders {{users_search_up}} and {{users_search_down}} of the
// dialect table. Both serve the search's one definition, LOWER(column)
// LIKE '%term%' on the username, email, first and last name (userSearch):
// the index only finds candidates, and every candidate is still checked by
// that condition, so the matches are those of a scan.

// sqliteUserSearchUp is an FTS5 table with the trigram tokenizer over the
// four columns, its content read from users (no second copy of the text),
// kept in step by triggers: a phrase of three characters or more finds
// the rows containing it in one column, ignoring case (userSearch).
// The update trigger fires only when one of the four columns changes, so
// a login (last_login) or a new password hash does not touch the index.
const sqliteUserSearchUp = `CREATE VIRTUAL TABLE users_search USING fts5(
    username, email, first_name, last_name,
    content = 'users', content_rowid = 'id', tokenize = 'trigram');
INSERT INTO users_search (users_search) VALUES ('rebuild');
-- +goose StatementBegin
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_search (rowid, username, email, first_name, last_name)
    VALUES (new.id, new.username, new.email, new.first_name, new.last_name);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_search (users_search, rowid, username, email, first_name, last_name)
    VALUES ('delete', old.id, old.username, old.email, old.first_name, old.last_name);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER users_search_update AFTER UPDATE OF username, email, first_name, last_name ON users
WHEN old.username IS NOT new.username OR old.email IS NOT new.email
    OR old.first_name IS NOT new.first_name OR old.last_name IS NOT new.last_name BEGIN
    INSERT INTO users_search (users_search, rowid, username, email, first_name, last_name)
    VALUES ('delete', old.id, old.username, old.email, old.first_name, old.last_name);
    INSERT INTO users_search (rowid, username, email, first_name, last_name)
    VALUES (new.id, new.username, new.email, new.first_name, new.last_name);
END;
-- +goose StatementEnd`

const sqliteUserSearchDown = `DROP TRIGGER users_search_update;
DROP TRIGGER users_search_delete;
DROP TRIGGER users_search_insert;
DROP TABLE users_search;`

// postgresUserSearchUp is a GIN index of pg_trgm's trigrams over the four
// lowered columns, which PostgreSQL uses for LIKE '%term%' of three
// characters or more. pg_trgm is a trusted extension (PostgreSQL 13 and
// later: a role with CREATE on the database may install it); where it
// cannot be installed, the migration still succeeds, without the index,
// and the search scans the table: the same matches, more slowly. The
// operator class is named with the extension's schema, wherever it was
// installed, so that the index does not depend on the search_path.
const postgresUserSearchUp = `-- +goose StatementBegin
DO $$
DECLARE
    trgm text;
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'gatehouse: pg_trgm cannot be installed (%): the user search will scan the users table', SQLERRM;
    END;
    SELECT n.nspname INTO trgm FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_trgm';
    IF trgm IS NOT NULL THEN
        EXECUTE format('CREATE INDEX users_search ON users USING gin (lower(username) %1$I.gin_trgm_ops, '
            'lower(email) %1$I.gin_trgm_ops, lower(first_name) %1$I.gin_trgm_ops, lower(last_name) %1$I.gin_trgm_ops)', trgm);
    END IF;
END $$;
-- +goose StatementEnd`

const postgresUserSearchDown = `DROP INDEX IF EXISTS users_search;`
