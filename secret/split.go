package secret

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"io"
	"time"
)

// Refresh tokens gatehouse issues are split: their first SelectorLen
// characters (the issue time in KeyPrefix of them, then random ones) are
// the selector, which stays the same across the rotations of one row, and
// the rest is the verifier, new at each rotation. The row is found by the
// selector's key (Selectors.Key) and holds the SHA-256 of the whole current
// token and of the one before it; a rotation rewrites those in place
// instead of revoking one row and inserting another, so that PostgreSQL
// updates the row without touching an index (docs/performance.md,
// twenty-fourth round). A copy of the database still yields no usable
// token: the selector alone is not one, and the rest is stored hashed.
const (
	// SelectorLen is the length of a split token's selector: KeyPrefix
	// characters of issue time and 6 random ones (36 bits a millisecond,
	// for the selectors' unique index).
	SelectorLen = 12
	// SplitLen is the length of a split refresh token, DOT's 30: the
	// selector and 18 random characters (107 bits). A token as a whole
	// still holds 24 random characters (143 bits), as DOT's; the 107 are
	// what is left to guess for someone holding an earlier token of the
	// same row, whose every wrong guess is a reuse that ends the row's
	// family.
	SplitLen = 30
)

// SplitToken returns a new split refresh token issued at t.
func SplitToken(r io.Reader, t time.Time) (string, error) {
	return OrderedAlnum(r, SplitLen, t)
}

// Resplit returns a new split token with the selector of token, which must
// be split (IsSplit): the token a rotation in place gives.
func Resplit(r io.Reader, token string) (string, error) {
	if !IsSplit(token) {
		return "", errors.New("secret: not a split token")
	}
	v, err := Alnum(r, SplitLen-SelectorLen)
	if err != nil {
		return "", err
	}
	return token[:SelectorLen] + v, nil
}

// IsSplit reports whether token has the shape of a split refresh token:
// SplitLen characters from [A-Za-z0-9]. A token imported from Django may
// have it too; its lookup falls back to the whole token's key (RefreshKey).
func IsSplit(token string) bool {
	if len(token) != SplitLen {
		return false
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

// Selectors makes the keys split tokens' rows are stored under: the
// selector's first KeyPrefix characters (its issue time), then an
// HMAC-SHA256 of the selector under a key derived from the server secret.
// A copy of the database then gives no selector away either: an unkeyed
// hash of 6 random characters would be searched in minutes, and a known
// selector is enough to end its row's family (docs/oauth.md).
type Selectors struct{ key []byte }

// NewSelectors derives the selectors' key from the server secret.
func NewSelectors(serverSecret string) *Selectors {
	return &Selectors{key: derive(serverSecret, "gatehouse/refresh-selector/v1")}
}

// Key is the key of token's selector (its first SelectorLen characters;
// all of a shorter one).
func (s *Selectors) Key(token string) []byte {
	sel := token[:min(SelectorLen, len(token))]
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(sel))
	key := make([]byte, 0, KeyPrefix+sha256.Size)
	return m.Sum(append(key, sel[:min(KeyPrefix, len(sel))]...))
}

// RefreshKey is what a refresh token is looked up by. For a token of a
// split shape it is its selector's Key followed by the SHA-256 of the
// whole token (SplitRef takes it apart); for any other, its TokenKey.
func (s *Selectors) RefreshKey(token string) []byte {
	if !IsSplit(token) {
		return TokenKey(token)
	}
	sum := sha256.Sum256([]byte(token))
	return append(s.Key(token), sum[:]...)
}

// splitRefLen is the length of a RefreshKey of a split token.
const splitRefLen = 2*sha256.Size + KeyPrefix

// SplitRef takes a RefreshKey apart. For a split token's it returns the
// selector's key, the SHA-256 of the token, and the token's TokenKey (a
// token imported from Django of the same shape is stored under it), and
// true; for any other key, false.
func SplitRef(ref []byte) (selector, verifier, whole []byte, ok bool) {
	if len(ref) != splitRefLen {
		return nil, nil, nil, false
	}
	selector, verifier = ref[:KeyPrefix+sha256.Size], ref[KeyPrefix+sha256.Size:]
	whole = append(append(make([]byte, 0, KeyPrefix+sha256.Size), ref[:KeyPrefix]...), verifier...)
	return selector, verifier, whole, true
}
