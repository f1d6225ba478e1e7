package server_test

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// A change another replica made (log out everywhere, a demotion) reaches
// this replica's authentication cache only when its entry expires; a
// request that makes a new credential from a cached one reads the user
// as stored first, so that nothing made in that window outlives the
// change (found by a multi-replica pass: a demoted administrator made a
// superuser; a device token minted with a logged-out key kept working for
// good). The other replica's change is a write to the store here, which
// leaves this server's cache warm.
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

// POST /api/tokens/ makes a device token only while the credential of the
// request stands as stored: a key logged out elsewhere, or a JWT of a user
// logged out everywhere or deactivated elsewhere, still cached here, makes
// none (401 in the scheme's words; the check is in the INSERT itself).
func TestDeviceTokenNotMintedFromACredentialEndedElsewhere(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		ctx := t.Context()
		mint := func(auth string) resp {
			return e.do("POST", "/api/tokens/", map[string]any{"name": "phone"}, "Authorization", auth)
		}
		count := func(id int64) int {
			list, err := e.store.Tokens(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return len(list)
		}
		e.user("alice", "alicepass")
		// A DRF key logged out on another replica.
		key := e.tokenOf("alice", "alicepass")
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Token "+key), 200, "") // cached now
		tok, u, err := e.store.TokenByHash(ctx, secret.Hash(key))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.DeleteToken(ctx, u.ID, tok.ID); err != nil {
			t.Fatal(err)
		}
		before := count(u.ID)
		expect(t, mint("Token "+key), 401, `{"detail":"Invalid token."}`)
		if after := count(u.ID); after != before {
			t.Fatalf("a logged-out key made %d tokens", after-before)
		}
		// A simplejwt access token of a user logged out everywhere elsewhere.
		_, access := e.pair("alice", "alicepass")
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Bearer "+access), 200, "")
		if _, err := e.store.UpdateUser(ctx, u.ID, func(*gatehouse.User) (gatehouse.UserChange, error) {
			return gatehouse.UserChange{RevokeCredentials: true, At: e.clock.now().Add(time.Second)}, nil
		}); err != nil {
			t.Fatal(err)
		}
		if r := mint("Bearer " + access); r.status != 401 {
			t.Fatalf("a JWT issued before the epoch: %d %s", r.status, r.body)
		}
		if n := count(u.ID); n != 0 {
			t.Fatalf("%d tokens after logging out everywhere", n)
		}
		// A credential that stands makes one.
		e.clock.advance(2 * time.Second)
		fresh := e.tokenOf("alice", "alicepass")
		expect(t, mint("Token "+fresh), 201, "")
	})
}
