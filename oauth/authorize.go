package oauth

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// AuthorizeRequest is an authorization request (RFC 6749 4.1.1, RFC 7636
// 4.3) parsed once from the query (GET) or the consent form (POST).
type AuthorizeRequest struct {
	App             *gatehouse.Application
	ResponseType    string
	RedirectURI     string // the one codes and errors go to
	RedirectSent    bool   // redirect_uri was in the request (then the token request must repeat it)
	Scope           []string
	State           string
	Challenge       string
	ChallengeMethod string
	// OpenID Connect (oidc.go): the nonce to put in the id_token, prompt's
	// values, max_age in seconds (-1: none), login_hint (usable or "")
	// and id_token_hint as sent.
	Nonce       string
	Prompt      map[string]bool
	MaxAge      int64
	LoginHint   string
	IDTokenHint string
}

// ParseAuthorize validates an authorization request. An error found before
// a trusted redirect URI is known comes with a nil request: it must be
// shown to the user, never redirected. Later errors come with the request,
// to be redirected to the client (RedirectURL). Errors are *Error, or
// internal.
func (p *Provider) ParseAuthorize(ctx context.Context, params url.Values) (*AuthorizeRequest, error) {
	a := &AuthorizeRequest{ResponseType: params.Get("response_type"), State: params.Get("state"),
		Challenge: params.Get("code_challenge"), ChallengeMethod: params.Get("code_challenge_method")}
	for _, name := range []string{"client_id", "redirect_uri", "response_type", "state", "scope", "code_challenge", "code_challenge_method",
		"nonce", "prompt", "max_age", "login_hint", "id_token_hint", "response_mode"} {
		if len(params[name]) > 1 {
			return nil, ErrInvalidRequest("Duplicate " + name + " parameter.")
		}
	}
	app, err := p.Application(ctx, params.Get("client_id"))
	if err != nil {
		return nil, err
	}
	if app == nil {
		return nil, &Error{Code: "invalid_client_id", Description: "Invalid client_id parameter value.", Status: 400}
	}
	a.App = app
	if uri, sent := params["redirect_uri"]; sent {
		a.RedirectURI, a.RedirectSent = uri[0], true
		if !app.RedirectURIAllowed(a.RedirectURI) {
			return nil, ErrInvalidRequest("Mismatching redirect URI.")
		}
	} else {
		uri, ok := app.DefaultRedirectURI()
		if !ok {
			return nil, ErrInvalidRequest("Missing redirect URI.")
		}
		a.RedirectURI = uri
	}
	if !p.cfg.RedirectSchemeAllowed(a.RedirectURI) {
		// DOT's HttpResponseUriRedirect refuses it (DisallowedRedirect);
		// an application loaded from Django may hold such a URI.
		return nil, ErrInvalidRequest("Redirect URI scheme is not allowed.")
	}
	// From here on, errors go back to the client.
	switch {
	case a.ResponseType == "":
		return a, ErrInvalidRequest("Missing response_type parameter.")
	case a.ResponseType != "code":
		return a, ErrUnsupportedResponseType
	case !app.Allows(gatehouse.GrantAuthorizationCode):
		return a, ErrUnauthorizedClient
	}
	if a.Challenge != "" {
		if a.ChallengeMethod == "" {
			a.ChallengeMethod = "plain" // RFC 7636 4.3 default, refused below
		}
		if a.ChallengeMethod != "S256" {
			return a, ErrInvalidRequest("Transform algorithm not supported.")
		}
		if !validVerifier(a.Challenge) || len(a.Challenge) != 43 {
			return a, ErrInvalidRequest("Invalid code_challenge parameter.")
		}
	} else if app.IsPublic() || p.cfg.RequirePKCE {
		return a, ErrInvalidRequest("Code challenge required.")
	} else if a.ChallengeMethod != "" {
		return a, ErrInvalidRequest("Missing code_challenge parameter.")
	}
	_, sent := params["scope"]
	scope, oe := p.requestedScope(app, params.Get("scope"), sent)
	if oe != nil {
		return a, oe
	}
	a.Scope = scope
	if a.OpenID() && !a.RedirectSent {
		// OpenID Connect Core 3.1.2.1 requires it; shown, not redirected.
		return nil, ErrInvalidRequest("Missing redirect_uri parameter: an OpenID Connect request must name it.")
	}
	if oe := a.parseOIDC(params); oe != nil {
		return a, oe
	}
	return a, nil
}

// IssueCode stores a new single-use authorization code of u for a and
// returns it (shown once; only its hash is stored). authTime is when u
// logged in to the session (the id_token's auth_time).
func (p *Provider) IssueCode(ctx context.Context, a *AuthorizeRequest, u *gatehouse.User, authTime time.Time) (string, error) {
	code, err := secret.Alnum(p.random, 30)
	if err != nil {
		return "", err
	}
	now := p.now()
	g := gatehouse.Grant{CodeHash: secret.Hash(code), ApplicationID: a.App.ID, UserID: u.ID, Scope: strings.Join(a.Scope, " "),
		CodeChallenge: a.Challenge, CodeChallengeMethod: a.ChallengeMethod, Nonce: a.Nonce, Created: now, Expires: now.Add(p.cfg.CodeLifetime)}
	if !authTime.IsZero() {
		g.AuthTime = &authTime
	}
	if a.RedirectSent {
		g.RedirectURI = a.RedirectURI
	}
	if a.Challenge == "" {
		g.CodeChallengeMethod = ""
	}
	if err := p.store.CreateGrant(ctx, &g); err != nil {
		if errors.Is(err, gatehouse.ErrConflict) && g.Nonce != "" {
			return "", ErrInvalidRequest("The nonce was already used.")
		}
		return "", err
	}
	p.audit.Record(ctx, gatehouse.AuditEvent{Event: gatehouse.AuditCodeIssued, UserID: u.ID, ClientID: a.App.ClientID,
		Detail: map[string]string{"kind": gatehouse.AuditKindOAuth, "scope": g.Scope}})
	return code, nil
}

// RedirectURL is where the user agent goes back to the client with params
// (code, or error and error_description) and the request's state, in
// oauthlib's order.
func (a *AuthorizeRequest) RedirectURL(params url.Values) string {
	if a.State != "" {
		params.Set("state", a.State)
	}
	loc := a.RedirectURI
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	var parts []string
	for _, k := range []string{"code", "error", "error_description", "state"} {
		if v, ok := params[k]; ok {
			parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v[0]))
		}
	}
	return loc + sep + strings.Join(parts, "&")
}

// ErrorURL is RedirectURL for an error.
func (a *AuthorizeRequest) ErrorURL(e *Error) string {
	q := url.Values{"error": {e.Code}}
	if e.Description != "" {
		q.Set("error_description", e.Description)
	}
	return a.RedirectURL(q)
}
