package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// Credentials of every kind are listed without their secrets, filtered by
// user, client, kind and id, and revoked in one call: live ones only,
// refresh tokens marked (so a replay is still recognised), the access
// token of a revoked OAuth refresh token deleted with it.
func testCredentialsListAndRevoke(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	now := time.Now()
	alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
	app, other := newApp(t, s, "c1"), newApp(t, s, "c2")
	for i, u := range []gatehouse.User{alice, alice, bob} {
		tok := gatehouse.Token{UserID: u.ID, Hash: secret.Hash(fmt.Sprint("drf", i)), Prefix: fmt.Sprintf("pre%d", i), Name: "laptop", Created: now}
		if err := s.CreateToken(ctx, &tok); err != nil {
			t.Fatal(err)
		}
	}
	if ks, ok := s.(gatehouse.KnoxTokenStore); ok {
		if err := ks.PutKnoxToken(ctx, gatehouse.KnoxToken{Digest: "d1", TokenKey: "knoxkey1", UserID: alice.ID, Created: now}); err != nil {
			t.Fatal(err)
		}
	}
	for i, u := range []gatehouse.User{alice, bob} {
		if err := s.RecordRefresh(ctx, gatehouse.RefreshRecord{JTI: fmt.Sprint("jti", i), UserID: u.ID, Family: fmt.Sprint("f", i), Created: now, Expires: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	at, rt := pair(app, alice.ID, "fa", "a-access", "a-refresh", now)
	if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
		t.Fatal(err)
	}
	at2, rt2 := pair(other, alice.ID, "fb", "b-access", "b-refresh", now)
	if err := s.CreateTokens(ctx, at2, rt2, nil); err != nil {
		t.Fatal(err)
	}
	expired := &gatehouse.AccessToken{Hash: secret.Hash("old"), UserID: &alice.ID, ApplicationID: app.ID, Created: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour)}
	if err := s.CreateTokens(ctx, expired, nil, nil); err != nil {
		t.Fatal(err)
	}

	kinds := func(l []gatehouse.CredentialInfo) map[string]int {
		m := map[string]int{}
		for _, c := range l {
			m[c.Kind]++
		}
		return m
	}
	all, err := s.ListCredentials(ctx, gatehouse.CredentialFilter{UserID: alice.ID}, now)
	if err != nil {
		t.Fatal(err)
	}
	// newUser's default DRF key and two more.
	want := map[string]int{gatehouse.CredentialDRF: 3, gatehouse.CredentialJWTRefresh: 1, gatehouse.CredentialOAuthAccess: 2, gatehouse.CredentialOAuthRefresh: 2}
	if _, ok := s.(gatehouse.KnoxTokenStore); ok {
		want[gatehouse.CredentialKnox] = 1
	}
	if fmt.Sprint(kinds(all)) != fmt.Sprint(want) {
		t.Fatalf("alice's live credentials %v, want %v", kinds(all), want)
	}
	for _, c := range all {
		if c.UserID != alice.ID || c.Username != "alice" || c.ID == "" || c.Created.IsZero() {
			t.Fatalf("credential %+v", c)
		}
		if (c.Kind == gatehouse.CredentialOAuthAccess || c.Kind == gatehouse.CredentialOAuthRefresh) && c.ClientID != "c1" && c.ClientID != "c2" {
			t.Fatalf("OAuth credential without its client: %+v", c)
		}
		if c.Kind == gatehouse.CredentialDRF && c.Label != "pre0 laptop" && c.Label != "pre1 laptop" && c.Label != "key-" {
			t.Fatalf("DRF label %q", c.Label)
		}
	}
	if ended, _ := s.ListCredentials(ctx, gatehouse.CredentialFilter{UserID: alice.ID, Ended: true, Kinds: []string{gatehouse.CredentialOAuthAccess}}, now); len(ended) != 3 {
		t.Fatalf("with ended ones: %d OAuth access tokens, want 3", len(ended))
	}
	byClient, _ := s.ListCredentials(ctx, gatehouse.CredentialFilter{ApplicationID: app.ID}, now)
	if fmt.Sprint(kinds(byClient)) != fmt.Sprint(map[string]int{gatehouse.CredentialOAuthAccess: 1, gatehouse.CredentialOAuthRefresh: 1}) {
		t.Fatalf("by client: %v", kinds(byClient))
	}
	// Counts match the listings; ended only is the expired access token;
	// a page of one kind is the listing's slice; live grants counted.
	counts, err := s.CountCredentials(ctx, gatehouse.CredentialFilter{UserID: alice.ID}, now)
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range want {
		if counts[k] != int64(n) {
			t.Fatalf("counts %v, want %v", counts, want)
		}
	}
	endedOnly := gatehouse.CredentialFilter{UserID: alice.ID, Ended: true, EndedOnly: true}
	if c, _ := s.CountCredentials(ctx, endedOnly, now); c[gatehouse.CredentialOAuthAccess] != 1 || c[gatehouse.CredentialDRF] != 0 {
		t.Fatalf("ended counts %v", c)
	}
	if l, _ := s.ListCredentials(ctx, endedOnly, now); len(l) != 1 || l[0].Kind != gatehouse.CredentialOAuthAccess || l[0].Expires == nil || l[0].Expires.After(now) {
		t.Fatalf("ended only: %+v", l)
	}
	drfAll, _ := s.ListCredentials(ctx, gatehouse.CredentialFilter{UserID: alice.ID, Kinds: []string{gatehouse.CredentialDRF}}, now)
	page, err := s.ListCredentials(ctx, gatehouse.CredentialFilter{UserID: alice.ID, Kinds: []string{gatehouse.CredentialDRF}, Limit: 1, Offset: 1}, now)
	if err != nil || len(drfAll) != 3 || len(page) != 1 || page[0].ID != drfAll[1].ID {
		t.Fatalf("page of one at offset 1: %+v of %+v (%v)", page, drfAll, err)
	}
	if c, _ := s.CountCredentials(ctx, gatehouse.CredentialFilter{ApplicationID: app.ID}, now); len(c) != 2 || c[gatehouse.CredentialOAuthAccess] != 1 || c[gatehouse.CredentialOAuthRefresh] != 1 {
		t.Fatalf("counts by client %v (only the OAuth kinds)", c)
	}
	for i, exp := range []time.Time{now.Add(time.Minute), now.Add(-time.Minute)} {
		g := gatehouse.Grant{CodeHash: secret.Hash(fmt.Sprint("code", i)), ApplicationID: app.ID, UserID: alice.ID, Created: now, Expires: exp}
		if err := s.CreateGrant(ctx, &g); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.CountGrants(ctx, app.ID, now); err != nil || n != 1 {
		t.Fatalf("live grants of c1: %d %v, want 1", n, err)
	}
	if n, _ := s.CountGrants(ctx, other.ID, now); n != 0 {
		t.Fatalf("live grants of c2: %d", n)
	}
	if none, err := s.ListCredentials(ctx, gatehouse.CredentialFilter{Kinds: []string{gatehouse.CredentialDRF}, ID: "not-a-number"}, now); err != nil || len(none) != 0 {
		t.Fatalf("a DRF id that is no number: %v %v", none, err)
	}

	// Revoke alice's OAuth credentials of c1: the refresh token is marked
	// and its access token deleted; c2's and bob's stay.
	n, gone, err := s.RevokeCredentials(ctx, gatehouse.CredentialFilter{UserID: alice.ID, ApplicationID: app.ID}, now)
	if err != nil || n != 2 || len(gone) != 1 {
		t.Fatalf("revoke by user and client: %d, %d hashes, %v", n, len(gone), err)
	}
	if r, _ := s.RefreshTokenByHash(ctx, secret.Hash("a-refresh")); r.Revoked == nil {
		t.Fatal("the refresh token was not marked revoked")
	}
	if _, err := s.AccessTokenByHash(ctx, secret.Hash("b-access")); err != nil {
		t.Fatalf("another client's token went too: %v", err)
	}
	// By id: one DRF key.
	drf, _ := s.ListCredentials(ctx, gatehouse.CredentialFilter{UserID: alice.ID, Kinds: []string{gatehouse.CredentialDRF}}, now)
	if n, _, err := s.RevokeCredentials(ctx, gatehouse.CredentialFilter{Kinds: []string{gatehouse.CredentialDRF}, ID: drf[0].ID}, now); err != nil || n != 1 {
		t.Fatalf("revoke one DRF key: %d %v", n, err)
	}
	if _, _, err := s.RevokeCredentials(ctx, gatehouse.CredentialFilter{ID: drf[1].ID}, now); err == nil {
		t.Fatal("revoking by id without a kind was accepted")
	}
	// Everything else of alice's: counted once, bob untouched, and a
	// second pass finds nothing live.
	n, _, err = s.RevokeCredentials(ctx, gatehouse.CredentialFilter{UserID: alice.ID}, now)
	wantN := int64(2 + 1 + 2) // two DRF keys, the simplejwt refresh, c2's access and refresh tokens
	if _, ok := s.(gatehouse.KnoxTokenStore); ok {
		wantN++
	}
	if err != nil || n != wantN {
		t.Fatalf("revoke the rest: %d, want %d (%v)", n, wantN, err)
	}
	if bl, err := s.RefreshBlacklisted(ctx, "", "jti0"); err != nil || !bl {
		t.Fatalf("alice's simplejwt refresh token not blacklisted: %v %v", bl, err)
	}
	if n, _, _ := s.RevokeCredentials(ctx, gatehouse.CredentialFilter{UserID: alice.ID}, now); n != 0 {
		t.Fatalf("a second revocation ended %d more", n)
	}
	live, _ := s.ListCredentials(ctx, gatehouse.CredentialFilter{}, now)
	for _, c := range live {
		if c.UserID != bob.ID {
			t.Fatalf("still live: %+v", c)
		}
	}
	if got := kinds(live); got[gatehouse.CredentialDRF] != 2 || got[gatehouse.CredentialJWTRefresh] != 1 || !slices.Contains(gatehouse.CredentialKinds(), gatehouse.CredentialDRF) {
		t.Fatalf("bob's credentials %v", got)
	}
}
