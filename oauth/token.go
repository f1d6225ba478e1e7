package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// TokenRequest is a request to the token endpoint: its parameters (the
// form body) and the client's credentials.
type TokenRequest struct {
	Params url.Values
	Client ClientCredentials
}

// TokenResponse is a successful token response (RFC 6749 5.1).
type TokenResponse struct {
	AccessToken  string
	RefreshToken string // "" when none is issued
	Scope        string
	ExpiresIn    time.Duration
	// UserID is the user the tokens were issued to (0 for
	// client_credentials), for the request log.
	UserID int64
	// Family names the tokens' refresh family (an identifier, not a
	// secret), for the audit log.
	Family string
	// IDToken is the OpenID Connect id_token, "" when none is due.
	IDToken string
	// idToken is what the id_token is made of, set by the grants that
	// authenticate a user; Token signs it when the scope holds openid.
	idToken *IDTokenInput
}

// tokenRequest is a token request after client authentication, parsed
// once; each grant reads its own parameters from it.
type tokenRequest struct {
	form   url.Values
	client *gatehouse.Application
	now    time.Time
}

// param returns the last value of name ("" when absent).
func (t *tokenRequest) param(name string) string { return t.form.Get(name) }

// tokenGrant is one grant type of the token endpoint.
type tokenGrant interface {
	// allowed is the DOT grant type an application needs for it.
	allowed(app *gatehouse.Application) bool
	// parse reads the grant's parameters; it runs after client
	// authentication, as oauthlib's validation does.
	parse(t *tokenRequest) *Error
	// issue checks the grant and issues tokens; a refusal is an *Error.
	issue(ctx context.Context, p *Provider, t *tokenRequest) (*TokenResponse, error)
	// duplicates are the parameters that may appear only once.
	duplicates() []string
}

func newGrant(grantType string) tokenGrant {
	switch grantType {
	case "password":
		return &passwordGrant{}
	case "client_credentials":
		return &clientCredentialsGrant{}
	case "authorization_code":
		return &authorizationCodeGrant{}
	case "refresh_token":
		return &refreshTokenGrant{}
	case gatehouse.GrantDeviceCode:
		return &deviceCodeGrant{}
	}
	return nil
}

// Token runs the token endpoint (RFC 6749 3.2) in oauthlib's order: the
// grant type, duplicate parameters, client authentication, the grant's
// own parameters, whether the client may use it, then the grant. A
// refusal is an *Error; any other error is internal.
func (p *Provider) Token(ctx context.Context, req TokenRequest) (*TokenResponse, error) {
	form := req.Params
	g := newGrant(form.Get("grant_type"))
	if g == nil {
		return nil, ErrUnsupportedGrantType
	}
	for _, name := range append([]string{"grant_type", "client_id", "scope"}, g.duplicates()...) {
		if len(form[name]) > 1 {
			return nil, ErrInvalidRequest("Duplicate " + name + " parameter.")
		}
	}
	app, err := p.AuthenticateClient(ctx, req.Client)
	if err != nil {
		return nil, err
	}
	t := &tokenRequest{form: form, client: app, now: p.now()}
	if oe := g.parse(t); oe != nil {
		return nil, oe
	}
	if !g.allowed(app) {
		return nil, ErrUnauthorizedClient
	}
	out, err := g.issue(ctx, p, t)
	grant := form.Get("grant_type")
	if err != nil {
		p.auditReuse(ctx, grant, app, err)
		return nil, err
	}
	if in := out.idToken; in != nil && p.idTokens != nil && gatehouse.HasScope(out.Scope, ScopeOpenID) {
		in.ClientID, in.Scope, in.AccessToken, in.IssuedAt = app.ClientID, out.Scope, out.AccessToken, t.now
		if out.IDToken, err = p.idTokens.IDToken(ctx, *in); err != nil {
			return nil, err
		}
	}
	out.idToken = nil
	event := gatehouse.AuditTokenIssued
	if grant == "refresh_token" {
		event = gatehouse.AuditTokenRefreshed
	}
	p.audit.Record(ctx, gatehouse.AuditEvent{Event: event, UserID: out.UserID, ClientID: app.ClientID,
		Detail: map[string]string{"kind": gatehouse.AuditKindOAuth, "grant": grant, "scope": out.Scope, "family": out.Family}})
	return out, nil
}

// auditReuse records a replayed code or refresh token, with whose it was
// when the store says (*gatehouse.TokenReuse); other errors are not
// audited.
func (p *Provider) auditReuse(ctx context.Context, grant string, app *gatehouse.Application, err error) {
	if !errors.Is(err, gatehouse.ErrTokenReused) {
		return
	}
	reuse, _ := errors.AsType[*gatehouse.TokenReuse](err)
	if reuse == nil {
		reuse = &gatehouse.TokenReuse{}
	}
	e := gatehouse.AuditEvent{Event: gatehouse.AuditTokenReused, UserID: reuse.UserID, ClientID: app.ClientID,
		Detail: map[string]string{"kind": gatehouse.AuditKindOAuth, "family": reuse.Family}}
	if grant == "authorization_code" {
		e.Event, e.Detail = gatehouse.AuditCodeReplayed, map[string]string{"kind": gatehouse.AuditKindOAuth}
	}
	p.audit.Record(ctx, e)
}

// requestedScope validates the scope parameter against the configured
// scopes; absent, the application's default scopes, else DEFAULT_SCOPES
// (else every configured scope, in settings order) are granted. The admin
// scope (gatehouse.ScopeAdmin) is granted only to Config.AdminClients and
// only when named: another client naming it gets invalid_scope, and no
// default grants it.
func (p *Provider) requestedScope(app *gatehouse.Application, param string, sent bool) ([]string, *Error) {
	if !sent {
		if len(app.DefaultScopes) > 0 {
			return withoutAdmin(app.DefaultScopes), nil
		}
		if p.cfg.DefaultScopes != nil {
			return p.cfg.DefaultScopes, nil
		}
		return p.allScopes, nil
	}
	req, ok := scopeList(param)
	if !ok {
		return nil, ErrInvalidScope
	}
	for _, s := range req {
		if s == gatehouse.ScopeAdmin {
			if !p.cfg.IsAdminClient(app.ClientID) {
				return nil, ErrInvalidScope
			}
		} else if !p.cfg.Scopes.Has(s) {
			return nil, ErrInvalidScope
		}
	}
	return req, nil
}

// scopeList reads a scope parameter as oauthlib's scope_to_list does:
// trimmed, then split at each space. A part left empty (an empty or blank
// parameter, two spaces in a row) is no scope, and the request is refused
// (false), as RFC 6749 §3.3's syntax and DOT refuse it; a tab is part of
// a scope's name, which then names none. Repeated scopes count once.
func scopeList(param string) ([]string, bool) {
	var out []string
	for _, part := range strings.Split(strings.TrimSpace(param), " ") {
		if part == "" {
			return nil, false
		}
		if !slices.Contains(out, part) {
			out = append(out, part)
		}
	}
	return out, true
}

// withoutAdmin is scopes without gatehouse.ScopeAdmin (scopes itself when
// it has none).
func withoutAdmin(scopes []string) []string {
	if !slices.Contains(scopes, gatehouse.ScopeAdmin) {
		return scopes
	}
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if s != gatehouse.ScopeAdmin {
			out = append(out, s)
		}
	}
	return out
}

// newPair builds an access token and, when withRefresh, a refresh token
// for app and user u (nil: the client's own token), returning the values
// to hand out.
func (p *Provider) newPair(ctx context.Context, app *gatehouse.Application, u *gatehouse.User, scope string, now time.Time, withRefresh bool) (
	*gatehouse.AccessToken, *gatehouse.RefreshToken, *TokenResponse, error) {
	return p.pairWith(ctx, "", app, u, scope, now, withRefresh, nil)
}

// keptRow is a split refresh token whose row a rotation's new refresh
// token takes (RefreshRotation.InPlace), with its selector's key (the
// new token's too).
type keptRow struct {
	token string
	key   []byte
	next  string // the new token, made ahead (aheadPair); "" to make one
}

// pairWith is newPair with the access token already made when access is
// not empty (presign's, made by accessToken for the same app, user, scope
// and now). When keep is not nil, the refresh token keeps its selector.
func (p *Provider) pairWith(ctx context.Context, access string, app *gatehouse.Application, u *gatehouse.User, scope string, now time.Time,
	withRefresh bool, keep *keptRow) (*gatehouse.AccessToken, *gatehouse.RefreshToken, *TokenResponse, error) {
	if access == "" {
		var err error
		if access, err = p.accessToken(ctx, app, u, scope, now); err != nil {
			return nil, nil, nil, err
		}
	}
	var userID *int64
	if u != nil {
		id := u.ID
		userID = &id
	}
	family, err := secret.Hex(p.random, 12)
	if err != nil {
		return nil, nil, nil, err
	}
	o := &p.cfg
	at := &gatehouse.AccessToken{Hash: secret.TokenKey(access), UserID: userID, ApplicationID: app.ID, Scope: scope, Family: family,
		Created: now, Expires: now.Add(o.AccessTokenLifetime)}
	out := &TokenResponse{AccessToken: access, Scope: scope, ExpiresIn: o.AccessTokenLifetime, Family: family}
	if userID != nil {
		out.UserID = *userID
	}
	if !withRefresh {
		return at, nil, out, nil
	}
	var refresh string
	var selector []byte
	if keep != nil {
		selector, refresh = keep.key, keep.next
		if refresh == "" {
			refresh, err = secret.Resplit(p.random, keep.token)
		}
	} else if refresh, err = secret.SplitToken(p.random, now); err == nil {
		selector = p.selector.Key(refresh)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	rt := &gatehouse.RefreshToken{Hash: selector, Secret: secret.Hash(refresh), UserID: userID, ApplicationID: app.ID,
		Scope: scope, Family: family, Created: now}
	if o.RefreshTokenLifetime > 0 {
		e := now.Add(o.RefreshTokenLifetime)
		rt.Expires = &e
	}
	out.RefreshToken = refresh
	return at, rt, out, nil
}

// jwtAccessClaims are an RFC 9068 access token's claims.
type jwtAccessClaims struct {
	Issuer   string `json:"iss"`
	Expires  int64  `json:"exp"`
	Audience string `json:"aud"`
	Subject  string `json:"sub"`
	ClientID string `json:"client_id"`
	IssuedAt int64  `json:"iat"`
	ID       string `json:"jti"`
	Scope    string `json:"scope"`
}

// accessToken makes a new access token for app and user u: 30 random
// characters, or for an application whose TokenFormat is jwt, an RFC 9068
// JWT (typ at+jwt) whose sub names the user as the id_token's does
// (User.Subject: the Django key of a user keyed by one, else the id), or
// is the client_id for a client's own token (u nil; RFC 9068 2.2). Either
// is stored by its hash, so revocation and introspection treat both
// alike.
func (p *Provider) accessToken(ctx context.Context, app *gatehouse.Application, u *gatehouse.User, scope string, now time.Time) (string, error) {
	if app.TokenFormat != gatehouse.TokenFormatJWT || p.atSigner == nil {
		return secret.OrderedAlnum(p.random, 30, now)
	}
	jti, err := secret.Hex(p.random, 16)
	if err != nil {
		return "", err
	}
	c := jwtAccessClaims{Issuer: p.cfg.Issuer, Expires: now.Add(p.cfg.AccessTokenLifetime).Unix(), Audience: p.cfg.JWTAudience,
		Subject: app.ClientID, ClientID: app.ClientID, IssuedAt: now.Unix(), ID: jti, Scope: scope}
	if u != nil {
		c.Subject = u.Subject()
	}
	return p.atSigner.Sign(ctx, gatehouse.JWTAccessTokenType, c)
}

// familyDeadline is the absolute end of a new refresh family, or nil.
func (p *Provider) familyDeadline(now time.Time) *time.Time {
	if d := p.cfg.RefreshFamilyLifetime; d > 0 {
		e := now.Add(d)
		return &e
	}
	return nil
}

// --- password (RFC 6749 4.3)

type passwordGrant struct {
	username, password string
	scope              string
	scopeSent          bool
}

func (g *passwordGrant) allowed(a *gatehouse.Application) bool {
	return a.Allows(gatehouse.GrantPassword)
}
func (g *passwordGrant) duplicates() []string { return []string{"username", "password"} }

func (g *passwordGrant) parse(t *tokenRequest) *Error {
	g.username, g.password = t.param("username"), t.param("password")
	if g.username == "" {
		return ErrInvalidRequest("Request is missing username parameter.")
	}
	if g.password == "" {
		return ErrInvalidRequest("Request is missing password parameter.")
	}
	_, g.scopeSent = t.form["scope"]
	g.scope = t.param("scope")
	return nil
}

func (g *passwordGrant) issue(ctx context.Context, p *Provider, t *tokenRequest) (*TokenResponse, error) {
	if len(g.password) > 4096 || gatehouse.Length(g.username) > gatehouse.MaxLoginName {
		return nil, errBadCredentials
	}
	u, ok, err := p.accounts.CheckPassword(ctx, gatehouse.LoginOAuthPassword, g.username, g.password)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errBadCredentials
	}
	scope, oe := p.requestedScope(t.client, g.scope, g.scopeSent)
	if oe != nil {
		return nil, oe
	}
	var out *TokenResponse
	err = redrawn(func() error {
		at, rt, o, err := p.newPair(ctx, t.client, &u, strings.Join(scope, " "), t.now, true)
		if err != nil {
			return err
		}
		// The password is an authentication: its time is the id_token's
		// auth_time now and on every refresh.
		now := t.now
		rt.AuthTime = &now
		o.idToken = &IDTokenInput{User: u, AuthTime: &now}
		out = o
		return p.store.CreateTokens(ctx, at, rt, p.familyDeadline(t.now))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// clashTries is how many times a write of newly drawn secrets runs while
// the store finds one of them taken (gatehouse.ErrConflict): it wrote
// nothing then, and new ones are drawn. A split refresh token's selector
// is its issue millisecond and 36 random bits (secret.SplitToken): two
// tokens issued by the replicas in the same millisecond share one about
// once in 2^36 pairs, and so may a token and a row stored one span of the
// prefix earlier (about 657 days; refresh tokens need not expire); a
// device's user code has 2^34.6 values. A third clash in a row would take
// a broken random source: the server's fault (a 500), not the client's.
const clashTries = 3

// redrawn runs write, which draws new secrets and stores them, until it
// ends other than in a clash, at most clashTries times.
func redrawn(write func() error) error {
	for try := 1; ; try++ {
		err := write()
		if !errors.Is(err, gatehouse.ErrConflict) {
			return err
		}
		if try == clashTries {
			return fmt.Errorf("oauth: %d draws of new secrets in a row were taken (is the random source broken?): %v", try, err)
		}
	}
}

// --- client_credentials (RFC 6749 4.4)

type clientCredentialsGrant struct {
	scope     string
	scopeSent bool
}

func (g *clientCredentialsGrant) allowed(a *gatehouse.Application) bool {
	return a.Allows(gatehouse.GrantClientCredentials) && !a.IsPublic()
}
func (g *clientCredentialsGrant) duplicates() []string { return nil }

func (g *clientCredentialsGrant) parse(t *tokenRequest) *Error {
	if t.client.IsPublic() {
		// oauthlib's grant requires the client to authenticate with a
		// secret, which a public client has not: invalid_client, as DOT.
		return ErrInvalidClient
	}
	_, g.scopeSent = t.form["scope"]
	g.scope = t.param("scope")
	return nil
}

func (g *clientCredentialsGrant) issue(ctx context.Context, p *Provider, t *tokenRequest) (*TokenResponse, error) {
	scope, oe := p.requestedScope(t.client, g.scope, g.scopeSent)
	if oe != nil {
		return nil, oe
	}
	at, _, out, err := p.newPair(ctx, t.client, nil, strings.Join(scope, " "), t.now, false)
	if err != nil {
		return nil, err
	}
	if err := p.store.CreateTokens(ctx, at, nil, nil); err != nil {
		return nil, err
	}
	return out, nil
}

// --- authorization_code (RFC 6749 4.1.3, PKCE RFC 7636)

type authorizationCodeGrant struct {
	code, redirectURI, verifier string
	redirectSent, verifierSent  bool
}

func (g *authorizationCodeGrant) allowed(a *gatehouse.Application) bool {
	return a.Allows(gatehouse.GrantAuthorizationCode)
}
func (g *authorizationCodeGrant) duplicates() []string {
	return []string{"code", "redirect_uri", "code_verifier"}
}

func (g *authorizationCodeGrant) parse(t *tokenRequest) *Error {
	g.code, g.redirectURI = t.param("code"), t.param("redirect_uri")
	_, g.redirectSent = t.form["redirect_uri"]
	_, g.verifierSent = t.form["code_verifier"]
	g.verifier = t.param("code_verifier")
	if g.code == "" {
		return ErrInvalidRequest("Missing code parameter.")
	}
	return nil
}

// validVerifier checks RFC 7636 4.1: 43 to 128 unreserved characters.
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// S256 is the PKCE transform of a verifier.
func S256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (g *authorizationCodeGrant) issue(ctx context.Context, p *Provider, t *tokenRequest) (*TokenResponse, error) {
	var out *TokenResponse
	var user *gatehouse.User
	hash := secret.Hash(g.code)
	pre, err := p.presignCode(ctx, t, g, hash)
	if err != nil {
		return nil, err
	}
	check := func(gr gatehouse.Grant, u *gatehouse.User) error {
		user = u
		if err := g.verify(gr, t.client, p.cfg.RequirePKCE); err != nil {
			return err
		}
		// A code issued before the user's password change is void.
		if u == nil || !u.IsActive || !u.Accepts(gr.Created) {
			return ErrInvalidGrant
		}
		return nil
	}
	issue := func(gr gatehouse.Grant) (*gatehouse.AccessToken, *gatehouse.RefreshToken, *time.Time, error) {
		// check returned no error, so user is gr's user, active.
		at, rt, o, err := p.pairWith(ctx, pre.token(user, gr.Scope), t.client, user, gr.Scope, t.now, true, nil)
		if err != nil {
			return nil, nil, nil, err
		}
		rt.AuthTime = gr.AuthTime
		o.idToken = &IDTokenInput{User: *user, Nonce: gr.Nonce, AuthTime: gr.AuthTime}
		out = o
		return at, rt, p.familyDeadline(t.now), nil
	}
	err = redrawn(func() error {
		revoked, err := p.store.RedeemGrant(ctx, hash, t.client.ID, t.now, check, issue)
		p.forget(revoked)
		return err
	})
	if err := exchangeError(err); err != nil {
		return nil, err
	}
	return out, nil
}

// verify checks the token request against the code gr: the redirect URI
// and the PKCE verifier (requirePKCE: every client must have sent a
// challenge).
func (g *authorizationCodeGrant) verify(gr gatehouse.Grant, client *gatehouse.Application, requirePKCE bool) error {
	if !g.redirectMatches(gr, client) {
		return ErrInvalidRequest("Mismatching redirect URI.")
	}
	switch {
	case gr.CodeChallenge != "":
		if !g.verifierSent || g.verifier == "" {
			return ErrInvalidRequest("Code verifier required.")
		}
		if gr.CodeChallengeMethod != "S256" || !validVerifier(g.verifier) ||
			subtle.ConstantTimeCompare([]byte(S256(g.verifier)), []byte(gr.CodeChallenge)) != 1 {
			return ErrInvalidGrant
		}
	case g.verifierSent:
		// A verifier for a code issued without a challenge: a PKCE
		// downgrade (RFC 9700 2.1.1).
		return ErrInvalidGrant
	case client.IsPublic() || requirePKCE:
		return ErrInvalidGrant
	}
	return nil
}

// presignCode is presign for a code exchange: it reads the code with that
// hash (no lock) and, when the redemption would accept it as read (this
// client's, not redeemed, not expired, the request's redirect URI and
// verifier right), signs the JWT access token for its user and scope, so
// that the redemption's transaction (the one writer, on SQLite) holds no
// signature; a request that the code as read refuses costs none. The
// issue callback uses it only when the locked code has the same user and
// scope. nil (and no read) for an opaque client, and nil for a code the
// redemption would refuse as read.
func (p *Provider) presignCode(ctx context.Context, t *tokenRequest, g *authorizationCodeGrant, hash []byte) (*presigned, error) {
	return p.presignAs(ctx, t, func() (*int64, string, bool, error) {
		gr, err := p.store.GrantByHash(ctx, hash)
		if err != nil {
			return nil, "", false, err
		}
		accepted := gr.ApplicationID == t.client.ID && gr.UsedAt == nil && t.now.Before(gr.Expires) &&
			g.verify(gr, t.client, p.cfg.RequirePKCE) == nil
		return &gr.UserID, gr.Scope, accepted, nil
	})
}

// redirectMatches applies RFC 6749 4.1.3 to the token request's
// redirect_uri. When the authorization request named one (gr.RedirectURI),
// the token request must repeat it exactly; DOT also accepts its absence,
// gatehouse does not. When it named none, the code went to the client's
// one registered URI, and a redirect_uri given now must be that URI, as
// DOT checks it against the URI it stored with the code (an empty or any
// other value is refused).
func (g *authorizationCodeGrant) redirectMatches(gr gatehouse.Grant, client *gatehouse.Application) bool {
	if gr.RedirectURI != "" {
		return g.redirectSent && g.redirectURI == gr.RedirectURI
	}
	if !g.redirectSent {
		return true
	}
	uri, ok := client.DefaultRedirectURI()
	return ok && g.redirectURI == uri
}

// exchangeError maps the outcome of a code redemption or a refresh
// rotation to the error to answer: the *Error a callback returned, a
// replay (which the caller should log) or an unknown grant as
// invalid_grant, anything else as is.
func exchangeError(err error) error {
	var oe *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &oe):
		return oe
	case errors.Is(err, gatehouse.ErrTokenReused):
		return replayed(err)
	case errors.Is(err, gatehouse.ErrInvalidGrant):
		return ErrInvalidGrant
	}
	return err
}

// --- refresh_token (RFC 6749 6), rotated as DOT does

type refreshTokenGrant struct {
	token     string
	scope     string
	scopeSent bool
}

func (g *refreshTokenGrant) allowed(a *gatehouse.Application) bool { return a.AllowsRefresh() }
func (g *refreshTokenGrant) duplicates() []string                  { return []string{"refresh_token"} }

func (g *refreshTokenGrant) parse(t *tokenRequest) *Error {
	g.token = t.param("refresh_token")
	_, g.scopeSent = t.form["scope"]
	g.scope = t.param("scope")
	return nil
}

func (g *refreshTokenGrant) issue(ctx context.Context, p *Provider, t *tokenRequest) (*TokenResponse, error) {
	if g.token == "" {
		if _, sent := t.form["refresh_token"]; sent {
			return nil, ErrInvalidGrant // DOT: an empty one is looked up, and not found
		}
		return nil, ErrInvalidRequest("Missing refresh token parameter.")
	}
	if len(g.token) > 255 {
		return nil, ErrInvalidGrant
	}
	var req []string
	if g.scopeSent && g.scope != "" {
		// An empty scope is no scope to oauthlib's refresh grant (the
		// token's own); a blank one is refused.
		var ok bool
		if req, ok = scopeList(g.scope); !ok {
			return nil, ErrInvalidScope
		}
	}
	key := p.selector.RefreshKey(g.token)
	pre, err := p.presign(ctx, t, key, req)
	if err != nil {
		return nil, err
	}
	var made *madeAhead // this try's pair made ahead, which issue hands out
	var out *TokenResponse
	issue := func(rot gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
		old := rot.Old
		// A refresh token issued before its user's password change is void,
		// even one whose revocation raced the change.
		if old.UserID != nil && (rot.User == nil || !rot.User.IsActive || !rot.User.Accepts(old.Created)) {
			return nil, nil, ErrInvalidGrant
		}
		scope, ok := refreshScope(req, old.Scope)
		if !ok {
			return nil, nil, ErrInvalidScope
		}
		var owner *gatehouse.User // checked above: the token's user, active
		if old.UserID != nil {
			owner = rot.User
		}
		access := pre.token(owner, scope)
		var keep *keptRow
		if sel, _, _, split := secret.SplitRef(key); rot.InPlace && split {
			keep = &keptRow{token: g.token, key: sel} // the store found the row by this selector
		}
		if made != nil { // opaque tokens, the same whatever the rotation finds
			access = made.access
			if keep != nil {
				keep.next = made.refresh
			}
		}
		at, rt, o, err := p.pairWith(ctx, access, t.client, owner, scope, t.now, true, keep)
		if err != nil {
			return nil, nil, err
		}
		o.Family = old.Family // the store keeps the pair in the old family
		rt.AuthTime = old.AuthTime
		if rot.User != nil {
			o.idToken = &IDTokenInput{User: *rot.User, AuthTime: old.AuthTime}
		}
		out = o
		return at, rt, nil
	}
	// A token rotated into a row of its own (one imported from Django)
	// gets a new selector, which may clash.
	err = redrawn(func() error {
		ahead, m, err := p.aheadPair(ctx, t, g.token, key, req)
		if err != nil {
			return err
		}
		made = m
		revoked, err := p.store.RotateRefreshToken(ctx, key, t.client.ID, t.now, p.cfg.RefreshGracePeriod, ahead, issue)
		p.forget(revoked)
		return err
	})
	if err := exchangeError(err); err != nil {
		return nil, err
	}
	return out, nil
}

// madeAhead is the pair of a refresh rotation made before it (aheadPair).
type madeAhead struct{ access, refresh string }

// aheadPair makes, before the rotation, the pair the usual rotation of
// token (key: its RefreshKey) issues: an opaque access token, and the
// split refresh token's next value under its selector; the store may
// write it without reading the token first (gatehouse.RefreshAhead), and
// the rotation's issue returns it. nil when the client's access tokens
// are JWTs (signed for the user and scope found), the token has not the
// split shape, or a scope was requested (checked against the token's
// own). A token imported from Django may have the split shape: the store
// finds no split row for it and rotates it the usual way, into a row of
// its own.
func (p *Provider) aheadPair(ctx context.Context, t *tokenRequest, token string, key []byte, req []string) (*gatehouse.RefreshAhead, *madeAhead, error) {
	sel, _, _, split := secret.SplitRef(key)
	if !split || req != nil || (t.client.TokenFormat == gatehouse.TokenFormatJWT && p.atSigner != nil) {
		return nil, nil, nil
	}
	at, rt, o, err := p.pairWith(ctx, "", t.client, nil, "", t.now, true, &keptRow{token: token, key: sel})
	if err != nil {
		return nil, nil, err
	}
	return &gatehouse.RefreshAhead{AccessHash: at.Hash, AccessExpires: at.Expires, Secret: rt.Secret, RefreshExpires: rt.Expires, Created: at.Created},
		&madeAhead{access: o.AccessToken, refresh: o.RefreshToken}, nil
}

// refreshScope is the scope a refresh gives: the old token's, or the
// requested one (req, not nil) when it is within the old token's; false
// when it is not.
func refreshScope(req []string, old string) (string, bool) {
	if req == nil {
		return old, true
	}
	if !gatehouse.ScopeSubset(req, strings.Fields(old)) {
		return "", false
	}
	return strings.Join(req, " "), true
}

// presigned is a JWT access token signed before a refresh's rotation or a
// code's redemption, for the user and scope its refresh token or code had
// when read without a lock.
type presigned struct {
	access string
	user   *gatehouse.User // as read; nil for a client's own token
	scope  string
}

// token is the presigned access token when the rotation (or redemption)
// found the same user, named by the same subject, and gives the same
// scope (then it is the token accessToken would sign now); "" otherwise,
// or for no presigned token, and the caller signs one.
func (s *presigned) token(u *gatehouse.User, scope string) string {
	if s == nil || scope != s.scope || (u == nil) != (s.user == nil) ||
		(u != nil && (u.ID != s.user.ID || u.Subject() != s.user.Subject())) {
		return ""
	}
	return s.access
}

// presign signs, before the rotation, the JWT access token that a refresh
// by a client whose access tokens are JWTs is expected to issue: it reads
// the refresh token with that key (no lock) and signs for its user and
// scope. The rotation's issue callback runs inside the store's write
// transaction, which on SQLite is the one writer every rotation of every
// client waits for; an RS256 signature there cost about a millisecond of
// it per rotation (docs/performance.md, fifteenth round). The callback
// still checks the locked token and uses this one only when user and
// scope are the same; anything else signs there as before. nil (and no
// read) for an opaque client, and nil when the read finds no token of
// this client that a rotation would accept without a reuse.
func (p *Provider) presign(ctx context.Context, t *tokenRequest, key []byte, req []string) (*presigned, error) {
	return p.presignAs(ctx, t, func() (*int64, string, bool, error) {
		old, err := p.store.RefreshTokenByHash(ctx, key)
		if err != nil {
			return nil, "", false, err
		}
		scope, ok := refreshScope(req, old.Scope)
		accepted := ok && old.ApplicationID == t.client.ID && old.Revoked == nil && (old.Expires == nil || t.now.Before(*old.Expires))
		return old.UserID, scope, accepted, nil
	})
}

// presignAs is what presign, presignCode and presignDevice share: for a
// client whose access tokens are JWTs, read (an unlocked read of the row
// the store's transaction will lock) gives the user and scope the row as
// read would be issued for, and whether the transaction would accept it
// as read; only then is the access token signed. nil, and no read, for
// an opaque client; nil for a row not found or not accepted; read's other
// errors are returned.
func (p *Provider) presignAs(ctx context.Context, t *tokenRequest, read func() (userID *int64, scope string, accepted bool, err error)) (*presigned, error) {
	if t.client.TokenFormat != gatehouse.TokenFormatJWT || p.atSigner == nil {
		return nil, nil
	}
	userID, scope, accepted, err := read()
	if errors.Is(err, gatehouse.ErrNotFound) {
		return nil, nil
	}
	if err != nil || !accepted {
		return nil, err
	}
	// The token names its user as the id_token does, by the user's
	// subject: read the user too (no lock; the transaction's own read of
	// the user decides whether this token is used).
	var u *gatehouse.User
	if userID != nil {
		got, err := p.store.User(ctx, *userID)
		if errors.Is(err, gatehouse.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		u = &got
	}
	access, err := p.accessToken(ctx, t.client, u, scope, t.now)
	if err != nil {
		return nil, err
	}
	return &presigned{access: access, user: u, scope: scope}, nil
}
