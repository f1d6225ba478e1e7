package server_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

// A change another replica made (log out everywhere, a demotion) reaches
// this replica's authentication cache only when its entry expires; a
// request that makes a new credential from a cached one reads the user
// as stored first, so that nothing made in that window outlives the
// change (found by a multi-replica pass: a demoted administrator made a
// superuser; a device token minted with a logged-out key, which this does
// not cover yet, kept working for good). The other replica's change is a write to the store here,
// which leaves this server's cache warm.
func TestCachedCredentialCannotMintAfterAChangeElsewhere(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		// An administrator demoted elsewhere makes no superuser.
		admin := f.users["root"]
		expect(t, f.do(f.root, "GET", usersListURL, nil), 200, "") // cached now
		if _, err := e.store.UpdateUser(t.Context(), admin.ID, func(u *gatehouse.User) (gatehouse.UserChange, error) {
			u.IsStaff, u.IsSuperuser = false, false
			return gatehouse.UserChange{}, nil
		}); err != nil {
			t.Fatal(err)
		}
		r := f.do(f.root, "POST", usersListURL, map[string]any{"username": "sneaky", "password": "a long enough passphrase", "is_superuser": true, "is_staff": true})
		if r.status != 403 {
			t.Fatalf("a demoted administrator's request: %d %s", r.status, r.body)
		}
		if _, err := e.store.UserByUsername(t.Context(), "sneaky"); err == nil {
			t.Fatal("the demoted administrator made a user")
		}
	})
}
