package oauth

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// OpenID Connect on top of the provider: the scopes it adds, the
// parameters an authorization request may carry, and the id_token the
// token endpoint returns beside the access token. Signing and the claims
// are the IDTokenIssuer's (package oidc); this package only decides when
// an id_token is due and with what.

// The OpenID Connect scopes, valid when an IDTokenIssuer is set. They are
// granted only when asked for: a request naming no scope gets the
// configured defaults, as before.
const (
	ScopeOpenID  = "openid"
	ScopeProfile = "profile"
	ScopeEmail   = "email"
)

var oidcScopes = gatehouse.Scopes{
	{Name: ScopeOpenID, Description: "Sign you in with your account"},
	{Name: ScopeProfile, Description: "Your name and username"},
	{Name: ScopeEmail, Description: "Your email address"},
}

// IDTokenIssuer signs id_tokens (oidc.Provider).
type IDTokenIssuer interface {
	IDToken(ctx context.Context, in IDTokenInput) (string, error)
}

// IDTokenInput is what an id_token is made from.
type IDTokenInput struct {
	User     gatehouse.User
	ClientID string
	Scope    string
	// Nonce is the authorization request's nonce; "" on refresh (OpenID
	// Connect Core 12.2: the refreshed id_token carries none).
	Nonce string
	// AuthTime is when the user logged in, nil when not known.
	AuthTime *time.Time
	// AccessToken is the access token issued with it (at_hash).
	AccessToken string
	IssuedAt    time.Time
}

// Prompt values (OpenID Connect Core 3.1.2.1).
const (
	PromptNone          = "none"
	PromptLogin         = "login"
	PromptConsent       = "consent"
	PromptSelectAccount = "select_account"
)

// maxNonce is the longest nonce kept, DOT's Grant.nonce max_length.
const maxNonce = 255

// parseOIDC reads the OpenID Connect parameters of an authorization
// request into a; the error is an *Error to redirect to the client.
func (a *AuthorizeRequest) parseOIDC(params url.Values) *Error {
	// Request objects (OpenID Connect Core 6) are not offered, as
	// discovery says; the client is told so rather than have them ignored.
	// An empty parameter is one not sent (RFC 6749 3.1).
	if params.Get("request") != "" {
		return &Error{Code: "request_not_supported", Description: "Request objects are not supported.", Status: 400}
	}
	if params.Get("request_uri") != "" {
		return &Error{Code: "request_uri_not_supported", Description: "request_uri is not supported.", Status: 400}
	}
	a.Nonce = params.Get("nonce")
	if len(a.Nonce) > maxNonce || !gatehouse.ValidText(a.Nonce) {
		return ErrInvalidRequest("Invalid nonce parameter.")
	}
	switch m := params.Get("response_mode"); m {
	case "", "query":
	default:
		return ErrInvalidRequest("Unsupported response_mode parameter: only query is supported.")
	}
	a.Prompt = map[string]bool{}
	for _, p := range strings.Fields(params.Get("prompt")) {
		switch p {
		case PromptNone, PromptLogin, PromptConsent, PromptSelectAccount:
			a.Prompt[p] = true
		default:
			return ErrInvalidRequest("Unsupported prompt parameter value.")
		}
	}
	if a.Prompt[PromptNone] && len(a.Prompt) > 1 {
		return ErrInvalidRequest("prompt=none cannot be combined with other values.")
	}
	a.MaxAge = -1
	if v := params["max_age"]; len(v) > 0 && v[0] != "" {
		n, err := strconv.ParseInt(v[0], 10, 64)
		if err != nil || n < 0 || n > 1<<31 || strings.TrimLeft(v[0], "0123456789") != "" {
			return ErrInvalidRequest("Invalid max_age parameter.")
		}
		a.MaxAge = n
	}
	a.LoginHint = params.Get("login_hint")
	if gatehouse.Length(a.LoginHint) > gatehouse.MaxLoginName || !gatehouse.ValidText(a.LoginHint) {
		a.LoginHint = "" // only a hint: an unusable one is ignored
	}
	a.IDTokenHint = params.Get("id_token_hint")
	if len(a.IDTokenHint) > 8192 {
		return ErrInvalidRequest("Invalid id_token_hint parameter.")
	}
	return nil
}

// OpenID reports whether the request asks for an id_token.
func (a *AuthorizeRequest) OpenID() bool {
	return gatehouse.HasScope(strings.Join(a.Scope, " "), ScopeOpenID)
}

// LoginRequired reports whether the user must log in again before a code
// is issued: prompt=login or select_account, or a login older than
// max_age. authTime is when the session's user logged in.
func (a *AuthorizeRequest) LoginRequired(authTime, now time.Time) bool {
	if a.Prompt[PromptLogin] || a.Prompt[PromptSelectAccount] {
		return true
	}
	return a.MaxAge >= 0 && now.Sub(authTime) > time.Duration(a.MaxAge)*time.Second
}

// ConsentRequired reports whether the user must be shown the consent page.
func (a *AuthorizeRequest) ConsentRequired() bool {
	return a.Prompt[PromptConsent] || !a.App.SkipAuthorization
}

// withOIDCScopes returns the configured scopes with OpenID Connect's
// appended (those not configured already), and whether it added any.
func withOIDCScopes(s gatehouse.Scopes) gatehouse.Scopes {
	out := append(gatehouse.Scopes(nil), s...)
	for _, o := range oidcScopes {
		if !s.Valid([]string{o.Name}) {
			out = append(out, o)
		}
	}
	return out
}
