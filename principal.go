package gatehouse

import "time"

// Authentication schemes a Principal can come from.
const (
	SchemeToken   = "token"   // DRF TokenAuthentication
	SchemeJWT     = "jwt"     // simplejwt access token
	SchemeOAuth   = "oauth"   // OAuth2 bearer access token
	SchemeSession = "session" // the browser session cookie
	SchemeKnox    = "knox"    // a django-rest-knox token ("Token <token>")
)

// Principal is who a request is authenticated as, and by what.
type Principal struct {
	// User is who the credential is of; zero for an OAuth token issued to
	// a client alone (HasUser).
	User   User
	Scheme string // one of the Scheme* constants
	// TokenID is the DRF token or OAuth access token id (0 for others).
	TokenID int64
	// Scope holds the OAuth token's scopes, space-separated.
	Scope string
	// ApplicationID is the OAuth token's client, and ClientID its
	// client_id.
	ApplicationID int64
	ClientID      string
	// Issued is when the credential was issued.
	Issued time.Time
	// Expires is when the credential stops working; zero for one that
	// does not expire (a DRF key, a session).
	Expires time.Time
}

// HasUser reports whether p names a user: false for an OAuth token issued
// to a client alone (client_credentials), whose User is zero.
func (p *Principal) HasUser() bool { return p != nil && p.User.ID != 0 }

// HasScope is Django OAuth Toolkit's TokenHasScope rule: a principal
// authenticated by an OAuth token passes only when the token has every
// required scope; the other schemes carry no scopes and pass.
func (p *Principal) HasScope(required ...string) bool {
	if p == nil || p.Scheme != SchemeOAuth {
		return true
	}
	return HasScope(p.Scope, required...)
}

// HasReadWriteScope is DOT's TokenHasReadWriteScope: "read" for safe
// methods (GET, HEAD, OPTIONS), "write" for the others, plus extra.
func (p *Principal) HasReadWriteScope(safe bool, extra ...string) bool {
	rw := "write"
	if safe {
		rw = "read"
	}
	return p.HasScope(append([]string{rw}, extra...)...)
}
