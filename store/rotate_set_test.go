package store_test

import (
	"errors"
	"fmt"
	"slices"
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
	// rotation is a reuse, as alone, and no new token is stored.
	between = func() {
		if _, found, err := s.RevokeRefreshToken(ctx, secret.Hash("r0"), app.ID, now); err != nil || !found {
			t.Errorf("revoking r0: %v %v", found, err)
		}
	}
	_, err := s.RotateRefreshToken(ctx, secret.Hash("r0"), app.ID, now, 0, issue(0))
	var reuse *gatehouse.TokenReuse
	if !errors.As(err, &reuse) || reuse.Family != "f0" {
		t.Fatalf("rotating a token revoked during its set: %v, want a reuse of family f0", err)
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
	if _, err := s.RotateRefreshToken(ctx, secret.Hash("r1"), app.ID, now, 0, issue(1)); err != nil {
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
