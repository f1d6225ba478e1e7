package gatehouse

import "time"

// KnoxToken is a django-rest-knox token carried over from a Django project
// (its knox.authtoken row). Knox stores no token, only Digest, its hash;
// a presented token is found by TokenKey, its first characters, and
// verified by recomputing the digest (package knox). Gatehouse does not
// issue knox tokens: it keeps the ones a project's clients hold working.
type KnoxToken struct {
	Digest   string // knox's hex digest of the token: the primary key
	TokenKey string // the token's first 8 (knox 4) or 15 (knox 5) characters
	// Salt is the hex salt of a row made by knox 4.1 or older; "" after.
	Salt    string
	UserID  int64
	Created time.Time
	Expiry  *time.Time // nil: never expires
}

// KnoxTokenUser is a knox token with its user.
type KnoxTokenUser struct {
	Token KnoxToken
	User  User
}
