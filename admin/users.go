package admin

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/accounts"
)

// Who may change whom. Django's admin lets any staff user with
// auth.change_user set is_superuser, is_staff, groups and permissions on
// any account, themselves included, which makes change_user the same as
// superuser (Django's documentation warns of it). gatehouse keeps
// Django's permission names and closes that path:
//
//   - is_superuser and is_staff are set by superusers only (at creation
//     too);
//   - a staff user who is not a superuser changes, deletes, sets the
//     password of, logs out or revokes credentials of non-staff users
//     only: taking over a staff account would give its permissions;
//   - groups and permissions a non-superuser grants or takes away must be
//     ones they hold themselves (each permission of a group they add or
//     remove too).
//
// Superusers and admin clients may do everything.

// UserQuery selects users in a listing: the admin's search box and
// filters. Nil flags match all.
type UserQuery struct {
	// Search matches the username, email, first or last name, ignoring
	// ASCII case.
	Search                   string
	Active, Staff, Superuser *bool
	GroupID                  int64  // 0: any
	Order                    string // one of gatehouse.UserOrders, "-" for descending; "": id
}

// UserDetail is one user with the ids of their groups and of the
// permissions granted to them directly.
type UserDetail struct {
	User        gatehouse.User
	Groups      []int64
	Permissions []int64
}

// ListUsers lists the users q selects, one page at a time. It needs
// auth.view_user or auth.change_user. A bad order or unknown group is
// EINVALID (fields "ordering", "group").
func (s *Service) ListUsers(ctx context.Context, a Actor, q UserQuery, p Page) (Listing[gatehouse.User], error) {
	if err := a.require(PermViewUser, PermChangeUser); err != nil {
		return Listing[gatehouse.User]{}, err
	}
	p, err := p.check()
	if err != nil {
		return Listing[gatehouse.User]{}, err
	}
	if err := gatehouse.ValidUserOrder(q.Order); err != nil {
		return Listing[gatehouse.User]{}, err
	}
	if q.GroupID != 0 {
		if _, err := s.group(ctx, q.GroupID); err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
				return Listing[gatehouse.User]{}, gatehouse.Invalid(gatehouse.FieldError{Field: "group", Code: gatehouse.FieldInvalid,
					Message: "Select a valid choice. That choice is not one of the available choices."})
			}
			return Listing[gatehouse.User]{}, err
		}
	}
	if !gatehouse.ValidText(q.Search) {
		return Listing[gatehouse.User]{Page: p.resolve(0), Items: []gatehouse.User{}}, nil // matches no stored value
	}
	f := gatehouse.UserFilter{Search: q.Search, Active: q.Active, Staff: q.Staff, Superuser: q.Superuser, GroupID: q.GroupID, Order: q.Order}
	// The count stops at the limit: an exact count reads every match, half
	// a second over a million users on PostgreSQL. The last page of more
	// is asked for by name only, and then counted exactly.
	limit := s.d.Config.CountLimit
	count, err := s.d.Users.CountUsersUpTo(ctx, f, limit+1)
	if err == nil && count > limit && p.Last {
		count, err = s.d.Users.CountUsers(ctx, f)
	}
	if err != nil {
		return Listing[gatehouse.User]{}, err
	}
	l := Listing[gatehouse.User]{Count: count, Page: p.resolve(count), Items: []gatehouse.User{}}
	if count > limit && !p.Last {
		l.Count, l.Capped = limit, true
	}
	if !l.Capped && l.OutOfRange() {
		return l, nil
	}
	// One more than a page: whether a next page exists, beyond the count.
	users, err := s.d.Users.ListUsers(ctx, f, (l.Page.Number-1)*l.Page.Size, l.Page.Size+1)
	if err != nil {
		return l, err
	}
	if len(users) > l.Page.Size {
		users, l.Next = users[:l.Page.Size], true
	}
	if users != nil {
		l.Items = users
	}
	return l, nil
}

// user reads user id: ENOTFOUND when there is none.
func (s *Service) user(ctx context.Context, id int64) (gatehouse.User, error) {
	u, err := s.d.Users.User(ctx, id)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return u, gatehouse.Errorf(gatehouse.ENOTFOUND, "no such user")
	}
	return u, err
}

// User returns user id with their groups and direct permissions. It needs
// auth.view_user or auth.change_user; ENOTFOUND when there is no such
// user.
func (s *Service) User(ctx context.Context, a Actor, id int64) (UserDetail, error) {
	if err := a.require(PermViewUser, PermChangeUser); err != nil {
		return UserDetail{}, err
	}
	u, err := s.user(ctx, id)
	if err != nil {
		return UserDetail{}, err
	}
	groups, perms, err := s.d.Permissions.UserLinks(ctx, id)
	if err != nil {
		return UserDetail{}, err
	}
	return UserDetail{User: u, Groups: groups, Permissions: perms}, nil
}

// target reads user id for an operation that changes them: ENOTFOUND when
// there is none (checked after the actor's permission, so that an actor
// without it learns nothing), EFORBIDDEN when a non-superuser acts on a
// staff or superuser account, or on one holding a permission the actor
// does not: who may set a user's password or e-mail address may log in
// as them, and would act with what they hold.
func (s *Service) target(ctx context.Context, a Actor, id int64, perm string) (gatehouse.User, error) {
	if err := a.require(perm); err != nil {
		return gatehouse.User{}, err
	}
	u, err := s.user(ctx, id)
	if err != nil || a.superuser || u.ID == a.User.ID {
		return u, err
	}
	if u.IsStaff || u.IsSuperuser {
		return u, forbidden()
	}
	held, err := s.d.Accounts.Permissions(ctx, u)
	if err != nil {
		return u, err
	}
	if slices.ContainsFunc(held.Permissions, func(p string) bool { return !a.Can(p) }) {
		return u, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "not allowed: the user holds permissions you do not"}
	}
	return u, nil
}

// NewUser is a user an administrator creates. Nil Groups and Permissions
// grant none; IsActive nil means active.
type NewUser struct {
	Username, Email, FirstName, LastName string
	Password                             string
	IsActive                             *bool
	IsStaff, IsSuperuser                 bool
	Groups, Permissions                  []int64
}

// CreateUser creates a user with Django's rules (accounts' validators: the
// username's characters and uniqueness, the e-mail address, lengths, the
// password validators), a default DRF token, and the groups and
// permissions named. It needs auth.add_user (and, for groups or
// permissions, auth.change_user with the holding rule above); is_staff and
// is_superuser need a superuser. Every problem is one EINVALID error with
// field errors, and then nothing is written.
func (s *Service) CreateUser(ctx context.Context, a Actor, n NewUser) (UserDetail, error) {
	if err := a.require(PermAddUser); err != nil {
		return UserDetail{}, err
	}
	if (n.IsStaff || n.IsSuperuser) && !a.superuser {
		return UserDetail{}, forbidden()
	}
	if len(n.Groups)+len(n.Permissions) > 0 && !a.Can(PermChangeUser) {
		return UserDetail{}, forbidden()
	}
	an := accounts.NewUser{Username: n.Username, Email: n.Email, FirstName: n.FirstName, LastName: n.LastName,
		Password: n.Password, IsStaff: n.IsStaff, IsSuperuser: n.IsSuperuser}
	errs, err := s.d.Accounts.Validate(ctx, an)
	if err != nil {
		return UserDetail{}, err
	}
	links, err := s.checkLinks(ctx, a, nil, nil, &n.Groups, &n.Permissions)
	if err != nil {
		return UserDetail{}, err
	}
	if errs = append(errs, links...); len(errs) > 0 {
		return UserDetail{}, gatehouse.Invalid(errs...)
	}
	u, err := s.d.Accounts.Create(ctx, an)
	if err != nil {
		return UserDetail{}, err
	}
	// Create stored the user; what remains is one UpdateUser: the
	// activity and the links, in one transaction.
	active := n.IsActive == nil || *n.IsActive
	groups, perms := sortedIDs(n.Groups), sortedIDs(n.Permissions)
	if !active || len(groups)+len(perms) > 0 {
		id := u.ID
		u, err = s.d.Users.UpdateUser(ctx, id, func(u *gatehouse.User) (gatehouse.UserChange, error) {
			u.IsActive = active
			return gatehouse.UserChange{Groups: &groups, Permissions: &perms}, nil
		})
		if err != nil {
			// The user exists without the rest (a group or permission
			// was deleted meanwhile): remove them rather than leave half
			// of what was asked.
			if derr := s.d.Users.DeleteUser(ctx, id); derr != nil {
				return UserDetail{}, errors.Join(err, derr)
			}
			return UserDetail{}, s.linkError(err)
		}
		d := map[string]string{"username": u.Username, "fields": changedFields(!active, len(groups) > 0, len(perms) > 0)}
		if !active {
			d["active"] = "false"
		}
		s.record(ctx, a, gatehouse.AuditEvent{Event: gatehouse.AuditUserChanged, UserID: u.ID, Detail: d})
	}
	return UserDetail{User: u, Groups: groups, Permissions: perms}, nil
}

// sortedIDs is ids ascending without repeats, never nil.
func sortedIDs(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	out = slices.Compact(out)
	if out == nil {
		out = []int64{}
	}
	return out
}

// UserPatch is a change of a user: nil fields stay as they are.
type UserPatch struct {
	Username, Email, FirstName, LastName *string
	IsActive, IsStaff, IsSuperuser       *bool
	Groups, Permissions                  *[]int64
}

// UpdateUser applies p to user id in one transaction, with Django's rules
// for each field (accounts' validators; the username stays unique) and
// the rules of who may change whom above. It needs auth.change_user.
// Deactivating a user ends every credential they hold, as
// accounts.SetActive does. Every problem is one EINVALID error with field
// errors, and then nothing is written.
func (s *Service) UpdateUser(ctx context.Context, a Actor, id int64, p UserPatch) (UserDetail, error) {
	old, err := s.target(ctx, a, id, PermChangeUser)
	if err != nil {
		return UserDetail{}, err
	}
	if (p.IsStaff != nil && *p.IsStaff != old.IsStaff || p.IsSuperuser != nil && *p.IsSuperuser != old.IsSuperuser) && !a.superuser {
		return UserDetail{}, forbidden()
	}
	if old.ID == a.User.ID {
		// An administrator does not lock themselves out, as they cannot
		// delete themselves: another does it (the last superuser would
		// leave the site to the command line).
		var errs []gatehouse.FieldError
		for _, f := range []struct {
			v    *bool
			now  bool
			name string
		}{{p.IsActive, old.IsActive, "is_active"}, {p.IsStaff, old.IsStaff, "is_staff"}, {p.IsSuperuser, old.IsSuperuser, "is_superuser"}} {
			if f.v != nil && !*f.v && f.now {
				errs = append(errs, gatehouse.FieldError{Field: f.name, Code: gatehouse.FieldInvalid, Message: "You cannot take this status from yourself; another administrator can."})
			}
		}
		if len(errs) > 0 {
			return UserDetail{}, gatehouse.Invalid(errs...)
		}
	}
	// The fields as they will be, checked as a new user's would be (the
	// username's uniqueness only when it changes).
	n := accounts.NewUser{Username: old.Username, Email: old.Email, FirstName: old.FirstName, LastName: old.LastName}
	skip := []string{accounts.FieldPassword}
	set := func(dst *string, v *string, field string) {
		if v != nil {
			*dst = *v
		} else {
			skip = append(skip, field)
		}
	}
	set(&n.Username, p.Username, accounts.FieldUsername)
	set(&n.Email, p.Email, accounts.FieldEmail)
	set(&n.FirstName, p.FirstName, accounts.FieldFirstName)
	set(&n.LastName, p.LastName, accounts.FieldLastName)
	if p.Username != nil && accounts.NormalizeUsername(*p.Username) == old.Username {
		skip = append(skip, accounts.FieldUsername) // unchanged: not "taken" by its owner
		p.Username = nil
	}
	errs, err := s.d.Accounts.Validate(ctx, n, skip...)
	if err != nil {
		return UserDetail{}, err
	}
	oldGroups, oldPerms, err := s.d.Permissions.UserLinks(ctx, id)
	if err != nil {
		return UserDetail{}, err
	}
	links, err := s.checkLinks(ctx, a, oldGroups, oldPerms, p.Groups, p.Permissions)
	if err != nil {
		return UserDetail{}, err
	}
	if errs = append(errs, links...); len(errs) > 0 {
		return UserDetail{}, gatehouse.Invalid(errs...)
	}
	var groups, perms *[]int64
	if p.Groups != nil {
		g := sortedIDs(*p.Groups)
		groups = &g
	}
	if p.Permissions != nil {
		q := sortedIDs(*p.Permissions)
		perms = &q
	}
	var changed []string
	deactivated, activated := false, false
	u, err := s.d.Users.UpdateUser(ctx, id, func(u *gatehouse.User) (gatehouse.UserChange, error) {
		changed = changed[:0]
		str := func(dst *string, v *string, name string) {
			if v != nil && *dst != *v {
				*dst = *v
				changed = append(changed, name)
			}
		}
		flag := func(dst *bool, v *bool, name string) {
			if v != nil && *dst != *v {
				*dst = *v
				changed = append(changed, name)
			}
		}
		if p.Username != nil {
			name := accounts.NormalizeUsername(*p.Username)
			str(&u.Username, &name, "username")
		}
		str(&u.Email, p.Email, "email")
		str(&u.FirstName, p.FirstName, "first_name")
		str(&u.LastName, p.LastName, "last_name")
		wasActive := u.IsActive
		flag(&u.IsActive, p.IsActive, "is_active")
		flag(&u.IsStaff, p.IsStaff, "is_staff")
		flag(&u.IsSuperuser, p.IsSuperuser, "is_superuser")
		deactivated, activated = wasActive && !u.IsActive, !wasActive && u.IsActive
		if groups != nil && !slices.Equal(*groups, oldGroups) {
			changed = append(changed, "groups")
		}
		if perms != nil && !slices.Equal(*perms, oldPerms) {
			changed = append(changed, "user_permissions")
		}
		return gatehouse.UserChange{RevokeCredentials: deactivated, At: s.d.Now(), Groups: groups, Permissions: perms}, nil
	})
	s.d.Forget(id)
	if err != nil {
		if errors.Is(err, gatehouse.ErrConflict) {
			return UserDetail{}, gatehouse.Invalid(gatehouse.FieldError{Field: accounts.FieldUsername, Code: gatehouse.FieldUnique, Message: "already taken"})
		}
		return UserDetail{}, s.linkError(err)
	}
	if len(changed) > 0 {
		d := map[string]string{"username": u.Username, "fields": strings.Join(changed, ",")}
		for _, f := range changed {
			switch f {
			case "is_active":
				d["active"] = strconv.FormatBool(u.IsActive)
			case "is_staff":
				d["staff"] = strconv.FormatBool(u.IsStaff)
			case "is_superuser":
				d["superuser"] = strconv.FormatBool(u.IsSuperuser)
			}
		}
		s.record(ctx, a, gatehouse.AuditEvent{Event: gatehouse.AuditUserChanged, UserID: id, Detail: d})
	}
	if deactivated || activated {
		event := gatehouse.AuditUserDeactivated
		if activated {
			event = gatehouse.AuditUserActivated
		}
		s.record(ctx, a, gatehouse.AuditEvent{Event: event, UserID: id, Detail: map[string]string{"username": u.Username}})
	}
	out := UserDetail{User: u, Groups: oldGroups, Permissions: oldPerms}
	if groups != nil {
		out.Groups = *groups
	}
	if perms != nil {
		out.Permissions = *perms
	}
	return out, nil
}

// changedFields names what CreateUser set beyond accounts.Create.
func changedFields(inactive, groups, perms bool) string {
	var f []string
	if inactive {
		f = append(f, "is_active")
	}
	if groups {
		f = append(f, "groups")
	}
	if perms {
		f = append(f, "user_permissions")
	}
	return strings.Join(f, ",")
}

// linkError turns a store's ErrNotFound about a group or permission (one
// deleted meanwhile) into a field error; other errors stay.
func (s *Service) linkError(err error) error {
	if errors.Is(err, gatehouse.ErrNotFound) {
		return gatehouse.Invalid(gatehouse.FieldError{Field: "groups", Code: gatehouse.FieldInvalid,
			Message: "A group or permission named no longer exists."})
	}
	return err
}

// checkLinks checks the groups and permissions a change sets (nil: not
// set) against those that exist, and that a non-superuser grants or takes
// away only permissions they hold: field errors for unknown ids, and
// EFORBIDDEN for the rest.
func (s *Service) checkLinks(ctx context.Context, a Actor, oldGroups, oldPerms []int64, groups, perms *[]int64) ([]gatehouse.FieldError, error) {
	if groups == nil && perms == nil {
		return nil, nil
	}
	var errs []gatehouse.FieldError
	keyOf, err := s.permissionKeys(ctx)
	if err != nil {
		return nil, err
	}
	var touched []string // the permissions granted or taken away
	if groups != nil {
		all, err := s.d.Permissions.Groups(ctx)
		if err != nil {
			return nil, err
		}
		byID := map[int64]gatehouse.Group{}
		for _, g := range all {
			byID[g.ID] = g
		}
		for _, id := range *groups {
			if _, ok := byID[id]; !ok {
				errs = append(errs, gatehouse.FieldError{Field: "groups", Code: gatehouse.FieldInvalid, Message: invalidPK(id)})
			}
		}
		for _, id := range symmetricDifference(oldGroups, *groups) {
			for _, p := range byID[id].Permissions {
				touched = append(touched, keyOf[p])
			}
		}
	}
	if perms != nil {
		for _, id := range *perms {
			if _, ok := keyOf[id]; !ok {
				errs = append(errs, gatehouse.FieldError{Field: "user_permissions", Code: gatehouse.FieldInvalid, Message: invalidPK(id)})
			}
		}
		for _, id := range symmetricDifference(oldPerms, *perms) {
			touched = append(touched, keyOf[id])
		}
	}
	if len(errs) > 0 {
		return errs, nil
	}
	for _, k := range touched {
		if !a.Can(k) {
			return nil, forbidden()
		}
	}
	return nil, nil
}

// permissionKeys maps each stored permission's id to its
// "app_label.codename".
func (s *Service) permissionKeys(ctx context.Context) (map[int64]string, error) {
	all, err := s.d.Permissions.Permissions(ctx)
	if err != nil {
		return nil, err
	}
	keyOf := make(map[int64]string, len(all))
	for _, p := range all {
		keyOf[p.ID] = p.Key()
	}
	return keyOf, nil
}

// invalidPK is DRF's PrimaryKeyRelatedField message for an unknown id.
func invalidPK(id int64) string {
	return `Invalid pk "` + strconv.FormatInt(id, 10) + `" - object does not exist.`
}

// symmetricDifference lists the ids in one of a and b but not both.
func symmetricDifference(a, b []int64) []int64 {
	var out []int64
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// DeleteUser removes user id and everything they own (accounts.Delete:
// audited user.deleted). It needs auth.delete_user; a user cannot delete
// themselves (the last superuser would lock everyone out).
func (s *Service) DeleteUser(ctx context.Context, a Actor, id int64) error {
	u, err := s.target(ctx, a, id, PermDeleteUser)
	if err != nil {
		return err
	}
	if u.ID == a.User.ID {
		return gatehouse.Invalid(gatehouse.FieldError{Field: "non_field_errors", Code: gatehouse.FieldInvalid, Message: "You cannot delete yourself."})
	}
	return s.d.Accounts.Delete(ctx, u.Username)
}

// SetPassword sets user id's password after the password validators
// (accounts.ChangePassword: every credential the user held ends; audited
// password.changed). It needs auth.change_user.
func (s *Service) SetPassword(ctx context.Context, a Actor, id int64, password string) error {
	u, err := s.target(ctx, a, id, PermChangeUser)
	if err != nil {
		return err
	}
	if password == "" {
		return gatehouse.Invalid(gatehouse.FieldError{Field: accounts.FieldPassword, Code: gatehouse.FieldBlank, Message: "required"})
	}
	return s.d.Accounts.ChangePassword(ctx, u.Username, password)
}

// LogOutEverywhere ends every credential of user id, keeping the password
// (accounts.LogOutEverywhere; audited user.logged_out_everywhere). It
// needs auth.change_user.
func (s *Service) LogOutEverywhere(ctx context.Context, a Actor, id int64) error {
	u, err := s.target(ctx, a, id, PermChangeUser)
	if err != nil {
		return err
	}
	return s.d.Accounts.LogOutEverywhere(ctx, u.ID)
}

// The states a credential listing selects.
const (
	StateLive  = "live"  // neither expired nor revoked (the default)
	StateEnded = "ended" // expired or revoked, kept for a while
	StateAll   = "all"
)

// credentialsIn lists what f selects in state (StateLive, StateEnded,
// StateAll; another is EINVALID, field "state") at now.
func (s *Service) credentialsIn(ctx context.Context, f gatehouse.CredentialFilter, state string) ([]gatehouse.CredentialInfo, error) {
	now := s.d.Now()
	switch state {
	case StateLive:
	case StateEnded, StateAll:
		f.Ended = true
	default:
		return nil, gatehouse.Invalid(gatehouse.FieldError{Field: "state", Code: gatehouse.FieldInvalid,
			Message: "Select a valid choice. " + state + " is not one of the available choices: live, ended, all."})
	}
	list, err := s.d.Credentials.ListCredentials(ctx, f, now)
	if err != nil || state != StateEnded {
		return list, err
	}
	ended := list[:0]
	for _, c := range list {
		if c.Revoked != nil || c.Expires != nil && !now.Before(*c.Expires) {
			ended = append(ended, c)
		}
	}
	return ended, nil
}

// UserCredentials lists user id's credentials of every kind in state
// (StateLive, StateEnded or StateAll), newest first within a kind (at
// most 1000 of each kind), one page at a time, browser sessions among them
// (those started since they are recorded; LogOutEverywhere ends older ones
// too). It needs auth.view_user or
// auth.change_user; ENOTFOUND when there is no such user.
func (s *Service) UserCredentials(ctx context.Context, a Actor, id int64, state string, p Page) (Listing[gatehouse.CredentialInfo], error) {
	if err := a.require(PermViewUser, PermChangeUser); err != nil {
		return Listing[gatehouse.CredentialInfo]{}, err
	}
	if _, err := s.user(ctx, id); err != nil {
		return Listing[gatehouse.CredentialInfo]{}, err
	}
	list, err := s.credentialsIn(ctx, gatehouse.CredentialFilter{UserID: id}, state)
	if err != nil {
		return Listing[gatehouse.CredentialInfo]{}, err
	}
	return paginate(list, p)
}

// RevokeUserCredential ends one live credential of user id, named by its
// kind (gatehouse.CredentialKinds) and id as UserCredentials lists it:
// audited credentials.revoked. It needs auth.change_user; ENOTFOUND when
// the user has no such live credential, EINVALID for an unknown kind.
func (s *Service) RevokeUserCredential(ctx context.Context, a Actor, userID int64, kind, credentialID string) error {
	u, err := s.target(ctx, a, userID, PermChangeUser)
	if err != nil {
		return err
	}
	if !slices.Contains(gatehouse.CredentialKinds(), kind) {
		return gatehouse.Invalid(gatehouse.FieldError{Field: "kind", Code: gatehouse.FieldInvalid,
			Message: "Select a valid choice. " + kind + " is not one of the available choices: " + strings.Join(gatehouse.CredentialKinds(), ", ") + "."})
	}
	if credentialID == "" || !gatehouse.ValidText(credentialID) {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "no such credential")
	}
	n, revoked, err := s.d.Credentials.RevokeCredentials(ctx, gatehouse.CredentialFilter{Kinds: []string{kind}, UserID: u.ID, ID: credentialID}, s.d.Now())
	s.d.Forget(u.ID)
	s.d.ForgetAccess(revoked)
	if err != nil {
		return err
	}
	if n == 0 {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "no such live credential")
	}
	s.record(ctx, a, gatehouse.AuditEvent{Event: gatehouse.AuditCredentialsRevoked, UserID: u.ID,
		Detail: map[string]string{"kind": kind, "id": credentialID, "count": strconv.FormatInt(n, 10)}})
	return nil
}
