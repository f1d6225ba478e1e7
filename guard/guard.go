// Package guard protects the routes of a Go service with gatehouse's
// credentials and Django REST Framework's permission semantics.
//
// A Guard authenticates the Authorization header of each request with an
// Authenticator (Remote: simplejwt tokens verified locally with
// gatehouse's JWKS or HMAC key, opaque tokens by RFC 7662 introspection
// with a cache; or gatehouse's own authenticator when the service embeds
// gatehouse), puts the Principal in the request's context, and applies a
// Permission such as IsAuthenticated or TokenHasScope("read"). Refusals
// are answered as gatehouse's own views answer them: 401 with
// WWW-Authenticate and DRF's {"detail"} body (simplejwt's for bearer
// tokens), or 403.
//
// The package imports no database driver and nothing of gatehouse's
// server.
package guard

import (
	"context"
	"slices"
	"strings"
	"sync"
)

// Kind is the kind of credential a Principal was authenticated by.
type Kind string

// The kinds of credential gatehouse issues.
const (
	KindToken   Kind = "token"   // a DRF key ("Authorization: Token <key>"), per-device tokens included
	KindKnox    Kind = "knox"    // a django-rest-knox token ("Token <token>")
	KindJWT     Kind = "jwt"     // a simplejwt access token ("Bearer <jwt>")
	KindOAuth   Kind = "oauth"   // an OAuth2 access token ("Bearer <token>")
	KindSession Kind = "session" // gatehouse's browser session (embedded gatehouse only)
)

// Principal is who a request is authenticated as. It is shared by every
// check of one request and must not be modified after the Authenticator
// returns it.
type Principal struct {
	// UserID is the user's primary key; 0 for an OAuth token issued to a
	// client alone (client_credentials), which DRF treats as no user.
	UserID int64
	// DjangoPK is the user's primary key in the Django project gatehouse
	// imported it from, when that model is keyed by anything but integers
	// (a UUID, as str(pk) writes it), which the project's own rows still
	// name the user by; "" for every other user. It is part of the
	// identity (known with FieldUsername).
	DjangoPK    string
	Username    string
	Email       string
	IsStaff     bool
	IsSuperuser bool
	Kind        Kind
	// Scopes are the OAuth token's scopes; nil for the other kinds.
	Scopes []string
	// ClientID is the OAuth token's client; "" for the other kinds.
	ClientID string
	// Known says which of the fields above the credential told: a
	// simplejwt token verified locally names only its user (and what
	// claims the project added), so IsStaff is not known unless it is.
	Known Fields

	// Groups and Permissions ("app_label.codename", all of them for an
	// active superuser) when the Authenticator had them; otherwise
	// LoadPermissions, when set, fetches them once on first need.
	Groups      []string
	Permissions []string
	// LoadPermissions fetches Groups and Permissions; nil when
	// FieldPermissions is in Known or nothing can tell them.
	LoadPermissions func(ctx context.Context) (groups, permissions []string, err error)
	// LoadIdentity fetches the identity fields missing from Known (a
	// locally verified JWT's username, email, staff and superuser flags);
	// nil when nothing can tell them.
	LoadIdentity func(ctx context.Context) (*Principal, error)

	once    sync.Once
	loadErr error
	idOnce  sync.Once
	idErr   error
}

// Fields is a set of the Principal fields an Authenticator filled in.
type Fields uint8

// The fields an Authenticator may leave unknown.
const (
	FieldUsername Fields = 1 << iota
	FieldEmail
	FieldStaff // IsStaff and IsSuperuser
	FieldPermissions
)

// FieldsAll is every field: what introspection and gatehouse's own
// authenticator tell.
const FieldsAll = FieldUsername | FieldEmail | FieldStaff | FieldPermissions

// HasUser reports whether p names a user: false for nil (anonymous) and
// for an OAuth token issued to a client alone.
func (p *Principal) HasUser() bool { return p != nil && p.UserID != 0 }

// HasScope reports whether p is an OAuth token holding every one of
// required (DOT's TokenHasScope). Other kinds hold no scopes.
func (p *Principal) HasScope(required ...string) bool {
	if p == nil || p.Kind != KindOAuth {
		return false
	}
	for _, s := range required {
		if !slices.Contains(p.Scopes, s) {
			return false
		}
	}
	return true
}

// Staff reports the user's is_staff and is_superuser flags, fetching them
// with LoadIdentity when the credential did not carry them. Unknown flags
// are an error, so that a check fails closed.
func (p *Principal) Staff(ctx context.Context) (staff, superuser bool, err error) {
	if err := p.identity(ctx); err != nil {
		return false, false, err
	}
	return p.IsStaff, p.IsSuperuser, nil
}

// Identity fills in the identity fields missing from Known with
// LoadIdentity (once per principal); ErrUnknown when they stay unknown.
func (p *Principal) identity(ctx context.Context) error {
	const need = FieldUsername | FieldEmail | FieldStaff
	if p.Known&need == need {
		return nil
	}
	p.idOnce.Do(func() {
		if p.LoadIdentity == nil {
			p.idErr = ErrUnknown
			return
		}
		q, err := p.LoadIdentity(ctx)
		if err != nil {
			p.idErr = err
			return
		}
		if q.UserID != p.UserID {
			p.idErr = ErrUnknown
			return
		}
		p.Username, p.Email, p.IsStaff, p.IsSuperuser, p.DjangoPK = q.Username, q.Email, q.IsStaff, q.IsSuperuser, q.DjangoPK
		p.Known |= need
		if q.Known&FieldPermissions != 0 && p.Known&FieldPermissions == 0 {
			p.Groups, p.Permissions = q.Groups, q.Permissions
			p.Known |= FieldPermissions
		}
	})
	return p.idErr
}

// Identity returns p with the identity fields filled in (username, email,
// staff and superuser), fetching them when the credential did not carry
// them; ErrUnknown when nothing can tell them.
func (p *Principal) Identity(ctx context.Context) error { return p.identity(ctx) }

// HasPerms is Django's user.has_perms: whether the active user holds every
// one of perms ("app_label.codename"). An active superuser holds all. The
// permissions are fetched once when the credential did not carry them; an
// error when they cannot be known.
func (p *Principal) HasPerms(ctx context.Context, perms ...string) (bool, error) {
	if !p.HasUser() {
		return false, nil
	}
	if p.Known&FieldStaff != 0 || p.LoadIdentity != nil {
		if _, super, err := p.Staff(ctx); err == nil && super {
			return true, nil
		}
	}
	if err := p.loadPerms(ctx); err != nil {
		return false, err
	}
	for _, perm := range perms {
		if !slices.Contains(p.Permissions, perm) {
			return false, nil
		}
	}
	return true, nil
}

func (p *Principal) loadPerms(ctx context.Context) error {
	if p.Known&FieldPermissions != 0 {
		return nil
	}
	p.once.Do(func() {
		switch {
		case p.LoadPermissions != nil:
			g, perms, err := p.LoadPermissions(ctx)
			if err != nil {
				p.loadErr = err
				return
			}
			p.Groups, p.Permissions = g, perms
			p.Known |= FieldPermissions
		case p.LoadIdentity != nil:
			if err := p.identity(ctx); err != nil {
				p.loadErr = err
				return
			}
			if p.Known&FieldPermissions == 0 {
				p.loadErr = ErrUnknown
			}
		default:
			p.loadErr = ErrUnknown
		}
	})
	return p.loadErr
}

// ScopeString is p's scopes space-separated, as OAuth writes them.
func (p *Principal) ScopeString() string { return strings.Join(p.Scopes, " ") }

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// PrincipalFrom returns the principal a Guard put in ctx; nil for an
// anonymous request or outside a Guard.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(ctxKey{}).(*Principal)
	return p
}
