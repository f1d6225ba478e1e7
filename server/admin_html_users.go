package server

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/admin"
)

// The users pages of the admin site: the list (search, filters, ordering,
// pagination), creation, the change page (fields, activity, password,
// groups and permissions, credentials, log out everywhere) and deletion.
// Each calls one operation of the admin service.

// siteUsersPageSize is the number of users on one page of the list.
const siteUsersPageSize = 50

// siteUserOrders are the list's orderings, as the select offers them.
var siteUserOrders = []siteOption{
	{Value: "", Label: "Id"}, {Value: "username", Label: "Username (A to Z)"}, {Value: "-username", Label: "Username (Z to A)"},
	{Value: "email", Label: "Email"}, {Value: "-date_joined", Label: "Newest first"}, {Value: "date_joined", Label: "Oldest first"},
	{Value: "-last_login", Label: "Last login (recent first)"}, {Value: "last_login", Label: "Last login (oldest first)"},
}

type siteUsersData struct {
	Filters *siteForm
	Users   []gatehouse.User
	Pager   *sitePager
	Query   string // the search, for the "no match" message
}

// siteUsers is the list of users: GET /admin/users/?q=&active=&staff=&superuser=&group=&ordering=&page=.
func (s *Server) siteUsers(w http.ResponseWriter, r *http.Request, a *siteRequest) {
	q := queryOf(r)
	number, last := sitePageNumber(q)
	uq := admin.UserQuery{Search: q.Get("q"), Active: siteTriState(q.Get("active")), Staff: siteTriState(q.Get("staff")),
		Superuser: siteTriState(q.Get("superuser")), Order: q.Get("ordering")}
	var err error
	if g := q.Get("group"); g != "" {
		if uq.GroupID, err = strconv.ParseInt(g, 10, 64); err != nil || uq.GroupID <= 0 {
			uq.GroupID = -1 // no such group: the service says so
		}
	}
	list, err := s.admin.ListUsers(r.Context(), a.actor, uq, admin.Page{Number: number, Size: siteUsersPageSize, Last: last})
	status := http.StatusOK
	if err != nil {
		if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			s.siteFail(w, r, a, err)
			return
		}
		status = http.StatusBadRequest
	}
	if err == nil && list.OutOfRange() && !list.Capped {
		s.siteErrorPage(w, r, a, http.StatusNotFound, "Not found", "Invalid page: the list has "+strconv.Itoa(list.Pages())+" page(s).")
		return
	}
	groupOpts := []siteOption{{Value: "", Label: "Any"}}
	if groups, gerr := s.admin.Groups(r.Context(), a.actor, admin.Page{Size: admin.MaxPageSize}); gerr == nil {
		for _, g := range groups.Items {
			id := strconv.FormatInt(g.ID, 10)
			groupOpts = append(groupOpts, siteOption{Value: id, Label: g.Name, Selected: id == q.Get("group")})
		}
	}
	orders := slices.Clone(siteUserOrders)
	for i := range orders {
		orders[i].Selected = orders[i].Value == q.Get("ordering")
	}
	filters := newSiteForm(err,
		siteField{Name: "q", Label: "Search", Type: "search", Value: q.Get("q"), Help: "Username, email, first or last name."},
		siteField{Name: "active", Label: "Active", Type: "select", Options: siteTriOptions(q.Get("active"))},
		siteField{Name: "staff", Label: "Staff", Type: "select", Options: siteTriOptions(q.Get("staff"))},
		siteField{Name: "superuser", Label: "Superuser", Type: "select", Options: siteTriOptions(q.Get("superuser"))},
		siteField{Name: "group", Label: "Group", Type: "select", Options: groupOpts},
		siteField{Name: "ordering", Label: "Order by", Type: "select", Options: orders},
	)
	d := siteUsersData{Filters: filters, Users: list.Items, Query: q.Get("q")}
	switch {
	case err == nil && list.Capped:
		if list.OutOfRange() {
			s.siteErrorPage(w, r, a, http.StatusNotFound, "Not found", "Invalid page: there are fewer users.")
			return
		}
		d.Pager = newSiteCappedPager(s.url(sitePrefix+"users/"), q, list.Page.Number, list.Count, list.Next)
	case err == nil:
		d.Pager = newSitePager(s.url(sitePrefix+"users/"), q, list.Page.Number, list.Page.Size, list.Count)
	}
	s.siteRender(w, r, a, status, "users", siteView{Title: "Users", Section: "users", Data: d})
}

// siteChoices are the groups and permissions a user or group form offers.
type siteChoices struct {
	groups []gatehouse.Group
	perms  []gatehouse.Permission
}

// siteChoicesFor reads the groups and permissions (those the actor may
// see; none of a kind he may not).
func (s *Server) siteChoicesFor(r *http.Request, a *siteRequest) siteChoices {
	var c siteChoices
	if l, err := s.admin.Groups(r.Context(), a.actor, admin.Page{Size: admin.MaxPageSize}); err == nil {
		c.groups = l.Items
	}
	for n := 1; ; n++ {
		l, err := s.admin.Permissions(r.Context(), a.actor, admin.Page{Number: n, Size: admin.MaxPageSize})
		if err != nil || len(l.Items) == 0 {
			break
		}
		c.perms = append(c.perms, l.Items...)
		if n >= l.Pages() {
			break
		}
	}
	return c
}

func (c siteChoices) groupOptions(selected []int64) []siteOption {
	var out []siteOption
	for _, g := range c.groups {
		out = append(out, siteOption{Value: strconv.FormatInt(g.ID, 10), Label: g.Name, Selected: slices.Contains(selected, g.ID)})
	}
	return out
}

func (c siteChoices) permOptions(selected []int64) []siteOption {
	var out []siteOption
	for _, p := range c.perms {
		out = append(out, siteOption{Value: strconv.FormatInt(p.ID, 10), Label: p.AppLabel + " | " + p.Model + " | " + p.Name,
			Selected: slices.Contains(selected, p.ID)})
	}
	return out
}

// siteUserFields are the fields of the user forms, filled from d.
func siteUserFields(d admin.UserDetail, c siteChoices, withPassword bool) []siteField {
	u := d.User
	f := []siteField{
		{Name: "username", Label: "Username", Type: "text", Value: u.Username, Required: true, Autocomplete: "off",
			Help: "150 characters or fewer. Letters, digits and @/./+/-/_ only."},
		{Name: "email", Label: "Email address", Type: "email", Value: u.Email, Autocomplete: "off"},
		{Name: "first_name", Label: "First name", Type: "text", Value: u.FirstName, Autocomplete: "off"},
		{Name: "last_name", Label: "Last name", Type: "text", Value: u.LastName, Autocomplete: "off"},
	}
	if withPassword {
		f = append(f,
			siteField{Name: "password", Label: "Password", Type: "password", Required: true, Autocomplete: "new-password",
				Help: "The password validators apply."},
			siteField{Name: "password2", Label: "Password confirmation", Type: "password", Required: true, Autocomplete: "new-password",
				Help: "Enter the same password again."})
	}
	return append(f,
		siteField{Name: "is_active", Label: "Active", Type: "checkbox", Checked: u.IsActive,
			Help: "Unselect this instead of deleting the account: an inactive user cannot log in, and every credential ends."},
		siteField{Name: "is_staff", Label: "Staff status", Type: "checkbox", Checked: u.IsStaff,
			Help: "May log in to this admin site (superusers only may change it)."},
		siteField{Name: "is_superuser", Label: "Superuser status", Type: "checkbox", Checked: u.IsSuperuser,
			Help: "Has every permission without their being assigned (superusers only may change it)."},
		siteField{Name: "groups", Label: "Groups", Type: "checklist", Options: c.groupOptions(d.Groups), ID: "id_groups",
			Help: "The user gets every permission of each group."},
		siteField{Name: "user_permissions", Label: "User permissions", Type: "checklist", Options: c.permOptions(d.Permissions), ID: "id_user_permissions",
			Help: "Permissions granted to this user directly."},
	)
}

// siteUserFromForm reads the user forms' fields into d.
func siteUserFromForm(v url.Values) (admin.UserDetail, error) {
	d := admin.UserDetail{User: gatehouse.User{Username: v.Get("username"), Email: v.Get("email"), FirstName: v.Get("first_name"),
		LastName: v.Get("last_name"), IsActive: siteFormBool(v, "is_active"), IsStaff: siteFormBool(v, "is_staff"), IsSuperuser: siteFormBool(v, "is_superuser")}}
	var err error
	if d.Groups, err = siteFormIDs(v, "groups"); err != nil {
		return d, err
	}
	d.Permissions, err = siteFormIDs(v, "user_permissions")
	return d, err
}

type siteUserData struct {
	Form        *siteForm
	Detail      admin.UserDetail
	Password    *siteForm
	Credentials []gatehouse.CredentialInfo
	CredError   string
	Self        bool
}

// siteUserAdd is the creation form: GET shows it, POST creates the user
// (admin.CreateUser) and goes to his change page.
func (s *Server) siteUserAdd(w http.ResponseWriter, r *http.Request, a *siteRequest) {
	if !s.siteRequire(w, r, a, admin.PermAddUser) {
		return
	}
	c := s.siteChoicesFor(r, a)
	d := admin.UserDetail{User: gatehouse.User{IsActive: true}}
	var err error
	if r.Method == http.MethodPost {
		d, err = siteUserFromForm(r.PostForm)
		if err == nil && r.PostForm.Get("password") != r.PostForm.Get("password2") {
			err = gatehouse.Invalid(gatehouse.FieldError{Field: "password2", Code: gatehouse.FieldInvalid, Message: "The two password fields didn't match."})
		}
		if err == nil {
			active := d.User.IsActive
			var created admin.UserDetail
			created, err = s.admin.CreateUser(r.Context(), a.actor, admin.NewUser{Username: d.User.Username, Email: d.User.Email,
				FirstName: d.User.FirstName, LastName: d.User.LastName, Password: r.PostForm.Get("password"), IsActive: &active,
				IsStaff: d.User.IsStaff, IsSuperuser: d.User.IsSuperuser, Groups: d.Groups, Permissions: d.Permissions})
			if err == nil {
				s.siteRedirect(w, siteUserHref(created.User.ID), "created", 0)
				return
			}
		}
		if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			s.siteFail(w, r, a, err)
			return
		}
	}
	status := http.StatusOK
	if err != nil {
		status = http.StatusBadRequest
	}
	form := newSiteForm(err, siteUserFields(d, c, true)...)
	s.siteRender(w, r, a, status, "user_add", siteView{Title: "Add user", Section: "users", Data: siteUserData{Form: form, Detail: d}})
}

// siteUserEdit is a user's change page: GET shows it, POST saves the
// fields (admin.UpdateUser with what changed only).
func (s *Server) siteUserEdit(w http.ResponseWriter, r *http.Request, a *siteRequest) {
	id, cur, ok := siteFetch(s, w, r, a, "user", func(id int64) (admin.UserDetail, error) { return s.admin.User(r.Context(), a.actor, id) })
	if !ok {
		return
	}
	shown := cur
	var saveErr error
	if r.Method == http.MethodPost {
		var posted admin.UserDetail
		posted, saveErr = siteUserFromForm(r.PostForm)
		if saveErr == nil {
			_, saveErr = s.admin.UpdateUser(r.Context(), a.actor, id, siteUserPatch(cur, posted))
			if saveErr == nil {
				s.siteRedirect(w, siteUserHref(id), "saved", 0)
				return
			}
		}
		if gatehouse.ErrorCode(saveErr) != gatehouse.EINVALID {
			s.siteFail(w, r, a, saveErr)
			return
		}
		posted.User.ID = id
		shown = posted
	}
	s.siteUserPage(w, r, a, cur, siteUserFields(shown, s.siteChoicesFor(r, a), false), saveErr, nil)
}

// siteUserPage renders the change page of cur with the fields form (and
// its error saveErr) and the password form's error pwErr.
func (s *Server) siteUserPage(w http.ResponseWriter, r *http.Request, a *siteRequest, cur admin.UserDetail, fields []siteField, saveErr, pwErr error) {
	d := siteUserData{Form: newSiteForm(saveErr, fields...), Detail: cur, Self: cur.User.ID == a.user.ID,
		Password: newSiteForm(pwErr,
			siteField{Name: "password", Label: "New password", Type: "password", Autocomplete: "new-password", Required: true, ID: "id_new_password",
				Help: "The password validators apply. Every credential the user holds ends."},
			siteField{Name: "password2", Label: "New password confirmation", Type: "password", Autocomplete: "new-password", Required: true, ID: "id_new_password2"})}
	creds, err := s.admin.UserCredentials(r.Context(), a.actor, cur.User.ID, admin.StateLive, admin.Page{Size: admin.MaxPageSize})
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL || gatehouse.ErrorCode(err) == "" {
			s.siteFail(w, r, a, err)
			return
		}
		d.CredError = gatehouse.ErrorMessage(err)
	}
	d.Credentials = creds.Items
	status := http.StatusOK
	if saveErr != nil || pwErr != nil {
		status = http.StatusBadRequest
	}
	s.siteRender(w, r, a, status, "user_edit", siteView{Title: "Change user " + cur.User.Username, Section: "users", Data: d})
}

// siteUserPatch is the change from cur to posted: only the fields that
// differ, so that a staff user who may not set is_staff can still save
// the others.
func siteUserPatch(cur, posted admin.UserDetail) admin.UserPatch {
	var p admin.UserPatch
	str := func(old, new string) *string {
		if old == new {
			return nil
		}
		return &new
	}
	boolean := func(old, new bool) *bool {
		if old == new {
			return nil
		}
		return &new
	}
	ids := func(old, new []int64) *[]int64 {
		o, n := slices.Clone(old), slices.Clone(new)
		slices.Sort(o)
		slices.Sort(n)
		if slices.Equal(o, n) {
			return nil
		}
		return &new
	}
	c, n := cur.User, posted.User
	p.Username, p.Email, p.FirstName, p.LastName = str(c.Username, n.Username), str(c.Email, n.Email), str(c.FirstName, n.FirstName), str(c.LastName, n.LastName)
	p.IsActive, p.IsStaff, p.IsSuperuser = boolean(c.IsActive, n.IsActive), boolean(c.IsStaff, n.IsStaff), boolean(c.IsSuperuser, n.IsSuperuser)
	p.Groups, p.Permissions = ids(cur.Groups, posted.Groups), ids(cur.Permissions, posted.Permissions)
	return p
}

// siteUserPassword sets a user's password (admin.SetPassword), showing
// the validators' refusals on the change page.
func (s *Server) siteUserPassword(w http.ResponseWriter, r *http.Request, a *siteRequest) {
	id, cur, ok := siteFetch(s, w, r, a, "user", func(id int64) (admin.UserDetail, error) { return s.admin.User(r.Context(), a.actor, id) })
	if !ok {
		return
	}
	pw := r.PostForm.Get("password")
	var err error
	if pw != r.PostForm.Get("password2") {
		err = gatehouse.Invalid(gatehouse.FieldError{Field: "password2", Code: gatehouse.FieldInvalid, Message: "The two password fields didn't match."})
	} else {
		err = s.admin.SetPassword(r.Context(), a.actor, id, pw)
	}
	if err == nil {
		s.siteRedirect(w, siteUserHref(id), "password", 0)
		return
	}
	if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
		s.siteFail(w, r, a, err)
		return
	}
	s.siteUserPage(w, r, a, cur, siteUserFields(cur, s.siteChoicesFor(r, a), false), nil, err)
}

// siteUserAction serves a button of the user's page: the user's id is
// read, do called with it, and the page shown again with the message
// done (n its count).
func (s *Server) siteUserAction(done string, n int, do func(r *http.Request, a *siteRequest, id int64) error) func(http.ResponseWriter, *http.Request, *siteRequest) {
	return func(w http.ResponseWriter, r *http.Request, a *siteRequest) {
		id, ok := s.siteID(w, r, a, "user")
		if !ok {
			return
		}
		if err := do(r, a, id); err != nil {
			s.siteFail(w, r, a, err)
			return
		}
		s.siteRedirect(w, siteUserHref(id), done, n)
	}
}

// siteUserActive activates or deactivates a user (the button beside the
// form): admin.UpdateUser with is_active only.
func (s *Server) siteUserActive(r *http.Request, a *siteRequest, id int64) error {
	active := r.PostForm.Get("active") == "on"
	_, err := s.admin.UpdateUser(r.Context(), a.actor, id, admin.UserPatch{IsActive: &active})
	return err
}

// siteUserLogout ends every credential of a user (admin.LogOutEverywhere).
func (s *Server) siteUserLogout(r *http.Request, a *siteRequest, id int64) error {
	return s.admin.LogOutEverywhere(r.Context(), a.actor, id)
}

// siteUserRevoke ends one credential of a user, named by kind and id
// (admin.RevokeUserCredential).
func (s *Server) siteUserRevoke(r *http.Request, a *siteRequest, id int64) error {
	return s.admin.RevokeUserCredential(r.Context(), a.actor, id, r.PostForm.Get("kind"), r.PostForm.Get("id"))
}

// siteUserDelete asks to confirm (GET) and deletes the user (POST,
// admin.DeleteUser).
func (s *Server) siteUserDelete(w http.ResponseWriter, r *http.Request, a *siteRequest) {
	ctx := r.Context()
	siteConfirmDelete(s, w, r, a, "user", "users", "user_delete", admin.PermDeleteUser,
		func(id int64) (admin.UserDetail, error) { return s.admin.User(ctx, a.actor, id) },
		func(id int64) error { return s.admin.DeleteUser(ctx, a.actor, id) },
		func(d admin.UserDetail) string { return "Delete user " + d.User.Username })
}
