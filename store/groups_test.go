package store_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/fixture"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/store"
)

// Loading Django's groups and permissions (store/groups.go), from dumps
// shaped as Django 3.2 writes them.

const groupUsers = `{"model": "auth.user", "pk": 1, "fields": {"password": "!", "last_login": null, "is_superuser": false, "username": "alice", "first_name": "", "last_name": "", "email": "", "is_staff": false, "is_active": true, "date_joined": "2026-12-01T19:57:00.250Z", "groups": %s, "user_permissions": %s}},
 {"model": "auth.user", "pk": 2, "fields": {"password": "!", "last_login": null, "is_superuser": false, "username": "bob", "first_name": "", "last_name": "", "email": "", "is_staff": false, "is_active": true, "date_joined": "2026-12-01T19:57:00.317Z", "groups": [], "user_permissions": []}}`

const plainPermissions = `{"model": "auth.permission", "pk": 12, "fields": {"name": "Can view group", "content_type": 3, "codename": "view_group"}},
 {"model": "auth.permission", "pk": 13, "fields": {"name": "Can add user", "content_type": 4, "codename": "add_user"}},
 {"model": "auth.permission", "pk": 14, "fields": {"name": "Can change user", "content_type": 4, "codename": "change_user"}},
 {"model": "contenttypes.contenttype", "pk": 3, "fields": {"app_label": "auth", "model": "group"}},
 {"model": "contenttypes.contenttype", "pk": 4, "fields": {"app_label": "auth", "model": "user"}}`

func groupSet(t *testing.T, objects ...string) fixture.Set {
	t.Helper()
	objs, err := fixture.Decode(strings.NewReader("[" + strings.Join(objects, ",\n") + "]"))
	if err != nil {
		t.Fatal(err)
	}
	box, _ := secret.NewBox("test-secret-0123456789")
	set, err := fixture.Converter{Box: box}.Convert(objs)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// users fills in groupUsers with alice's groups and permissions.
func users(groups, perms string) string {
	return strings.Replace(strings.Replace(groupUsers, "%s", groups, 1), "%s", perms, 1)
}

// groupState is what the store holds of groups and permissions, and of
// alice's and bob's.
type groupState struct {
	Permissions []gatehouse.Permission
	Groups      []gatehouse.Group
	Alice, Bob  gatehouse.UserPermissions
}

func stateOf(t *testing.T, s *store.Store) groupState {
	t.Helper()
	var st groupState
	var err error
	if st.Permissions, err = s.Permissions(ctx); err != nil {
		t.Fatal(err)
	}
	if st.Groups, err = s.Groups(ctx); err != nil {
		t.Fatal(err)
	}
	for name, into := range map[string]*gatehouse.UserPermissions{"alice": &st.Alice, "bob": &st.Bob} {
		u, err := s.UserByUsername(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if *into, err = s.UserPermissions(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// Loading the same groups again, in any of dumpdata's forms, leaves the
// state the first load made, as Django's loaddata overwrites by primary
// key (or natural key).
func TestLoadGroupsIsRepeatable(t *testing.T) {
	plain := groupSet(t, plainPermissions,
		`{"model": "auth.group", "pk": 1, "fields": {"name": "editors", "permissions": [13, 14]}}`,
		`{"model": "auth.group", "pk": 2, "fields": {"name": "Zürich readers", "permissions": []}}`,
		users("[1, 2]", "[12]"))
	naturalForeign := groupSet(t,
		`{"model": "auth.permission", "pk": 12, "fields": {"name": "Can view group", "content_type": ["auth", "group"], "codename": "view_group"}}`,
		`{"model": "auth.permission", "pk": 13, "fields": {"name": "Can add user", "content_type": ["auth", "user"], "codename": "add_user"}}`,
		`{"model": "auth.permission", "pk": 14, "fields": {"name": "Can change user", "content_type": ["auth", "user"], "codename": "change_user"}}`,
		`{"model": "auth.group", "pk": 1, "fields": {"name": "editors", "permissions": [["add_user", "auth", "user"], ["change_user", "auth", "user"]]}}`,
		`{"model": "auth.group", "pk": 2, "fields": {"name": "Zürich readers", "permissions": []}}`,
		users(`[["editors"], ["Zürich readers"]]`, `[["view_group", "auth", "group"]]`))
	naturalPrimary := groupSet(t,
		`{"model": "contenttypes.contenttype", "fields": {"app_label": "auth", "model": "user"}}`,
		`{"model": "auth.permission", "fields": {"name": "Can add user", "content_type": ["auth", "user"], "codename": "add_user"}}`,
		`{"model": "auth.permission", "fields": {"name": "Can change user", "content_type": ["auth", "user"], "codename": "change_user"}}`,
		`{"model": "auth.group", "fields": {"name": "editors", "permissions": [["add_user", "auth", "user"], ["change_user", "auth", "user"]]}}`)
	want := groupState{
		Permissions: []gatehouse.Permission{
			{ID: 12, Name: "Can view group", Codename: "view_group", AppLabel: "auth", Model: "group"},
			{ID: 13, Name: "Can add user", Codename: "add_user", AppLabel: "auth", Model: "user"},
			{ID: 14, Name: "Can change user", Codename: "change_user", AppLabel: "auth", Model: "user"},
		},
		Groups: []gatehouse.Group{{ID: 1, Name: "editors", Permissions: []int64{13, 14}}, {ID: 2, Name: "Zürich readers"}},
		Alice:  gatehouse.UserPermissions{Groups: []string{"Zürich readers", "editors"}, Permissions: []string{"auth.add_user", "auth.change_user", "auth.view_group"}},
	}
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		if err := s.Load(ctx, plain); err != nil {
			t.Fatal(err)
		}
		if got := stateOf(t, s); !reflect.DeepEqual(got, want) {
			t.Fatalf("after loading:\n%+v\nwant\n%+v", got, want)
		}
		for name, set := range map[string]fixture.Set{"plain": plain, "natural-foreign": naturalForeign, "natural-primary": naturalPrimary} {
			if err := s.Load(ctx, set); err != nil {
				t.Fatalf("loading the %s form again: %v", name, err)
			}
			if got := stateOf(t, s); !reflect.DeepEqual(got, want) {
				t.Fatalf("after loading the %s form again:\n%+v\nwant\n%+v", name, got, want)
			}
		}
		// New rows continue after the loaded primary keys.
		g := gatehouse.Group{Name: "new"}
		if err := s.CreateGroup(ctx, &g); err != nil || g.ID <= 2 {
			t.Fatalf("new group: id %d, %v", g.ID, err)
		}
		p := gatehouse.Permission{Name: "x", Codename: "x", AppLabel: "a", Model: "m"}
		if err := s.CreatePermission(ctx, &p); err != nil || p.ID <= 14 {
			t.Fatalf("new permission: id %d, %v", p.ID, err)
		}
	})
}

// A file's lists replace what is stored: a user's groups and direct
// permissions, a group's permissions. A list the file leaves out is kept.
func TestLoadGroupsReplacesLists(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		if err := s.Load(ctx, groupSet(t, plainPermissions,
			`{"model": "auth.group", "pk": 1, "fields": {"name": "editors", "permissions": [13, 14]}}`,
			`{"model": "auth.group", "pk": 2, "fields": {"name": "readers", "permissions": [12]}}`,
			users("[1, 2]", "[12]"))); err != nil {
			t.Fatal(err)
		}
		alice, _ := s.UserByUsername(ctx, "alice")
		next := groupSet(t,
			`{"model": "auth.group", "pk": 1, "fields": {"name": "editors", "permissions": [12]}}`,
			`{"model": "auth.group", "pk": 2, "fields": {"name": "readers renamed"}}`,
			`{"model": "auth.user", "pk": 1, "fields": {"username": "alice", "date_joined": "2026-12-01T19:57:00Z", "groups": [1]}}`)
		next.Users = nil
		if err := s.Load(ctx, next); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Groups(ctx)
		want := []gatehouse.Group{{ID: 1, Name: "editors", Permissions: []int64{12}}, {ID: 2, Name: "readers renamed", Permissions: []int64{12}}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("groups %+v, want %+v", got, want)
		}
		// alice left readers; her own view_group stayed (no user_permissions field).
		up, _ := s.UserPermissions(ctx, alice.ID)
		if wantUP := (gatehouse.UserPermissions{Groups: []string{"editors"}, Permissions: []string{"auth.view_group"}}); !reflect.DeepEqual(up, wantUP) {
			t.Fatalf("alice %+v, want %+v", up, wantUP)
		}
		empty := groupSet(t, users("[]", "[]"))
		empty.Users = nil
		if err := s.Load(ctx, empty); err != nil {
			t.Fatal(err)
		}
		if up, _ := s.UserPermissions(ctx, alice.ID); len(up.Groups)+len(up.Permissions) != 0 {
			t.Fatalf("alice after empty lists: %+v", up)
		}
	})
}

// A reference found neither in the file nor in the database, or a clash
// with another stored object, fails the load, naming the object and the
// reference, and loads nothing.
func TestLoadGroupsRefusals(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		for name, tc := range map[string]struct {
			objects []string
			want    string
		}{
			"permission by pk": {[]string{plainPermissions,
				`{"model": "auth.group", "pk": 1, "fields": {"name": "editors", "permissions": [13, 99]}}`},
				`auth.group "editors" refers to auth.permission 99, which is neither in the files nor in the database`},
			"permission by natural key": {[]string{plainPermissions,
				`{"model": "auth.group", "pk": 1, "fields": {"name": "editors", "permissions": [["add_user", "auth", "users"]]}}`},
				`auth.group "editors" refers to auth.permission ["add_user", "auth", "users"], which is neither in the files nor in the database`},
			"group by name": {[]string{plainPermissions, users(`[["ghosts"]]`, "[]")},
				`auth.user "alice" (groups) refers to auth.group "ghosts", which is neither in the files nor in the database`},
			"group by pk": {[]string{users(`[7]`, "[]")},
				`auth.user "alice" (groups) refers to auth.group 7, which is neither in the files nor in the database`},
			"user permission": {[]string{users(`[]`, `[["nope", "auth", "user"]]`)},
				`auth.user "alice" (user_permissions) refers to auth.permission ["nope", "auth", "user"], which is neither in the files nor in the database`},
		} {
			err := s.Load(ctx, groupSet(t, tc.objects...))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: %v\nwant it to contain %s", name, err, tc.want)
			}
			if st, _ := s.Permissions(ctx); len(st) != 0 {
				t.Fatalf("%s: a refused load stored %d permissions", name, len(st))
			}
			if n, _ := s.CountUsers(ctx, gatehouse.UserFilter{}); n != 0 {
				t.Fatalf("%s: a refused load stored %d users", name, n)
			}
		}
		// Another permission already has the content type and codename
		// (Django's loaddata fails the same way).
		if err := s.Load(ctx, groupSet(t, plainPermissions)); err != nil {
			t.Fatal(err)
		}
		err := s.Load(ctx, groupSet(t, `{"model": "auth.permission", "pk": 50, "fields": {"name": "Can add user", "content_type": ["auth", "user"], "codename": "add_user"}}`))
		if err == nil || !strings.Contains(err.Error(), "auth.permission pk 50 (auth.add_user of model user): another permission in the database has its content type and codename") {
			t.Fatalf("clash: %v", err)
		}
		err = s.Load(ctx, groupSet(t, `{"model": "auth.group", "pk": 1, "fields": {"name": "a"}}`, `{"model": "auth.group", "pk": 2, "fields": {"name": "a"}}`))
		if err == nil || !strings.Contains(err.Error(), `auth.group pk 2 "a": another group in the database has its name`) {
			t.Fatalf("group name clash: %v", err)
		}
	})
}
