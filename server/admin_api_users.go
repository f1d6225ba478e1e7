package server

import (
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/accounts"
	"github.com/gatehouse-auth/gatehouse/admin"
)

// The admin API's users (docs/admin-api.md): /api/admin/users/ and below.

// adminUserOut is a user as the admin API lists it.
type adminUserOut struct {
	ID          int64      `json:"id"`
	Username    string     `json:"username"`
	Email       string     `json:"email"`
	FirstName   string     `json:"first_name"`
	LastName    string     `json:"last_name"`
	IsActive    bool       `json:"is_active"`
	IsStaff     bool       `json:"is_staff"`
	IsSuperuser bool       `json:"is_superuser"`
	DateJoined  time.Time  `json:"date_joined"`
	LastLogin   *time.Time `json:"last_login"`
	// DjangoPK is the Django key of a user keyed by one (imported from a
	// project whose user model is keyed by UUIDs, or made under
	// new-user-key uuid); absent for the others.
	DjangoPK string `json:"django_pk,omitempty"`
}

// adminUserDetailOut is one user with their groups and direct
// permissions (ids).
type adminUserDetailOut struct {
	adminUserOut
	Groups          []int64 `json:"groups"`
	UserPermissions []int64 `json:"user_permissions"`
}

func toAdminUser(u gatehouse.User) adminUserOut {
	return adminUserOut{ID: u.ID, Username: u.Username, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		IsActive: u.IsActive, IsStaff: u.IsStaff, IsSuperuser: u.IsSuperuser, DateJoined: u.DateJoined.UTC(), LastLogin: utcPtr(u.LastLogin),
		DjangoPK: u.DjangoKey}
}

func toAdminUserDetail(d admin.UserDetail) adminUserDetailOut {
	return adminUserDetailOut{adminUserOut: toAdminUser(d.User), Groups: d.Groups, UserPermissions: d.Permissions}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// adminCredentialOut is a credential as the admin API lists it: never the
// secret.
type adminCredentialOut struct {
	Kind     string     `json:"kind"`
	ID       string     `json:"id"`
	User     *int64     `json:"user"`
	Username string     `json:"username"`
	ClientID string     `json:"client_id"`
	Label    string     `json:"label"`
	Created  time.Time  `json:"created"`
	Expires  *time.Time `json:"expires"`
	Revoked  *time.Time `json:"revoked"`
	// Sessions only.
	LastSeen *time.Time `json:"last_seen,omitempty"`
	Source   string     `json:"source,omitempty"`
}

func toAdminCredential(ci gatehouse.CredentialInfo) adminCredentialOut {
	out := adminCredentialOut{Kind: ci.Kind, ID: ci.ID, Username: ci.Username, ClientID: ci.ClientID, Label: ci.Label,
		Created: ci.Created.UTC(), Expires: utcPtr(ci.Expires), Revoked: utcPtr(ci.Revoked), LastSeen: utcPtr(ci.LastSeen), Source: ci.Source}
	if ci.UserID != 0 {
		id := ci.UserID
		out.User = &id
	}
	return out
}

func (s *Server) adminUsersView() http.Handler {
	return s.adminView("Admin User List", map[string]adminHandler{"GET": (*Server).adminListUsers, "POST": (*Server).adminCreateUser})
}

func (s *Server) adminUserView() http.Handler {
	return s.adminView("Admin User Detail", map[string]adminHandler{"GET": byID((*Server).adminGetUser),
		"PATCH": byID((*Server).adminPatchUser), "DELETE": byID((*Server).adminDeleteUser)})
}

func (s *Server) adminUserPasswordView() http.Handler {
	return s.adminView("Admin User Password", map[string]adminHandler{"POST": byID((*Server).adminSetPassword)})
}

func (s *Server) adminUserLogoutView() http.Handler {
	return s.adminView("Admin User Logout Everywhere", map[string]adminHandler{"POST": byID((*Server).adminLogOutEverywhere)})
}

func (s *Server) adminUserCredentialsView() http.Handler {
	return s.adminView("Admin User Credentials", map[string]adminHandler{"GET": byID((*Server).adminUserCredentials)})
}

func (s *Server) adminUserCredentialView() http.Handler {
	return s.adminView("Admin User Credential", map[string]adminHandler{"DELETE": byID((*Server).adminRevokeUserCredential)})
}

// adminListUsers: GET /api/admin/users/?search=&is_active=&is_staff=
// &is_superuser=&group=&ordering=&page=&page_size=.
func (s *Server) adminListUsers(c *call, a admin.Actor) *apiError {
	page, e := adminPage(c)
	if e != nil {
		return e
	}
	q := queryOf(c.r)
	last := func(k string) string { return lastValue(q, k) }
	errs := &fieldErrors{}
	uq := admin.UserQuery{Search: last("search"), Order: last("ordering"),
		Active: queryBool(c, errs, "is_active"), Staff: queryBool(c, errs, "is_staff"), Superuser: queryBool(c, errs, "is_superuser")}
	if g := last("group"); g != "" {
		if n, ok := pythonInt(g); ok && n > 0 {
			uq.GroupID = int64(n)
		} else {
			errs.add("group", "Select a valid choice. That choice is not one of the available choices.")
		}
	}
	if !errs.empty() {
		return badRequest(errs)
	}
	l, err := s.admin.ListUsers(c.r.Context(), a, uq, page)
	if err != nil {
		return s.internal(c, err)
	}
	return respondListing(s, c, l, toAdminUser)
}

// adminUserFields reads the writable fields of a user from a JSON body:
// those of a creation (create) or of a PATCH.
func adminUserFields(p *payload, errs *fieldErrors, create bool) (admin.UserPatch, string) {
	var u admin.UserPatch
	var pw string
	if create {
		v, _ := charField(p, errs, accounts.FieldUsername, true, false, gatehouse.MaxUsername)
		u.Username = &v
	} else {
		u.Username = optChar(p, errs, accounts.FieldUsername, false, gatehouse.MaxUsername)
	}
	u.Email = optChar(p, errs, accounts.FieldEmail, true, gatehouse.MaxEmail)
	u.FirstName = optChar(p, errs, accounts.FieldFirstName, true, gatehouse.MaxName)
	u.LastName = optChar(p, errs, accounts.FieldLastName, true, gatehouse.MaxName)
	if create {
		pw, _ = charField(p, errs, accounts.FieldPassword, true, false, gatehouse.MaxPassword)
	} else if _, st := p.str(accounts.FieldPassword); st != fieldMissing {
		errs.add(accounts.FieldPassword, "Set a password with POST /api/admin/users/{id}/password/.")
	}
	u.IsActive = boolField(p, errs, "is_active")
	u.IsStaff = boolField(p, errs, "is_staff")
	u.IsSuperuser = boolField(p, errs, "is_superuser")
	u.Groups = idsField(p, errs, "groups")
	u.Permissions = idsField(p, errs, "user_permissions")
	return u, pw
}

// adminCreateUser: POST /api/admin/users/ → 201 and the user.
func (s *Server) adminCreateUser(c *call, a admin.Actor) *apiError {
	p, errs, e := adminBody(c)
	if e != nil {
		return e
	}
	f, pw := adminUserFields(p, errs, true)
	if !errs.empty() {
		return badRequest(errs)
	}
	deref := func(v *string) string {
		if v == nil {
			return ""
		}
		return *v
	}
	n := admin.NewUser{Username: deref(f.Username), Email: deref(f.Email), FirstName: deref(f.FirstName), LastName: deref(f.LastName),
		Password: pw, IsActive: f.IsActive}
	if f.IsStaff != nil {
		n.IsStaff = *f.IsStaff
	}
	if f.IsSuperuser != nil {
		n.IsSuperuser = *f.IsSuperuser
	}
	if f.Groups != nil {
		n.Groups = *f.Groups
	}
	if f.Permissions != nil {
		n.Permissions = *f.Permissions
	}
	d, err := s.admin.CreateUser(c.r.Context(), a, n)
	return s.answer(c, err, http.StatusCreated, toAdminUserDetail(d))
}

// adminGetUser: GET /api/admin/users/{id}/.
func (s *Server) adminGetUser(c *call, a admin.Actor, id int64) *apiError {
	d, err := s.admin.User(c.r.Context(), a, id)
	return s.answer(c, err, http.StatusOK, toAdminUserDetail(d))
}

// adminPatchUser: PATCH /api/admin/users/{id}/ → the user as changed.
func (s *Server) adminPatchUser(c *call, a admin.Actor, id int64) *apiError {
	p, errs, e := adminBody(c)
	if e != nil {
		return e
	}
	f, _ := adminUserFields(p, errs, false)
	if !errs.empty() {
		return badRequest(errs)
	}
	d, err := s.admin.UpdateUser(c.r.Context(), a, id, f)
	return s.answer(c, err, http.StatusOK, toAdminUserDetail(d))
}

// adminDeleteUser: DELETE /api/admin/users/{id}/ → 204.
func (s *Server) adminDeleteUser(c *call, a admin.Actor, id int64) *apiError {
	return s.answer(c, s.admin.DeleteUser(c.r.Context(), a, id), http.StatusNoContent, nil)
}

// adminSetPassword: POST /api/admin/users/{id}/password/ {"password"} → 204.
func (s *Server) adminSetPassword(c *call, a admin.Actor, id int64) *apiError {
	p, errs, e := adminBody(c)
	if e != nil {
		return e
	}
	// Not trimmed: a password is taken as typed.
	pw, st := p.str(accounts.FieldPassword)
	switch st {
	case fieldMissing:
		errs.add(accounts.FieldPassword, msgRequired)
	case fieldNull:
		errs.add(accounts.FieldPassword, msgNull)
	case fieldInvalid:
		errs.add(accounts.FieldPassword, "Not a valid string.")
	}
	if !errs.empty() {
		return badRequest(errs)
	}
	return s.answer(c, s.admin.SetPassword(c.r.Context(), a, id, pw), http.StatusNoContent, nil)
}

// adminLogOutEverywhere: POST /api/admin/users/{id}/logout-everywhere/ → 204.
func (s *Server) adminLogOutEverywhere(c *call, a admin.Actor, id int64) *apiError {
	return s.answer(c, s.admin.LogOutEverywhere(c.r.Context(), a, id), http.StatusNoContent, nil)
}

// adminUserCredentials: GET /api/admin/users/{id}/credentials/?state=
// live|ended|all (live by default).
func (s *Server) adminUserCredentials(c *call, a admin.Actor, id int64) *apiError {
	page, e := adminPage(c)
	if e != nil {
		return e
	}
	state := admin.StateLive
	if vs := queryOf(c.r)["state"]; len(vs) > 0 && vs[len(vs)-1] != "" {
		state = vs[len(vs)-1]
	}
	l, err := s.admin.UserCredentials(c.r.Context(), a, id, state, page)
	if err != nil {
		return s.internal(c, err)
	}
	return respondListing(s, c, l, toAdminCredential)
}

// adminRevokeUserCredential: DELETE /api/admin/users/{id}/credentials/
// {kind}/{credential}/ → 204.
func (s *Server) adminRevokeUserCredential(c *call, a admin.Actor, id int64) *apiError {
	err := s.admin.RevokeUserCredential(c.r.Context(), a, id, c.r.PathValue("kind"), c.r.PathValue("credential"))
	return s.answer(c, err, http.StatusNoContent, nil)
}
