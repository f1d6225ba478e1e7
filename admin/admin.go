// Package admin is the administration of gatehouse: users, groups and
// permissions, applications, credentials of every kind, the audit log and
// the signing keys, as Django's admin site offers them. The JSON admin API
// (server/admin_api_*.go) and the HTML admin site call the same methods;
// every rule lives here, none in a handler.
//
// Every operation takes the Actor who acts (ActorFor makes one from an
// authenticated principal) and checks what that actor may do itself:
// superusers and admin clients everything, other staff what their Django
// permissions allow. Failures are *gatehouse.Error values: EFORBIDDEN,
// ENOTFOUND, EINVALID with field errors. Changes are reported to the
// gatehouse.Auditor; the acting user comes from the request in the
// context (gatehouse.RequestFrom), as for every other service.
package admin

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/accounts"
	"github.com/gatehouse-auth/gatehouse/oauth"
)

// Deps are what a Service is built from. Accounts, Users and Permissions
// are required; the others serve the operations that need them (a nil
// store makes those operations internal errors).
type Deps struct {
	// Accounts creates users, sets passwords and reads what a user holds
	// (the validators and the credential-ending rules live there).
	Accounts     *accounts.Service
	Users        gatehouse.UserStore
	Permissions  gatehouse.PermissionStore
	Credentials  gatehouse.CredentialAdminStore
	Applications gatehouse.ApplicationStore
	// Clients registers, changes and removes OAuth applications.
	Clients *oauth.Clients
	// AuditLog is the stored audit log, for reading it.
	AuditLog gatehouse.AuditStore
	// Audit records what administrators change (nil: nothing).
	Audit gatehouse.Auditor
	// Forget drops a user's cached credentials after a change
	// (authn.Authenticator.ForgetUser); ForgetAccess drops revoked OAuth
	// access tokens by hash (authn.Authenticator.ForgetAccess). nil: none.
	Forget       func(userID int64)
	ForgetAccess func(hashes [][]byte)
	// ForgetApplication drops an application this replica changed from
	// the OAuth provider's cache (oauth.Provider.ForgetApplication); nil:
	// none, and the change applies within the auth cache TTL.
	ForgetApplication func(clientID string)
	// Keys are the signing keys (keys.Manager); nil: there are none, and
	// the keys operations answer ENOTFOUND.
	Keys KeyManager
	// Status is what the status page reads (admin/status.go).
	Status StatusDeps
	Now    func() time.Time // nil means time.Now
	Config Config
}

// Config holds the administration's settings.
type Config struct {
	// AdminClients are the OAuth client_ids whose tokens with the admin
	// scope administer (the setting admin-clients, also oauth.Config's):
	// a client's own token acts as a superuser, a user's token as that
	// user. A token of a client no longer listed administers no more.
	AdminClients []string
	// CountLimit is the most items a large listing counts (Listing.Capped);
	// 0 means MaxCount.
	CountLimit int
}

// Service is the administration. Safe for concurrent use.
type Service struct {
	d Deps
}

// New returns a Service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Audit == nil {
		d.Audit = gatehouse.NoAudit{}
	}
	if d.Forget == nil {
		d.Forget = func(int64) {}
	}
	if d.Config.CountLimit <= 0 {
		d.Config.CountLimit = MaxCount
	}
	if d.ForgetAccess == nil {
		d.ForgetAccess = func([][]byte) {}
	}
	if d.ForgetApplication == nil {
		d.ForgetApplication = func(string) {}
	}
	return &Service{d: d}
}

// Actor is who performs an administrative operation: a staff user (with
// the permissions they held when ActorFor made it), or an admin client
// acting alone. The zero Actor may do nothing.
type Actor struct {
	// User is the acting user; zero for a client acting alone.
	User gatehouse.User
	// ClientID is the OAuth client whose token the actor used ("" for
	// the other schemes).
	ClientID  string
	superuser bool
	held      gatehouse.UserPermissions
}

// Superuser reports whether a may do everything: an active superuser, or
// an admin client's own token.
func (a Actor) Superuser() bool { return a.superuser }

// IsClient reports whether a is an OAuth client acting alone.
func (a Actor) IsClient() bool { return a.ClientID != "" && a.User.ID == 0 }

// Can reports whether a holds perm ("app_label.codename"), as Django's
// has_perm: a superuser every one.
func (a Actor) Can(perm string) bool { return a.superuser || a.held.Has(perm) }

// CanAny reports whether a holds at least one of perms.
func (a Actor) CanAny(perms ...string) bool {
	return slices.ContainsFunc(perms, a.Can)
}

// Permissions lists what a holds directly or through a group, as
// "app_label.codename" (a superuser's are not listed: they are all).
func (a Actor) Permissions() []string { return a.held.Permissions }

// forbidden is the refusal of an operation a may not perform.
func forbidden() error { return &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "not allowed"} }

// require refuses unless a holds one of perms (Django's admin: the view
// permission or the change permission lets one view).
func (a Actor) require(perms ...string) error {
	if a.CanAny(perms...) {
		return nil
	}
	return forbidden()
}

// requireSuperuser refuses unless a is a superuser.
func (a Actor) requireSuperuser() error {
	if a.superuser {
		return nil
	}
	return forbidden()
}

// ActorFor decides whether the principal p may administer at all, and
// returns it as an Actor. Django's rule: an active user with is_staff
// (a superuser without is_staff may not either). An OAuth access token
// must also carry the admin scope (gatehouse.ScopeAdmin) and belong to one
// of Config.AdminClients, so that an application holding a staff user's
// token for another purpose cannot administer; a client's own token
// (client_credentials) with that scope acts as a superuser. A nil p is
// EUNAUTHORIZED, any other refusal EFORBIDDEN.
func (s *Service) ActorFor(ctx context.Context, p *gatehouse.Principal) (Actor, error) {
	if p == nil {
		return Actor{}, gatehouse.Unauthorized(gatehouse.ReasonCredentialInvalid)
	}
	a := Actor{}
	if p.Scheme == gatehouse.SchemeOAuth {
		if !gatehouse.HasScope(p.Scope, gatehouse.ScopeAdmin) || !slices.Contains(s.d.Config.AdminClients, p.ClientID) || p.ClientID == "" {
			return Actor{}, forbidden()
		}
		a.ClientID = p.ClientID
		if !p.HasUser() {
			a.superuser = true
			return a, nil
		}
	} else if !p.HasUser() {
		return Actor{}, forbidden()
	}
	// The user as stored now, not as the authentication cache holds it:
	// an administrator demoted, deactivated or logged out everywhere on
	// another replica could otherwise act (make a superuser) for as long
	// as this replica's cache keeps the old flags (found by a multi-replica
	// pass). One read per administrative request.
	u, err := s.d.Users.User(ctx, p.User.ID)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return Actor{}, gatehouse.Unauthorized(gatehouse.ReasonCredentialInvalid)
	}
	if err != nil {
		return Actor{}, err
	}
	if !p.Issued.IsZero() && !u.Accepts(p.Issued) {
		return Actor{}, gatehouse.Unauthorized(gatehouse.ReasonCredentialInvalid)
	}
	if !u.IsActive || !u.IsStaff {
		return Actor{}, forbidden()
	}
	a.User = u
	if u.IsSuperuser {
		a.superuser = true
		return a, nil
	}
	held, err := s.d.Accounts.Permissions(ctx, u)
	if err != nil {
		return Actor{}, err
	}
	a.held = held
	return a, nil
}

// record reports e, done by a: the acting user comes from the request in
// ctx (the audit recorder fills it in); an OAuth client's id is e's
// ClientID, so that an admin client acting alone is named.
func (s *Service) record(ctx context.Context, a Actor, e gatehouse.AuditEvent) {
	if e.ClientID == "" {
		e.ClientID = a.ClientID
	}
	s.d.Audit.Record(ctx, e)
}

// MaxPageSize is the largest page a listing serves.
const MaxPageSize = 1000

// DefaultPageSize is the page size of a listing that names none.
const DefaultPageSize = 100

// Page selects one page of a listing, as DRF's PageNumberPagination: pages
// are numbered from 1; Last asks for the last page whatever its number.
type Page struct {
	Number int
	Size   int // 1 to MaxPageSize; 0 means DefaultPageSize
	Last   bool
}

// Listing is one page of a listing: Count items in all, Items those of
// Page (with Page.Number resolved, Last cleared), Next whether a page
// follows. When Page.Number is past the last page, Items is empty and
// OutOfRange holds: the caller says "Invalid page.".
//
// A listing that could be large (the users) counts at most
// Config.CountLimit items: when more match, Capped is set and Count is
// that limit, a floor;
// Next and OutOfRange stay exact (the page is read with one item more).
type Listing[T any] struct {
	Count  int
	Capped bool
	Items  []T
	Page   Page
	Next   bool
}

// MaxCount is the most items a large listing counts by default (the users list over
// a million users answers its count at once; Django's admin shows "10,000+"
// beyond its own bound too).
const MaxCount = 10_000

// Pages is the number of pages of l, at least 1 (an empty first page is a
// page); with Capped, the pages of the items counted.
func (l Listing[T]) Pages() int {
	return max(1, (l.Count+l.Page.Size-1)/l.Page.Size)
}

// OutOfRange reports whether l's page is past its last page.
func (l Listing[T]) OutOfRange() bool {
	if l.Capped {
		return l.Page.Number > 1 && len(l.Items) == 0
	}
	return l.Page.Number > l.Pages()
}

// check fills in p's defaults, or refuses a bad page (field "page" or
// "page_size").
func (p Page) check() (Page, error) {
	if p.Size == 0 {
		p.Size = DefaultPageSize
	}
	if p.Size < 1 || p.Size > MaxPageSize {
		return p, gatehouse.Invalid(gatehouse.FieldError{Field: "page_size", Code: gatehouse.FieldInvalid,
			Message: "Ensure this value is between 1 and 1000."})
	}
	if p.Number == 0 {
		p.Number = 1
	}
	if p.Number < 1 {
		return p, gatehouse.Errorf(gatehouse.ENOTFOUND, "Invalid page.")
	}
	return p, nil
}

// resolve turns Last into the last page's number for count items.
func (p Page) resolve(count int) Page {
	if p.Last {
		p.Number, p.Last = max(1, (count+p.Size-1)/p.Size), false
	}
	return p
}

// paginate is one page of items already in memory (groups, permissions).
func paginate[T any](items []T, p Page) (Listing[T], error) {
	p, err := p.check()
	if err != nil {
		return Listing[T]{}, err
	}
	p = p.resolve(len(items))
	l := Listing[T]{Count: len(items), Page: p, Items: []T{}}
	if from := (p.Number - 1) * p.Size; from < len(items) {
		l.Items = items[from:min(len(items), from+p.Size)]
	}
	l.Next = p.Number < l.Pages()
	return l, nil
}

// Django's permission names of the models this package administers.
const (
	PermViewUser        = "auth.view_user"
	PermAddUser         = "auth.add_user"
	PermChangeUser      = "auth.change_user"
	PermDeleteUser      = "auth.delete_user"
	PermViewGroup       = "auth.view_group"
	PermAddGroup        = "auth.add_group"
	PermChangeGroup     = "auth.change_group"
	PermDeleteGroup     = "auth.delete_group"
	PermViewPermission  = "auth.view_permission"
	PermViewApplication = "oauth2_provider.view_application"
	PermAddApplication  = "oauth2_provider.add_application"
	PermChangeApp       = "oauth2_provider.change_application"
	PermDeleteApp       = "oauth2_provider.delete_application"
)
