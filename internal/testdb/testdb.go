// Package testdb gives tests a fresh, migrated store on every backend: a
// SQLite file in a temporary directory always, and a PostgreSQL schema of
// its own when GATEHOUSE_TEST_POSTGRES_URL is set (then an unreachable
// server fails the test; it never skips).
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	_ "embed"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/store"
)

var trgmOnce sync.Once

// PgTrgmInPublic installs pg_trgm, the user search's extension (migration
// 00019), in the schema public, or moves it there from the schema it is
// in. Installed by a test's migration, it would land in that test's
// schema, and dropping the schema would drop it with the indexes other
// tests' schemas built on it ("referenced operator class was concurrently
// dropped"). Errors are ignored: a role that may not install it leaves the
// migrations to do without, and two processes racing leave it installed.
func PgTrgmInPublic(db *sql.DB) {
	db.Exec(`DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE EXTENSION pg_trgm SCHEMA public;
    ELSIF (SELECT extnamespace FROM pg_extension WHERE extname = 'pg_trgm') <> 'public'::regnamespace THEN
        ALTER EXTENSION pg_trgm SET SCHEMA public;
    END IF;
END $$`)
}

// EnvPostgres names the variable holding the PostgreSQL URL for tests.
const EnvPostgres = "GATEHOUSE_TEST_POSTGRES_URL"

// Backends lists the backends the tests run on.
func Backends() []string {
	if os.Getenv(EnvPostgres) != "" {
		return []string{"sqlite", "postgres"}
	}
	return []string{"sqlite"}
}

// URL returns a database URL for a new, empty database of backend.
func URL(t testing.TB, backend string) string {
	t.Helper()
	switch backend {
	case "sqlite":
		return filepath.Join(t.TempDir(), "gatehouse.db")
	case "postgres":
		base := os.Getenv(EnvPostgres)
		if base == "" {
			t.Fatalf("%s is not set", EnvPostgres)
		}
		var b [6]byte
		rand.Read(b[:])
		schema := "gh_test_" + hex.EncodeToString(b[:])
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Fatalf("postgres: %v", err)
		}
		defer admin.Close()
		trgmOnce.Do(func() { PgTrgmInPublic(admin) })
		if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
			t.Fatalf("postgres unreachable or unusable at %s: %v", EnvPostgres, err)
		}
		t.Cleanup(func() {
			db, err := sql.Open("pgx", base)
			if err == nil {
				db.Exec("DROP SCHEMA " + schema + " CASCADE")
				db.Close()
			}
		})
		u, err := url.Parse(base)
		if err != nil {
			t.Fatalf("%s: %v", EnvPostgres, err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	t.Fatalf("unknown backend %q", backend)
	return ""
}

// Open returns a migrated store on a new database of backend, closed when
// the test ends.
func Open(t testing.TB, backend string) *store.Store {
	t.Helper()
	return OpenURL(t, URL(t, backend))
}

// OpenURL returns a migrated store on the database at url (from URL),
// closed when the test ends. Opening the same url again is what a second
// process, or a restarted one, would see.
func OpenURL(t testing.TB, url string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("open the test database: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

// Each runs fn as a subtest on every backend.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	for _, b := range Backends() {
		t.Run(b, func(t *testing.T) { fn(t, Open(t, b)) })
	}
}

//go:embed testdata/django-dumpdata.json
var referenceDump []byte

// ReferenceDump returns the Django reference project's `dumpdata` output
// (48 users, DRF tokens, three OAuth applications), kept in testdata so the
// tests need nothing beside the repository.
func ReferenceDump() []byte { return referenceDump }

// ReferenceDumpFile writes ReferenceDump to a file of the test's temporary
// directory and returns its path, for commands that read a file.
func ReferenceDumpFile(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "django-dumpdata.json")
	if err := os.WriteFile(p, referenceDump, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
