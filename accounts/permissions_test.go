package accounts_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/accounts"
)

// fakePermissions answers UserPermissions and Permissions from its fields
// and counts the calls; the other methods are not used here.
type fakePermissions struct {
	gatehouse.PermissionStore
	held  gatehouse.UserPermissions
	all   []gatehouse.Permission
	err   error
	calls int
}

func (f *fakePermissions) UserPermissions(context.Context, int64) (gatehouse.UserPermissions, error) {
	f.calls++
	return f.held, f.err
}

func (f *fakePermissions) Permissions(context.Context) ([]gatehouse.Permission, error) {
	f.calls++
	return f.all, f.err
}

func TestPermissionsAndHasPerm(t *testing.T) {
	ctx := context.Background()
	fake := &fakePermissions{
		held: gatehouse.UserPermissions{Groups: []string{"editors"}, Permissions: []string{"auth.add_user"}},
		all: []gatehouse.Permission{{ID: 2, Codename: "view_item", AppLabel: "shop", Model: "item"}, {ID: 1, Codename: "add_user", AppLabel: "auth", Model: "user"},
			{ID: 3, Codename: "view_item", AppLabel: "shop", Model: "order"}},
	}
	svc := accounts.New(accounts.Deps{Permissions: fake})
	user := gatehouse.User{ID: 1, IsActive: true}
	if got, err := svc.Permissions(ctx, user); err != nil || !reflect.DeepEqual(got, fake.held) {
		t.Fatalf("Permissions(user) = %+v, %v", got, err)
	}
	// An active superuser holds every stored permission (Django's
	// get_all_permissions), each named once.
	super := gatehouse.User{ID: 2, IsActive: true, IsSuperuser: true}
	want := gatehouse.UserPermissions{Groups: []string{"editors"}, Permissions: []string{"auth.add_user", "shop.view_item"}}
	if got, err := svc.Permissions(ctx, super); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Permissions(superuser) = %+v, %v", got, err)
	}
	fake.calls = 0
	inactive := gatehouse.User{ID: 3, IsSuperuser: true}
	if got, err := svc.Permissions(ctx, inactive); err != nil || len(got.Groups)+len(got.Permissions) != 0 {
		t.Fatalf("Permissions(inactive) = %+v, %v", got, err)
	}
	// HasPerm asks the store only when the answer depends on it.
	for _, tc := range []struct {
		u     gatehouse.User
		perms []string
		want  bool
		calls int
	}{
		{user, []string{"auth.add_user"}, true, 1},
		{user, []string{"auth.add_user", "shop.view_item"}, false, 1},
		{super, []string{"shop.anything"}, true, 0},
		{inactive, []string{"auth.add_user"}, false, 0},
		{user, nil, true, 0},
	} {
		fake.calls = 0
		got, err := svc.HasPerm(ctx, tc.u, tc.perms...)
		if err != nil || got != tc.want || fake.calls != tc.calls {
			t.Errorf("HasPerm(user %d, %v) = %v, %v with %d store calls; want %v with %d", tc.u.ID, tc.perms, got, err, fake.calls, tc.want, tc.calls)
		}
	}
	fake.err = errors.New("down")
	if _, err := svc.HasPerm(ctx, user, "auth.add_user"); err == nil {
		t.Error("a store error was not returned")
	}
	// Without a permission store nobody holds any, and superusers still pass.
	bare := accounts.New(accounts.Deps{})
	if ok, err := bare.HasPerm(ctx, user, "auth.add_user"); ok || err != nil {
		t.Errorf("no store: %v %v", ok, err)
	}
	if ok, _ := bare.HasPerm(ctx, super, "auth.add_user"); !ok {
		t.Error("no store: a superuser was refused")
	}
}
