// Package oidc is the OpenID Connect provider on top of package oauth: the
// id_token the token endpoint returns for the openid scope, the claims
// userinfo answers with, the checks on an id_token_hint, and the
// discovery document. Signing is a Signer's (package keys: keys in the
// database, shared by the replicas, rotated on a schedule).
package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
)

// Signer signs and checks JSON Web Tokens with the provider's keys
// (keys.Manager).
type Signer interface {
	// Sign returns a compact JWS of claims with typ in its header.
	Sign(ctx context.Context, typ string, claims any) (string, error)
	// Verify checks a token's signature against the published keys and
	// returns its typ and payload; it checks no claim.
	Verify(ctx context.Context, token string) (typ string, payload []byte, err error)
	// Algorithms are the published keys' algorithms, the one signing now
	// first.
	Algorithms() []string
	// JWKS is the public key set and how long it may be cached.
	JWKS(ctx context.Context) ([]byte, time.Duration, error)
}

// Config holds the provider's settings.
type Config struct {
	// Issuer is the iss of every id_token and the issuer of the
	// discovery document: gatehouse's public URL, or Django OAuth
	// Toolkit's issuer kept (that URL and /o).
	Issuer string
	// BaseURL is gatehouse's public URL, under which its routes are
	// (userinfo, logout); "" means Issuer.
	BaseURL string
	// IDTokenLifetime is how long an id_token is valid (DOT's
	// ID_TOKEN_EXPIRE_SECONDS); 0 means an hour.
	IDTokenLifetime time.Duration
	// EmailVerified asserts email_verified: true for every user's email.
	// Django does not record whether an address was verified, so the
	// claim is left out unless the project's sign-up verifies them.
	EmailVerified bool
}

// Deps are what a Provider is built from.
type Deps struct {
	Config Config
	Signer Signer
	Now    func() time.Time // nil: time.Now
}

// Provider issues id_tokens and answers userinfo. Safe for concurrent use.
type Provider struct {
	cfg    Config
	signer Signer
	now    func() time.Time
}

// New returns a Provider; it refuses a missing issuer or signer.
func New(d Deps) (*Provider, error) {
	if d.Config.Issuer == "" {
		return nil, errors.New("oidc: an issuer is required")
	}
	if d.Signer == nil {
		return nil, errors.New("oidc: a signer is required")
	}
	if d.Config.BaseURL == "" {
		d.Config.BaseURL = d.Config.Issuer
	}
	if d.Config.IDTokenLifetime <= 0 {
		d.Config.IDTokenLifetime = time.Hour
	}
	p := &Provider{cfg: d.Config, signer: d.Signer, now: d.Now}
	if p.now == nil {
		p.now = time.Now
	}
	return p, nil
}

// Config returns the provider's settings.
func (p *Provider) Config() Config { return p.cfg }

// JWKS is the signer's public key set and how long it may be cached.
func (p *Provider) JWKS(ctx context.Context) ([]byte, time.Duration, error) {
	return p.signer.JWKS(ctx)
}

// Subject is the sub of a user (User.Subject): the user's id, which never
// changes (a username can), or the Django key of a user imported with one
// that is no integer, as Django OAuth Toolkit gave it.
func Subject(u *gatehouse.User) string { return u.Subject() }

// UserClaims are the standard claims of a user that the profile and email
// scopes release (OpenID Connect Core 5.4).
type UserClaims struct {
	Name              string `json:"name,omitempty"`
	GivenName         string `json:"given_name,omitempty"`
	FamilyName        string `json:"family_name,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	Email             string `json:"email,omitempty"`
	EmailVerified     *bool  `json:"email_verified,omitempty"`
}

func (p *Provider) userClaims(u *gatehouse.User, scope string) UserClaims {
	var c UserClaims
	if gatehouse.HasScope(scope, oauth.ScopeProfile) {
		c.GivenName, c.FamilyName, c.PreferredUsername = u.FirstName, u.LastName, u.Username
		c.Name = strings.TrimSpace(u.FirstName + " " + u.LastName)
	}
	if gatehouse.HasScope(scope, oauth.ScopeEmail) && u.Email != "" {
		c.Email = u.Email
		if p.cfg.EmailVerified {
			t := true
			c.EmailVerified = &t
		}
	}
	return c
}

// IDClaims are an id_token's claims (OpenID Connect Core 2).
type IDClaims struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"`
	Audience string `json:"aud"`
	Expires  int64  `json:"exp"`
	IssuedAt int64  `json:"iat"`
	AuthTime int64  `json:"auth_time,omitempty"`
	Nonce    string `json:"nonce,omitempty"`
	AtHash   string `json:"at_hash,omitempty"`
	// AuthorizedParty is the client the token was issued to.
	AuthorizedParty string `json:"azp"`
	UserClaims
}

// IDToken signs the id_token of in (oauth.IDTokenIssuer).
func (p *Provider) IDToken(ctx context.Context, in oauth.IDTokenInput) (string, error) {
	now := in.IssuedAt
	if now.IsZero() {
		now = p.now()
	}
	c := IDClaims{Issuer: p.cfg.Issuer, Subject: Subject(&in.User), Audience: in.ClientID, IssuedAt: now.Unix(),
		Expires: now.Add(p.cfg.IDTokenLifetime).Unix(), Nonce: in.Nonce, AuthorizedParty: in.ClientID,
		UserClaims: p.userClaims(&in.User, in.Scope)}
	if in.AuthTime != nil {
		c.AuthTime = in.AuthTime.Unix()
	}
	if in.AccessToken != "" {
		algs := p.signer.Algorithms()
		if len(algs) == 0 {
			return "", errors.New("oidc: no signing key")
		}
		h, err := tokenHash(algs[0], in.AccessToken)
		if err != nil {
			return "", err
		}
		c.AtHash = h
	}
	return p.signer.Sign(ctx, "JWT", c)
}

// tokenHash is at_hash: the left half of the hash of the token, with the
// hash of the signing algorithm (OpenID Connect Core 3.1.3.6; SHA-512
// for Ed25519, as the EdDSA registrations of OpenID Connect say).
func tokenHash(alg, token string) (string, error) {
	var h hash.Hash
	switch alg {
	case "RS256", "ES256", "PS256", "HS256":
		h = sha256.New()
	case "EdDSA":
		h = sha512.New()
	default:
		return "", fmt.Errorf("oidc: no token hash for algorithm %q", alg)
	}
	h.Write([]byte(token))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2]), nil
}

// UserInfo is the userinfo answer for an access token's principal: sub
// and the claims its scope releases.
type UserInfo struct {
	Subject string `json:"sub"`
	UserClaims
}

// Errors of the userinfo endpoint (RFC 6750 3.1).
var (
	// ErrNotOpenID: the token was not issued for the openid scope
	// (insufficient_scope).
	ErrNotOpenID = &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "The access token was not issued for the openid scope."}
	// ErrNoUser: the token was issued to a client alone (invalid_token).
	ErrNoUser = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Message: "The access token names no user."}
)

// UserInfo returns the claims for the principal of an OAuth access token.
func (p *Provider) UserInfo(pr *gatehouse.Principal) (*UserInfo, error) {
	if pr.Scheme != gatehouse.SchemeOAuth || !gatehouse.HasScope(pr.Scope, oauth.ScopeOpenID) {
		return nil, ErrNotOpenID
	}
	if !pr.HasUser() {
		return nil, ErrNoUser
	}
	return &UserInfo{Subject: Subject(&pr.User), UserClaims: p.userClaims(&pr.User, pr.Scope)}, nil
}

// Hint is what an id_token_hint says, once its signature and issuer are
// checked (it may have expired: OpenID Connect lets a client send an
// expired one).
type Hint struct {
	Subject  string
	Audience []string
}

// ErrBadHint: the id_token_hint is not an id_token this provider issued
// (or it was issued to another client).
var ErrBadHint = errors.New("oidc: the id_token_hint was not issued by this provider to this client")

// CheckHint verifies an id_token_hint: signed by one of the published
// keys, an id_token (not an access token), of this issuer, and issued to
// clientID when clientID is not "".
func (p *Provider) CheckHint(ctx context.Context, token, clientID string) (*Hint, error) {
	typ, payload, err := p.signer.Verify(ctx, token)
	if err != nil || (typ != "" && typ != "JWT") {
		return nil, ErrBadHint
	}
	var c struct {
		Issuer   string          `json:"iss"`
		Subject  string          `json:"sub"`
		Audience json.RawMessage `json:"aud"`
		AtHash   *string         `json:"at_hash"`
		ClientID *string         `json:"client_id"`
	}
	if json.Unmarshal(payload, &c) != nil || c.Issuer != p.cfg.Issuer || c.Subject == "" || c.ClientID != nil {
		return nil, ErrBadHint
	}
	h := &Hint{Subject: c.Subject}
	var one string
	if json.Unmarshal(c.Audience, &one) == nil {
		h.Audience = []string{one}
	} else if json.Unmarshal(c.Audience, &h.Audience) != nil || len(h.Audience) == 0 {
		return nil, ErrBadHint
	}
	if clientID != "" && !contains(h.Audience, clientID) {
		return nil, ErrBadHint
	}
	return h, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
