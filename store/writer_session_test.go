package store_test

import (
	"context"
	"database/sql"
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

// On PostgreSQL each rotation writer keeps a session of its own with
// sequential scans off. A session whose backend ends (a restart, an
// administrator's pg_terminate_backend) is replaced at the next group
// without failing it, and a session the writer drops is closed, never
// handed back to the pool with its setting.
func TestGroupWriterSessions(t *testing.T) {
	if !slices.Contains(testdb.Backends(), "postgres") {
		t.Skip("PostgreSQL not configured")
	}
	ctx := context.Background()
	name := fmt.Sprintf("gh_writer_%d", time.Now().UnixNano())
	s := testdb.OpenURL(t, testdb.URL(t, "postgres")+"&application_name="+name)
	app := newApp(t, s, "conf")
	now := time.Now()
	rotate := func(round int) {
		t.Helper()
		const n = 8
		for i := 0; i < n; i++ {
			at := &gatehouse.AccessToken{Hash: secret.Hash(fmt.Sprint("wa", round, i)), ApplicationID: app.ID, Family: fmt.Sprint("wf", round, i), Created: now, Expires: now.Add(time.Hour)}
			rt := &gatehouse.RefreshToken{Hash: secret.Hash(fmt.Sprint("wr", round, i)), ApplicationID: app.ID, Family: at.Family, Created: now}
			if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
				t.Fatal(err)
			}
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, errs[i] = s.RotateRefreshToken(ctx, secret.Hash(fmt.Sprint("wr", round, i)), app.ID, now, 0,
					func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
						return &gatehouse.AccessToken{Hash: secret.Hash(fmt.Sprint("wa2", round, i)), ApplicationID: app.ID, Created: now, Expires: now.Add(time.Hour)},
							&gatehouse.RefreshToken{Hash: secret.Hash(fmt.Sprint("wr2", round, i)), ApplicationID: app.ID, Created: now}, nil
					})
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, rotation %d: %v", round, i, err)
			}
			if rt, err := s.RefreshTokenByHash(ctx, secret.Hash(fmt.Sprint("wr2", round, i))); err != nil || rt.Revoked != nil {
				t.Fatalf("round %d, rotation %d's new token: %+v %v", round, i, rt, err)
			}
		}
	}
	rotate(0)

	// The pool's idle connections closed, the store's backends left are
	// the writers' sessions.
	db := store.DB(s)
	db.SetMaxIdleConns(0)
	db.SetMaxIdleConns(32)
	admin, err := sql.Open("pgx", testdb.URL(t, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var ended int
	if err := admin.QueryRowContext(ctx, "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", name).Scan(&ended); err != nil {
		t.Fatal(err)
	}
	if ended == 0 {
		t.Fatal("no writer session to end")
	}
	// The writers' sessions are gone: the next rotations run in new ones.
	for round := 1; round <= 3; round++ {
		rotate(round)
	}

	if v, err := store.DropWriterSession(ctx, s); err != nil || v != "off" {
		t.Fatalf("the writer's session: enable_seqscan %q, %v; want off", v, err)
	}
	// The pool's connections have the server's default, the dropped
	// session's among them if it had been returned.
	var conns []*sql.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range db.Stats().Idle + 1 {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var v string
		if err := c.QueryRowContext(ctx, "SHOW enable_seqscan").Scan(&v); err != nil || v != "on" {
			t.Fatalf("a pool connection: enable_seqscan %q, %v; want on", v, err)
		}
	}
}
