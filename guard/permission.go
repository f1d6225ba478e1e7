package guard

import (
	"errors"
	"net/http"
	"strings"
)

// ErrUnknown is the error of a check that needs a fact about the user the
// credential did not carry and nothing could fetch (a locally verified
// simplejwt token's staff flag or permissions without an introspection
// endpoint). The Guard answers it 403: checks fail closed.
var ErrUnknown = errors.New("guard: the credential does not tell what this check needs")

// A Permission decides whether a request may proceed, as a DRF permission
// class's has_permission does. p is nil for an anonymous request. An error
// is internal, except ErrUnknown, which denies.
type Permission interface {
	HasPermission(r *http.Request, p *Principal) (bool, error)
}

// PermissionFunc adapts a function to Permission.
type PermissionFunc func(r *http.Request, p *Principal) (bool, error)

// HasPermission calls f.
func (f PermissionFunc) HasPermission(r *http.Request, p *Principal) (bool, error) { return f(r, p) }

// SafeMethod reports whether method is one DRF and DOT treat as read-only
// (SAFE_METHODS: GET, HEAD, OPTIONS).
func SafeMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// AllowAny is DRF's AllowAny: every request passes (an invalid credential
// is still refused: DRF authenticates before it checks permissions).
var AllowAny Permission = PermissionFunc(func(*http.Request, *Principal) (bool, error) { return true, nil })

// IsAuthenticated is DRF's IsAuthenticated: the request has a user. An
// OAuth token issued to a client alone has none.
var IsAuthenticated Permission = PermissionFunc(func(_ *http.Request, p *Principal) (bool, error) {
	return p.HasUser(), nil
})

// IsAdminUser is DRF's IsAdminUser: the user is staff (is_staff).
var IsAdminUser Permission = PermissionFunc(func(r *http.Request, p *Principal) (bool, error) {
	if !p.HasUser() {
		return false, nil
	}
	staff, _, err := p.Staff(r.Context())
	return staff, err
})

// IsAuthenticatedOrReadOnly is DRF's IsAuthenticatedOrReadOnly: safe
// methods for anyone, the others for users.
var IsAuthenticatedOrReadOnly Permission = PermissionFunc(func(r *http.Request, p *Principal) (bool, error) {
	return SafeMethod(r.Method) || p.HasUser(), nil
})

// TokenHasScope is DOT's TokenHasScope: the request carries an OAuth token
// holding every one of scopes. Another kind of credential does not pass
// (DOT raises ImproperlyConfigured for one; IsAuthenticatedOrTokenHasScope
// admits them).
func TokenHasScope(scopes ...string) Permission {
	scopes = splitScopes(scopes)
	return PermissionFunc(func(_ *http.Request, p *Principal) (bool, error) {
		return p.HasScope(scopes...), nil
	})
}

// TokenHasReadWriteScope is DOT's TokenHasReadWriteScope: an OAuth token
// holding "read" for a safe method or "write" for another, and every one
// of scopes.
func TokenHasReadWriteScope(scopes ...string) Permission {
	scopes = splitScopes(scopes)
	read := append([]string{"read"}, scopes...)
	write := append([]string{"write"}, scopes...)
	return PermissionFunc(func(r *http.Request, p *Principal) (bool, error) {
		if SafeMethod(r.Method) {
			return p.HasScope(read...), nil
		}
		return p.HasScope(write...), nil
	})
}

// IsAuthenticatedOrTokenHasScope is DOT's IsAuthenticatedOrTokenHasScope:
// a user authenticated by any credential but an OAuth token passes; an
// OAuth token must hold every one of scopes.
func IsAuthenticatedOrTokenHasScope(scopes ...string) Permission {
	has := TokenHasScope(scopes...)
	return PermissionFunc(func(r *http.Request, p *Principal) (bool, error) {
		if p.HasUser() && p.Kind != KindOAuth {
			return true, nil
		}
		return has.HasPermission(r, p)
	})
}

// HasPermission is Django's has_perms as a DRF permission: the user holds
// every one of perms ("app_label.codename"; an active superuser holds
// all).
func HasPermission(perms ...string) Permission {
	return PermissionFunc(func(r *http.Request, p *Principal) (bool, error) {
		if !p.HasUser() {
			return false, nil
		}
		return p.HasPerms(r.Context(), perms...)
	})
}

// And passes when every one of perms passes (DRF's "&", and a view's
// permission_classes list), checked in order.
func And(perms ...Permission) Permission {
	return PermissionFunc(func(r *http.Request, p *Principal) (bool, error) {
		for _, perm := range perms {
			if ok, err := perm.HasPermission(r, p); !ok || err != nil {
				return false, err
			}
		}
		return true, nil
	})
}

// Or passes when one of perms passes (DRF's "|"), checked in order; a
// check that cannot be decided (ErrUnknown) counts as not passing.
func Or(perms ...Permission) Permission {
	return PermissionFunc(func(r *http.Request, p *Principal) (bool, error) {
		var unknown error
		for _, perm := range perms {
			ok, err := perm.HasPermission(r, p)
			if errors.Is(err, ErrUnknown) {
				unknown = err
				continue
			}
			if ok || err != nil {
				return ok, err
			}
		}
		return false, unknown
	})
}

// Not passes when perm does not (DRF's "~"). A check that cannot be
// decided stays undecided, so Not never turns ErrUnknown into a pass.
func Not(perm Permission) Permission {
	return PermissionFunc(func(r *http.Request, p *Principal) (bool, error) {
		ok, err := perm.HasPermission(r, p)
		if err != nil {
			return false, err
		}
		return !ok, nil
	})
}

// splitScopes accepts scopes given one per argument or space-separated.
func splitScopes(in []string) []string {
	var out []string
	for _, s := range in {
		out = append(out, strings.Fields(s)...)
	}
	return out
}
