package gatehouse

import "time"

// RefreshRecord is what gatehouse keeps of a simplejwt refresh token: its
// jti, never the token. Family is the jti of the refresh token that the
// login issued; rotations keep it, so a whole login can be revoked at once.
type RefreshRecord struct {
	JTI           string
	UserID        int64
	Family        string
	Created       time.Time
	Expires       time.Time
	BlacklistedAt *time.Time
	Rotated       bool // blacklisted because it was exchanged for a new one
}

// RotateOutcome says what happened to a refresh token presented for rotation.
type RotateOutcome int

const (
	// Rotated: the token was current; it is now blacklisted and the new one recorded.
	Rotated RotateOutcome = iota
	// Reused: the token had already been rotated; its whole family is now revoked.
	Reused
	// Blacklisted: the token had been blacklisted (logout, revocation).
	Blacklisted
)
