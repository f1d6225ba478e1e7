package gatehouse

import "time"

// RefreshRecord is what gatehouse keeps of a simplejwt refresh token: its
// jti, never the token. Family is the jti of the refresh token that the
// login issued; rotations keep it, so a whole login can be revoked at once.
//
// A rotation keeps the new token in the old one's record, rewritten (the
// record then holds its current token's jti and expiry): Record names
// that record, as the token's jwt.RecordClaim does; "" is the record made
// for JTI itself (a login's token, or one minted by Django).
type RefreshRecord struct {
	JTI           string
	Record        string
	UserID        int64
	Family        string
	Created       time.Time
	Expires       time.Time
	BlacklistedAt *time.Time
	Rotated       bool // blacklisted because it was exchanged for a new one
}

// Key is the jti the record holding r's token was made for.
func (r RefreshRecord) Key() string {
	if r.Record != "" {
		return r.Record
	}
	return r.JTI
}

// RotateOutcome says what happened to a refresh token presented for rotation.
type RotateOutcome int

const (
	// Rotated: the token was its record's current one; the new one now is.
	Rotated RotateOutcome = iota
	// Reused: the token had already been rotated (its record holds another);
	// its whole family is now revoked.
	Reused
	// Blacklisted: the token had been blacklisted (logout, revocation).
	Blacklisted
)
