package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/store"
)

// aheadToken is a split refresh token stored with its access token, and
// what a rotation of it made ahead issues.
type aheadToken struct {
	app    gatehouse.Application
	uid    int64
	token  string // the refresh token presented
	access string // the new access token made ahead
	next   string // the new refresh token made ahead
	rowID  int64
	atID   int64
	wrong  bool // issue returns a pair other than the one made ahead
	seen   gatehouse.RefreshRotation
	oldAcc string
}

// storeAhead stores a split refresh token of family for uid.
func storeAhead(t *testing.T, s *store.Store, app gatehouse.Application, uid int64, family string, now time.Time) *aheadToken {
	t.Helper()
	tok, err := secret.SplitToken(nil, now)
	if err != nil {
		t.Fatal(err)
	}
	at, rt := pair(app, uid, family, "", "", now)
	at.Hash = secret.TokenKey("acc-" + family)
	rt.Hash, rt.Secret = testSelectors.Key(tok), secret.Hash(tok)
	if err := s.CreateTokens(t.Context(), at, rt, nil); err != nil {
		t.Fatal(err)
	}
	return &aheadToken{app: app, uid: uid, token: tok, rowID: rt.ID, atID: at.ID, oldAcc: "acc-" + family}
}

// rotate rotates a's token at now with a pair made ahead, as the OAuth
// provider does for an opaque client.
func (a *aheadToken) rotate(ctx context.Context, s *store.Store, now time.Time) (gatehouse.RevokedAccess, error) {
	var err error
	if a.access, err = secret.Alnum(nil, 30); err != nil {
		return nil, err
	}
	if a.next, err = secret.Resplit(nil, a.token); err != nil {
		return nil, err
	}
	ahead := &gatehouse.RefreshAhead{AccessHash: secret.TokenKey(a.access), AccessExpires: now.Add(time.Hour), Secret: secret.Hash(a.next), Created: now}
	return s.RotateRefreshToken(ctx, testSelectors.RefreshKey(a.token), a.app.ID, now, 0, ahead,
		func(rot gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
			a.seen = rot
			if u := rot.User; u == nil || !u.IsActive || !u.Accepts(rot.Old.Created) { // as the provider refuses
				return nil, nil, gatehouse.ErrInvalidGrant
			}
			next := a.next
			if !rot.InPlace || a.wrong {
				next, _ = secret.SplitToken(nil, now)
			}
			at, rt := pair(a.app, a.uid, "", "", "", now)
			at.Hash = secret.TokenKey(a.access)
			rt.Hash, rt.Secret = testSelectors.Key(next), secret.Hash(next)
			return at, rt, nil
		})
}

// check verifies that a's rotation left the row holding the pair made
// ahead, in place, and the old access token gone.
func (a *aheadToken) check(t *testing.T, s *store.Store) {
	t.Helper()
	ctx := t.Context()
	rt, err := s.RefreshTokenByHash(ctx, testSelectors.RefreshKey(a.next))
	if err != nil || rt.ID != a.rowID || rt.Revoked != nil || rt.AccessTokenID == nil || *rt.AccessTokenID != a.atID {
		t.Fatalf("the row after its rotation ahead: %+v %v; want row %d naming access token %d", rt, err, a.rowID, a.atID)
	}
	g, err := s.AccessTokenByHash(ctx, secret.TokenKey(a.access))
	if err != nil || g.Token.ID != a.atID || g.Token.Scope != "read write" || g.User == nil || g.User.ID != a.uid {
		t.Fatalf("the new access token: %+v %v", g, err)
	}
	if _, err := s.AccessTokenByHash(ctx, secret.TokenKey(a.oldAcc)); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("the old access token: %v, want not found", err)
	}
	a.token, a.oldAcc = a.next, a.access
}

// aheadStore is a new PostgreSQL store with an application and a user
// named name, and the time to store their tokens at.
func aheadStore(t *testing.T, name string) (*store.Store, gatehouse.Application, gatehouse.User, time.Time) {
	t.Helper()
	s := testdb.OpenURL(t, postgresURL(t))
	return s, newApp(t, s, "conf"), newUser(t, s, name), time.Now().Truncate(time.Microsecond)
}

// On PostgreSQL a rotation whose pair was made ahead is written by one
// statement, issue called after it with the old token as it was; the
// token presented again is then a reuse, as after any rotation.
func TestRotationAhead(t *testing.T) {
	s, app, u, now := aheadStore(t, "ahead")
	ctx := t.Context()
	a := storeAhead(t, s, app, u.ID, "fam", now)
	first := a.token
	before := store.RotationsAhead(s)
	revoked, err := a.rotate(ctx, s, now.Add(time.Second))
	if err != nil || !a.seen.InPlace || a.seen.User == nil || a.seen.User.ID != u.ID || a.seen.Old.Family != "fam" ||
		!a.seen.Old.Created.Equal(now) || len(revoked) != 1 || string(revoked[0]) != string(secret.TokenKey("acc-fam")) {
		t.Fatalf("rotation: %v, saw %+v, revoked %d", err, a.seen, len(revoked))
	}
	if got := store.RotationsAhead(s) - before; got != 1 {
		t.Fatalf("%d rotations written ahead, want 1", got)
	}
	a.check(t, s)
	if _, err := a.rotate(ctx, s, now.Add(2*time.Second)); err != nil {
		t.Fatalf("the next rotation: %v", err)
	}
	a.check(t, s)
	if got := store.RotationsAhead(s) - before; got != 2 {
		t.Fatalf("%d rotations written ahead, want 2", got)
	}
	a.token = first
	if _, err := a.rotate(ctx, s, now.Add(3*time.Second)); !errors.Is(err, gatehouse.ErrTokenReused) {
		t.Fatalf("the first token again: %v, want a reuse", err)
	}

	// Concurrent rotations of many tokens: each written ahead in place.
	const n = 12
	toks := make([]*aheadToken, n)
	for i := range toks {
		toks[i] = storeAhead(t, s, app, u.ID, fmt.Sprint("many", i), now)
	}
	before = store.RotationsAhead(s)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range toks {
		wg.Go(func() { _, errs[i] = toks[i].rotate(ctx, s, now.Add(time.Second)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("rotation %d: %v", i, err)
		}
		toks[i].check(t, s)
	}
	if got := store.RotationsAhead(s) - before; got != n {
		t.Fatalf("%d of %d concurrent rotations written ahead", got, n)
	}
}

// An issue function that returns another pair than the one made ahead is
// a defect: the rotation is answered with an error, not with tokens the
// store did not write.
func TestRotationAheadMismatch(t *testing.T) {
	s, app, u, now := aheadStore(t, "mismatch")
	a := storeAhead(t, s, app, u.ID, "fam", now)
	a.wrong = true
	if _, err := a.rotate(t.Context(), s, now.Add(time.Second)); err == nil || errors.Is(err, gatehouse.ErrInvalidGrant) {
		t.Fatalf("issue returned another pair: %v, want an internal error", err)
	}
}

// Another replica's rotation of the same token, committed while the
// statement waited for its row: the statement's update finds the row
// changed, its guard fails it, and the rotation goes on through the read,
// which finds the token rotated away from: a reuse, as alone.
func TestRotationAheadRace(t *testing.T) {
	s, app, u, now := aheadStore(t, "race")
	ctx := t.Context()
	a := storeAhead(t, s, app, u.ID, "fam", now)
	db := store.DB(s)
	writes, waited := 0, false
	store.SetSetWrite(s, func(write func() error) error {
		writes++
		if writes > 1 {
			return write()
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, `UPDATE oauth_refresh_tokens SET previous_secret = secret, secret = $1, rotated = $2 WHERE id = $3`,
			secret.Hash("another replica's"), now.UnixMicro(), a.rowID); err != nil {
			return err
		}
		done := make(chan error, 1)
		go func() { done <- write() }()
		// Commit once the statement waits for the row's lock: its
		// snapshot was taken before the commit.
		for !waited {
			if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database())`).Scan(&waited); err != nil {
				return err
			}
			time.Sleep(time.Millisecond)
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		return <-done
	})
	t.Cleanup(func() { store.SetSetWrite(s, nil) })
	before := store.RotationsAhead(s)
	if _, err := a.rotate(ctx, s, now.Add(time.Second)); !errors.Is(err, gatehouse.ErrTokenReused) {
		t.Fatalf("a token another replica rotated meanwhile: %v, want a reuse", err)
	}
	if got := store.RotationsAhead(s) - before; got != 0 {
		t.Fatalf("%d rotations written ahead, want none", got)
	}
	// Under a known selector any token is found, as one its row rotated
	// away from: the pair made ahead is not the row's, and its access
	// token was not written (the statement wrote nothing).
	if rt, err := s.RefreshTokenByHash(ctx, testSelectors.RefreshKey(a.next)); err != nil || rt.Secret != nil || rt.Revoked == nil {
		t.Fatalf("the refresh token made ahead: %+v %v, want no current token of its row", rt, err)
	}
	if _, err := s.AccessTokenByHash(ctx, secret.TokenKey(a.access)); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("the access token made ahead: %v, want not written", err)
	}
}

// A statement whose reply is lost after it committed is found committed
// by a read in a new session, and its rotations answered with their
// pairs; one that did not commit goes on and rotates. When the read fails
// too, each rotation is answered with the error and none runs again (the
// pairs written stay live). A user deactivated between the write and the
// read gets the refusal, not an internal error.
func TestRotationAheadLostReply(t *testing.T) {
	s := testdb.OpenURL(t, postgresURL(t))
	ctx := t.Context()
	app := newApp(t, s, "conf")
	errLost := &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "connection reset (a test's)"}
	for round, c := range []struct {
		committed, checkFails, deactivate bool
	}{{true, false, false}, {false, false, false}, {true, true, false}, {true, false, true}} {
		t.Run(fmt.Sprintf("committed=%v,check-fails=%v,deactivated=%v", c.committed, c.checkFails, c.deactivate), func(t *testing.T) {
			u := newUser(t, s, fmt.Sprint("lost", round))
			first := true
			store.SetSetWrite(s, func(write func() error) error {
				if !first {
					return write()
				}
				first = false
				if c.committed {
					if err := write(); err != nil {
						return err
					}
				}
				if c.deactivate {
					if _, err := s.UpdateUser(ctx, u.ID, func(u *gatehouse.User) (gatehouse.UserChange, error) {
						u.IsActive = false
						return gatehouse.UserChange{}, nil
					}); err != nil {
						return err
					}
				}
				return errLost
			})
			if c.checkFails {
				store.SetSetCheck(s, func(func() error) error { return errLost })
			}
			t.Cleanup(func() { store.SetSetWrite(s, nil); store.SetSetCheck(s, nil) })
			now := time.Now().Truncate(time.Microsecond)
			a := storeAhead(t, s, app, u.ID, fmt.Sprint("lost", round), now)
			_, err := a.rotate(ctx, s, now.Add(time.Second))
			if c.deactivate {
				if !errors.Is(err, gatehouse.ErrInvalidGrant) {
					t.Fatalf("rotation read back for a user deactivated since: %v, want invalid_grant", err)
				}
				return
			}
			if c.checkFails {
				if gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE {
					t.Fatalf("rotation: %v, want the statement's error", err)
				}
			} else if err != nil || !a.seen.InPlace {
				t.Fatalf("rotation: %v, %+v", err, a.seen)
			}
			a.check(t, s)
		})
	}
}

// On PostgreSQL the rotations have a group writer of their own: a code
// redeemed while rotations' statements are held up does not wait for
// them (with the writers shared, two held groups held every writer).
func TestRotationsOwnWriter(t *testing.T) {
	s, app, u, now := aheadStore(t, "writer")
	ctx := t.Context()
	toks := []*aheadToken{storeAhead(t, s, app, u.ID, "fam0", now), storeAhead(t, s, app, u.ID, "fam1", now)}
	g := gatehouse.Grant{CodeHash: secret.Hash("code"), ApplicationID: app.ID, UserID: u.ID, RedirectURI: "https://a.example/cb",
		Scope: "read", Created: now, Expires: now.Add(time.Minute)}
	if err := s.CreateGrant(ctx, &g); err != nil {
		t.Fatal(err)
	}
	held, release := make(chan struct{}, 2), make(chan struct{})
	store.SetSetWrite(s, func(write func() error) error {
		held <- struct{}{}
		<-release
		return write()
	})
	t.Cleanup(func() { store.SetSetWrite(s, nil) })
	rotated := make(chan error, len(toks))
	for _, a := range toks {
		go func() { _, err := a.rotate(ctx, s, now.Add(time.Second)); rotated <- err }()
		if a == toks[0] {
			<-held // the first group is held; the second goes after it
		}
	}
	time.Sleep(200 * time.Millisecond)
	redeemed := make(chan error, 1)
	go func() {
		_, err := s.RedeemGrant(ctx, secret.Hash("code"), app.ID, now, func(gatehouse.Grant, *gatehouse.User) error { return nil },
			func(gatehouse.Grant) (*gatehouse.AccessToken, *gatehouse.RefreshToken, *time.Time, error) {
				at, rt := pair(app, u.ID, "code-fam", "code-a", "code-r", now)
				return at, rt, nil, nil
			})
		redeemed <- err
	}()
	select {
	case err := <-redeemed:
		if err != nil {
			t.Fatalf("the redemption: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Error("the redemption waited for the rotations' groups")
	}
	close(release)
	for range toks {
		if err := <-rotated; err != nil {
			t.Fatalf("a rotation: %v", err)
		}
	}
	for _, a := range toks {
		a.check(t, s)
	}
}
