package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// tokenRequest is a token request after client authentication, parsed
// once; each grant reads its own parameters from it.
type tokenRequest struct {
	r      *http.Request
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
	parse(t *tokenRequest) *oauthError
	// issue checks the grant and issues tokens.
	issue(ctx context.Context, s *Server, t *tokenRequest) (*issued, *oauthError, error)
	// duplicates are the parameters that may appear only once.
	duplicates() []string
}

// issued is a successful token response.
type issued struct {
	access  string
	refresh string // "" when none is issued
	scope   string
	expires time.Duration
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
	}
	return nil
}

// tokenEndpoint is POST /o/token/.
func (s *Server) tokenEndpoint(w http.ResponseWriter, r *http.Request) {
	if r.URL.RawQuery != "" {
		// DOT answers 500 here (an uncaught oauthlib error).
		writeOAuthError(w, errInvalidRequest("URL query parameters are not allowed"))
		return
	}
	form, ok := readOAuthForm(w, r)
	if !ok {
		return
	}
	g := newGrant(form.Get("grant_type"))
	if g == nil {
		writeOAuthError(w, errUnsupportedGrantType)
		return
	}
	for _, p := range append([]string{"grant_type", "client_id", "scope"}, g.duplicates()...) {
		if len(form[p]) > 1 {
			writeOAuthError(w, errInvalidRequest("Duplicate "+p+" parameter."))
			return
		}
	}
	ctx := r.Context()
	app, ok := s.requireClient(w, r, form)
	if !ok {
		return
	}
	t := &tokenRequest{r: r, form: form, client: app, now: s.now()}
	if oe := g.parse(t); oe != nil {
		writeOAuthError(w, oe)
		return
	}
	if !g.allowed(app) {
		writeOAuthError(w, errUnauthorizedClient)
		return
	}
	res, oe, err := g.issue(ctx, s, t)
	if err != nil {
		s.oauthFail(w, r, err)
		return
	}
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	body := []kv{{"access_token", res.access}, {"expires_in", int64(res.expires / time.Second)},
		{"token_type", "Bearer"}, {"scope", res.scope}}
	if res.refresh != "" {
		body = append(body, kv{"refresh_token", res.refresh})
	}
	writeDOTJSON(w, http.StatusOK, true, body...)
}

// requestedScope validates the scope parameter against the configured
// scopes; absent, the application's default scopes (else every configured
// scope, in settings order) are granted.
func (s *Server) requestedScope(app *gatehouse.Application, param string, sent bool) ([]string, *oauthError) {
	if !sent || strings.TrimSpace(param) == "" {
		if len(app.DefaultScopes) > 0 {
			return app.DefaultScopes, nil
		}
		return s.cfg.OAuth.Scopes.Names(), nil
	}
	req := gatehouse.ParseScopes(param)
	if !s.cfg.OAuth.Scopes.Valid(req) {
		return nil, errInvalidScope
	}
	return req, nil
}

// newPair builds an access token and, when withRefresh, a refresh token
// for app and user, returning the values to hand out.
func (s *Server) newPair(app *gatehouse.Application, userID *int64, scope string, now time.Time, withRefresh bool) (
	*gatehouse.AccessToken, *gatehouse.RefreshToken, *issued, error) {
	access, err := secret.Alnum(s.random, 30)
	if err != nil {
		return nil, nil, nil, err
	}
	family, err := secret.Hex(s.random, 12)
	if err != nil {
		return nil, nil, nil, err
	}
	o := &s.cfg.OAuth
	at := &gatehouse.AccessToken{Hash: secret.Hash(access), UserID: userID, ApplicationID: app.ID, Scope: scope, Family: family,
		Created: now, Expires: now.Add(o.AccessTokenLifetime)}
	out := &issued{access: access, scope: scope, expires: o.AccessTokenLifetime}
	if !withRefresh {
		return at, nil, out, nil
	}
	refresh, err := secret.Alnum(s.random, 30)
	if err != nil {
		return nil, nil, nil, err
	}
	rt := &gatehouse.RefreshToken{Hash: secret.Hash(refresh), UserID: userID, ApplicationID: app.ID, Scope: scope, Family: family, Created: now}
	if o.RefreshTokenLifetime > 0 {
		e := now.Add(o.RefreshTokenLifetime)
		rt.Expires = &e
	}
	out.refresh = refresh
	return at, rt, out, nil
}

// familyDeadline is the absolute end of a new refresh family, or nil.
func (s *Server) familyDeadline(now time.Time) *time.Time {
	if d := s.cfg.OAuth.RefreshFamilyLifetime; d > 0 {
		e := now.Add(d)
		return &e
	}
	return nil
}

// forgetAccess drops revoked access tokens from this replica's cache.
func (s *Server) forgetAccess(hashes [][]byte) { s.authn.ForgetAccess(hashes) }

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

func (g *passwordGrant) parse(t *tokenRequest) *oauthError {
	g.username, g.password = t.param("username"), t.param("password")
	if g.username == "" {
		return errInvalidRequest("Request is missing username parameter.")
	}
	if g.password == "" {
		return errInvalidRequest("Request is missing password parameter.")
	}
	_, g.scopeSent = t.form["scope"]
	g.scope = t.param("scope")
	return nil
}

var errBadCredentials = &oauthError{Code: "invalid_grant", Description: "Invalid credentials given.", Status: http.StatusBadRequest}

func (g *passwordGrant) issue(ctx context.Context, s *Server, t *tokenRequest) (*issued, *oauthError, error) {
	if gatehouse.Length(g.password) > 4096 || gatehouse.Length(g.username) > gatehouse.MaxUsername {
		return nil, errBadCredentials, nil
	}
	u, ok, err := s.accounts.CheckPassword(ctx, g.username, g.password)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, errBadCredentials, nil
	}
	setLogUser(t.r, u.ID)
	scope, oe := s.requestedScope(t.client, g.scope, g.scopeSent)
	if oe != nil {
		return nil, oe, nil
	}
	at, rt, out, err := s.newPair(t.client, &u.ID, strings.Join(scope, " "), t.now, true)
	if err != nil {
		return nil, nil, err
	}
	return out, nil, s.store.CreateTokens(ctx, at, rt, s.familyDeadline(t.now))
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

func (g *clientCredentialsGrant) parse(t *tokenRequest) *oauthError {
	_, g.scopeSent = t.form["scope"]
	g.scope = t.param("scope")
	return nil
}

func (g *clientCredentialsGrant) issue(ctx context.Context, s *Server, t *tokenRequest) (*issued, *oauthError, error) {
	scope, oe := s.requestedScope(t.client, g.scope, g.scopeSent)
	if oe != nil {
		return nil, oe, nil
	}
	at, _, out, err := s.newPair(t.client, nil, strings.Join(scope, " "), t.now, false)
	if err != nil {
		return nil, nil, err
	}
	return out, nil, s.store.CreateTokens(ctx, at, nil, nil)
}

// --- authorization_code (RFC 6749 4.1.3, PKCE RFC 7636)

type authorizationCodeGrant struct {
	code, redirectURI, verifier string
	verifierSent                bool
}

func (g *authorizationCodeGrant) allowed(a *gatehouse.Application) bool {
	return a.Allows(gatehouse.GrantAuthorizationCode)
}
func (g *authorizationCodeGrant) duplicates() []string {
	return []string{"code", "redirect_uri", "code_verifier"}
}

func (g *authorizationCodeGrant) parse(t *tokenRequest) *oauthError {
	g.code, g.redirectURI = t.param("code"), t.param("redirect_uri")
	_, g.verifierSent = t.form["code_verifier"]
	g.verifier = t.param("code_verifier")
	if g.code == "" {
		return errInvalidRequest("Missing code parameter.")
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

func (g *authorizationCodeGrant) issue(ctx context.Context, s *Server, t *tokenRequest) (*issued, *oauthError, error) {
	var out *issued
	check := func(gr gatehouse.Grant, u *gatehouse.User) error {
		if gr.RedirectURI != "" && g.redirectURI != gr.RedirectURI {
			return errInvalidRequest("Mismatching redirect URI.")
		}
		switch {
		case gr.CodeChallenge != "":
			if !g.verifierSent || g.verifier == "" {
				return errInvalidRequest("Code verifier required.")
			}
			if gr.CodeChallengeMethod != "S256" || !validVerifier(g.verifier) ||
				subtle.ConstantTimeCompare([]byte(S256(g.verifier)), []byte(gr.CodeChallenge)) != 1 {
				return errInvalidGrant
			}
		case g.verifierSent:
			// A verifier for a code issued without a challenge: a PKCE
			// downgrade (RFC 9700 2.1.1).
			return errInvalidGrant
		case t.client.IsPublic() || s.cfg.OAuth.RequirePKCE:
			return errInvalidGrant
		}
		if u == nil || !u.IsActive {
			return errInvalidGrant
		}
		return nil
	}
	issue := func(gr gatehouse.Grant) (*gatehouse.AccessToken, *gatehouse.RefreshToken, *time.Time, error) {
		uid := gr.UserID
		at, rt, o, err := s.newPair(t.client, &uid, gr.Scope, t.now, true)
		out = o
		return at, rt, s.familyDeadline(t.now), err
	}
	revoked, err := s.store.RedeemGrant(ctx, secret.Hash(g.code), t.client.ID, t.now, check, issue)
	s.forgetAccess(revoked)
	if oe, err := s.exchangeError(ctx, t, err, "authorization code replayed: tokens issued from it revoked"); oe != nil || err != nil {
		return nil, oe, err
	}
	return out, nil, nil
}

// exchangeError maps the outcome of a code redemption or a refresh
// rotation to the OAuth error (or internal error) to answer; nil, nil on
// success. A replay is logged with replayMsg.
func (s *Server) exchangeError(ctx context.Context, t *tokenRequest, err error, replayMsg string) (*oauthError, error) {
	var oe *oauthError
	switch {
	case err == nil:
		return nil, nil
	case errors.As(err, &oe):
		return oe, nil
	case errors.Is(err, gatehouse.ErrTokenReused):
		s.log.WarnContext(ctx, replayMsg, "client_id", t.client.ClientID, "request_id", requestID(t.r))
		return errInvalidGrant, nil
	case errors.Is(err, gatehouse.ErrInvalidGrant):
		return errInvalidGrant, nil
	}
	return nil, err
}

// --- refresh_token (RFC 6749 6), rotated as DOT does

type refreshTokenGrant struct {
	token     string
	scope     string
	scopeSent bool
}

func (g *refreshTokenGrant) allowed(a *gatehouse.Application) bool { return a.AllowsRefresh() }
func (g *refreshTokenGrant) duplicates() []string                  { return []string{"refresh_token"} }

func (g *refreshTokenGrant) parse(t *tokenRequest) *oauthError {
	g.token = t.param("refresh_token")
	_, g.scopeSent = t.form["scope"]
	g.scope = t.param("scope")
	return nil
}

func (g *refreshTokenGrant) issue(ctx context.Context, s *Server, t *tokenRequest) (*issued, *oauthError, error) {
	if g.token == "" {
		return nil, errInvalidRequest("Missing refresh token parameter."), nil
	}
	if len(g.token) > 255 {
		return nil, errInvalidGrant, nil
	}
	var req []string
	if g.scopeSent && strings.TrimSpace(g.scope) != "" {
		req = gatehouse.ParseScopes(g.scope)
	}
	var out *issued
	issue := func(rot gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
		old := rot.Old
		if old.UserID != nil && (rot.User == nil || !rot.User.IsActive) {
			return nil, nil, errInvalidGrant
		}
		scope := old.Scope
		if req != nil {
			if !gatehouse.ScopeSubset(req, strings.Fields(old.Scope)) {
				return nil, nil, errInvalidScope
			}
			scope = strings.Join(req, " ")
		}
		at, rt, o, err := s.newPair(t.client, old.UserID, scope, t.now, true)
		out = o
		return at, rt, err
	}
	revoked, err := s.store.RotateRefreshToken(ctx, secret.Hash(g.token), t.client.ID, t.now, s.cfg.OAuth.RefreshGracePeriod, issue)
	s.forgetAccess(revoked)
	if oe, err := s.exchangeError(ctx, t, err, "rotated refresh token replayed: its family was revoked"); oe != nil || err != nil {
		return nil, oe, err
	}
	return out, nil, nil
}
