-- +goose Up
-- How far `gatehouse import` got in each table of a Django database: the
-- key of the last row loaded (never a credential: DRF tokens are read in
-- order of user_id), written in the transaction that loaded the batch, so
-- that a stopped import continues after it. source is the Django database
-- as the import names it (a URL without its password, or a file's path);
-- its rows are deleted when the import completes or starts over.
CREATE TABLE import_progress (
    source TEXT NOT NULL,
    source_table TEXT NOT NULL,
    last_key TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    PRIMARY KEY (source, source_table)
);

-- +goose Down
DROP TABLE import_progress;
