package gatehouse

import (
	"context"
	"time"
)

// Kinds of credential an administrator lists and revokes (the CLI's
// tokens commands, the admin site).
const (
	CredentialDRF          = "drf"           // DRF TokenAuthentication keys
	CredentialKnox         = "knox"          // django-rest-knox tokens
	CredentialJWTRefresh   = "jwt-refresh"   // simplejwt refresh tokens (outstanding)
	CredentialOAuthAccess  = "oauth-access"  // OAuth2 access tokens
	CredentialOAuthRefresh = "oauth-refresh" // OAuth2 refresh tokens
	CredentialSession      = "session"       // logged-in browser sessions (BrowserSession)
)

// CredentialKinds lists the kinds in the order listings show them.
func CredentialKinds() []string {
	return []string{CredentialDRF, CredentialKnox, CredentialJWTRefresh, CredentialOAuthAccess, CredentialOAuthRefresh, CredentialSession}
}

// CredentialFilter selects credentials. Zero fields select everything;
// ApplicationID selects OAuth credentials only.
type CredentialFilter struct {
	Kinds         []string // none: every kind
	UserID        int64
	ApplicationID int64
	// ID selects one credential of the one kind in Kinds: the row id, or
	// a knox token's token_key.
	ID string
	// Ended includes expired and revoked credentials in a listing;
	// revocation always skips them.
	Ended bool
	// EndedOnly (with Ended) lists only expired and revoked credentials.
	EndedOnly bool
	// Limit bounds a listing per kind (0: 1000); Offset skips that many
	// of each kind first (a page of one kind).
	Limit, Offset int
}

// CredentialInfo is one credential as an administrator sees it: never the
// secret, only what tells it apart.
type CredentialInfo struct {
	Kind     string
	ID       string
	UserID   int64 // 0 for a client's own OAuth token
	Username string
	ClientID string // OAuth credentials
	Label    string // a DRF key's prefix and name, a knox token_key, an OAuth scope, a session's User-Agent
	Created  time.Time
	Expires  *time.Time
	Revoked  *time.Time // blacklisted, revoked, or a session logged out
	// A session's last use (within the authenticator's touch interval)
	// and the address it logged in from; nil and "" for other kinds.
	LastSeen *time.Time
	Source   string
}

// CredentialAdminStore lists and revokes credentials of every kind.
type CredentialAdminStore interface {
	// ListCredentials lists what f selects, newest first within a kind.
	ListCredentials(ctx context.Context, f CredentialFilter, now time.Time) ([]CredentialInfo, error)
	// RevokeCredentials ends every live credential f selects, in one
	// transaction: DRF and knox tokens and OAuth access tokens are
	// deleted, simplejwt and OAuth refresh tokens marked (blacklisted,
	// revoked) so that a replay is recognised, and an OAuth refresh
	// token's access token deleted with it. It returns how many were
	// ended and the hashes of the OAuth access tokens deleted.
	RevokeCredentials(ctx context.Context, f CredentialFilter, now time.Time) (int64, RevokedAccess, error)
	// CountCredentials counts what f selects (Limit and Offset aside), by
	// kind; a kind f cannot select is absent.
	CountCredentials(ctx context.Context, f CredentialFilter, now time.Time) (map[string]int64, error)
	// CountGrants counts the application's authorization codes and
	// device grants not yet used or expired at now.
	CountGrants(ctx context.Context, applicationID int64, now time.Time) (int64, error)
}
