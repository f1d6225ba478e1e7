package store

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestExpandPlaceholders(t *testing.T) {
	vars := map[string]string{"id": "SERIAL", "bytes": "BLOB"}
	for _, tc := range []struct {
		name, in, want, err string
	}{
		{name: "none", in: "CREATE TABLE t (a TEXT);\n", want: "CREATE TABLE t (a TEXT);\n"},
		{name: "known", in: "id {{id}},\nb {{bytes}} NOT NULL {{bytes}}", want: "id SERIAL,\nb BLOB NOT NULL BLOB"},
		{name: "unknown", in: "-- +goose Up\nCREATE TABLE t (\n  id {{id}},\n  b {{bytez}}\n);",
			err: "line 4: unknown placeholder {{bytez}} (the dialect defines bytes, id)"},
		{name: "empty name", in: "a {{}}", err: "line 1: unknown placeholder {{}}"},
		{name: "unterminated", in: "a\nb {{id\n}}", err: "line 2: unterminated placeholder"},
		{name: "unterminated at end", in: "a {{id", err: "line 1: unterminated placeholder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := expandPlaceholders([]byte(tc.in), vars)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestMigrateRejectsUnknownPlaceholder checks that Migrate fails on an
// unknown placeholder with an error naming the file, and applies nothing,
// not even the good migrations before the bad one.
func TestMigrateRejectsUnknownPlaceholder(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src := fstest.MapFS{
		"00001_good.sql": {Data: []byte("-- +goose Up\nCREATE TABLE good (id {{id}});\n")},
		"00002_bad.sql":  {Data: []byte("-- +goose Up\nCREATE TABLE bad (id {{id}}, b {{blob}});\n")},
	}
	err = s.migrate(ctx, src)
	want := "store: migration 00002_bad.sql for sqlite: line 2: unknown placeholder {{blob}} (the dialect defines bytes, id, refresh_family_down, refresh_family_up, users_search_down, users_search_up)"
	if err == nil || err.Error() != want {
		t.Fatalf("migrate: %v\nwant: %s", err, want)
	}
	var n int
	if err := s.db.QueryRow("SELECT COUNT(*) FROM sqlite_master").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d schema objects after a failed migrate, want none", n)
	}
}

// TestMigrationsExpandToPerDialectFiles checks that, for every dialect, the
// unified files expand to the per-dialect files they replaced byte for
// byte, so that no released migration changed its text.
func TestMigrationsExpandToPerDialectFiles(t *testing.T) {
	src, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []dialect{sqliteDialect, postgresDialect} {
		t.Run(d.name, func(t *testing.T) {
			fsys, err := expandMigrations(src, d)
			if err != nil {
				t.Fatal(err)
			}
			old := filepath.Join("testdata", "migrations-per-dialect", d.name)
			entries, err := os.ReadDir(old)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) == 0 {
				t.Fatalf("no files in %s", old)
			}
			for _, e := range entries {
				want, err := os.ReadFile(filepath.Join(old, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				got, err := fs.ReadFile(fsys, e.Name())
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != string(want) {
					t.Errorf("%s expands to\n%s\nwant\n%s", e.Name(), got, want)
				}
				if info, err := fs.Stat(fsys, e.Name()); err != nil || info.Size() != int64(len(got)) {
					t.Errorf("%s: Stat %v, %v; want size %d", e.Name(), info, err, len(got))
				}
			}
		})
	}
}
