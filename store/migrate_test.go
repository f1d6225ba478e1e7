package store_test

import (
	"bytes"
	"database/sql"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/store"
)

// -update-schema rewrites the golden schema dumps. Run it only when a new
// migration changes the schema on purpose; the dumps exist to catch the
// changes nobody meant.
var updateSchema = flag.Bool("update-schema", false, "rewrite store/testdata/schema.*.golden")

// oldMigrations holds a frozen copy of the per-dialect migration files
// (versions 1 to 5) that gatehouse shipped before the set was unified.
// Databases in the field were migrated by them, so they are the yardstick
// for the schema and for the goose version history.
const oldMigrations = "testdata/migrations-per-dialect"

// TestMigrateSchemaGolden checks that Migrate on a fresh database builds
// exactly the schema in the golden dump, which was captured from the
// per-dialect files, and that those files still build it too.
func TestMigrateSchemaGolden(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			golden := filepath.Join("testdata", "schema."+backend+".golden")

			s := openStore(t, backend)
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			got := dumpSchema(t, s.DB(), backend)
			if *updateSchema {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update-schema to create it)", err)
			}
			if got != string(want) {
				t.Errorf("schema built by Migrate differs from %s:\n%s", golden, lineDiff(string(want), got))
			}

			// A database the per-dialect files built (version 5), then
			// migrated by this release, ends with the same schema.
			old := openStore(t, backend)
			applyOld(t, old.DB(), backend)
			if err := old.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if got := dumpSchema(t, old.DB(), backend); got != string(want) {
				t.Errorf("schema built by %s/%s then Migrate differs from %s:\n%s", oldMigrations, backend, golden, lineDiff(string(want), got))
			}
		})
	}
}

// TestMigrateLeavesOldDatabaseAlone checks that a database migrated by the
// per-dialect files (version 5) is picked up where it stands: none of its
// migrations runs again, only the later ones do, and its data survives
// them (00006 turns auth_epoch from seconds into microseconds).
func TestMigrateLeavesOldDatabaseAlone(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			s := openStore(t, backend)
			applyOld(t, s.DB(), backend)
			before := gooseVersions(t, s.DB())
			if fmt.Sprint(before) != "[1 3 4 5]" {
				t.Fatalf("old files applied %v, want [1 3 4 5]", before)
			}
			if _, err := s.DB().ExecContext(ctx, `INSERT INTO users (username, email, first_name, last_name, password,
				is_active, is_staff, is_superuser, date_joined, auth_epoch) VALUES ('old', '', '', '', '!', true, false, false, 0, 1700000000)`); err != nil {
				t.Fatal(err)
			}
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("migrate a database at the old files' version: %v", err)
			}
			after := gooseVersions(t, s.DB())
			if fmt.Sprint(after[:len(before)]) != fmt.Sprint(before) || after[len(after)-1] < 6 {
				t.Errorf("goose history: before %v, after %v", before, after)
			}
			for _, v := range after[len(before):] {
				if v <= 5 {
					t.Errorf("migration %d ran again: %v", v, after)
				}
			}
			u, err := s.UserByUsername(ctx, "old")
			if err != nil || !u.AuthEpoch.Equal(time.Unix(1700000000, 0)) {
				t.Fatalf("auth epoch after 00006: %v, %v", u.AuthEpoch, err)
			}
		})
	}
}

// gooseVersions lists the applied migration versions in the order applied.
func gooseVersions(t *testing.T, db *sql.DB) []int64 {
	t.Helper()
	rows, err := db.QueryContext(ctx, "SELECT version_id FROM goose_db_version WHERE version_id > 0 ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func openStore(t *testing.T, backend string) *store.Store {
	t.Helper()
	s, err := store.Open(ctx, testdb.URL(t, backend))
	if err != nil {
		t.Fatalf("open %s: %v", backend, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// applyOld migrates db with the frozen per-dialect files, as a release
// before the unified set did.
func applyOld(t *testing.T, db *sql.DB, backend string) {
	t.Helper()
	d := goose.DialectSQLite3
	if backend == "postgres" {
		d = goose.DialectPostgres
	}
	p, err := goose.NewProvider(d, db, os.DirFS(filepath.Join(oldMigrations, backend)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("old migrations: %v", err)
	}
}

// gooseHistory summarises goose's bookkeeping: how many migrations it has
// recorded and the current version.
// dumpSchema returns the schema of db as stable text. goose's own table is
// left out: its shape belongs to the goose release, not to our migrations.
func dumpSchema(t *testing.T, db *sql.DB, backend string) string {
	t.Helper()
	var b strings.Builder
	query := func(title, q string, fix func(string) string) {
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", title, err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		fmt.Fprintf(&b, "-- %s: %s\n", title, strings.Join(cols, " | "))
		for rows.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fields := make([]string, len(cols))
			for i, v := range vals {
				fields[i] = "NULL"
				if v.Valid {
					fields[i] = fix(v.String)
				}
			}
			b.WriteString(strings.Join(fields, " | "))
			b.WriteByte('\n')
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	same := func(s string) string { return s }
	switch backend {
	case "sqlite":
		query("sqlite_master", `SELECT type, name, tbl_name, sql FROM sqlite_master
			WHERE tbl_name <> 'goose_db_version' ORDER BY name`, same)
	case "postgres":
		// Every test gets a schema of its own name; the dump names it "schema".
		var schema string
		if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			t.Fatal(err)
		}
		// pg_trgm's operator class is named with the schema the extension
		// was installed in (00019), which depends on the database: the dump
		// leaves it out.
		trgm := regexp.MustCompile(`[A-Za-z0-9_"]+\.gin_trgm_ops`)
		unqualify := func(s string) string {
			return trgm.ReplaceAllString(strings.ReplaceAll(s, schema+".", ""), "gin_trgm_ops")
		}
		query("columns", `SELECT table_name, column_name, data_type, column_default, is_nullable
			FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name <> 'goose_db_version'
			ORDER BY table_name, ordinal_position`, unqualify)
		query("indexes", `SELECT tablename, indexname, indexdef FROM pg_indexes
			WHERE schemaname = current_schema() AND tablename <> 'goose_db_version'
			ORDER BY tablename, indexname`, unqualify)
		query("constraints", `SELECT c.relname, con.conname, pg_get_constraintdef(con.oid)
			FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
			WHERE con.connamespace = current_schema()::regnamespace AND c.relname <> 'goose_db_version'
			ORDER BY c.relname, con.conname`, unqualify)
	default:
		t.Fatalf("unknown backend %q", backend)
	}
	return b.String()
}

// lineDiff lists the lines only in want (-) and only in got (+); enough to
// see what a migration changed without a diff library.
func lineDiff(want, got string) string {
	count := func(s string) map[string]int {
		m := map[string]int{}
		for _, l := range strings.Split(s, "\n") {
			m[l]++
		}
		return m
	}
	w, g := count(want), count(got)
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if g[l] < w[l] {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if w[l] < g[l] {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	return b.String()
}

// A replica that finds another one migrating starts as soon as the lock is
// released: goose's own locker polled every 5 s, so the losers of a
// simultaneous start came up 1-5 s after the winner (issue 13).
func TestMigrationWaitsForTheLockWithoutPolling(t *testing.T) {
	if os.Getenv(testdb.EnvPostgres) == "" {
		t.Skip("PostgreSQL only (SQLite has one writer and no lock)")
	}
	url := testdb.URL(t, "postgres")
	holder := openStore(t, "postgres")
	conn, err := holder.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", lock.DefaultLockID); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	waiter, err := store.Open(ctx, url, store.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer waiter.Close()
	done := make(chan error, 1)
	go func() { done <- waiter.Migrate(ctx) }()
	select {
	case err := <-done:
		t.Fatalf("Migrate did not wait for the lock: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	// The wait is logged before it starts (a replica waiting for minutes
	// must not look hung; found by a rolling-upgrade pass).
	if !strings.Contains(logs.String(), "waiting for another replica's migrations") {
		t.Errorf("no log line while waiting for the lock:\n%s", logs.String())
	}
	released := time.Now()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", lock.DefaultLockID); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Each migration applied is logged, with its version.
	files, _ := fs.Glob(os.DirFS("migrations"), "*.sql")
	if n := strings.Count(logs.String(), "migration applied"); n != len(files) || !strings.Contains(logs.String(), "version=1 ") {
		t.Errorf("%d migrations logged as applied, want %d:\n%s", n, len(files), logs.String())
	}
	// Other test packages migrate their own schemas under the same lock at
	// the same time, so allow for a few of their turns.
	if d := time.Since(released); d > 3*time.Second {
		t.Fatalf("Migrate finished %v after the lock was released", d)
	}
}

// lockedBuffer is a bytes.Buffer safe for a logger's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
