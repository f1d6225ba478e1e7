package gatehouse

import (
	"bytes"
	"encoding/base64"
	"strings"
)

// Access token formats an application may be given (Application.TokenFormat).
const (
	// TokenFormatOpaque is DOT's: 30 random characters, looked up by hash.
	TokenFormatOpaque = ""
	// TokenFormatJWT is RFC 9068's JWT profile: signed with the provider's
	// keys, verifiable with the JWKS, and still stored by hash so that
	// revocation and introspection see it.
	TokenFormatJWT = "jwt"
)

// MaxOpaqueToken is the longest opaque OAuth token accepted; MaxJWTAccessToken
// the longest JWT access token.
const (
	MaxOpaqueToken    = 255
	MaxJWTAccessToken = 8192
)

// JWTAccessTokenType is the typ header of an RFC 9068 access token.
const JWTAccessTokenType = "at+jwt"

// MayBeOAuthAccessToken reports whether token has the shape of an OAuth
// access token gatehouse issues: an opaque value (no dot, at most 255
// bytes) or an RFC 9068 JWT (its header's typ is at+jwt). Anything else,
// such as a simplejwt token, is refused before the database is asked; the
// check allocates nothing.
func MayBeOAuthAccessToken(token string) bool {
	dot := strings.IndexByte(token, '.')
	if dot < 0 {
		return len(token) <= MaxOpaqueToken
	}
	if len(token) > MaxJWTAccessToken || dot > 256 {
		return false
	}
	var buf [192]byte
	n, err := base64.RawURLEncoding.Decode(buf[:], []byte(token[:dot]))
	if err != nil {
		return false
	}
	return bytes.Contains(buf[:n], []byte(`"typ":"at+jwt"`))
}
