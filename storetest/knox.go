package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// KnoxStores is what the knox tests need: users, to own the tokens and to
// revoke them, and the knox tokens.
type KnoxStores interface {
	gatehouse.UserStore
	gatehouse.KnoxTokenStore
}

// RunKnoxTests runs the tests of gatehouse.KnoxTokenStore, each on a new,
// empty store from newStore.
func RunKnoxTests(t *testing.T, newStore func(t *testing.T) KnoxStores) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, KnoxStores)
	}{
		{"KnoxPutAndLookup", testKnoxPutAndLookup},
		{"KnoxPutReplacesByDigest", testKnoxPutReplacesByDigest},
		{"KnoxPutUnknownUser", testKnoxPutUnknownUser},
		{"KnoxRenew", testKnoxRenew},
		{"KnoxDeleteExpired", testKnoxDeleteExpired},
		{"KnoxEndWithTheUser", testKnoxEndWithTheUser},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

var knoxT0 = time.Date(2026, 5, 4, 10, 0, 0, 123456000, time.UTC)

// knoxRow is a token of u whose digest is d repeated to 128 characters.
func knoxRow(u gatehouse.User, d, key string, expiry *time.Time) gatehouse.KnoxToken {
	return gatehouse.KnoxToken{Digest: strings.Repeat(d, 128/len(d)), TokenKey: key, UserID: u.ID, Created: knoxT0, Expiry: expiry}
}

func knoxUser(t *testing.T, s gatehouse.UserStore, name string) gatehouse.User {
	t.Helper()
	u := gatehouse.User{Username: name, Password: "!", IsActive: true, DateJoined: knoxT0}
	if err := s.CreateUser(t.Context(), &u, nil); err != nil {
		t.Fatal(err)
	}
	return u
}

// Tokens are found by token_key (not unique) with their users, every field
// as stored; a key nobody has finds nothing.
func testKnoxPutAndLookup(t *testing.T, s KnoxStores) {
	ctx := t.Context()
	bob, carol := knoxUser(t, s, "bob"), knoxUser(t, s, "carol")
	exp := knoxT0.Add(10 * time.Hour)
	a := knoxRow(bob, "a1", "3f9c2a7be1d04c5", &exp)
	b := knoxRow(carol, "b2", "3f9c2a7be1d04c5", nil) // the same token_key
	b.Salt = "0011223344556677"
	c := knoxRow(bob, "c3", "0000000000000000", nil)
	for _, k := range []gatehouse.KnoxToken{a, b, c} {
		if err := s.PutKnoxToken(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.KnoxTokensByKey(ctx, "3f9c2a7be1d04c5")
	if err != nil || len(got) != 2 {
		t.Fatalf("KnoxTokensByKey: %+v %v", got, err)
	}
	if g := got[0]; g.Token.Digest != a.Digest || g.Token.TokenKey != a.TokenKey || g.Token.UserID != bob.ID || g.Token.Salt != "" ||
		!g.Token.Created.Equal(knoxT0) || g.Token.Expiry == nil || !g.Token.Expiry.Equal(exp) || g.User.Username != "bob" || !g.User.IsActive {
		t.Fatalf("first token %+v", g)
	}
	if g := got[1]; g.Token.Digest != b.Digest || g.Token.Salt != b.Salt || g.Token.Expiry != nil || g.User.ID != carol.ID {
		t.Fatalf("second token %+v", g)
	}
	if got, err := s.KnoxTokensByKey(ctx, "nobody's key"); err != nil || len(got) != 0 {
		t.Fatalf("unknown key: %+v %v", got, err)
	}
	list, err := s.KnoxTokens(ctx, bob.ID)
	if err != nil || len(list) != 2 || list[0].Digest != a.Digest || list[1].Digest != c.Digest {
		t.Fatalf("KnoxTokens: %+v %v", list, err)
	}
}

// Putting a token with a digest already stored replaces the row, as
// Django's loaddata overwrites by primary key: loading twice is harmless.
func testKnoxPutReplacesByDigest(t *testing.T, s KnoxStores) {
	ctx := t.Context()
	bob, carol := knoxUser(t, s, "bob"), knoxUser(t, s, "carol")
	k := knoxRow(bob, "a1", "3f9c2a7be1d04c5", nil)
	for range 2 {
		if err := s.PutKnoxToken(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	exp := knoxT0.Add(time.Hour)
	k.UserID, k.Expiry = carol.ID, &exp
	if err := s.PutKnoxToken(ctx, k); err != nil {
		t.Fatal(err)
	}
	got, err := s.KnoxTokensByKey(ctx, k.TokenKey)
	if err != nil || len(got) != 1 || got[0].User.ID != carol.ID || got[0].Token.Expiry == nil || !got[0].Token.Expiry.Equal(exp) {
		t.Fatalf("after replacing: %+v %v", got, err)
	}
	if list, _ := s.KnoxTokens(ctx, bob.ID); len(list) != 0 {
		t.Fatalf("bob still has %+v", list)
	}
}

func testKnoxPutUnknownUser(t *testing.T, s KnoxStores) {
	err := s.PutKnoxToken(t.Context(), knoxRow(gatehouse.User{ID: 999}, "a1", "3f9c2a7be1d04c5", nil))
	if !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("a token of no user: %v", err)
	}
}

// Renewal moves an expiry only later, and never gives one to a token that
// has none.
func testKnoxRenew(t *testing.T, s KnoxStores) {
	ctx := t.Context()
	bob := knoxUser(t, s, "bob")
	exp := knoxT0.Add(time.Hour)
	k := knoxRow(bob, "a1", "3f9c2a7be1d04c5", &exp)
	forever := knoxRow(bob, "b2", "0000000000000000", nil)
	for _, r := range []gatehouse.KnoxToken{k, forever} {
		if err := s.PutKnoxToken(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	expiryOf := func(key string) *time.Time {
		got, err := s.KnoxTokensByKey(ctx, key)
		if err != nil || len(got) != 1 {
			t.Fatalf("%+v %v", got, err)
		}
		return got[0].Token.Expiry
	}
	later := knoxT0.Add(10 * time.Hour)
	if ok, err := s.RenewKnoxToken(ctx, k.Digest, later); err != nil || !ok {
		t.Fatalf("renew: %v %v", ok, err)
	}
	if e := expiryOf(k.TokenKey); e == nil || !e.Equal(later) {
		t.Fatalf("expiry %v, want %v", e, later)
	}
	if ok, err := s.RenewKnoxToken(ctx, k.Digest, knoxT0.Add(2*time.Hour)); err != nil || ok {
		t.Fatalf("renewal to an earlier time: %v %v", ok, err)
	}
	if e := expiryOf(k.TokenKey); !e.Equal(later) {
		t.Fatalf("expiry moved back to %v", e)
	}
	if ok, err := s.RenewKnoxToken(ctx, forever.Digest, later); err != nil || ok {
		t.Fatalf("renewing a token without expiry: %v %v", ok, err)
	}
	if e := expiryOf(forever.TokenKey); e != nil {
		t.Fatalf("a token without expiry got %v", e)
	}
	if ok, err := s.RenewKnoxToken(ctx, strings.Repeat("ff", 64), later); err != nil || ok {
		t.Fatalf("renewing an unknown token: %v %v", ok, err)
	}
}

// Expired tokens go in batches; a token still good at now (knox: expiry <
// now expires) and one without expiry stay.
func testKnoxDeleteExpired(t *testing.T, s KnoxStores) {
	ctx := t.Context()
	bob := knoxUser(t, s, "bob")
	now := knoxT0.Add(24 * time.Hour)
	var rows []gatehouse.KnoxToken
	for i, d := range []string{"a1", "a2", "a3"} {
		e := now.Add(-time.Duration(i+1) * time.Minute)
		rows = append(rows, knoxRow(bob, d, "expired0000000"+d[1:], &e))
	}
	atNow := now
	rows = append(rows, knoxRow(bob, "b1", "at-now000000000", &atNow), knoxRow(bob, "c1", "forever00000000", nil))
	for _, r := range rows {
		if err := s.PutKnoxToken(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.DeleteExpiredKnox(ctx, now, 2); err != nil || n != 2 {
		t.Fatalf("first batch: %d %v", n, err)
	}
	if n, err := s.DeleteExpiredKnox(ctx, now, 2); err != nil || n != 1 {
		t.Fatalf("second batch: %d %v", n, err)
	}
	if n, err := s.DeleteExpiredKnox(ctx, now, 2); err != nil || n != 0 {
		t.Fatalf("third batch: %d %v", n, err)
	}
	list, err := s.KnoxTokens(ctx, bob.ID)
	if err != nil || len(list) != 2 || list[0].TokenKey != "at-now000000000" || list[1].TokenKey != "forever00000000" {
		t.Fatalf("left: %+v %v", list, err)
	}
}

// Revoking a user's credentials (a password change, a deactivation, log
// out everywhere) deletes their knox tokens and no one else's; deleting the
// user deletes them too.
func testKnoxEndWithTheUser(t *testing.T, s KnoxStores) {
	ctx := t.Context()
	bob, carol, dave := knoxUser(t, s, "bob"), knoxUser(t, s, "carol"), knoxUser(t, s, "dave")
	for _, r := range []gatehouse.KnoxToken{knoxRow(bob, "a1", "k1", nil), knoxRow(carol, "b1", "k2", nil), knoxRow(dave, "c1", "k3", nil)} {
		if err := s.PutKnoxToken(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.UpdateUser(ctx, bob.ID, func(*gatehouse.User) (gatehouse.UserChange, error) {
		return gatehouse.UserChange{RevokeCredentials: true, At: knoxT0.Add(time.Hour)}, nil
	}); err != nil {
		t.Fatal(err)
	}
	// An update that revokes nothing keeps them.
	if _, err := s.UpdateUser(ctx, carol.ID, func(u *gatehouse.User) (gatehouse.UserChange, error) {
		u.Email = "carol@example.com"
		return gatehouse.UserChange{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, dave.ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		u    gatehouse.User
		want int
	}{{bob, 0}, {carol, 1}, {dave, 0}} {
		if list, err := s.KnoxTokens(ctx, tc.u.ID); err != nil || len(list) != tc.want {
			t.Errorf("%s has %d knox tokens (%v), want %d", tc.u.Username, len(list), err, tc.want)
		}
	}
}
