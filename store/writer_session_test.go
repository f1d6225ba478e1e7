package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/store"
)

// On PostgreSQL each rotation writer keeps a session of its own with
// sequential scans and custom plans off. A session whose backend ends (a
// restart, an administrator's pg_terminate_backend) is replaced at the
// next group without failing it, and a session the writer drops is
// closed, never handed back to the pool with its settings.
func TestGroupWriterSessions(t *testing.T) {
	url := postgresURL(t)
	ctx := context.Background()
	name := fmt.Sprintf("gh_writer_%d", time.Now().UnixNano())
	s := testdb.OpenURL(t, url+"&application_name="+name)
	app := newApp(t, s, "conf")
	now := time.Now()
	rotateRound(t, s, app, 0, 8, now)

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
		rotateRound(t, s, app, round, 8, now)
	}

	if v, err := store.DropWriterSession(ctx, s); err != nil || v != "off force_generic_plan" {
		t.Fatalf("the writer's session: enable_seqscan and plan_cache_mode %q, %v; want off, force_generic_plan", v, err)
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
		var seq, plans string
		if err := c.QueryRowContext(ctx, "SELECT current_setting('enable_seqscan'), current_setting('plan_cache_mode')").Scan(&seq, &plans); err != nil || seq != "on" || plans != "auto" {
			t.Fatalf("a pool connection: enable_seqscan %q, plan_cache_mode %q, %v; want on, auto", seq, plans, err)
		}
	}
}
