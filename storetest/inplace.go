package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// selectors keys the split tokens of these tests, as the OAuth provider
// does under the server secret.
var selectors = secret.NewSelectors("storetest")

// splitIssuer issues pairs with split refresh tokens as the OAuth provider
// does: in place (the presented token's selector, secret.Resplit) when the
// rotation says so, else a new split token; refusing, as the provider
// does, a token whose user is gone, inactive or changed its password since
// (User.Accepts). With ahead it makes the usual rotation's pair before
// rotating and hands it to the store (gatehouse.RefreshAhead), then issues
// it, as the provider does for its opaque tokens. The last refresh token
// it issued and the rotation it saw are kept.
type splitIssuer struct {
	t         *testing.T
	app       gatehouse.Application
	uid       int64
	ahead     bool
	life      time.Duration // the refresh tokens' lifetime; 0: they do not expire
	now       time.Time
	presented string // the token being rotated
	issued    string // the refresh token the last call issued
	access    string
	next      string // the refresh token made ahead, issued when in place
	seen      gatehouse.RefreshRotation
}

func (p *splitIssuer) issue(rot gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
	p.seen = rot
	if old := rot.Old; old.UserID != nil && (rot.User == nil || !rot.User.IsActive || !rot.User.Accepts(old.Created)) {
		return nil, nil, gatehouse.ErrInvalidGrant
	}
	next, err := secret.SplitToken(nil, p.now)
	switch {
	case rot.InPlace && p.next != "":
		next = p.next
	case rot.InPlace:
		next, err = secret.Resplit(nil, p.presented)
	}
	if err != nil {
		p.t.Fatal(err)
	}
	if !p.ahead {
		p.access, _ = secret.Alnum(nil, 30)
	}
	at, rt := p.pair(next)
	p.issued = next
	return at, rt, nil
}

// pair is the pair issue gives, with the access token p.access.
func (p *splitIssuer) pair(refresh string) (*gatehouse.AccessToken, *gatehouse.RefreshToken) {
	at, rt := splitPair(p.app, p.uid, "", p.access, refresh, p.now)
	if p.life > 0 {
		e := p.now.Add(p.life)
		rt.Expires = &e
	}
	return at, rt
}

func (p *splitIssuer) rotate(s gatehouse.Store, token string, now time.Time, grace time.Duration) (gatehouse.RevokedAccess, error) {
	p.presented, p.issued, p.seen, p.now, p.next = token, "", gatehouse.RefreshRotation{}, now, ""
	var ahead *gatehouse.RefreshAhead
	if p.ahead {
		var err error
		if p.access, err = secret.Alnum(nil, 30); err == nil {
			p.next, err = secret.Resplit(nil, token)
		}
		if err != nil {
			p.t.Fatal(err)
		}
		at, rt := p.pair(p.next)
		ahead = &gatehouse.RefreshAhead{AccessHash: at.Hash, AccessExpires: at.Expires, Secret: rt.Secret, RefreshExpires: rt.Expires, Created: now}
	}
	return s.RotateRefreshToken(p.t.Context(), selectors.RefreshKey(token), p.app.ID, now, grace, ahead, p.issue)
}

// splitPair is pair with the refresh token stored as the provider stores a
// split one.
func splitPair(app gatehouse.Application, uid int64, family, access, refresh string, now time.Time) (*gatehouse.AccessToken, *gatehouse.RefreshToken) {
	at, rt := pair(app, uid, family, "", "", now)
	at.Hash = secret.TokenKey(access)
	rt.Hash, rt.Secret = selectors.Key(refresh), secret.Hash(refresh)
	return at, rt
}

// storeSplit stores a new pair of family with a split refresh token, whose
// access token is "acc-" and the family; it returns the refresh token and
// its row's id.
func storeSplit(t *testing.T, s gatehouse.Store, a gatehouse.Application, uid int64, family string, now time.Time) (string, int64) {
	t.Helper()
	r, err := secret.SplitToken(nil, now)
	if err != nil {
		t.Fatal(err)
	}
	at, rt := splitPair(a, uid, family, "acc-"+family, r, now)
	if err := s.CreateTokens(t.Context(), at, rt, nil); err != nil {
		t.Fatal(err)
	}
	return r, rt.ID
}

// refreshState reads a refresh token by its key: its row's id, and whether
// it is found, revoked, and holds an access token.
func refreshState(t *testing.T, s gatehouse.Store, token string) gatehouse.RefreshToken {
	t.Helper()
	r, err := s.RefreshTokenByHash(t.Context(), selectors.RefreshKey(token))
	if err != nil {
		t.Fatalf("refresh token %q: %v", token, err)
	}
	return r
}

// A split refresh token's rotation rewrites its row: the new token is
// found under the same row, the one it replaced is found as rotated (a
// replay is a reuse), and so is any older one of the row, whose
// revocation changes nothing.
func testOAuthRotateInPlace(t *testing.T, s gatehouse.Store, ahead bool) {
	ctx := t.Context()
	a := newApp(t, s, "c1")
	u := newUser(t, s, "alice")
	now := micro(time.Now())
	r1, _ := secret.SplitToken(nil, now)
	at, rt := splitPair(a, u.ID, "fam", "access-1", r1, now)
	if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
		t.Fatal(err)
	}
	row := refreshState(t, s, r1)
	if row.ID != rt.ID || row.Revoked != nil || row.AccessTokenID == nil || *row.AccessTokenID != at.ID || !bytes.Equal(row.Secret, secret.Hash(r1)) {
		t.Fatalf("stored split token: %+v", row)
	}
	// Another token under the same selector is no token of the row's but
	// a reuse (below); a token of another shape is unknown.
	if _, err := s.RefreshTokenByHash(ctx, secret.TokenKey(r1)); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("a split token by its whole key: %v, want not found", err)
	}

	p := &splitIssuer{t: t, app: a, uid: u.ID, ahead: ahead}
	t1 := now.Add(time.Second)
	revoked, err := p.rotate(s, r1, t1, 0)
	if err != nil || !p.seen.InPlace || p.seen.InGrace || len(revoked) != 1 || !bytes.Equal(revoked[0], secret.TokenKey("access-1")) {
		t.Fatalf("rotation: %v, in place %v, revoked %v", err, p.seen.InPlace, hashes(revoked))
	}
	r2 := p.issued
	now2 := refreshState(t, s, r2)
	if now2.ID != rt.ID || now2.Revoked != nil || now2.Family != "fam" || now2.AccessTokenID == nil || *now2.AccessTokenID == 0 {
		t.Fatalf("rotated row: %+v, want row %d live", now2, rt.ID)
	}
	if g, err := s.AccessTokenByHash(ctx, secret.TokenKey(p.access)); err != nil || g.Token.ID != *now2.AccessTokenID || g.Token.Family != "fam" {
		t.Fatalf("new access token: %+v %v", g.Token, err)
	}
	if _, err := s.AccessTokenByHash(ctx, secret.TokenKey("access-1")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("old access token: %v, want gone", err)
	}
	old := refreshState(t, s, r1)
	if old.ID != rt.ID || old.Revoked == nil || !old.Revoked.Equal(t1) || old.AccessTokenID != nil || old.Secret != nil {
		t.Fatalf("the replaced token: %+v, want rotated at %v holding no access token", old, t1)
	}

	// Once more: r1 is now older than the row's previous token.
	t2 := t1.Add(time.Second)
	if _, err := p.rotate(s, r2, t2, 0); err != nil || !p.seen.InPlace {
		t.Fatalf("second rotation: %v", err)
	}
	r3 := p.issued
	if r := refreshState(t, s, r2); r.Revoked == nil || !r.Revoked.Equal(t2) {
		t.Fatalf("previous token: %+v, want rotated at %v", r, t2)
	}
	if r := refreshState(t, s, r1); r.Revoked == nil || !r.Revoked.Before(t1) {
		t.Fatalf("older token: %+v, want rotated before %v", r, t1)
	}
	// Revoking an earlier token changes nothing on the row.
	if rv, found, err := s.RevokeRefreshToken(ctx, selectors.RefreshKey(r1), a.ID, t2); err != nil || !found || len(rv) != 0 {
		t.Fatalf("revoking an older token: %v %v %v", hashes(rv), found, err)
	}
	if rv, found, err := s.RevokeRefreshToken(ctx, selectors.RefreshKey(r2), a.ID, t2); err != nil || !found || len(rv) != 0 {
		t.Fatalf("revoking the previous token: %v %v %v", hashes(rv), found, err)
	}
	if r := refreshState(t, s, r3); r.Revoked != nil || r.AccessTokenID == nil {
		t.Fatalf("current token after its predecessors' revocation: %+v", r)
	}
	// Another client's token is unknown to this one.
	b := newApp(t, s, "c2")
	if _, err := (&splitIssuer{t: t, app: b, uid: u.ID, ahead: ahead}).rotate(s, r3, t2, 0); !errors.Is(err, gatehouse.ErrInvalidGrant) {
		t.Fatalf("another client's rotation: %v", err)
	}

	// The older token replayed, even within a grace period, is a reuse:
	// the row and its access token end.
	if _, err := p.rotate(s, r1, t2.Add(time.Millisecond), time.Hour); !errors.Is(err, gatehouse.ErrTokenReused) || p.issued != "" {
		t.Fatalf("replayed older token: %v (issued %q), want reuse", err, p.issued)
	}
	if r := refreshState(t, s, r3); r.Revoked == nil {
		t.Fatalf("current token after a reuse: %+v, want revoked", r)
	}
	if _, err := s.AccessTokenByHash(ctx, secret.TokenKey(p.access)); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("access token after a reuse: %v, want gone", err)
	}
	// (Its family ended with the revocation: invalid_grant, as for a row
	// of one token.)
	if _, err := p.rotate(s, r3, t2.Add(time.Second), 0); !errors.Is(err, gatehouse.ErrInvalidGrant) || p.issued != "" {
		t.Fatalf("current token of a revoked family: %v, want invalid grant", err)
	}
}

// A made-up verifier under a known selector is a reuse too (only a token
// of the row gives the selector away), and revoking the current token
// ends the row.
func testOAuthInPlaceForgedAndRevoked(t *testing.T, s gatehouse.Store, ahead bool) {
	ctx := t.Context()
	a := newApp(t, s, "c1")
	u := newUser(t, s, "alice")
	now := micro(time.Now())
	p := &splitIssuer{t: t, app: a, uid: u.ID, ahead: ahead}
	f1, _ := storeSplit(t, s, a, u.ID, "f1", now)
	forged, _ := secret.Resplit(nil, f1)
	if _, err := p.rotate(s, forged, now, time.Hour); !errors.Is(err, gatehouse.ErrTokenReused) {
		t.Fatalf("forged verifier: %v, want reuse", err)
	}
	if r := refreshState(t, s, f1); r.Revoked == nil {
		t.Fatalf("row after a forged verifier: %+v, want revoked", r)
	}

	f2, _ := storeSplit(t, s, a, u.ID, "f2", now)
	rv, found, err := s.RevokeRefreshToken(ctx, selectors.RefreshKey(f2), a.ID, now)
	if err != nil || !found || len(rv) != 1 || !bytes.Equal(rv[0], secret.TokenKey("acc-f2")) {
		t.Fatalf("revoking a split token: %v %v %v", hashes(rv), found, err)
	}
	if r := refreshState(t, s, f2); r.Revoked == nil || !r.Revoked.Equal(now) {
		t.Fatalf("revoked split token: %+v", r)
	}
	if _, err := p.rotate(s, f2, now.Add(time.Second), time.Hour); err == nil {
		t.Fatal("a revoked split token rotated")
	}
	// Unknown selectors are unknown.
	other, _ := secret.SplitToken(nil, now)
	if _, err := p.rotate(s, other, now, 0); !errors.Is(err, gatehouse.ErrInvalidGrant) || errors.Is(err, gatehouse.ErrTokenReused) {
		t.Fatalf("unknown split token: %v", err)
	}
}

// Within the grace period the token a row rotated away from is accepted
// once more, into a row of its own (the row keeps its current token);
// after it, it is a reuse that ends both rows.
func testOAuthInPlaceGrace(t *testing.T, s gatehouse.Store, ahead bool) {
	a := newApp(t, s, "c1")
	u := newUser(t, s, "alice")
	now := micro(time.Now())
	g1, _ := storeSplit(t, s, a, u.ID, "fam", now)
	p := &splitIssuer{t: t, app: a, uid: u.ID, ahead: ahead}
	if _, err := p.rotate(s, g1, now, time.Minute); err != nil || !p.seen.InPlace {
		t.Fatal(err)
	}
	g2 := p.issued
	if _, err := p.rotate(s, g1, now.Add(30*time.Second), time.Minute); err != nil || !p.seen.InGrace || p.seen.InPlace {
		t.Fatalf("within grace: %v, %+v", err, p.seen)
	}
	g3 := p.issued
	if r2, r3 := refreshState(t, s, g2), refreshState(t, s, g3); r2.Revoked != nil || r3.Revoked != nil || r2.ID == r3.ID || r3.Family != "fam" {
		t.Fatalf("after the grace rotation: %+v, %+v; want two live rows of the family", r2, r3)
	}
	if _, err := p.rotate(s, g1, now.Add(2*time.Minute), time.Minute); !errors.Is(err, gatehouse.ErrTokenReused) {
		t.Fatalf("after grace: %v, want reuse", err)
	}
	for _, tok := range []string{g2, g3} {
		if r := refreshState(t, s, tok); r.Revoked == nil {
			t.Fatalf("%q after the reuse: %+v, want revoked", tok, r)
		}
	}
}

// Concurrent rotations of one split token: exactly one succeeds, and the
// row then holds its token; concurrent rotations of many rows (a group,
// on PostgreSQL a set) each rotate their own row in place.
func testOAuthInPlaceConcurrent(t *testing.T, s gatehouse.Store, ahead bool) {
	ctx := t.Context()
	a := newApp(t, s, "c1")
	u := newUser(t, s, "alice")
	now := micro(time.Now())
	mk := func(family string) (string, int64) { return storeSplit(t, s, a, u.ID, family, now) }
	one, oneID := mk("one")
	const n = 10
	issuers := make([]*splitIssuer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		issuers[i] = &splitIssuer{t: t, app: a, uid: u.ID, ahead: ahead}
		wg.Go(func() { _, errs[i] = issuers[i].rotate(s, one, now, 0) })
	}
	wg.Wait()
	winners := 0
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
			if r := refreshState(t, s, issuers[i].issued); r.ID != oneID {
				t.Fatalf("the winner's token: %+v", r)
			}
		case errors.Is(err, gatehouse.ErrTokenReused), errors.Is(err, gatehouse.ErrInvalidGrant):
		default:
			t.Errorf("rotation %d: %v", i, err)
		}
	}
	if winners != 1 {
		t.Fatalf("%d rotations of one token succeeded, want 1", winners)
	}

	toks, ids := make([]string, n), make([]int64, n)
	for i := range n {
		toks[i], ids[i] = mk(fmt.Sprint("many", i))
	}
	for round := range 3 {
		for i := range n {
			issuers[i] = &splitIssuer{t: t, app: a, uid: u.ID, ahead: ahead}
			wg.Go(func() { _, errs[i] = issuers[i].rotate(s, toks[i], now.Add(time.Duration(round+1)*time.Second), 0) })
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil || !issuers[i].seen.InPlace {
				t.Fatalf("round %d, rotation %d: %v (in place %v)", round, i, errs[i], issuers[i].seen.InPlace)
			}
			r := refreshState(t, s, issuers[i].issued)
			if r.ID != ids[i] || r.Revoked != nil || r.Family != fmt.Sprint("many", i) || r.AccessTokenID == nil {
				t.Fatalf("round %d, row %d: %+v", round, i, r)
			}
			if g, err := s.AccessTokenByHash(ctx, secret.TokenKey(issuers[i].access)); err != nil || g.Token.ID != *r.AccessTokenID {
				t.Fatalf("round %d, access token %d: %+v %v", round, i, g.Token, err)
			}
			if r := refreshState(t, s, toks[i]); r.Revoked == nil {
				t.Fatalf("round %d, replaced token %d: %+v", round, i, r)
			}
			toks[i] = issuers[i].issued
		}
	}
}

// A rotated token keeps its own expiry: within the grace period the token
// a row rotated away from is accepted once more only until it expires, as
// it was while it had a row of its own; the row's current token, issued
// later, expires later and does not lend it its expiry.
func testOAuthInPlaceGraceExpired(t *testing.T, s gatehouse.Store, ahead bool) {
	ctx := t.Context()
	a := newApp(t, s, "c1")
	u := newUser(t, s, "alice")
	now := micro(time.Now())
	const life = 10 * time.Second
	r1, err := secret.SplitToken(nil, now)
	if err != nil {
		t.Fatal(err)
	}
	at, rt := splitPair(a, u.ID, "fam", "acc-fam", r1, now)
	e1 := now.Add(life)
	rt.Expires = &e1
	if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
		t.Fatal(err)
	}
	p := &splitIssuer{t: t, app: a, uid: u.ID, ahead: ahead}
	p.life = life
	rotate := func(token string, at time.Time) error {
		_, err := p.rotate(s, token, at, time.Minute)
		return err
	}
	if err := rotate(r1, now.Add(8*time.Second)); err != nil || !p.seen.InPlace {
		t.Fatalf("rotation: %v, %+v", err, p.seen)
	}
	r2 := p.issued
	if got := refreshState(t, s, r1); got.Expires == nil || !got.Expires.Equal(e1) {
		t.Fatalf("the rotated token's expiry: %v, want its own %v", got.Expires, e1)
	}
	if err := rotate(r1, now.Add(9*time.Second)); err != nil || !p.seen.InGrace {
		t.Fatalf("within grace, before its expiry: %v, %+v; want accepted", err, p.seen)
	}
	if err := rotate(r1, now.Add(12*time.Second)); !errors.Is(err, gatehouse.ErrInvalidGrant) || errors.Is(err, gatehouse.ErrTokenReused) {
		t.Fatalf("within grace, after its expiry: %v, want invalid_grant", err)
	}
	if got := refreshState(t, s, r2); got.Revoked != nil {
		t.Fatalf("the current token after the refusal: %+v, want live", got)
	}
}

// without and with run an in-place test without and with the pair made
// ahead (gatehouse.RefreshAhead): a store that writes it first must give
// every rotation the outcome it has without it.
func without(f func(*testing.T, gatehouse.Store, bool)) func(*testing.T, gatehouse.Store) {
	return func(t *testing.T, s gatehouse.Store) { f(t, s, false) }
}

func with(f func(*testing.T, gatehouse.Store, bool)) func(*testing.T, gatehouse.Store) {
	return func(t *testing.T, s gatehouse.Store) { f(t, s, true) }
}

// A pair made ahead is written only for a token that passes every check
// of gatehouse.RefreshAhead: a token whose user is inactive or changed
// its password since, that expired itself or with its family, or is
// another client's, is refused and nothing is written, as without it; a
// token whose access token was revoked alone is rotated with a new one.
func testOAuthAheadRefusals(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	a := newApp(t, s, "c1")
	b := newApp(t, s, "c2")
	now := micro(time.Now())
	later := now.Add(time.Minute)
	unchanged := func(what, tok string) {
		t.Helper()
		if r := refreshState(t, s, tok); r.Revoked != nil || !bytes.Equal(r.Secret, secret.Hash(tok)) {
			t.Fatalf("%s: the row after the refusal: %+v, want it as it was", what, r)
		}
	}

	inactive := newUser(t, s, "inactive")
	tok, _ := storeSplit(t, s, a, inactive.ID, "f-inactive", now)
	if _, err := s.UpdateUser(ctx, inactive.ID, func(u *gatehouse.User) (gatehouse.UserChange, error) {
		u.IsActive = false // its tokens left as they are, as a race with the change would leave them
		return gatehouse.UserChange{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	p := &splitIssuer{t: t, app: a, uid: inactive.ID, ahead: true}
	if _, err := p.rotate(s, tok, later, 0); !errors.Is(err, gatehouse.ErrInvalidGrant) {
		t.Fatalf("an inactive user's token: %v, want invalid_grant", err)
	}
	unchanged("inactive user", tok)

	moved := newUser(t, s, "moved")
	tok, _ = storeSplit(t, s, a, moved.ID, "f-moved", now)
	if _, err := s.UpdateUser(ctx, moved.ID, func(u *gatehouse.User) (gatehouse.UserChange, error) {
		u.AuthEpoch = now.Add(time.Second) // a password change after the token, its tokens left
		return gatehouse.UserChange{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	p = &splitIssuer{t: t, app: a, uid: moved.ID, ahead: true}
	if _, err := p.rotate(s, tok, later, 0); !errors.Is(err, gatehouse.ErrInvalidGrant) {
		t.Fatalf("a token older than its user's password: %v, want invalid_grant", err)
	}
	unchanged("password changed", tok)

	u := newUser(t, s, "alice")
	p = &splitIssuer{t: t, app: a, uid: u.ID, ahead: true}
	exp := now.Add(10 * time.Second)
	r, err := secret.SplitToken(nil, now)
	if err != nil {
		t.Fatal(err)
	}
	at, rt := splitPair(a, u.ID, "f-expired", "acc-expired", r, now)
	rt.Expires = &exp
	if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := p.rotate(s, r, exp, 0); !errors.Is(err, gatehouse.ErrInvalidGrant) {
		t.Fatalf("an expired token: %v, want invalid_grant", err)
	}
	unchanged("expired", r)

	if r, err = secret.SplitToken(nil, now); err != nil {
		t.Fatal(err)
	}
	at, rt = splitPair(a, u.ID, "f-family", "acc-family", r, now)
	if err := s.CreateTokens(ctx, at, rt, &exp); err != nil {
		t.Fatal(err)
	}
	if _, err := p.rotate(s, r, exp, 0); !errors.Is(err, gatehouse.ErrInvalidGrant) {
		t.Fatalf("a token of an expired family: %v, want invalid_grant", err)
	}
	unchanged("family expired", r)
	if _, err := p.rotate(s, r, exp.Add(-time.Second), 0); err != nil || !p.seen.InPlace {
		t.Fatalf("the same token before its family's end: %v, %+v", err, p.seen)
	}

	tok, _ = storeSplit(t, s, a, u.ID, "f-other", now)
	if _, err := (&splitIssuer{t: t, app: b, uid: u.ID, ahead: true}).rotate(s, tok, later, 0); !errors.Is(err, gatehouse.ErrInvalidGrant) {
		t.Fatalf("another client's token: %v, want invalid_grant", err)
	}
	unchanged("another client", tok)

	// Its access token revoked alone: rotated all the same, with its new
	// access token in a row of its own.
	tok, _ = storeSplit(t, s, a, u.ID, "f-alone", now)
	if ok, err := s.RevokeAccessToken(ctx, secret.TokenKey("acc-f-alone"), a.ID); err != nil || !ok {
		t.Fatalf("revoking the access token alone: %v %v", ok, err)
	}
	revoked, err := p.rotate(s, tok, later, 0)
	if err != nil || !p.seen.InPlace || len(revoked) != 0 {
		t.Fatalf("a token whose access token was revoked alone: %v, %+v, revoked %v", err, p.seen, hashes(revoked))
	}
	row := refreshState(t, s, p.issued)
	g, err := s.AccessTokenByHash(ctx, secret.TokenKey(p.access))
	if err != nil || row.AccessTokenID == nil || g.Token.ID != *row.AccessTokenID || g.Token.Family != "f-alone" {
		t.Fatalf("the new access token: %+v %v, the row %+v", g.Token, err, row)
	}
}
