package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// A new refresh token whose key another row holds (two split tokens that
// drew the same selector in the same millisecond) fails each write of a
// new pair with ErrConflict and changes nothing, so that the provider may
// draw another pair and write again: the pair's access token is not
// stored, a code or a device grant stays unredeemed, a token rotated into
// a new row stays current and unrevoked (its next rotation is no reuse).
func testOAuthRefreshKeyClash(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	a := newApp(t, s, "c1")
	u := newUser(t, s, "alice")
	now := time.Now()
	// Each row holds its own secret, as the provider's split rows do.
	at, rt := pair(a, u.ID, "f0", "a0", "taken", now)
	withSecret(rt, "a0")
	if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
		t.Fatal(err)
	}
	clash := func(access string) (*gatehouse.AccessToken, *gatehouse.RefreshToken) {
		at, rt := pair(a, u.ID, "f-"+access, access, "taken", now)
		withSecret(rt, access)
		return at, rt
	}
	absent := func(what, access string) {
		t.Helper()
		if _, err := s.AccessTokenByHash(ctx, secret.Hash(access)); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("%s: the access token of a clashing pair: %v, want not stored", what, err)
		}
	}
	present := func(what, access string) {
		t.Helper()
		if _, err := s.AccessTokenByHash(ctx, secret.Hash(access)); err != nil {
			t.Fatalf("%s: the access token of the pair drawn again: %v", what, err)
		}
	}
	conflict := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, gatehouse.ErrConflict) {
			t.Fatalf("%s with a refresh key taken: %v, want ErrConflict", what, err)
		}
	}

	at, rt = clash("a1")
	conflict("CreateTokens", s.CreateTokens(ctx, at, rt, nil))
	absent("CreateTokens", "a1")

	g := gatehouse.Grant{CodeHash: secret.Hash("code"), ApplicationID: a.ID, UserID: u.ID, RedirectURI: "https://a.example/cb", Scope: "read",
		Created: now, Expires: now.Add(time.Minute)}
	if err := s.CreateGrant(ctx, &g); err != nil {
		t.Fatal(err)
	}
	ok := func(gatehouse.Grant, *gatehouse.User) error { return nil }
	redeem := func(at *gatehouse.AccessToken, rt *gatehouse.RefreshToken) error {
		_, err := s.RedeemGrant(ctx, secret.Hash("code"), a.ID, now, ok,
			func(gatehouse.Grant) (*gatehouse.AccessToken, *gatehouse.RefreshToken, *time.Time, error) {
				return at, rt, nil, nil
			})
		return err
	}
	conflict("RedeemGrant", redeem(clash("a2")))
	absent("RedeemGrant", "a2")
	if gr, err := s.GrantByHash(ctx, secret.Hash("code")); err != nil || gr.UsedAt != nil {
		t.Fatalf("the code after a clash: %+v %v, want unused", gr, err)
	}
	if err := redeem(pair(a, u.ID, "f3", "a3", "r3", now)); err != nil {
		t.Fatalf("the code redeemed again: %v", err)
	}
	present("RedeemGrant", "a3")

	newDevice(t, s, a, "dev-1", "USER1", now)
	approve(t, s, "USER1", u.ID, now)
	poll := func(at *gatehouse.AccessToken, rt *gatehouse.RefreshToken) error {
		return s.PollDeviceGrant(ctx, secret.Hash("dev-1"), a.ID, now, func(dg *gatehouse.DeviceGrant, _ *gatehouse.User) (gatehouse.DeviceTokens, error) {
			dg.LastPoll = &now
			return gatehouse.DeviceTokens{Access: at, Refresh: rt}, nil
		})
	}
	conflict("PollDeviceGrant", poll(clash("a4")))
	absent("PollDeviceGrant", "a4")
	if dg, err := s.DeviceGrantByUserCode(ctx, secret.Hash("USER1")); err != nil || dg.RedeemedAt != nil || dg.LastPoll != nil {
		t.Fatalf("the device grant after a clash: %+v %v, want neither redeemed nor polled", dg, err)
	}
	if err := poll(pair(a, u.ID, "f5", "a5", "r5", now)); err != nil {
		t.Fatalf("the device grant polled again: %v", err)
	}
	present("PollDeviceGrant", "a5")

	// A token of a row of its own (imported from Django) rotates into a
	// new row, under the new token's key.
	if at, rt := pair(a, u.ID, "f6", "a6", "imported", now); s.CreateTokens(ctx, at, rt, nil) != nil {
		t.Fatal("the imported pair")
	}
	rotate := func(access, refresh string) error {
		_, err := s.RotateRefreshToken(ctx, secret.Hash("imported"), a.ID, now, 0, nil,
			func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
				at, rt := pair(a, u.ID, "", access, refresh, now)
				withSecret(rt, access)
				return at, rt, nil
			})
		return err
	}
	conflict("RotateRefreshToken", rotate("a7", "taken"))
	absent("RotateRefreshToken", "a7")
	if r, err := s.RefreshTokenByHash(ctx, secret.Hash("imported")); err != nil || r.Revoked != nil || r.AccessTokenID == nil {
		t.Fatalf("the rotated token after a clash: %+v %v, want current", r, err)
	}
	present("the rotated token's own", "a6")
	if err := rotate("a8", "r8"); err != nil {
		t.Fatalf("the token rotated again: %v", err)
	}
	present("RotateRefreshToken", "a8")
}

// withSecret gives rt a secret of its own, made from seed.
func withSecret(rt *gatehouse.RefreshToken, seed string) {
	rt.Secret = secret.Hash("secret of " + seed)
}
