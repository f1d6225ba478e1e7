package store_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// TestPoolReplacesEndedSessions: a session that PostgreSQL ends while its
// connection sits idle in the pool (a restart, a failover,
// pg_terminate_backend) fails no request; the connection is replaced when
// it is taken (openPostgres). Before, every such connection taken within a
// second of its last use failed the request that took it, with 503.
func TestPoolReplacesEndedSessions(t *testing.T) {
	base := os.Getenv(testdb.EnvPostgres)
	if base == "" {
		t.Skip("PostgreSQL only: " + testdb.EnvPostgres + " is not set")
	}
	u, err := url.Parse(testdb.URL(t, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	app := "gh_pool_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	s := testdb.OpenURL(t, u.String())
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx := context.Background()
	const n = 4
	for round := range 3 {
		// n connections back in the pool, each just used.
		conns := make([]*sql.Conn, n)
		for i := range conns {
			if conns[i], err = s.DB().Conn(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := conns[i].ExecContext(ctx, "SELECT 1"); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range conns {
			c.Close()
		}
		var ended int
		if err := admin.QueryRow("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&ended); err != nil {
			t.Fatal(err)
		}
		if ended < n {
			t.Fatalf("round %d: %d sessions ended, want at least %d", round, ended, n)
		}
		for deadline := time.Now().Add(5 * time.Second); ; {
			var left int
			if err := admin.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&left); err != nil {
				t.Fatal(err)
			}
			if left == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: %d sessions still there 5 s after pg_terminate_backend", round, left)
			}
			time.Sleep(5 * time.Millisecond)
		}
		// As many requests at once as there are ended connections in the
		// pool: each takes one.
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				if _, err := s.User(ctx, 1); !errors.Is(err, gatehouse.ErrNotFound) {
					errs[i] = err
				}
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d, request %d after the sessions ended: %v", round, i, err)
			}
		}
	}
}
