package gatehouse

import "time"

// Token is a DRF-style API token ("Authorization: Token <key>"). Only the
// key's hash is stored; Sealed holds the key encrypted under the server
// secret for the user's default token, which /api-token-auth/ returns again
// on every login as DRF does. Named tokens (one per device) are shown once.
type Token struct {
	ID        int64
	UserID    int64
	Hash      []byte
	Sealed    []byte
	Prefix    string // first characters of the key, to tell tokens apart
	Name      string
	IsDefault bool
	Created   time.Time
	LastUsed  *time.Time
	Expires   *time.Time
}

// Expired reports whether t has an expiry at or before now.
func (t *Token) Expired(now time.Time) bool {
	return t.Expires != nil && !now.Before(*t.Expires)
}

// KeyPrefix is the part of a DRF key kept in clear to tell a user's tokens
// apart in listings: its first six characters, too few to guess the rest.
func KeyPrefix(key string) string {
	if len(key) > 6 {
		return key[:6]
	}
	return key
}
