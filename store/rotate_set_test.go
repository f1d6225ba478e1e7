package store_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/store"
)

// postgresURL is a new PostgreSQL test database, where rotations run
// through the set statements outside a transaction; without one the test
// is skipped.
func postgresURL(t *testing.T) string {
	t.Helper()
	if !slices.Contains(testdb.Backends(), "postgres") {
		t.Skip("PostgreSQL not configured")
	}
	return testdb.URL(t, "postgres")
}

// The OAuth set's write is guarded: when a token it read changed before
// the write (revoked, or its access token revoked alone), the statement
// writes nothing and the rotation runs in a transaction that sees the
// change, with a lone rotation's outcome.
func TestRotationSetGuard(t *testing.T) {
	s := testdb.OpenURL(t, postgresURL(t))
	ctx := t.Context()
	app := newApp(t, s, "conf")
	now := time.Now()
	for i := range 2 {
		at, rt := pair(app, newUser(t, s, fmt.Sprint("guard", i)).ID, fmt.Sprint("f", i), fmt.Sprint("a", i), fmt.Sprint("r", i), now)
		if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
			t.Fatal(err)
		}
	}
	issue := func(i int) func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
		return func(rot gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
			at, rt := pair(app, *rot.Old.UserID, "", fmt.Sprint("a2-", i), fmt.Sprint("r2-", i), now)
			return at, rt, nil
		}
	}
	var between func()
	writes := 0
	store.SetSetWrite(s, func(write func() error) error {
		writes++
		if between != nil {
			between()
			between = nil
		}
		return write()
	})

	// Token 0 is revoked between the set's read and its write: the
	// rotation is refused as alone (a revoked token's family is ended:
	// invalid_grant), and no new token is stored.
	between = func() {
		if _, found, err := s.RevokeRefreshToken(ctx, secret.Hash("r0"), app.ID, now); err != nil || !found {
			t.Errorf("revoking r0: %v %v", found, err)
		}
	}
	_, err := s.RotateRefreshToken(ctx, secret.Hash("r0"), app.ID, now, 0, nil, issue(0))
	if !errors.Is(err, gatehouse.ErrInvalidGrant) {
		t.Fatalf("rotating a token revoked during its set: %v, want invalid_grant", err)
	}
	if _, err := s.RefreshTokenByHash(ctx, secret.Hash("r2-0")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("the refused rotation's new refresh token: %v, want not found", err)
	}
	if _, err := s.AccessTokenByHash(ctx, secret.Hash("a2-0")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("the refused rotation's new access token: %v, want not found", err)
	}

	// Token 1's access token is revoked alone between the read and the
	// write: the rotation succeeds, with a new access token stored.
	between = func() {
		if ok, err := s.RevokeAccessToken(ctx, secret.Hash("a1"), app.ID); err != nil || !ok {
			t.Errorf("revoking a1: %v %v", ok, err)
		}
	}
	if _, err := s.RotateRefreshToken(ctx, secret.Hash("r1"), app.ID, now, 0, nil, issue(1)); err != nil {
		t.Fatalf("rotating a token whose access token was revoked during its set: %v", err)
	}
	rt, err := s.RefreshTokenByHash(ctx, secret.Hash("r2-1"))
	if err != nil || rt.AccessTokenID == nil || rt.Family != "f1" {
		t.Fatalf("the new refresh token: %+v %v", rt, err)
	}
	if g, err := s.AccessTokenByHash(ctx, secret.Hash("a2-1")); err != nil || g.Token.ID != *rt.AccessTokenID || g.Token.Family != "f1" {
		t.Fatalf("the new access token: %+v %v, want id %d in family f1", g.Token, err, *rt.AccessTokenID)
	}
	if writes != 2 {
		t.Fatalf("%d set writes, want 2: the rotations did not run through the set", writes)
	}
}

// A set statement whose reply is lost after it committed is found
// committed by a read in a new session: its rotations succeed, instead of
// running again and being taken for reuses that revoke their families. One
// that failed without committing runs again.
func TestRotationSetLostReply(t *testing.T) {
	s := testdb.OpenURL(t, postgresURL(t))
	app := newApp(t, s, "conf")
	errLost := errors.New("connection reset (a test's)")
	for round, committed := range []bool{true, false} {
		t.Run(fmt.Sprint("committed=", committed), func(t *testing.T) {
			store.SetSetWrite(s, func(write func() error) error {
				if committed {
					if err := write(); err != nil {
						return err
					}
				}
				return errLost
			})
			t.Cleanup(func() { store.SetSetWrite(s, nil) })
			rotateRound(t, s, app, round, 6, time.Now())
			rotateJWTRound(t, s, round, 6, time.Now())
		})
	}
}

// A set statement that failed without committing, its reply lost, while
// another row holds its new refresh token's key (a selector drawn twice
// in one millisecond): the read of whether it committed does not take
// that row for the write's (it holds another secret), and the rotation,
// run again in the group's transaction, fails with the clash
// (ErrConflict) and writes nothing, so that the provider draws another
// pair. Taken for the write's, the rotation was answered a success: the
// client was handed tokens never stored and its old token stayed current.
// A statement that ran and failed on the key is known to have written
// nothing: no such read follows it.
func TestRotationSetLostReplyForeignRow(t *testing.T) {
	s := testdb.OpenURL(t, postgresURL(t))
	ctx := t.Context()
	app := newApp(t, s, "conf")
	uid := newUser(t, s, "alice").ID
	now := time.Now()
	at, rt := pair(app, uid, "f0", "a0", "r0", now) // a row of its own: rotated into a new row
	if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
		t.Fatal(err)
	}
	at, rt = pair(app, uid, "f1", "a1", "taken", now)
	rt.Secret = secret.Hash("the other row's")
	if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
		t.Fatal(err)
	}
	// lost: the statement's reply is lost (it did not run); else it runs
	// and fails on the unique key, which says it wrote nothing: no read
	// of whether it committed follows.
	for _, lost := range []bool{true, false} {
		t.Run(fmt.Sprint("lost=", lost), func(t *testing.T) {
			writes, checks := 0, 0
			store.SetSetWrite(s, func(write func() error) error {
				writes++
				if lost {
					return errors.New("connection reset (a test's)")
				}
				return write()
			})
			store.SetSetCheck(s, func(check func() error) error { checks++; return check() })
			t.Cleanup(func() { store.SetSetWrite(s, nil); store.SetSetCheck(s, nil) })
			_, err := s.RotateRefreshToken(ctx, secret.Hash("r0"), app.ID, now, 0, nil,
				func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
					at, rt := pair(app, uid, "", "a2", "taken", now)
					rt.Secret = secret.Hash("this rotation's")
					return at, rt, nil
				})
			if wantChecks := map[bool]int{true: 1, false: 0}[lost]; writes != 1 || checks != wantChecks {
				t.Fatalf("%d set writes and %d reads of whether one committed, want 1 and %d", writes, checks, wantChecks)
			}
			if !errors.Is(err, gatehouse.ErrConflict) {
				t.Fatalf("rotation whose new key another row holds: %v, want ErrConflict", err)
			}
			if _, err := s.AccessTokenByHash(ctx, secret.Hash("a2")); !errors.Is(err, gatehouse.ErrNotFound) {
				t.Fatalf("the clashing rotation's access token: %v, want not stored", err)
			}
			if r, err := s.RefreshTokenByHash(ctx, secret.Hash("r0")); err != nil || r.Revoked != nil {
				t.Fatalf("the rotated token: %+v %v, want current", r, err)
			}
		})
	}
}

// A set settles rotations whose access tokens take the new keys in place
// beside ones whose access token was revoked alone before (a new one is
// inserted), does not match the new one (deleted, a new one inserted) or
// whose refresh token is unknown (refused), and each rotation's new
// tokens are stored as a lone rotation stores them.
func TestRotationSetMixed(t *testing.T) {
	s := testdb.OpenURL(t, postgresURL(t))
	ctx := t.Context()
	app := newApp(t, s, "conf")
	now := time.Now()
	users := make([]int64, 5)
	for i := range users {
		users[i] = newUser(t, s, fmt.Sprint("set", i)).ID
		at, rt := pair(app, users[i], fmt.Sprint("f", i), fmt.Sprint("a", i), fmt.Sprint("r", i), now)
		if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
			t.Fatal(err)
		}
	}
	accessID := func(name string) int64 {
		t.Helper()
		g, err := s.AccessTokenByHash(ctx, secret.Hash(name))
		if err != nil {
			t.Fatalf("access token %s: %v", name, err)
		}
		return g.Token.ID
	}
	before := make([]int64, len(users))
	for i := range users {
		before[i] = accessID(fmt.Sprint("a", i))
	}
	// Token 2's access token is revoked alone; token 3's new access token
	// is for another user, so its old one cannot take the new key.
	if ok, err := s.RevokeAccessToken(ctx, secret.Hash("a2"), app.ID); err != nil || !ok {
		t.Fatalf("revoking a2: %v %v", ok, err)
	}
	rotate := func(idx ...int) {
		t.Helper()
		hashes := make([][]byte, len(idx))
		for j, i := range idx {
			hashes[j] = secret.Hash(fmt.Sprint("r", i))
		}
		outcomes, settled, err := store.ApplyRotationSet(ctx, s, hashes, app.ID, now,
			func(j int, rot gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
				i, uid := idx[j], *rot.Old.UserID
				if i == 3 {
					uid = users[4]
				}
				at, rt := pair(app, uid, "", fmt.Sprint("a2-", i), fmt.Sprint("r2-", i), now)
				return at, rt, nil
			})
		if err != nil {
			t.Fatalf("set %v: %v", idx, err)
		}
		for j, i := range idx {
			var want error
			if i == 5 {
				want = gatehouse.ErrInvalidGrant
			}
			if !errors.Is(outcomes[j], want) || !settled[j] {
				t.Fatalf("rotation of r%d: outcome %v, settled %v; want %v settled by the set", i, outcomes[j], settled[j], want)
			}
		}
	}
	rotate(0, 1)       // every access token replaced in place
	rotate(2, 3, 4, 5) // one revoked before (2), one not matching (3), 5 unknown

	for i := range 5 {
		old, err := s.RefreshTokenByHash(ctx, secret.Hash(fmt.Sprint("r", i)))
		if err != nil || old.Revoked == nil {
			t.Fatalf("old refresh token r%d: revoked %v, %v; want revoked", i, old.Revoked, err)
		}
		rt, err := s.RefreshTokenByHash(ctx, secret.Hash(fmt.Sprint("r2-", i)))
		if err != nil || rt.AccessTokenID == nil || rt.Family != fmt.Sprint("f", i) || rt.Revoked != nil {
			t.Fatalf("new refresh token of r%d: %+v %v", i, rt, err)
		}
		id := accessID(fmt.Sprint("a2-", i))
		if id != *rt.AccessTokenID {
			t.Fatalf("new refresh token of r%d points at access token %d, its new access token is %d", i, *rt.AccessTokenID, id)
		}
		inPlace := i != 2 && i != 3
		if (id == before[i]) != inPlace {
			t.Fatalf("r%d's new access token has id %d, the old one had %d; want in place: %v", i, id, before[i], inPlace)
		}
		if _, err := s.AccessTokenByHash(ctx, secret.Hash(fmt.Sprint("a", i))); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("old access token a%d: %v, want not found", i, err)
		}
	}
}

// A set write that failed when the read of whether it committed fails
// too leaves its rotations unknown: each is answered with the error (a
// 503 when it says "not now"), and none runs again, which would find the
// set's own commit, take it for a reuse and revoke the family. Here the
// write did commit: the new tokens stay live.
func TestRotationSetCommitUnknown(t *testing.T) {
	s := testdb.OpenURL(t, postgresURL(t))
	ctx := t.Context()
	app := newApp(t, s, "conf")
	errLost := &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "connection reset (a test's)"}
	store.SetSetWrite(s, func(write func() error) error {
		if err := write(); err != nil {
			return err
		}
		return errLost
	})
	store.SetSetCheck(s, func(func() error) error { return errLost })
	now := time.Now()
	const n = 8
	name := func(kind string, i int) string { return fmt.Sprint(kind, " ", i) }
	for i := range n {
		at := &gatehouse.AccessToken{Hash: secret.Hash(name("a", i)), ApplicationID: app.ID, Family: name("f", i), Created: now, Expires: now.Add(time.Hour)}
		rt := &gatehouse.RefreshToken{Hash: secret.Hash(name("r", i)), ApplicationID: app.ID, Family: at.Family, Created: now}
		if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordRefresh(ctx, gatehouse.RefreshRecord{JTI: name("j", i), Family: name("f", i), Created: now, Expires: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	errs, jwtErrs := make([]error, n), make([]error, n)
	jwtOut := make([]gatehouse.RotateOutcome, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.RotateRefreshToken(ctx, secret.Hash(name("r", i)), app.ID, now, 0, nil,
				func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
					return &gatehouse.AccessToken{Hash: secret.Hash(name("a2", i)), ApplicationID: app.ID, Created: now, Expires: now.Add(time.Hour)},
						&gatehouse.RefreshToken{Hash: secret.Hash(name("r2", i)), ApplicationID: app.ID, Created: now}, nil
				})
		})
		wg.Go(func() {
			jwtOut[i], jwtErrs[i] = s.RotateRefresh(ctx, gatehouse.RefreshRecord{JTI: name("j", i), Created: now, Expires: now.Add(time.Hour)},
				gatehouse.RefreshRecord{JTI: name("j2", i), Record: name("j", i), Created: now, Expires: now.Add(time.Hour)}, now)
		})
	}
	wg.Wait()
	store.SetSetWrite(s, nil)
	store.SetSetCheck(s, nil)
	for i := range n {
		if gatehouse.ErrorCode(errs[i]) != gatehouse.EUNAVAILABLE {
			t.Errorf("OAuth rotation %d: %v, want the set's error", i, errs[i])
		}
		// A simplejwt rotation grouped behind an OAuth set that failed so
		// never reached its own set: it runs in the group's transaction.
		if !(jwtErrs[i] == nil && jwtOut[i] == gatehouse.Rotated) && gatehouse.ErrorCode(jwtErrs[i]) != gatehouse.EUNAVAILABLE {
			t.Errorf("simplejwt rotation %d: %v %v, want rotated or the set's error", i, jwtOut[i], jwtErrs[i])
		}
		if rt, err := s.RefreshTokenByHash(ctx, secret.Hash(name("r2", i))); err != nil || rt.Revoked != nil {
			t.Errorf("OAuth rotation %d's new refresh token, committed by the set: %+v %v; want it live", i, rt, err)
		}
		if b, err := s.RefreshBlacklisted(ctx, name("j", i), name("j2", i)); err != nil || b {
			t.Errorf("simplejwt rotation %d's new token, committed by the set: blacklisted %v %v; want it live", i, b, err)
		}
	}
}

// A group transaction whose COMMIT fails (here: a reply lost after the
// commit) leaves its writes unknown: every request in it is answered with
// the error and none runs again one by one, which would find the group's
// own writes and take them for replays, revoking what they issued. Codes
// go through the group's transaction on both backends, as rotations do
// on SQLite.
func TestGroupCommitLost(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		app := newApp(t, s, "conf")
		u := newUser(t, s, "lost")
		now := time.Now()
		const n = 8
		name := func(kind string, i int) string { return fmt.Sprint(kind, " ", i) }
		for i := range n {
			g := gatehouse.Grant{CodeHash: secret.Hash(name("code", i)), ApplicationID: app.ID, UserID: u.ID, RedirectURI: "https://a.example/cb",
				Scope: "read", Created: now, Expires: now.Add(time.Minute)}
			if err := s.CreateGrant(ctx, &g); err != nil {
				t.Fatal(err)
			}
			at, rt := pair(app, u.ID, name("f", i), name("a", i), name("r", i), now)
			if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
				t.Fatal(err)
			}
		}
		errLost := &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "connection reset (a test's)"}
		store.SetGroupCommitted(s, func() error { return errLost })
		codeErrs, rotErrs := make([]error, n), make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, codeErrs[i] = s.RedeemGrant(ctx, secret.Hash(name("code", i)), app.ID, now,
					func(gatehouse.Grant, *gatehouse.User) error { return nil },
					func(gatehouse.Grant) (*gatehouse.AccessToken, *gatehouse.RefreshToken, *time.Time, error) {
						at, rt := pair(app, u.ID, name("cf", i), name("ca", i), name("cr", i), now)
						return at, rt, nil, nil
					})
			})
			wg.Go(func() {
				_, rotErrs[i] = s.RotateRefreshToken(ctx, secret.Hash(name("r", i)), app.ID, now, 0, nil,
					func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
						at, rt := pair(app, u.ID, "", name("a2", i), name("r2", i), now)
						return at, rt, nil
					})
			})
		}
		wg.Wait()
		store.SetGroupCommitted(s, nil)
		for i := range n {
			if gatehouse.ErrorCode(codeErrs[i]) != gatehouse.EUNAVAILABLE {
				t.Errorf("code %d: %v, want the COMMIT's error", i, codeErrs[i])
			}
			// PostgreSQL rotates through set statements, outside the
			// group's transaction.
			if !(s.Dialect() == "postgres" && rotErrs[i] == nil) && gatehouse.ErrorCode(rotErrs[i]) != gatehouse.EUNAVAILABLE {
				t.Errorf("rotation %d: %v, want the COMMIT's error", i, rotErrs[i])
			}
			// What the group committed stands.
			if rt, err := s.RefreshTokenByHash(ctx, secret.Hash(name("cr", i))); err != nil || rt.Revoked != nil {
				t.Errorf("code %d's refresh token: %+v %v; want it live", i, rt, err)
			}
			if rt, err := s.RefreshTokenByHash(ctx, secret.Hash(name("r2", i))); err != nil || rt.Revoked != nil {
				t.Errorf("rotation %d's new refresh token: %+v %v; want it live", i, rt, err)
			}
		}
	})
}

// testSelectors keys split tokens here, as the OAuth provider does under
// the server secret.
var testSelectors = secret.NewSelectors("store test")

// A set rotates the rows of split tokens in place beside rows of one
// token, whose old tokens it revokes and whose new ones it inserts: one
// row of each kind keeps its access token's row, one of each kind gets a
// new one (the new access token is another user's, so the old row cannot
// take it), and every rotation is settled by the set.
func TestRotationSetInPlace(t *testing.T) {
	s := testdb.OpenURL(t, postgresURL(t))
	ctx := t.Context()
	app := newApp(t, s, "conf")
	now := time.Now()
	const n = 4 // 0, 1: split; 2, 3: one token a row; 1 and 3 change user
	users := make([]int64, n+1)
	refresh := make([]string, n)
	rowIDs := make([]int64, n)
	for i := range users {
		users[i] = newUser(t, s, fmt.Sprint("ip", i)).ID
	}
	for i := range n {
		at, rt := pair(app, users[i], fmt.Sprint("f", i), fmt.Sprint("a", i), fmt.Sprint("r", i), now)
		refresh[i] = fmt.Sprint("r", i)
		if i < 2 {
			refresh[i], _ = secret.SplitToken(nil, now)
			rt.Hash, rt.Secret = testSelectors.Key(refresh[i]), secret.Hash(refresh[i])
		}
		if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
			t.Fatal(err)
		}
		rowIDs[i] = rt.ID
	}
	key := func(tok string) []byte {
		if secret.IsSplit(tok) {
			return testSelectors.RefreshKey(tok)
		}
		return secret.Hash(tok)
	}
	hashes := make([][]byte, n)
	for i := range n {
		hashes[i] = key(refresh[i])
	}
	next := make([]string, n)
	inPlace := make([]bool, n)
	outcomes, settled, err := store.ApplyRotationSet(ctx, s, hashes, app.ID, now,
		func(j int, rot gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
			uid := *rot.Old.UserID
			if j%2 == 1 {
				uid = users[n]
			}
			at, rt := pair(app, uid, "", fmt.Sprint("a2-", j), fmt.Sprint("r2-", j), now)
			next[j], inPlace[j] = fmt.Sprint("r2-", j), rot.InPlace
			if rot.InPlace {
				next[j], _ = secret.Resplit(nil, refresh[j])
				rt.Hash, rt.Secret = testSelectors.Key(next[j]), secret.Hash(next[j])
			}
			return at, rt, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if outcomes[i] != nil || !settled[i] || inPlace[i] != (i < 2) {
			t.Fatalf("rotation %d: outcome %v, settled %v, in place %v", i, outcomes[i], settled[i], inPlace[i])
		}
		rt, err := s.RefreshTokenByHash(ctx, key(next[i]))
		if err != nil || rt.Revoked != nil || rt.Family != fmt.Sprint("f", i) || rt.AccessTokenID == nil || (rt.ID == rowIDs[i]) != (i < 2) {
			t.Fatalf("new refresh token %d: %+v %v (row before: %d)", i, rt, err, rowIDs[i])
		}
		g, err := s.AccessTokenByHash(ctx, secret.Hash(fmt.Sprint("a2-", i)))
		if err != nil || g.Token.ID != *rt.AccessTokenID {
			t.Fatalf("new access token %d: %+v %v, the refresh token names %d", i, g.Token, err, *rt.AccessTokenID)
		}
		old, err := s.RefreshTokenByHash(ctx, key(refresh[i]))
		if err != nil || old.Revoked == nil || old.AccessTokenID != nil {
			t.Fatalf("old refresh token %d: %+v %v", i, old, err)
		}
	}

	// A set of split tokens whose access tokens are all replaced in place
	// (the usual case; its own statement): the rows and the access tokens'
	// rows keep their ids.
	before := make([]gatehouse.RefreshToken, 1)
	for i := range before {
		if before[i], err = s.RefreshTokenByHash(ctx, key(next[i])); err != nil {
			t.Fatal(err)
		}
	}
	third := make([]string, 1)
	outcomes, settled, err = store.ApplyRotationSet(ctx, s, [][]byte{key(next[0])}, app.ID, now,
		func(j int, rot gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
			at, rt := pair(app, *rot.Old.UserID, "", "a3-0", "", now)
			third[0], _ = secret.Resplit(nil, next[0])
			rt.Hash, rt.Secret = testSelectors.Key(third[0]), secret.Hash(third[0])
			return at, rt, nil
		})
	if err != nil || outcomes[0] != nil || !settled[0] {
		t.Fatalf("in-place set: %v %v %v", outcomes, settled, err)
	}
	rt, err := s.RefreshTokenByHash(ctx, key(third[0]))
	if err != nil || rt.ID != before[0].ID || rt.Revoked != nil || rt.AccessTokenID == nil || *rt.AccessTokenID != *before[0].AccessTokenID {
		t.Fatalf("row after the in-place set: %+v %v, before %+v", rt, err, before[0])
	}
	if g, err := s.AccessTokenByHash(ctx, secret.Hash("a3-0")); err != nil || g.Token.ID != *before[0].AccessTokenID {
		t.Fatalf("access token after the in-place set: %+v %v", g.Token, err)
	}
	if _, err := s.AccessTokenByHash(ctx, secret.Hash("a2-0")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("replaced access token: %v", err)
	}
	if old, err := s.RefreshTokenByHash(ctx, key(next[0])); err != nil || old.Revoked == nil {
		t.Fatalf("the row's previous token: %+v %v", old, err)
	}
}
