package gatehouse

import "testing"

func TestUserListAccessRestrict(t *testing.T) {
	staff, plain := User{ID: 1, IsStaff: true}, User{ID: 2, IsSuperuser: true} // IsAdminUser reads is_staff only
	f := UserFilter{Username: "bob"}
	for _, c := range []struct {
		access    string
		viewer    User
		want      UserFilter
		forbidden bool
	}{
		{"", plain, f, false},
		{"all", plain, f, false},
		{"staff", staff, f, false},
		{"staff", plain, f, true},
		{"self", plain, UserFilter{ID: 2, Username: "bob"}, false},
		{"self", staff, UserFilter{ID: 1, Username: "bob"}, false},
	} {
		a, err := ParseUserListAccess(c.access)
		if err != nil {
			t.Fatalf("%q: %v", c.access, err)
		}
		got, err := a.Restrict(c.viewer, f)
		if (ErrorCode(err) == EFORBIDDEN) != c.forbidden || (err == nil && got != c.want) {
			t.Errorf("%q as %d: %+v, %v", c.access, c.viewer.ID, got, err)
		}
	}
	for _, bad := range []string{"everyone", "ALL", " self"} {
		if _, err := ParseUserListAccess(bad); err == nil || err.Error() != `want all, staff or self, got "`+bad+`"` {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
