package store

// The index of refresh tokens by family, which migration 00023 changes
// through the placeholders {{refresh_family_up}} and
// {{refresh_family_down}} of the dialect table. Its one query is a reuse's
// family revocation, which reads only the tokens not revoked (family = ?
// AND revoked IS NULL, revokeFamily).
//
// On SQLite the index holds only those (a partial index). A rotation adds
// its new token to the index and its revocation of the old one takes that
// one out, an entry beside the new in the same leaf: the index keeps one
// entry a live family instead of one a token issued and not yet cleaned
// up, and a group of rotations of different families writes the few pages
// of that small index rather than one page of a large one each, every
// page one WAL frame more at the group's commit (docs/performance.md,
// fifteenth round). SQLite's planner takes a partial index only where a
// query's WHERE implies its condition; the other statements that name
// revoked IS NULL (the revocations of a user's and of a grant's tokens)
// keep reading their own indexes (TestFamilyRevocationUsesIndex).
//
// PostgreSQL keeps the full index. With the partial one its planner chose,
// for the rotation set's generic plan (writeRotationSetSQL), to read the
// whole partial index and hash-join it with the set, as table statistics
// with few live tokens make that look cheap, instead of one primary-key
// lookup a rotation; dead entries not yet vacuumed make that read long.
// The OAuth refresh case lost 15-20 % (docs/performance.md, fifteenth
// round).

const sqliteRefreshFamilyUp = `DROP INDEX oauth_refresh_tokens_family;
CREATE INDEX oauth_refresh_tokens_family ON oauth_refresh_tokens (family) WHERE revoked IS NULL;`

const sqliteRefreshFamilyDown = `DROP INDEX oauth_refresh_tokens_family;
CREATE INDEX oauth_refresh_tokens_family ON oauth_refresh_tokens (family);`

// postgresRefreshFamily changes nothing: a migration's section needs a
// statement.
const postgresRefreshFamily = `SELECT 1;`
