package gatehouse_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

// Django's has_perm with ModelBackend: an active superuser has every
// permission, listed or not; an inactive user, superuser or not, has none;
// anyone else what they hold directly or through a group.
func TestHasPerm(t *testing.T) {
	held := gatehouse.UserPermissions{Groups: []string{"editors"}, Permissions: []string{"auth.add_user", "shop.view_item"}}
	for _, tc := range []struct {
		name              string
		active, superuser bool
		perm              string
		want              bool
	}{
		{"held", true, false, "auth.add_user", true},
		{"held through a group", true, false, "shop.view_item", true},
		{"not held", true, false, "auth.delete_user", false},
		{"codename without app label", true, false, "add_user", false},
		{"inactive", false, false, "auth.add_user", false},
		{"active superuser, unlisted", true, true, "any.thing", true},
		{"inactive superuser", false, true, "auth.add_user", false},
	} {
		u := gatehouse.User{IsActive: tc.active, IsSuperuser: tc.superuser}
		if got := u.HasPerm(held, tc.perm); got != tc.want {
			t.Errorf("%s: HasPerm(%q) = %v, want %v", tc.name, tc.perm, got, tc.want)
		}
	}
	u := gatehouse.User{IsActive: true}
	if !u.HasPerms(held, "auth.add_user", "shop.view_item") || u.HasPerms(held, "auth.add_user", "auth.delete_user") || !u.HasPerms(held) {
		t.Error("HasPerms: every one of the list, and true for none (Django's all([]))")
	}
	if !u.HasModulePerms(held, "shop") || u.HasModulePerms(held, "sho") || u.HasModulePerms(held, "admin") {
		t.Error("HasModulePerms: any permission of that app label, exactly")
	}
	if (&gatehouse.User{IsActive: false}).HasModulePerms(held, "shop") || !(&gatehouse.User{IsActive: true, IsSuperuser: true}).HasModulePerms(held, "admin") {
		t.Error("HasModulePerms: none for the inactive, all for an active superuser")
	}
}
