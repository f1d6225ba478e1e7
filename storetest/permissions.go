package storetest

import (
	"errors"
	"reflect"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

// newPermission stores the permission app.codename of model.
func newPermission(t *testing.T, s gatehouse.PermissionStore, app, model, codename string) gatehouse.Permission {
	t.Helper()
	p := gatehouse.Permission{Name: "Can " + codename, Codename: codename, AppLabel: app, Model: model}
	if err := s.CreatePermission(t.Context(), &p); err != nil {
		t.Fatalf("create permission %s: %v", p.Key(), err)
	}
	return p
}

func newGroup(t *testing.T, s gatehouse.PermissionStore, name string, perms ...gatehouse.Permission) gatehouse.Group {
	t.Helper()
	g := gatehouse.Group{Name: name}
	for _, p := range perms {
		g.Permissions = append(g.Permissions, p.ID)
	}
	if err := s.CreateGroup(t.Context(), &g); err != nil {
		t.Fatalf("create group %s: %v", name, err)
	}
	return g
}

func testPermissionLifecycle(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	a := newPermission(t, s, "auth", "user", "add_user")
	b := newPermission(t, s, "auth", "group", "add_user") // same codename, another model
	if a.ID == 0 || b.ID == 0 || a.ID == b.ID {
		t.Fatalf("ids %d, %d", a.ID, b.ID)
	}
	dup := gatehouse.Permission{Name: "again", Codename: "add_user", AppLabel: "auth", Model: "user"}
	if err := s.CreatePermission(ctx, &dup); !errors.Is(err, gatehouse.ErrConflict) {
		t.Fatalf("same content type and codename: %v, want ErrConflict", err)
	}
	got, err := s.Permissions(ctx)
	if err != nil || !reflect.DeepEqual(got, []gatehouse.Permission{a, b}) {
		t.Fatalf("Permissions = %+v, %v", got, err)
	}
	if err := s.DeletePermission(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePermission(ctx, a.ID); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("deleted twice: %v", err)
	}
	if got, _ := s.Permissions(ctx); len(got) != 1 || got[0] != b {
		t.Fatalf("after delete: %+v", got)
	}
}

func testGroupLifecycle(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	p1 := newPermission(t, s, "shop", "item", "add_item")
	p2 := newPermission(t, s, "shop", "item", "change_item")
	g := gatehouse.Group{Name: "editors", Permissions: []int64{p2.ID, p1.ID, p2.ID}}
	if err := s.CreateGroup(ctx, &g); err != nil || g.ID == 0 {
		t.Fatalf("CreateGroup: %v (id %d)", err, g.ID)
	}
	want := []gatehouse.Group{{ID: g.ID, Name: "editors", Permissions: []int64{p1.ID, p2.ID}}}
	if got, err := s.Groups(ctx); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Groups = %+v, %v; want %+v", got, err, want)
	}
	if err := s.CreateGroup(ctx, &gatehouse.Group{Name: "editors"}); !errors.Is(err, gatehouse.ErrConflict) {
		t.Fatalf("name taken: %v, want ErrConflict", err)
	}
	// A permission that does not exist: ErrNotFound, and nothing stored.
	if err := s.CreateGroup(ctx, &gatehouse.Group{Name: "ghosts", Permissions: []int64{p1.ID, 9999}}); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("unknown permission: %v, want ErrNotFound", err)
	}
	if err := s.UpdateGroup(ctx, gatehouse.Group{ID: g.ID, Name: "renamed", Permissions: []int64{9999}}); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("update with an unknown permission: %v, want ErrNotFound", err)
	}
	if got, _ := s.Groups(ctx); !reflect.DeepEqual(got, want) {
		t.Fatalf("refused changes changed %+v", got)
	}
	if err := s.UpdateGroup(ctx, gatehouse.Group{ID: g.ID, Name: "Zürich", Permissions: []int64{p2.ID}}); err != nil {
		t.Fatal(err)
	}
	want = []gatehouse.Group{{ID: g.ID, Name: "Zürich", Permissions: []int64{p2.ID}}}
	if got, _ := s.Groups(ctx); !reflect.DeepEqual(got, want) {
		t.Fatalf("after update: %+v", got)
	}
	other := newGroup(t, s, "other")
	if err := s.UpdateGroup(ctx, gatehouse.Group{ID: other.ID, Name: "Zürich"}); !errors.Is(err, gatehouse.ErrConflict) {
		t.Fatalf("rename to a taken name: %v, want ErrConflict", err)
	}
	if err := s.UpdateGroup(ctx, gatehouse.Group{ID: 9999, Name: "nobody"}); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("update of a missing group: %v", err)
	}
	if err := s.DeleteGroup(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGroup(ctx, g.ID); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("deleted twice: %v", err)
	}
	if got, _ := s.Groups(ctx); len(got) != 1 || got[0].ID != other.ID {
		t.Fatalf("after delete: %+v", got)
	}
}

// A user holds the permissions given to them and those of their groups,
// each named once, sorted; their groups by name, sorted.
func testUserPermissions(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	view := newPermission(t, s, "shop", "item", "view_item")
	add := newPermission(t, s, "shop", "item", "add_item")
	export := newPermission(t, s, "shop", "order", "export") // "shop.export" twice:
	export2 := newPermission(t, s, "shop", "item", "export") // has_perm cannot tell them apart
	audit := newPermission(t, s, "audit", "event", "view_event")
	editors := newGroup(t, s, "editors", add, view, export)
	zurich := newGroup(t, s, "Zürich", view, audit)
	newGroup(t, s, "unused", export2)
	alice := newUser(t, s, "alice")
	bob := newUser(t, s, "bob")
	if err := s.SetUserGroups(ctx, alice.ID, []int64{zurich.ID, editors.ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserPermissions(ctx, alice.ID, []int64{export2.ID, view.ID}); err != nil {
		t.Fatal(err)
	}
	want := gatehouse.UserPermissions{Groups: []string{"Zürich", "editors"},
		Permissions: []string{"audit.view_event", "shop.add_item", "shop.export", "shop.view_item"}}
	if got, err := s.UserPermissions(ctx, alice.ID); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("UserPermissions(alice) = %+v, %v; want %+v", got, err, want)
	}
	if got, err := s.UserPermissions(ctx, bob.ID); err != nil || len(got.Groups)+len(got.Permissions) != 0 {
		t.Fatalf("UserPermissions(bob) = %+v, %v", got, err)
	}
	if got, err := s.UserPermissions(ctx, 9999); err != nil || len(got.Groups)+len(got.Permissions) != 0 {
		t.Fatalf("UserPermissions(nobody) = %+v, %v", got, err)
	}
	// Refusals change nothing.
	if err := s.SetUserGroups(ctx, alice.ID, []int64{editors.ID, 9999}); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("unknown group: %v, want ErrNotFound", err)
	}
	if err := s.SetUserPermissions(ctx, alice.ID, []int64{9999}); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("unknown permission: %v, want ErrNotFound", err)
	}
	if err := s.SetUserGroups(ctx, 9999, []int64{editors.ID}); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("unknown user: %v, want ErrNotFound", err)
	}
	if got, _ := s.UserPermissions(ctx, alice.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("refusals changed alice: %+v", got)
	}
	// Replacing, not adding.
	if err := s.SetUserGroups(ctx, alice.ID, []int64{editors.ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserPermissions(ctx, alice.ID, nil); err != nil {
		t.Fatal(err)
	}
	want = gatehouse.UserPermissions{Groups: []string{"editors"}, Permissions: []string{"shop.add_item", "shop.export", "shop.view_item"}}
	if got, _ := s.UserPermissions(ctx, alice.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("after replacing: %+v, want %+v", got, want)
	}
	// A group's change reaches its users.
	if err := s.UpdateGroup(ctx, gatehouse.Group{ID: editors.ID, Name: "editors", Permissions: []int64{audit.ID}}); err != nil {
		t.Fatal(err)
	}
	want.Permissions = []string{"audit.view_event"}
	if got, _ := s.UserPermissions(ctx, alice.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the group changed: %+v, want %+v", got, want)
	}
}

// UserLinks names a user's groups and direct permissions by id; an
// UpdateUser that sets them does so with the user's fields in one
// transaction, and an unknown id changes nothing at all.
func testUserLinks(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	view := newPermission(t, s, "shop", "item", "view_item")
	add := newPermission(t, s, "shop", "item", "add_item")
	editors := newGroup(t, s, "editors", add)
	readers := newGroup(t, s, "readers", view)
	alice := newUser(t, s, "alice")
	if g, p, err := s.UserLinks(ctx, alice.ID); err != nil || len(g) != 0 || len(p) != 0 {
		t.Fatalf("UserLinks(new user) = %v, %v, %v", g, p, err)
	}
	groups, perms := []int64{readers.ID, editors.ID}, []int64{view.ID}
	if _, err := s.UpdateUser(ctx, alice.ID, func(u *gatehouse.User) (gatehouse.UserChange, error) {
		u.FirstName = "Alice"
		return gatehouse.UserChange{Groups: &groups, Permissions: &perms}, nil
	}); err != nil {
		t.Fatal(err)
	}
	wantG, wantP := []int64{min(editors.ID, readers.ID), max(editors.ID, readers.ID)}, []int64{view.ID}
	if g, p, err := s.UserLinks(ctx, alice.ID); err != nil || !reflect.DeepEqual(g, wantG) || !reflect.DeepEqual(p, wantP) {
		t.Fatalf("UserLinks = %v, %v, %v; want %v, %v", g, p, err, wantG, wantP)
	}
	bad := []int64{editors.ID, 9999}
	if _, err := s.UpdateUser(ctx, alice.ID, func(u *gatehouse.User) (gatehouse.UserChange, error) {
		u.FirstName = "Mallory"
		return gatehouse.UserChange{Groups: &bad}, nil
	}); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("unknown group: %v, want ErrNotFound", err)
	}
	if u, _ := s.User(ctx, alice.ID); u.FirstName != "Alice" {
		t.Fatalf("a refused change wrote the name: %q", u.FirstName)
	}
	if g, p, _ := s.UserLinks(ctx, alice.ID); !reflect.DeepEqual(g, wantG) || !reflect.DeepEqual(p, wantP) {
		t.Fatalf("a refused change wrote the links: %v, %v", g, p)
	}
	none := []int64{}
	if _, err := s.UpdateUser(ctx, alice.ID, func(u *gatehouse.User) (gatehouse.UserChange, error) {
		return gatehouse.UserChange{Permissions: &none}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if g, p, _ := s.UserLinks(ctx, alice.ID); !reflect.DeepEqual(g, wantG) || len(p) != 0 {
		t.Fatalf("clearing the permissions (groups kept): %v, %v", g, p)
	}
	if g, p, err := s.UserLinks(ctx, 9999); err != nil || len(g)+len(p) != 0 {
		t.Fatalf("UserLinks(nobody) = %v, %v, %v", g, p, err)
	}
}

// Deleting a user, group or permission removes what refers to it.
func testPermissionDeletesCascade(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	p := newPermission(t, s, "shop", "item", "view_item")
	q := newPermission(t, s, "shop", "item", "add_item")
	g := newGroup(t, s, "editors", p, q)
	h := newGroup(t, s, "readers", p)
	alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
	for _, u := range []gatehouse.User{alice, bob} {
		if err := s.SetUserGroups(ctx, u.ID, []int64{g.ID, h.ID}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetUserPermissions(ctx, u.ID, []int64{p.ID, q.ID}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteUser(ctx, alice.ID); err != nil {
		t.Fatalf("delete a user with groups and permissions: %v", err)
	}
	if err := s.DeletePermission(ctx, q.ID); err != nil {
		t.Fatalf("delete a permission that groups and users hold: %v", err)
	}
	if err := s.DeleteGroup(ctx, h.ID); err != nil {
		t.Fatalf("delete a group that has users: %v", err)
	}
	want := gatehouse.UserPermissions{Groups: []string{"editors"}, Permissions: []string{"shop.view_item"}}
	if got, err := s.UserPermissions(ctx, bob.ID); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("bob = %+v, %v; want %+v", got, err, want)
	}
	if got, _ := s.Groups(ctx); len(got) != 1 || !reflect.DeepEqual(got[0].Permissions, []int64{p.ID}) {
		t.Fatalf("groups = %+v", got)
	}
}
