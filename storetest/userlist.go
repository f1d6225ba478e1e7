package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// The admin's user list: UserFilter's Order, Superuser and GroupID, the
// bounded count, and the search kept in step with the users' changes.

// userIDs lists the ids of users, in their order.
func userIDs(users []gatehouse.User) []int64 {
	return each(users, func(u gatehouse.User) int64 { return u.ID })
}

// usernames lists the usernames of users, in their order.
func usernames(users []gatehouse.User) []string {
	return each(users, func(u gatehouse.User) string { return u.Username })
}

// each is f of every user, in order; nil for none.
func each[T any](users []gatehouse.User, f func(gatehouse.User) T) []T {
	var out []T
	for _, u := range users {
		out = append(out, f(u))
	}
	return out
}

// Every order of UserOrders, ascending and descending, lists the users as
// a sort by that column with ties broken by id in the same direction, a
// never-set last_login after every time; pages of it put together are the
// whole list.
func testUserListOrders(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	at := func(h int) *time.Time { v := base.Add(time.Duration(h) * time.Hour); return &v }
	for i, u := range []gatehouse.User{
		{Username: "mia", Email: "same@example.com", DateJoined: base, LastLogin: at(5)},
		{Username: "Zoe", Email: "b@example.com", DateJoined: base.Add(time.Hour), LastLogin: nil},
		{Username: "adam", Email: "same@example.com", DateJoined: base, LastLogin: at(5)},
		{Username: "bert", Email: "", DateJoined: base.Add(-time.Hour), LastLogin: at(1)},
		{Username: "carl", Email: "A@example.com", DateJoined: base.Add(time.Hour), LastLogin: nil},
		{Username: "_low", Email: "same@example.com", DateJoined: base, LastLogin: at(9)},
		{Username: "Émile", Email: "z@example.com", DateJoined: base.Add(2 * time.Hour), LastLogin: at(1)},
	} {
		u.Password, u.IsActive = "!", true
		if err := s.CreateUser(ctx, &u, nil); err != nil {
			t.Fatalf("user %d: %v", i, err)
		}
	}
	all, err := s.ListUsers(ctx, gatehouse.UserFilter{}, 0, 100)
	if err != nil || len(all) != 7 {
		t.Fatalf("list: %d users, %v", len(all), err)
	}
	// The expected orders, sorted here independently of the store.
	by := map[string]func(a, b gatehouse.User) int{
		"id":          func(a, b gatehouse.User) int { return 0 },
		"username":    func(a, b gatehouse.User) int { return strings.Compare(a.Username, b.Username) },
		"email":       func(a, b gatehouse.User) int { return strings.Compare(a.Email, b.Email) },
		"date_joined": func(a, b gatehouse.User) int { return a.DateJoined.Compare(b.DateJoined) },
		"last_login": func(a, b gatehouse.User) int {
			if a.LastLogin == nil || b.LastLogin == nil {
				return cmp.Compare(boolInt(a.LastLogin == nil), boolInt(b.LastLogin == nil))
			}
			return a.LastLogin.Compare(*b.LastLogin)
		},
	}
	for _, name := range gatehouse.UserOrders() {
		for _, order := range []string{name, "-" + name} {
			t.Run(order, func(t *testing.T) {
				want := slices.Clone(all)
				slices.SortFunc(want, func(a, b gatehouse.User) int {
					c := cmp.Or(by[name](a, b), cmp.Compare(a.ID, b.ID))
					if order[0] == '-' {
						return -c
					}
					return c
				})
				f := gatehouse.UserFilter{Order: order}
				got, err := s.ListUsers(ctx, f, 0, 100)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(userIDs(got), userIDs(want)) {
					t.Fatalf("ids %v, want %v", userIDs(got), userIDs(want))
				}
				var paged []gatehouse.User
				for off := 0; off < 7; off += 3 {
					page, err := s.ListUsers(ctx, f, off, 3)
					if err != nil {
						t.Fatal(err)
					}
					paged = append(paged, page...)
				}
				if !slices.Equal(userIDs(paged), userIDs(want)) {
					t.Fatalf("pages of 3: %v, want %v", userIDs(paged), userIDs(want))
				}
				if n, err := s.CountUsers(ctx, f); err != nil || n != 7 {
					t.Fatalf("count %d, %v", n, err)
				}
			})
		}
	}
	// "" is by id; the filters still apply under an order.
	if got, _ := s.ListUsers(ctx, gatehouse.UserFilter{Order: ""}, 0, 100); !slices.Equal(userIDs(got), userIDs(all)) || !slices.IsSorted(userIDs(all)) {
		t.Fatalf("default order %v", userIDs(got))
	}
	got, err := s.ListUsers(ctx, gatehouse.UserFilter{Email: "same@example.com", Order: "-username"}, 0, 100)
	if names := usernames(got); err != nil || !slices.Equal(names, []string{"mia", "adam", "_low"}) {
		t.Fatalf("filtered, -username: %v, %v", names, err)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// An Order outside UserOrders is ValidUserOrder's EINVALID error naming
// the field "ordering", from every method, before anything is read.
func testUserListBadOrder(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	newUser(t, s, "alice")
	for _, order := range []string{"name", "-", "--id", "+id", "id,username", " username", "USERNAME", "password", "-is_staff", "id DESC", "username;", "last_login "} {
		t.Run(order, func(t *testing.T) {
			f := gatehouse.UserFilter{Order: order}
			check := func(what string, err error) {
				t.Helper()
				var ge *gatehouse.Error
				if !errors.As(err, &ge) || ge.Code != gatehouse.EINVALID || len(ge.Fields) != 1 || ge.Fields[0].Field != "ordering" {
					t.Errorf("%s: %v, want EINVALID on ordering", what, err)
				}
				if fmt.Sprint(err) != fmt.Sprint(gatehouse.ValidUserOrder(order)) {
					t.Errorf("%s: %v, want ValidUserOrder's %v", what, err, gatehouse.ValidUserOrder(order))
				}
			}
			users, err := s.ListUsers(ctx, f, 0, 10)
			check("ListUsers", err)
			if users != nil {
				t.Errorf("ListUsers listed %d users", len(users))
			}
			_, err = s.CountUsers(ctx, f)
			check("CountUsers", err)
			_, err = s.CountUsersUpTo(ctx, f, 10)
			check("CountUsersUpTo", err)
		})
	}
	for _, order := range append(gatehouse.UserOrders(), "", "-id", "-last_login") {
		if err := gatehouse.ValidUserOrder(order); err != nil {
			t.Errorf("ValidUserOrder(%q): %v", order, err)
		}
	}
}

// Superuser selects by is_superuser, with the other filters.
func testUserListSuperuser(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	for _, u := range []gatehouse.User{
		{Username: "root", IsSuperuser: true, IsStaff: true, IsActive: true},
		{Username: "ghost", IsSuperuser: true, IsActive: false},
		{Username: "staff", IsStaff: true, IsActive: true},
		{Username: "plain", IsActive: true},
	} {
		u.Password = "!"
		if err := s.CreateUser(ctx, &u, nil); err != nil {
			t.Fatal(err)
		}
	}
	yes, no := true, false
	for _, tc := range []struct {
		f    gatehouse.UserFilter
		want []string
	}{
		{gatehouse.UserFilter{Superuser: &yes}, []string{"root", "ghost"}},
		{gatehouse.UserFilter{Superuser: &no}, []string{"staff", "plain"}},
		{gatehouse.UserFilter{Superuser: &yes, Active: &yes}, []string{"root"}},
		{gatehouse.UserFilter{Superuser: &no, Staff: &yes}, []string{"staff"}},
		{gatehouse.UserFilter{Superuser: &yes, Search: "OST"}, []string{"ghost"}},
		{gatehouse.UserFilter{Superuser: &yes, Order: "username"}, []string{"ghost", "root"}},
	} {
		got, err := s.ListUsers(ctx, tc.f, 0, 10)
		n, cerr := s.CountUsers(ctx, tc.f)
		if err != nil || cerr != nil || !slices.Equal(usernames(got), tc.want) || n != len(tc.want) {
			t.Errorf("%+v: listed %v, counted %d (%v, %v); want %v", tc.f, usernames(got), n, err, cerr, tc.want)
		}
	}
}

// CountUsersUpTo is min(count, limit) for every filter; a limit below 1
// counts nothing.
func testUserCountUpTo(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	for i := 0; i < 12; i++ {
		newUser(t, s, fmt.Sprintf("member%02d", i))
	}
	newUser(t, s, "outsider")
	for _, tc := range []struct {
		f            gatehouse.UserFilter
		limit, count int
	}{
		{gatehouse.UserFilter{}, 5, 5},
		{gatehouse.UserFilter{}, 13, 13},
		{gatehouse.UserFilter{}, 14, 13},
		{gatehouse.UserFilter{}, 1 << 30, 13},
		{gatehouse.UserFilter{}, 0, 0},
		{gatehouse.UserFilter{}, -1, 0},
		{gatehouse.UserFilter{Search: "member"}, 11, 11},
		{gatehouse.UserFilter{Search: "member"}, 13, 12},
		{gatehouse.UserFilter{Search: "MEMBER0", Order: "-email"}, 100, 10},
		{gatehouse.UserFilter{Search: "side"}, 100, 1},
		{gatehouse.UserFilter{Search: "nobody"}, 100, 0},
	} {
		n, err := s.CountUsersUpTo(ctx, tc.f, tc.limit)
		if err != nil || n != tc.count {
			t.Errorf("%+v up to %d: %d, %v; want %d", tc.f, tc.limit, n, err, tc.count)
		}
	}
}

// The search finds a term within one column only, whatever its length,
// with quotes and LIKE's wildcards literal; it follows every change of
// the four columns (the index behind it is kept in step) and ignores the
// others.
func testUserSearchFollowsChanges(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	mk := func(name, email, first, last string) gatehouse.User {
		u := gatehouse.User{Username: name, Email: email, FirstName: first, LastName: last, Password: "!", IsActive: true}
		if err := s.CreateUser(ctx, &u, nil); err != nil {
			t.Fatal(err)
		}
		return u
	}
	ann := mk("ann", "ann@corp.example", "Ann", "O\"Hara")
	bob := mk("bob", "bob@home.test", "Robert", "Tables_%")
	mk("cy", "c@y.z", "", "")
	search := func(term string) []string {
		t.Helper()
		users, err := s.ListUsers(ctx, gatehouse.UserFilter{Search: term}, 0, 10)
		if err != nil {
			t.Fatalf("search %q: %v", term, err)
		}
		n, err := s.CountUsers(ctx, gatehouse.UserFilter{Search: term})
		if err != nil || n != len(users) {
			t.Fatalf("search %q: counted %d (%v), listed %d", term, n, err, len(users))
		}
		return usernames(users)
	}
	for _, tc := range []struct {
		term string
		want []string
	}{
		{"n", []string{"ann"}},
		{"an", []string{"ann"}},
		{"ANN", []string{"ann"}},
		{"nann", nil},      // the end of one column and the start of the next
		{"annann", nil},    // likewise
		{"roberttab", nil}, // first name then last name
		{"o\"h", []string{"ann"}},
		{"\"", []string{"ann"}},
		{"s_%", []string{"bob"}},
		{"es_", []string{"bob"}},
		{"e_%", nil}, // _ is not a wildcard
		{"b%b", nil}, // nor is %
		{"@home.", []string{"bob"}},
		{"c@y.z", []string{"cy"}},
		{"y.z", []string{"cy"}},
		{"obert", []string{"bob"}},
		{"tables_%", []string{"bob"}},
		{"Ann@Corp.Example", []string{"ann"}},
		{"ann@corp.example.", nil},
	} {
		if got := search(tc.term); !slices.Equal(got, tc.want) {
			t.Errorf("search %q: %v, want %v", tc.term, got, tc.want)
		}
	}

	// A change of email or name moves the user between searches.
	if _, err := s.UpdateUser(ctx, ann.ID, func(u *gatehouse.User) (gatehouse.UserChange, error) {
		u.Email, u.LastName = "ann@newmail.test", "Quinn"
		return gatehouse.UserChange{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := search("corp.example"); got != nil {
		t.Errorf("old email still found: %v", got)
	}
	if got := search("hara"); got != nil {
		t.Errorf("old last name still found: %v", got)
	}
	if got := search("newmail"); !slices.Equal(got, []string{"ann"}) {
		t.Errorf("new email: %v", got)
	}
	if got := search("QUINN"); !slices.Equal(got, []string{"ann"}) {
		t.Errorf("new last name: %v", got)
	}
	// A rename too, and the other columns leave the search as it was.
	if _, err := s.UpdateUser(ctx, bob.ID, func(u *gatehouse.User) (gatehouse.UserChange, error) {
		u.Username, u.IsStaff = "bobby_t", true
		return gatehouse.UserChange{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchLogin(ctx, bob.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPasswordHash(ctx, bob.ID, "!", "!!"); err != nil {
		t.Fatal(err)
	}
	if got := search("bobby_"); !slices.Equal(got, []string{"bobby_t"}) {
		t.Errorf("renamed: %v", got)
	}
	if got := search("tables"); !slices.Equal(got, []string{"bobby_t"}) {
		t.Errorf("after a login and a new hash: %v", got)
	}
	// A deleted user is found no more; a new one with the old name is.
	if err := s.DeleteUser(ctx, ann.ID); err != nil {
		t.Fatal(err)
	}
	if got := search("newmail"); got != nil {
		t.Errorf("deleted user found: %v", got)
	}
	mk("ann", "ann@again.test", "", "")
	if got := search("ann@"); !slices.Equal(got, []string{"ann"}) {
		t.Errorf("recreated: %v", got)
	}
}

// GroupID selects the group's members, with the other filters and orders;
// an unknown group has none.
func testUserListGroup(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	var ids []int64
	for _, name := range []string{"dora", "abe", "cleo", "bea"} {
		ids = append(ids, newUser(t, s, name).ID)
	}
	g1 := gatehouse.Group{Name: "editors"}
	g2 := gatehouse.Group{Name: "viewers"}
	for _, g := range []*gatehouse.Group{&g1, &g2} {
		if err := s.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	for i, groups := range [][]int64{{g1.ID}, {g1.ID, g2.ID}, nil, {g2.ID}} {
		if err := s.SetUserGroups(ctx, ids[i], groups); err != nil {
			t.Fatal(err)
		}
	}
	yes := true
	for _, tc := range []struct {
		f    gatehouse.UserFilter
		want []string
	}{
		{gatehouse.UserFilter{GroupID: g1.ID}, []string{"dora", "abe"}},
		{gatehouse.UserFilter{GroupID: g2.ID}, []string{"abe", "bea"}},
		{gatehouse.UserFilter{GroupID: g2.ID, Order: "-username"}, []string{"bea", "abe"}},
		{gatehouse.UserFilter{GroupID: g1.ID, Search: "DOR"}, []string{"dora"}},
		{gatehouse.UserFilter{GroupID: g1.ID, Staff: &yes}, nil},
		{gatehouse.UserFilter{GroupID: g2.ID + g1.ID + 100}, nil},
	} {
		got, err := s.ListUsers(ctx, tc.f, 0, 10)
		n, cerr := s.CountUsers(ctx, tc.f)
		up, uerr := s.CountUsersUpTo(ctx, tc.f, 1)
		if err != nil || cerr != nil || uerr != nil || !slices.Equal(usernames(got), tc.want) || n != len(tc.want) || up != min(n, 1) {
			t.Errorf("%+v: listed %v, counted %d, up to 1 %d (%v, %v, %v); want %v", tc.f, usernames(got), n, up, err, cerr, uerr, tc.want)
		}
	}
	// Leaving the group leaves its list.
	if err := s.SetUserGroups(ctx, ids[0], nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ListUsers(ctx, gatehouse.UserFilter{GroupID: g1.ID}, 0, 10); !slices.Equal(usernames(got), []string{"abe"}) {
		t.Errorf("after dora left: %v", usernames(got))
	}
}
