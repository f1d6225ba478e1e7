package oauth

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// Config holds the OAuth2 provider's settings; DOT's names are given where
// one exists. Start from DefaultConfig.
type Config struct {
	// Scopes are the scopes granted, in settings order (SCOPES).
	Scopes gatehouse.Scopes
	// DefaultScopes are granted when a request names no scope and its
	// application has no default scopes of its own (DEFAULT_SCOPES); nil
	// means every scope, as DOT's ["__all__"].
	DefaultScopes []string
	// RedirectSchemes are the URI schemes a redirect URI may have, in
	// lower case (ALLOWED_REDIRECT_URI_SCHEMES); nil means http and https.
	// A registered URI of another scheme is never redirected to.
	RedirectSchemes []string
	// AccessTokenLifetime is ACCESS_TOKEN_EXPIRE_SECONDS.
	AccessTokenLifetime time.Duration
	// RefreshTokenLifetime is REFRESH_TOKEN_EXPIRE_SECONDS for each
	// refresh token; 0 means never (DOT's default).
	RefreshTokenLifetime time.Duration
	// RefreshFamilyLifetime bounds a whole chain of rotated refresh tokens
	// from the first grant; 0 means no bound.
	RefreshFamilyLifetime time.Duration
	// RefreshGracePeriod is REFRESH_TOKEN_GRACE_PERIOD_SECONDS: a rotated
	// refresh token is accepted again within it instead of counting as a
	// replay.
	RefreshGracePeriod time.Duration
	// CodeLifetime is AUTHORIZATION_CODE_EXPIRE_SECONDS.
	CodeLifetime time.Duration
	// DeviceCodeLifetime is how long a device code and its user code
	// wait for the user (RFC 8628 expires_in).
	DeviceCodeLifetime time.Duration
	// DeviceInterval is the least time a device waits between two polls
	// (RFC 8628 interval), in whole seconds.
	DeviceInterval time.Duration
	// RequirePKCE makes PKCE mandatory for confidential clients too (it
	// always is for public clients).
	RequirePKCE bool
	// RequireScopes makes /api/ require the read scope of OAuth tokens for
	// safe methods and write for the others (DOT's TokenHasReadWriteScope);
	// off by default, as in the reference.
	RequireScopes bool
	// KeepRevoked is how long rotated refresh tokens are kept to recognise
	// a replay (which revokes the family) before cleanup removes them.
	KeepRevoked time.Duration
	// CleanupInterval is how often expired rows are removed in the
	// background (0: never); CleanupBatch is the rows per statement.
	CleanupInterval time.Duration
	CleanupBatch    int
	// LoginURL is the login page anonymous browser requests are sent to.
	LoginURL string
	// SessionLifetime is how long a browser login lasts.
	SessionLifetime time.Duration
	// SecureCookies sets the Secure attribute on session cookies (turn on
	// behind TLS).
	SecureCookies bool
	// IntrospectPermissions adds the token's user's groups and permissions
	// to introspection answers (Introspection.Permissions), for resource
	// servers that check has_perm; DOT sends neither, so off by default.
	IntrospectPermissions bool
	// Issuer is gatehouse's public URL: the iss of JWT access tokens.
	Issuer string
	// JWTAudience is the aud of JWT access tokens (RFC 9068): the resource
	// server they are for; "" means the issuer.
	JWTAudience string
	// AdminClients are the client_ids that may be granted the scope
	// gatehouse.ScopeAdmin (the admin API), when they ask for it by name;
	// any other client asking for it gets invalid_scope, so registering
	// an application never yields administration.
	AdminClients []string
}

// IsAdminClient reports whether clientID is one of AdminClients.
func (o Config) IsAdminClient(clientID string) bool {
	return clientID != "" && slices.Contains(o.AdminClients, clientID)
}

// DefaultConfig returns DOT's defaults as the reference runs them; the
// one place they are declared.
func DefaultConfig() Config {
	return Config{
		Scopes:              gatehouse.DefaultScopes(),
		AccessTokenLifetime: 36000 * time.Second,
		CodeLifetime:        60 * time.Second,
		DeviceCodeLifetime:  600 * time.Second,
		DeviceInterval:      5 * time.Second,
		KeepRevoked:         30 * 24 * time.Hour,
		CleanupInterval:     time.Minute,
		CleanupBatch:        500,
		LoginURL:            "/admin/login/",
		SessionLifetime:     12 * time.Hour,
	}
}

// WithDefaults returns c with its zero settings filled from DefaultConfig.
func (o Config) WithDefaults() Config {
	d := DefaultConfig()
	if len(o.Scopes) == 0 {
		o.Scopes = d.Scopes
	}
	if o.AccessTokenLifetime <= 0 {
		o.AccessTokenLifetime = d.AccessTokenLifetime
	}
	if o.CodeLifetime <= 0 {
		o.CodeLifetime = d.CodeLifetime
	}
	if o.DeviceCodeLifetime <= 0 {
		o.DeviceCodeLifetime = d.DeviceCodeLifetime
	}
	if o.DeviceInterval <= 0 {
		o.DeviceInterval = d.DeviceInterval
	}
	if o.KeepRevoked <= 0 {
		o.KeepRevoked = d.KeepRevoked
	}
	if o.CleanupBatch <= 0 {
		o.CleanupBatch = d.CleanupBatch
	}
	if o.LoginURL == "" {
		o.LoginURL = d.LoginURL
	}
	if o.SessionLifetime <= 0 {
		o.SessionLifetime = d.SessionLifetime
	}
	if len(o.RedirectSchemes) == 0 {
		o.RedirectSchemes = []string{"http", "https"}
	}
	return o
}

// Check reports the first setting that cannot be used: a default scope
// that is not among Scopes, or a redirect scheme that is not an RFC 3986
// scheme in lower case, or that runs script or carries content in the
// browser (javascript, data, vbscript).
func (o Config) Check() error {
	scopes := o.Scopes
	if len(scopes) == 0 {
		scopes = gatehouse.DefaultScopes()
	}
	for _, s := range o.DefaultScopes {
		if !scopes.Has(s) {
			return fmt.Errorf("default scope %q is not among the scopes (%s)", s, strings.Join(scopes.Names(), " "))
		}
		if s == gatehouse.ScopeAdmin {
			return fmt.Errorf("default scope %q: the admin scope is granted only to the admin clients that ask for it", s)
		}
	}
	for _, s := range o.RedirectSchemes {
		if !validScheme(s) {
			return fmt.Errorf("redirect URI scheme %q: want a URI scheme in lower case, such as https or com.example.app", s)
		}
		if s == "javascript" || s == "data" || s == "vbscript" {
			return fmt.Errorf("redirect URI scheme %q would run script or show content in the browser", s)
		}
	}
	return nil
}

// validScheme is RFC 3986's ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ),
// lower case.
func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}

// RedirectSchemeAllowed reports whether uri's scheme is one of
// RedirectSchemes (compared in lower case, as DOT's urlparse does).
func (o Config) RedirectSchemeAllowed(uri string) bool {
	scheme, _, ok := strings.Cut(uri, ":")
	return ok && slices.Contains(o.RedirectSchemes, strings.ToLower(scheme))
}
