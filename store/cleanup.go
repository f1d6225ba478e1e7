package store

// The background cleanup's selections: up to a batch of rows past their
// time, each in the order of the index on that time. Without the ORDER
// BY, PostgreSQL may plan "the first n rows that match" as a sequential
// scan that stops after n, which reads the whole table when nothing has
// expired: it does so for a table without statistics (never analyzed:
// new, or autovacuum off) and for a generic plan, which assumes a third
// of the rows match. In benchmark run 9 that was every table's full scan
// at every cleanup (TestCleanupStatementsUseIndexes).
const (
	expiredAccessSQL = "SELECT id FROM oauth_access_tokens WHERE expires < ? ORDER BY expires LIMIT ?"
	// A redeemed code stays while a token issued from it exists: a replay
	// of the code must still revoke them (RFC 6749 4.1.2). It used to go
	// with the code's own expiry, a minute after issue.
	expiredGrantsSQL = `SELECT g.id FROM oauth_grants g WHERE g.expires < ? AND (g.used_at IS NULL OR (
			NOT EXISTS (SELECT 1 FROM oauth_access_tokens a WHERE a.grant_id = g.id) AND
			NOT EXISTS (SELECT 1 FROM oauth_refresh_tokens r WHERE r.grant_id = g.id))) ORDER BY g.expires LIMIT ?`
	expiredRefreshSQL       = "SELECT id FROM oauth_refresh_tokens WHERE expires IS NOT NULL AND expires < ? ORDER BY expires LIMIT ?"
	expiredRefreshFamilySQL = "SELECT id FROM oauth_refresh_tokens WHERE family_expires IS NOT NULL AND family_expires < ? ORDER BY family_expires LIMIT ?"
	revokedRefreshSQL       = "SELECT id FROM oauth_refresh_tokens WHERE revoked IS NOT NULL AND revoked < ? ORDER BY revoked LIMIT ?"
	expiredJWTSQL           = "SELECT id FROM jwt_tokens WHERE expires < ? ORDER BY expires LIMIT ?"
	expiredAuditSQL         = "SELECT id FROM audit_events WHERE at < ? ORDER BY at LIMIT ?"
	expiredSessionsSQL      = "SELECT id FROM sessions WHERE expires < ? ORDER BY expires LIMIT ?"
	expiredEndedSessionsSQL = "SELECT id_hash FROM ended_sessions WHERE expires < ? ORDER BY expires LIMIT ?"
	expiredDeviceGrantsSQL  = "SELECT id FROM oauth_device_grants WHERE expires < ? ORDER BY expires LIMIT ?"
	expiredThrottleSQL      = "SELECT key FROM throttle_counters WHERE expires <= ? ORDER BY expires LIMIT ?"
	expiredKnoxSQL          = "SELECT digest FROM knox_tokens WHERE expiry IS NOT NULL AND expiry < ? ORDER BY expiry LIMIT ?"
	// The signing keys' cleanup (signingkeys.go) reads a table of a few
	// rows and has no index to use.
)
