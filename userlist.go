package gatehouse

import "fmt"

// UserListAccess says which users the user list (/api/users/) shows to a
// caller. The reference lets any authenticated user list every user with
// their e-mail address; the other values close that harvest.
type UserListAccess string

// The values of UserListAccess. The zero value is UserListAll.
const (
	UserListAll   UserListAccess = "all"   // every user, to any authenticated caller (the reference)
	UserListStaff UserListAccess = "staff" // every user, to staff users only; others are refused
	UserListSelf  UserListAccess = "self"  // each caller sees their own record only
)

// ParseUserListAccess reads a UserListAccess ("" is UserListAll); any other
// value is an error naming the valid ones.
func ParseUserListAccess(s string) (UserListAccess, error) {
	switch a := UserListAccess(s); a {
	case "":
		return UserListAll, nil
	case UserListAll, UserListStaff, UserListSelf:
		return a, nil
	}
	return "", fmt.Errorf("want all, staff or self, got %q", s)
}

// Restrict narrows f to the users viewer may list under a. It is an
// EFORBIDDEN *Error when viewer may list none (UserListStaff and viewer
// is not staff, as DRF's IsAdminUser decides).
func (a UserListAccess) Restrict(viewer User, f UserFilter) (UserFilter, error) {
	switch a {
	case UserListStaff:
		if !viewer.IsStaff {
			return f, &Error{Code: EFORBIDDEN}
		}
	case UserListSelf:
		f.ID = viewer.ID
	}
	return f, nil
}
