package gatehouse

import (
	"slices"
	"strings"
)

// Permission mirrors Django's auth.permission: the right to act on one
// model, named by its content type (AppLabel and Model) and Codename.
// has_perm names it "app_label.codename" (Key).
type Permission struct {
	ID       int64
	Name     string // "Can add user"
	Codename string // "add_user"
	AppLabel string // the content type's app_label, "auth"
	Model    string // the content type's model, "user"
}

// Key is the permission as Django's has_perm names it: "app_label.codename".
func (p Permission) Key() string { return p.AppLabel + "." + p.Codename }

// Group mirrors Django's auth.group: a named set of permissions that its
// users hold together.
type Group struct {
	ID          int64
	Name        string
	Permissions []int64 // ids of its permissions, ascending
}

// Field limits of Django's auth.group, auth.permission and
// contenttypes.contenttype.
const (
	MaxGroupName      = 150
	MaxPermissionName = 255
	MaxCodename       = 100
	MaxAppLabel       = 100 // also a content type's model
)

// UserPermissions is what a user holds under Django's ModelBackend: the
// names of their groups, and the permissions granted to them directly or
// through a group, as "app_label.codename". Both are sorted, each name
// once.
type UserPermissions struct {
	Groups      []string
	Permissions []string
}

// Has reports whether p lists perm.
func (p UserPermissions) Has(perm string) bool {
	_, found := slices.BinarySearch(p.Permissions, perm)
	return found
}

// HasPerm is Django's User.has_perm(perm) with ModelBackend and no object:
// an active superuser has every permission, even one no table lists; an
// inactive user has none; any other user those held lists (direct or
// through a group).
func (u *User) HasPerm(held UserPermissions, perm string) bool {
	if !u.IsActive {
		return false
	}
	return u.IsSuperuser || held.Has(perm)
}

// HasPerms is Django's User.has_perms: HasPerm for every one of perms (so
// true for none).
func (u *User) HasPerms(held UserPermissions, perms ...string) bool {
	for _, p := range perms {
		if !u.HasPerm(held, p) {
			return false
		}
	}
	return true
}

// HasModulePerms is Django's User.has_module_perms: whether u holds any
// permission of the app appLabel (an active superuser holds all).
func (u *User) HasModulePerms(held UserPermissions, appLabel string) bool {
	if !u.IsActive {
		return false
	}
	if u.IsSuperuser {
		return true
	}
	for _, p := range held.Permissions {
		if app, _, ok := strings.Cut(p, "."); ok && app == appLabel {
			return true
		}
	}
	return false
}
