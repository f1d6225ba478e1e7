-- +goose Up
-- On SQLite the family index of refresh tokens holds only the tokens not
-- revoked; PostgreSQL keeps its index as it is. The placeholders and the
-- reasons are in store/families.go.
{{refresh_family_up}}

-- +goose Down
{{refresh_family_down}}
