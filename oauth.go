package gatehouse

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxClientID is the longest client_id gatehouse registers or looks up.
const MaxClientID = 255

// Client types of Django OAuth Toolkit's Application.
const (
	ClientConfidential = "confidential"
	ClientPublic       = "public"
)

// Grant types an application may be allowed, named as DOT's
// authorization_grant_type values.
const (
	GrantAuthorizationCode = "authorization-code"
	GrantPassword          = "password"
	GrantClientCredentials = "client-credentials"
	// GrantDeviceCode is the device authorization grant (RFC 8628), named
	// by its URN as newer DOT versions name it, in the application and in
	// the token request's grant_type alike.
	GrantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
)

// Errors of the OAuth2 domain.
var (
	// ErrTokenReused: a refresh token or authorization code was presented
	// after it had been used; everything issued from it was revoked.
	ErrTokenReused = errors.New("oauth: token or code reused")
	// ErrInvalidGrant: the code or refresh token is unknown, expired,
	// revoked or belongs to another client.
	ErrInvalidGrant = errors.New("oauth: invalid grant")
)

// Application is an OAuth2 client (DOT's oauth2_provider.Application). The
// client secret is kept only as a keyed hash (SecretHasher); a public
// client has none.
type Application struct {
	ID                int64
	ClientID          string
	SecretHash        []byte // nil for public clients
	ClientType        string
	GrantTypes        []string // DOT names: authorization-code, password, client-credentials
	RedirectURIs      []string
	Name              string
	UserID            *int64 // owner
	SkipAuthorization bool
	DefaultScopes     []string // empty: every configured scope
	ResourceServer    bool     // may introspect tokens of other clients
	Algorithm         string   // DOT's OIDC signing algorithm; kept, unused
	// PostLogoutRedirectURIs are where RP-initiated logout may send the
	// user agent afterwards (DOT's post_logout_redirect_uris), compared
	// exactly.
	PostLogoutRedirectURIs []string
	// AllowedOrigins are the browser origins (DOT 2's allowed_origins)
	// that may call the token, revocation and introspection endpoints as
	// this client, in the form ParseOrigin returns.
	AllowedOrigins []string
	// TokenFormat is how its access tokens are made: TokenFormatOpaque
	// (DOT's) or TokenFormatJWT (RFC 9068).
	TokenFormat string
	Created     time.Time
	Updated     time.Time
}

// IsPublic reports whether the client cannot keep a secret.
func (a *Application) IsPublic() bool { return a.ClientType == ClientPublic }

// Allows reports whether the application may use the DOT grant type g.
func (a *Application) Allows(g string) bool {
	for _, x := range a.GrantTypes {
		if x == g {
			return true
		}
	}
	return false
}

// AllowsRefresh reports whether refresh tokens are issued to and accepted
// from the application: DOT allows them with the code, password and device
// code grants.
func (a *Application) AllowsRefresh() bool {
	return a.Allows(GrantAuthorizationCode) || a.Allows(GrantPassword) || a.Allows(GrantDeviceCode)
}

// RedirectURIAllowed reports whether uri is one of the registered redirect
// URIs, compared exactly, except that a loopback IP literal registered
// without a port (http://127.0.0.1/cb, http://[::1]/cb) accepts any port,
// as RFC 8252 section 7.3 asks for native apps.
func (a *Application) RedirectURIAllowed(uri string) bool {
	for _, r := range a.RedirectURIs {
		if r == uri {
			return true
		}
		if loopbackMatch(r, uri) {
			return true
		}
	}
	return false
}

// DefaultRedirectURI is the one used when an authorization request names
// none: only when exactly one is registered.
func (a *Application) DefaultRedirectURI() (string, bool) {
	if len(a.RedirectURIs) == 1 {
		return a.RedirectURIs[0], true
	}
	return "", false
}

// loopbackMatch reports whether got is registered, a loopback IP literal
// over http without a port, with a port put in. The rest is compared as
// sent, not decoded: "/%63b" is another path than "/cb", and a trailing
// "?" or "#" makes another URI.
func loopbackMatch(registered, got string) bool {
	r, err1 := url.Parse(registered)
	g, err2 := url.Parse(got)
	if err1 != nil || err2 != nil || r.Scheme != "http" || g.Scheme != "http" || g.Port() == "" {
		return false
	}
	ip := net.ParseIP(r.Hostname())
	if ip == nil || !ip.IsLoopback() || r.Port() != "" || r.User != nil || r.Fragment != "" || r.Opaque != "" {
		return false
	}
	const scheme = len("http://")
	if len(registered) < scheme || !strings.EqualFold(registered[:scheme], "http://") {
		return false
	}
	end := scheme + strings.IndexAny(registered[scheme:]+"/", "/?#")
	want := registered[scheme:end] + ":" + g.Port() + registered[end:]
	return len(got) == scheme+len(want) && strings.EqualFold(got[:scheme], "http://") && got[scheme:] == want
}

// AllowsOrigin reports whether origin, as a browser sends it in the
// Origin header, is one of the application's allowed origins (compared in
// lower case, as origins are).
func (a *Application) AllowsOrigin(origin string) bool {
	if origin == "" || len(origin) > MaxOrigin {
		return false
	}
	for _, o := range a.AllowedOrigins {
		if strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// MaxOrigin is the longest origin gatehouse registers or compares.
const MaxOrigin = 255

// ParseOrigin checks that s is a web origin (RFC 6454) as a browser writes
// it in the Origin header — scheme://host or scheme://host:port, nothing
// else — and returns it in lower case without a default port
// (https://app.example.com:443 is https://app.example.com). The scheme is
// https, or http when allowHTTP is set. A path (even "/"), query,
// fragment, user information, wildcard, white space or non-ASCII host is
// refused with a sentence saying why.
func ParseOrigin(s string, allowHTTP bool) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("origin %q: %s", s, why)
	}
	schemes := "https"
	if allowHTTP {
		schemes = "http or https"
	}
	if s == "" || len(s) > MaxOrigin {
		return bad(fmt.Sprintf("want scheme://host[:port], at most %d characters", MaxOrigin))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return bad("white space, control and non-ASCII characters are not allowed (write an internationalised host in punycode)")
		}
	}
	if strings.Contains(s, "*") {
		return bad("wildcards are not allowed: list each origin")
	}
	lower := strings.ToLower(s)
	scheme, rest, ok := strings.Cut(lower, "://")
	if !ok || (scheme != "https" && !(allowHTTP && scheme == "http")) {
		return bad("the scheme must be " + schemes)
	}
	if strings.ContainsAny(rest, "/?#") {
		return bad("an origin has no path (not even a trailing /), query or fragment")
	}
	if strings.Contains(rest, "@") {
		return bad("an origin has no user information")
	}
	u, err := url.Parse(lower)
	if err != nil || u.Host != rest || u.Hostname() == "" {
		return bad("want scheme://host[:port]")
	}
	host := u.Hostname()
	if strings.HasPrefix(rest, "[") {
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil {
			return bad("the host is not an IPv6 address")
		}
	} else if !validHostName(host) {
		return bad("the host must be a DNS name or an IP address")
	}
	if p := u.Port(); p != "" || strings.HasSuffix(rest, ":") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 || p[0] == '0' {
			return bad("the port must be a number from 1 to 65535")
		}
		if (scheme == "https" && n == 443) || (scheme == "http" && n == 80) {
			lower = strings.TrimSuffix(lower, ":"+p)
		}
	}
	return lower, nil
}

// validHostName reports whether h is made of dot-separated labels of
// letters, digits and hyphens (or is an IPv4 address, which is such).
func validHostName(h string) bool {
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// AccessToken is an issued OAuth2 access token, stored only as the SHA-256
// hash of its value. UserID is nil for client_credentials tokens.
type AccessToken struct {
	ID            int64
	Hash          []byte
	UserID        *int64
	ApplicationID int64
	Scope         string
	Family        string // shared by every token descended from one grant
	GrantID       *int64 // the authorization code it was issued from
	Created       time.Time
	Expires       time.Time
}

// Expired reports whether the token is no longer valid at now.
func (t *AccessToken) Expired(now time.Time) bool { return !now.Before(t.Expires) }

// RefreshToken is an issued refresh token, stored only as a hash. Revoked
// is set once it has been rotated or revoked; it is kept afterwards so that
// a replay can be recognised and its family revoked.
type RefreshToken struct {
	ID   int64
	Hash []byte
	// Secret is the SHA-256 of a split token (secret.SplitToken), whose
	// Hash is then its selector's key; nil for a token stored whole under
	// Hash. A store finds a split token's row by the selector and rotates
	// it in place.
	Secret        []byte
	AccessTokenID *int64
	UserID        *int64
	ApplicationID int64
	Scope         string
	Family        string
	GrantID       *int64
	Created       time.Time
	Expires       *time.Time // nil: never (DOT's default)
	Revoked       *time.Time
	// AuthTime is when the user authenticated for the grant the family
	// descends from (OpenID Connect's auth_time), nil when not known.
	AuthTime *time.Time
}

// Grant is an authorization code (DOT's Grant), stored only as a hash,
// single use: UsedAt is set when it is redeemed.
type Grant struct {
	ID                  int64
	CodeHash            []byte
	ApplicationID       int64
	UserID              int64
	RedirectURI         string
	Scope               string
	CodeChallenge       string
	CodeChallengeMethod string
	Nonce               string
	// AuthTime is when the user logged in to the session the code was
	// issued in (OpenID Connect's auth_time), nil when not known.
	AuthTime *time.Time
	Created  time.Time
	Expires  time.Time
	UsedAt   *time.Time
}

// DeviceStatus is where a device authorization stands.
type DeviceStatus string

// The states of a DeviceGrant: waiting for the user, then approved or
// denied by them, once.
const (
	DevicePending  DeviceStatus = "pending"
	DeviceApproved DeviceStatus = "approved"
	DeviceDenied   DeviceStatus = "denied"
)

// DeviceGrant is a device authorization request (RFC 8628): the device
// polls the token endpoint with the device code while the user enters the
// user code on a browser and approves or denies. Neither code is stored in
// clear: the device code as its hash (secret.Hash), the user code as the
// hash of its normalised form, so that it can be looked up but a copy of
// the database reveals neither (and nothing about the device code can be
// derived from the user code). Redeemed exactly once: RedeemedAt is set
// when tokens are issued.
type DeviceGrant struct {
	ID             int64
	DeviceCodeHash []byte
	UserCodeHash   []byte
	ApplicationID  int64
	Scope          string
	Created        time.Time
	Expires        time.Time
	// Interval is the least time between two polls; raised on slow_down.
	Interval time.Duration
	LastPoll *time.Time // nil until the first poll
	Status   DeviceStatus
	// UserID and DecidedAt say who approved or denied, and when.
	UserID     *int64
	DecidedAt  *time.Time
	RedeemedAt *time.Time
}

// Expired reports whether the device code is no longer valid at now.
func (g *DeviceGrant) Expired(now time.Time) bool { return !now.Before(g.Expires) }

// Scope is one configured OAuth2 scope.
type Scope struct {
	Name        string
	Description string
}

// Scopes is the ordered list of scopes the server grants (DOT's SCOPES
// setting). The zero value has none.
type Scopes []Scope

// ScopeAdmin is the scope of the admin API (/api/admin/): an OAuth access
// token administers only with it, and only the clients an operator names
// (oauth.Config.AdminClients) are granted it, never by default.
const ScopeAdmin = "admin"

// DefaultScopes returns DOT's settings in the reference: read, write,
// groups. Each call returns a new slice, so no caller can change another's.
func DefaultScopes() Scopes {
	return Scopes{
		{"read", "Read scope"},
		{"write", "Write scope"},
		{"groups", "Access to your groups"},
	}
}

// Names returns the scope names in settings order.
func (s Scopes) Names() []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = x.Name
	}
	return out
}

// Has reports whether name is configured.
func (s Scopes) Has(name string) bool {
	for _, x := range s {
		if x.Name == name {
			return true
		}
	}
	return false
}

// Description returns the description of a configured scope, or its name.
func (s Scopes) Description(name string) string {
	for _, x := range s {
		if x.Name == name {
			return x.Description
		}
	}
	return name
}

// Valid reports whether every requested scope is configured.
func (s Scopes) Valid(requested []string) bool {
	for _, r := range requested {
		if !s.Has(r) {
			return false
		}
	}
	return true
}

// ParseScopes splits a space-delimited scope parameter, dropping empty
// items and duplicates and keeping the order given.
func ParseScopes(param string) []string {
	var out []string
	for _, f := range strings.Fields(param) {
		dup := false
		for _, o := range out {
			if o == f {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, f)
		}
	}
	return out
}

// ScopeSubset reports whether every scope in want is in have.
func ScopeSubset(want, have []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// HasScope reports whether the space-delimited scope string has every one
// of required (DOT's TokenHasScope rule).
func HasScope(scope string, required ...string) bool {
	return ScopeSubset(required, strings.Fields(scope))
}

// SecretHasher hashes client secrets with HMAC-SHA256 under a key derived
// from the server secret: a copy of the database alone reveals nothing that
// can be checked offline, and verifying costs microseconds on every token
// request. Generated secrets carry 256 bits of entropy, so a slow hash
// would add nothing for them (see docs/oauth.md for imported secrets).
type SecretHasher struct{ key []byte }

// NewSecretHasher derives the hashing key from the server secret.
func NewSecretHasher(serverSecret string) *SecretHasher {
	m := hmac.New(sha256.New, []byte(serverSecret))
	m.Write([]byte("gatehouse/client-secret/v1"))
	return &SecretHasher{key: m.Sum(nil)}
}

// Hash returns the stored form of a client secret.
func (h *SecretHasher) Hash(secret string) []byte {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// Verify compares secret with a stored hash in constant time. An empty
// stored hash (a public client) matches only the empty secret; a Django
// password hash (DjangoSecretHash) matches nothing here.
func (h *SecretHasher) Verify(secret string, stored []byte) bool {
	if len(stored) == 0 {
		return secret == ""
	}
	if _, ok := DjangoSecretEncoded(stored); ok {
		return false
	}
	return subtle.ConstantTimeCompare(h.Hash(secret), stored) == 1
}

// djangoSecret prefixes a stored client secret hash that is a Django
// password hash: Django OAuth Toolkit 2 and later store client secrets
// through make_password (hash_client_secret, on by default), which only
// the project's password hashers verify. An application loaded with one
// keeps it until its secret first verifies, when it is replaced by
// SecretHasher's (oauth.Provider).
const djangoSecret = "django:"

// DjangoSecretHash is the stored form of a client secret that Django
// OAuth Toolkit kept as the Django password hash encoded.
func DjangoSecretHash(encoded string) []byte { return []byte(djangoSecret + encoded) }

// DjangoSecretEncoded returns the Django password hash a stored client
// secret hash holds, and whether it holds one (DjangoSecretHash).
func DjangoSecretEncoded(stored []byte) (string, bool) {
	s, ok := strings.CutPrefix(string(stored), djangoSecret)
	return s, ok && len(stored) > len(djangoSecret)
}
