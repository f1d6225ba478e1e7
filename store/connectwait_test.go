package store_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/store"
)

// Open waits for a PostgreSQL server that is not up yet, within
// WithConnectWait, and fails at once for what waiting does not cure.
func TestOpenWaitsForPostgres(t *testing.T) {
	if !slices.Contains(testdb.Backends(), "postgres") {
		t.Skip("PostgreSQL not configured (testdb)")
	}
	pg := testdb.URL(t, "postgres")
	real, err := url.Parse(pg)
	if err != nil {
		t.Fatal(err)
	}
	late := testdb.NewLateServer(t, pg)

	// No wait: the first refusal fails.
	start := time.Now()
	if _, err := store.Open(context.Background(), late.URL); err == nil || !strings.Contains(err.Error(), "store: connect postgres") {
		t.Fatalf("no wait, nothing listening: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("no wait took %v", d)
	}
	// A short wait with nothing listening fails after it.
	start = time.Now()
	if _, err := store.Open(context.Background(), late.URL, store.WithConnectWait(time.Second)); err == nil {
		t.Fatal("a 1 s wait with nothing listening opened")
	}
	if d := time.Since(start); d < 500*time.Millisecond || d > 5*time.Second {
		t.Errorf("a 1 s wait took %v", d)
	}

	// The server comes up 1.5 s after Open starts: Open waits for it.
	time.AfterFunc(1500*time.Millisecond, late.Start)
	start = time.Now()
	s, err := store.Open(context.Background(), late.URL, store.WithConnectWait(20*time.Second))
	if err != nil {
		t.Fatalf("Open while the server came up: %v", err)
	}
	defer s.Close()
	if d := time.Since(start); d < 1400*time.Millisecond {
		t.Errorf("Open returned after %v, before the server was up", d)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}

	// A database that does not exist: no wait, whatever the setting.
	missing := *real
	missing.Path = "/gatehouse_no_such_database"
	start = time.Now()
	if _, err := store.Open(context.Background(), missing.String(), store.WithConnectWait(20*time.Second)); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("a missing database: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("a missing database was waited for (%v)", d)
	}
}

// SQLite opens at once with a wait set, and fails at once on a path it
// cannot create.
func TestOpenWaitIgnoredOnSQLite(t *testing.T) {
	s, err := store.Open(context.Background(), t.TempDir()+"/g.db", store.WithConnectWait(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	start := time.Now()
	if _, err := store.Open(context.Background(), "/proc/no/such/dir/g.db", store.WithConnectWait(time.Minute)); err == nil {
		t.Fatal("opened an impossible path")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("an impossible SQLite path was waited for (%v)", d)
	}
}
