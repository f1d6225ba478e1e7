package store_test

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/store"
)

// Where pg_trgm cannot be installed (a role without CREATE on the
// database, and the extension not there yet), migration 00019 still
// succeeds, without the search's index, and the search finds the same
// users by scanning.
func TestMigrateWithoutPgTrgm(t *testing.T) {
	base := os.Getenv(testdb.EnvPostgres)
	if base == "" {
		t.Skip("PostgreSQL only")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var b [6]byte
	rand.Read(b[:])
	name := "gh_notrgm_" + hex.EncodeToString(b[:])
	for _, q := range []string{"CREATE ROLE " + name + " LOGIN", "CREATE DATABASE " + name} {
		if _, err := admin.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		admin.Exec("DROP ROLE IF EXISTS " + name)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	owner, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	// The role owns a schema of its own and may not create extensions.
	if _, err := owner.ExecContext(ctx, "CREATE SCHEMA gh AUTHORIZATION "+name); err != nil {
		t.Fatal(err)
	}
	u.User = url.User(name)
	q := u.Query()
	q.Set("search_path", "gh")
	u.RawQuery = q.Encode()
	s, err := store.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate without pg_trgm: %v", err)
	}
	var ext, idx int
	if err := s.DB().QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM pg_extension WHERE extname = 'pg_trgm'), (SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'users_search')").Scan(&ext, &idx); err != nil {
		t.Fatal(err)
	}
	if ext != 0 || idx != 0 {
		t.Fatalf("pg_trgm installed %d, index %d: the test did not take the right away", ext, idx)
	}
	for _, name := range []string{"alice", "bob", "Carol"} {
		if err := s.CreateUser(ctx, &gatehouse.User{Username: name, Email: strings.ToLower(name) + "@example.com", Password: "!"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	users, err := s.ListUsers(ctx, gatehouse.UserFilter{Search: "CARO"}, 0, 10)
	if err != nil || len(users) != 1 || users[0].Username != "Carol" {
		t.Fatalf("search without the index: %v, %v", users, err)
	}
}

// The search's index is used where it exists: SQLite reads the FTS5 table
// for a term of three characters or more, PostgreSQL the pg_trgm index;
// each order reads its index instead of sorting.
func TestUserListPlans(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			s := testdb.Open(t, backend)
			for _, tc := range []struct {
				f     gatehouse.UserFilter
				count bool
				want  string // in the plan
			}{
				{gatehouse.UserFilter{Search: "quixote"}, true, map[string]string{"sqlite": "users_search VIRTUAL TABLE INDEX", "postgres": "Bitmap Index Scan on users_search"}[backend]},
				{gatehouse.UserFilter{Order: "-date_joined"}, false, "users_date_joined"},
				{gatehouse.UserFilter{Order: "last_login"}, false, "users_last_login"},
				{gatehouse.UserFilter{Order: "email"}, false, "users_email"},
				{gatehouse.UserFilter{Staff: new(bool)}, false, "users_staff"},
			} {
				plan, err := store.UserListPlan(ctx, s, tc.f, tc.count)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(plan, tc.want) || strings.Contains(plan, "TEMP B-TREE") || strings.Contains(plan, "Sort") {
					t.Errorf("%+v: plan does not read %s alone:\n%s", tc.f, tc.want, plan)
				}
			}
		})
	}
}
