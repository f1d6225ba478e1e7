package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/store"
)

// A rotation whose caller's deadline passes while its statement waits for
// a lock is stopped in PostgreSQL (the pool's cancel request) before the
// caller is answered: it never commits afterwards, so the client's retry
// once the lock is gone rotates the token instead of being taken for a
// replay that revokes the family. Before, the group ran under 30 s of its
// own: the answer was a timeout at the caller's deadline, the write
// committed when the lock went, and the retry revoked the family (found
// by a faults-under-load pass: a table lock of 10 s, a request timeout of
// 5 s). The OAuth rotation (its table locked) and simplejwt's alike.
func TestRotationPastItsDeadlineNeverCommits(t *testing.T) {
	s, admin, app, uid, issue := rotationFixture(t, "late")
	ctx, now := t.Context(), time.Now()
	jwtRecord := func(jti string) gatehouse.RefreshRecord {
		return gatehouse.RefreshRecord{JTI: jti, UserID: uid, Family: "late-jwt", Created: now, Expires: now.Add(time.Hour)}
	}
	if err := s.RecordRefresh(ctx, jwtRecord("late-old")); err != nil {
		t.Fatal(err)
	}
	oauth := func(ctx context.Context, suffix string) error {
		_, err := s.RotateRefreshToken(ctx, secret.Hash("late-r1"), app.ID, now, 0, nil, issue("-"+suffix))
		return err
	}
	simplejwt := func(ctx context.Context, suffix string) error {
		out, err := s.RotateRefresh(ctx, jwtRecord("late-old"), jwtRecord("late-new-"+suffix), now)
		if err == nil && out != gatehouse.Rotated {
			return fmt.Errorf("outcome %v", out)
		}
		return err
	}
	for _, c := range []struct {
		name, table string
		rotate      func(context.Context, string) error
	}{
		{"OAuth", "oauth_refresh_tokens", oauth},
		{"simplejwt", "jwt_tokens", simplejwt},
	} {
		t.Run(c.name, func(t *testing.T) {
			tx := lockTable(t, admin, c.table)
			defer tx.Rollback()
			rctx, cancel := context.WithTimeout(ctx, time.Second)
			start := time.Now()
			err := c.rotate(rctx, "first")
			cancel()
			took := time.Since(start)
			if err == nil {
				t.Fatal("the rotation succeeded while its table was locked")
			}
			if code := gatehouse.ErrorCode(err); !errors.Is(err, context.DeadlineExceeded) && code != gatehouse.EUNAVAILABLE {
				t.Fatalf("answered %v (code %q), want a timeout or unavailable", err, code)
			}
			if took > 4*time.Second {
				t.Fatalf("answered after %v", took)
			}
			// The lock outlives the caller by a while, then goes.
			time.Sleep(500 * time.Millisecond)
			if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(500 * time.Millisecond) // a write still pending would commit now
			if err := c.rotate(ctx, "retry"); err != nil {
				t.Fatalf("the retry after the lock: %v (the timed-out rotation committed, and the retry was taken for a replay)", err)
			}
		})
	}
	if _, err := s.RefreshTokenByHash(ctx, secret.Hash("late-r-first")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("the timed-out rotation's refresh token is stored: %v", err)
	}
	if r, err := s.RefreshTokenByHash(ctx, secret.Hash("late-r-retry")); err != nil || r.Revoked != nil {
		t.Fatalf("the retry's refresh token: %+v %v", r, err)
	}
}

// A rotation's transaction that PostgreSQL ends to break a deadlock (the
// same refresh token presented to several replicas at once) runs again,
// and is answered what a lone one would be (here a replay), not a 503.
// The deadlock is made here by another session holding the family's
// other token and then waiting for the one the rotation holds; that
// session's deadlock_timeout is the longer, so the rotation's transaction
// is the one PostgreSQL ends. (Found by a multi-replica pass: about 1 in
// 12 three-way races answered 503.)
func TestRotationDeadlockRunsAgain(t *testing.T) {
	s, admin, app, _, issue := rotationFixture(t, "dl")
	ctx, now := t.Context(), time.Now()
	if _, err := s.RotateRefreshToken(ctx, secret.Hash("dl-r1"), app.ID, now, 0, nil, issue("2")); err != nil {
		t.Fatal(err)
	}
	r1, err := s.RefreshTokenByHash(ctx, secret.Hash("dl-r1"))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := s.RefreshTokenByHash(ctx, secret.Hash("dl-r2"))
	if err != nil {
		t.Fatal(err)
	}
	tx, err := admin.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SET LOCAL deadlock_timeout = '10s'"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "SELECT id FROM oauth_refresh_tokens WHERE id = $1 FOR UPDATE", r2.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { // the replay of r1: its transaction locks r1, then waits for r2 (the family's revocation)
		_, err := s.RotateRefreshToken(ctx, secret.Hash("dl-r1"), app.ID, now, 0, nil, issue("3"))
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	// Wait for r1, which the rotation holds: a deadlock, which the
	// rotation's session detects first.
	if _, err := tx.ExecContext(ctx, "UPDATE oauth_refresh_tokens SET scope = scope WHERE id = $1", r1.ID); err != nil {
		t.Fatalf("the other session was the deadlock's victim: %v", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		var reuse *gatehouse.TokenReuse
		if !errors.As(err, &reuse) {
			t.Fatalf("the replay after a deadlock: %v (code %q), want a reuse", err, gatehouse.ErrorCode(err))
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the rotation did not return")
	}
	if r, _ := s.RefreshTokenByHash(ctx, secret.Hash("dl-r2")); r.Revoked == nil {
		t.Fatal("the family was not revoked")
	}
}

// rotationFixture is a PostgreSQL store holding a user and the refresh
// token prefix+"-r1" of an application (family prefix+"-family"), a
// second session on the same database (admin, closed with the test), and
// the issue function of a rotation whose new tokens are prefix+"-a"+n and
// prefix+"-r"+n.
func rotationFixture(t *testing.T, prefix string) (s *store.Store, admin *sql.DB, app gatehouse.Application, uid int64,
	issue func(n string) func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error)) {
	t.Helper()
	base := postgresURL(t)
	s = testdb.OpenURL(t, base)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	app = newApp(t, s, "conf")
	uid = newUser(t, s, prefix+"-user").ID
	now := time.Now()
	at, rt := pair(app, uid, prefix+"-family", prefix+"-a1", prefix+"-r1", now)
	if err := s.CreateTokens(t.Context(), at, rt, nil); err != nil {
		t.Fatal(err)
	}
	issue = func(n string) func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
		return func(rot gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
			at, rt := pair(app, *rot.Old.UserID, "", prefix+"-a"+n, prefix+"-r"+n, now)
			return at, rt, nil
		}
	}
	return s, admin, app, uid, issue
}

// lockTable begins a transaction in admin holding table in ACCESS
// EXCLUSIVE mode, until the caller rolls it back.
func lockTable(t *testing.T, admin *sql.DB, table string) *sql.Tx {
	t.Helper()
	tx, err := admin.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(t.Context(), "LOCK TABLE "+table+" IN ACCESS EXCLUSIVE MODE"); err != nil {
		tx.Rollback()
		t.Fatal(err)
	}
	return tx
}
