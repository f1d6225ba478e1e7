package oauth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// RevokeRequest is a revocation request (RFC 7009).
type RevokeRequest struct {
	Token  string
	Hint   string // token_type_hint
	Client ClientCredentials
}

// Revoke revokes a token of the authenticated client. Another client's
// token, like an unknown one, is left alone and reported as success (DOT
// would revoke it). Revoking a refresh token also revokes its access
// token. Errors are *Error (a missing token, client authentication) or
// internal.
func (p *Provider) Revoke(ctx context.Context, req RevokeRequest) error {
	if req.Token == "" {
		return ErrInvalidRequest("Missing token parameter.")
	}
	app, err := p.AuthenticateClient(ctx, req.Client)
	if err != nil {
		return err
	}
	if len(req.Token) > gatehouse.MaxJWTAccessToken {
		return nil
	}
	hash := secret.TokenKey(req.Token)
	audit := func(tokenType string, userID *int64, family string) {
		e := gatehouse.AuditEvent{Event: gatehouse.AuditTokenRevoked, ClientID: app.ClientID,
			Detail: map[string]string{"kind": gatehouse.AuditKindOAuth, "token_type": tokenType, "family": family}}
		if userID != nil {
			e.UserID = *userID
		}
		p.audit.Record(ctx, e)
	}
	revokeAccess := func() (bool, error) {
		// Read first, for the audit log: the row is gone after. A token
		// that is not this client's is left alone either way.
		info, err := p.store.AccessTokenByHash(ctx, hash)
		if errors.Is(err, gatehouse.ErrNotFound) || (err == nil && info.Token.ApplicationID != app.ID) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		done, err := p.store.RevokeAccessToken(ctx, hash, app.ID)
		if done {
			p.forget(gatehouse.RevokedAccess{hash})
			audit("access_token", info.Token.UserID, info.Token.Family)
		}
		return done, err
	}
	revokeRefresh := func() (bool, error) {
		key := p.selector.RefreshKey(req.Token)
		revoked, found, err := p.store.RevokeRefreshToken(ctx, key, app.ID, p.now())
		p.forget(revoked)
		if found && err == nil {
			// The revoked row stays (replay detection) and names its user.
			rt, lerr := p.store.RefreshTokenByHash(ctx, key)
			if lerr != nil {
				p.log.Warn("reading a revoked refresh token for the audit log", "err", lerr)
			}
			audit("refresh_token", rt.UserID, rt.Family)
		}
		return found, err
	}
	order := []func() (bool, error){revokeAccess, revokeRefresh}
	if req.Hint == "refresh_token" {
		order[0], order[1] = order[1], order[0]
	}
	for _, f := range order {
		done, err := f()
		if err != nil || done {
			return err
		}
	}
	return nil
}

// IntrospectRequest is an introspection request (RFC 7662). The caller
// authenticates as a client, or with Bearer, an access token that has the
// "introspection" scope (a resource server).
type IntrospectRequest struct {
	Token  string
	Client ClientCredentials
	Bearer string
}

// Introspection is what introspection tells of a token. Only Active is
// meaningful for an inactive one.
type Introspection struct {
	Active   bool
	Scope    string
	Expires  int64 // unix seconds; 0 for a credential that does not expire
	ClientID string
	Username string // "" for client_credentials tokens
	// Permissions are the user's groups and permissions (as
	// PermissionLister tells them) when Config.IntrospectPermissions is set
	// or the caller is a resource server, and the token has a user; nil
	// otherwise.
	Permissions *gatehouse.UserPermissions
	// Resource is set for a caller that is a resource server (or bears the
	// introspection scope): it may introspect every kind of credential, and
	// the answer tells the fields below (gatehouse's extension).
	Resource bool
	// Scheme is the credential's kind (gatehouse.SchemeOAuth, SchemeJWT,
	// SchemeToken or SchemeKnox), Issued its issue time.
	Scheme string
	Issued time.Time
	// User is the credential's user; nil for a client's own token.
	User *gatehouse.User
	// Audience is the token's aud when it is known (a JWT access token).
	Audience string
}

// ErrIntrospectionForbidden: the caller is neither a confidential client
// nor a bearer of the introspection scope (DOT answers an empty 403).
var ErrIntrospectionForbidden = &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "introspection needs a confidential client or the introspection scope"}

// Introspect reports on a token. A client sees only its own tokens unless
// its application is a resource server; any other token, an unknown, an
// expired one or one of an inactive user is inactive.
func (p *Provider) Introspect(ctx context.Context, req IntrospectRequest) (*Introspection, error) {
	seesAll := false
	app, err := p.AuthenticateClient(ctx, req.Client)
	var oe *Error
	if err != nil && !errors.As(err, &oe) {
		return nil, err
	}
	if oe != nil || app.IsPublic() {
		app = nil
		if b := req.Bearer; b != "" && gatehouse.MayBeOAuthAccessToken(b) {
			g, err := p.store.AccessTokenByHash(ctx, secret.TokenKey(b))
			if err != nil && !errors.Is(err, gatehouse.ErrNotFound) {
				return nil, err
			}
			if err == nil && !g.Token.Expired(p.now()) && gatehouse.HasScope(g.Token.Scope, "introspection") {
				seesAll = true
			}
		}
		if !seesAll {
			return nil, ErrIntrospectionForbidden
		}
	} else {
		seesAll = app.ResourceServer
	}
	inactive := &Introspection{}
	if req.Token == "" {
		return inactive, nil // DOT: no such token, {"active": false}
	}
	if !gatehouse.MayBeOAuthAccessToken(req.Token) {
		if seesAll {
			return p.introspectOther(ctx, req.Token)
		}
		return inactive, nil
	}
	g, err := p.lookup.AccessToken(ctx, secret.TokenKey(req.Token))
	if errors.Is(err, gatehouse.ErrNotFound) {
		if seesAll {
			return p.introspectOther(ctx, req.Token)
		}
		return inactive, nil
	}
	if err != nil {
		return nil, err
	}
	if g.Token.Expired(p.now()) || (!seesAll && g.Token.ApplicationID != app.ID) ||
		(g.User != nil && (!g.User.IsActive || !g.User.Accepts(g.Token.Created))) {
		return inactive, nil
	}
	out := &Introspection{Active: true, Scope: g.Token.Scope, Expires: g.Token.Expires.Unix(), ClientID: g.ClientID,
		Resource: seesAll, Scheme: gatehouse.SchemeOAuth, Issued: g.Token.Created, User: g.User}
	if strings.Contains(req.Token, ".") {
		out.Audience = p.cfg.JWTAudience // an RFC 9068 token: its aud is known
	}
	if g.User != nil {
		out.Username = g.User.Username
		if err := p.addPermissions(ctx, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// introspectOther answers a resource server about a credential that is not
// an OAuth access token: a simplejwt access token, a DRF key or a knox
// token, by the rules gatehouse's own views apply to it.
func (p *Provider) introspectOther(ctx context.Context, token string) (*Introspection, error) {
	if p.creds == nil {
		return &Introspection{}, nil
	}
	pr, err := p.creds.Identify(ctx, token)
	if gatehouse.ErrorCode(err) == gatehouse.EUNAUTHORIZED {
		return &Introspection{}, nil
	}
	if err != nil {
		return nil, err
	}
	u := pr.User
	out := &Introspection{Active: true, Username: u.Username, Resource: true, Scheme: pr.Scheme, Issued: pr.Issued, User: &u}
	if !pr.Expires.IsZero() {
		out.Expires = pr.Expires.Unix()
	}
	if err := p.addPermissions(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// addPermissions lists the groups and permissions of out's user where the
// caller is told them: a resource server, or any caller with
// Config.IntrospectPermissions.
func (p *Provider) addPermissions(ctx context.Context, out *Introspection) error {
	if p.perms == nil || out.User == nil || !(out.Resource || p.cfg.IntrospectPermissions) {
		return nil
	}
	held, err := p.perms.Permissions(ctx, *out.User)
	if err != nil {
		return err
	}
	out.Permissions = &held
	return nil
}
