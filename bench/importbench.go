package main

import (
	"crypto/sha1"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// The import benchmark (-import N): a Django database with N users and N
// DRF tokens, written straight into the tables Django's migrate writes
// (internal/djangotest/testdata), then `gatehouse import --from` it into a
// fresh gatehouse database, timed from the process's start to its exit,
// with its peak RSS (getrusage's ru_maxrss of the child). Every user has
// the same PBKDF2 hash, made once: what is measured is the import, which
// copies hashes and never computes one.

// importHash is a Django PBKDF2-SHA256 260000 hash (of "alicepass").
const importHash = "pbkdf2_sha256$260000$a5maCrfUqDNEHjTKmzPKIk$klFMePQvk9GBYmMwGtS6BCYb01Jaz3jM+qgN03p3jwE="

// importRun is one measured import.
type importRun struct {
	took   time.Duration
	maxRSS int64 // bytes
}

// benchImport measures the import on every backend of o, rounds times
// each (a fresh target every round, the same source), and prints a table.
func benchImport(o options, work, bin string, n, rounds int, w io.Writer) error {
	fmt.Fprintf(w, "| backend | rows (users + DRF tokens) | round | time | rows/s | peak RSS |\n|---|---|---|---|---|---|\n")
	for _, backend := range strings.Split(o.backends, ",") {
		src, dropSrc, err := databaseURL(o, work, backend)
		if err != nil {
			return err
		}
		start := time.Now()
		if err := buildDjango(backend, src, n, o.importUUID); err != nil {
			dropSrc()
			return fmt.Errorf("%s: building the Django database: %w", backend, err)
		}
		fmt.Fprintf(os.Stderr, "bench: %s: Django database with %d users and %d tokens built in %v\n", backend, n, n, time.Since(start).Round(time.Second))
		var runs []importRun
		for r := 1; r <= rounds; r++ {
			target, drop, err := databaseURL(o, work, backend)
			if err != nil {
				dropSrc()
				return err
			}
			run, err := runImportOnce(bin, src, target, o.importUUID)
			drop()
			if err != nil {
				dropSrc()
				return fmt.Errorf("%s: %w", backend, err)
			}
			runs = append(runs, run)
			rate := float64(2*n) / run.took.Seconds()
			fmt.Fprintf(w, "| %s | %d | %d | %v | %.0f | %.0f MB |\n", backend, 2*n, r, run.took.Round(100*time.Millisecond), rate, float64(run.maxRSS)/(1<<20))
		}
		dropSrc()
		if len(runs) > 1 {
			rates := make([]float64, len(runs))
			for i, r := range runs {
				rates[i] = float64(2*n) / r.took.Seconds()
			}
			sort.Float64s(rates)
			fmt.Fprintf(w, "| %s | %d | median of %d | | %.0f (%.0f–%.0f) | |\n", backend, 2*n, len(runs), rates[len(rates)/2], rates[0], rates[len(rates)-1])
		}
	}
	return nil
}

// runImportOnce runs `gatehouse import --from src` into target (naming
// buildDjango's custom user model with uuid).
func runImportOnce(bin, src, target string, uuid bool) (importRun, error) {
	args := []string{"import", "--from", src}
	if uuid {
		args = append(args, "--user-model", "accounts.User")
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "GATEHOUSE_DATABASE_URL="+target, "GATEHOUSE_SECRET_KEY=bench-secret-key-0123456789abcdef",
		"GATEHOUSE_LOG_LEVEL=error")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return importRun{}, fmt.Errorf("gatehouse import: %v\n%s", err, errb.String())
	}
	r := importRun{took: time.Since(start)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss * 1024 // kilobytes on Linux
	}
	if !strings.Contains(out.String(), "Installed ") {
		return r, fmt.Errorf("gatehouse import printed no summary:\n%s", out.String())
	}
	return r, nil
}

// buildDjango creates the Django tables at url and writes n users and n
// DRF tokens, one multi-row INSERT of chunk rows per transaction. With
// uuid the users are a custom user model's, accounts_user, keyed by UUIDs
// (uuid on PostgreSQL, 32 hex digits on SQLite, as Django stores a
// UUIDField), and there is no auth_user.
func buildDjango(backend, url string, n int, uuid bool) error {
	schema, err := os.ReadFile(filepath.Join("internal", "djangotest", "testdata", "schema."+backend+".sql"))
	if err != nil {
		return fmt.Errorf("the Django schema (run from the repository root): %w", err)
	}
	b, err := openBulk(backend, url)
	if err != nil {
		return err
	}
	defer b.close()
	if _, err := b.db.Exec(string(schema)); err != nil {
		return err
	}
	f, t, joined := "0", "1", "'2026-01-01 00:00:00.123456'"
	if b.postgres {
		f, t, joined = "false", "true", "'2026-01-01 00:00:00.123456+00'"
	}
	users, userID := "auth_user", func(i int) string { return fmt.Sprint(i) }
	if uuid {
		users, userID = "accounts_user", func(i int) string { return fmt.Sprintf("'%08x000040008000000000%06x'", i, i%(1<<24)) }
		for _, q := range uuidUserModel(b.postgres) {
			if _, err := b.db.Exec(q); err != nil {
				return err
			}
		}
	}
	err = insertRows(b.db, n, "INSERT INTO "+users+" (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES ",
		func(i int) string {
			return fmt.Sprintf("(%s, '%s', NULL, %s, 'user%07d', 'First', 'Last', 'user%07d@example.com', %s, %s, %s)", userID(i), importHash, f, i, i, f, t, joined)
		})
	if err != nil {
		return err
	}
	return insertRows(b.db, n, "INSERT INTO authtoken_token (key, created, user_id) VALUES ", func(i int) string {
		sum := sha1.Sum([]byte(fmt.Sprint("bench-drf-key-", i)))
		return fmt.Sprintf("('%s', %s, %s)", hex.EncodeToString(sum[:]), joined, userID(i))
	})
}

// uuidUserModel turns the Django schema's auth_user into accounts_user, a
// custom user model with auth.User's fields and a UUID primary key, and
// every user_id into that key's type (the tables are empty).
func uuidUserModel(postgres bool) []string {
	if postgres {
		qs := []string{"DROP TABLE auth_user CASCADE",
			"CREATE TABLE accounts_user (id uuid PRIMARY KEY, password varchar(128) NOT NULL, last_login timestamptz NULL, is_superuser boolean NOT NULL, " +
				"username varchar(150) NOT NULL UNIQUE, first_name varchar(150) NOT NULL, last_name varchar(150) NOT NULL, email varchar(254) NOT NULL, " +
				"is_staff boolean NOT NULL, is_active boolean NOT NULL, date_joined timestamptz NOT NULL)",
		}
		for _, t := range []string{"auth_user_groups", "auth_user_user_permissions", "authtoken_token", "knox_authtoken", "token_blacklist_outstandingtoken",
			"oauth2_provider_application", "oauth2_provider_grant", "oauth2_provider_idtoken", "oauth2_provider_accesstoken", "oauth2_provider_refreshtoken"} {
			qs = append(qs, "ALTER TABLE "+t+" ALTER COLUMN user_id TYPE uuid USING NULL")
		}
		return qs
	}
	// SQLite: the tokens' user_id as Django declares a key to a
	// UUIDField, char(32), so that a UUID of decimal digits alone stays
	// text rather than becoming a number by the column's affinity.
	return []string{"DROP TABLE auth_user", "DROP TABLE authtoken_token",
		"CREATE TABLE accounts_user (id char(32) NOT NULL PRIMARY KEY, password varchar(128) NOT NULL, last_login datetime NULL, is_superuser bool NOT NULL, " +
			"username varchar(150) NOT NULL UNIQUE, first_name varchar(150) NOT NULL, last_name varchar(150) NOT NULL, email varchar(254) NOT NULL, " +
			"is_staff bool NOT NULL, is_active bool NOT NULL, date_joined datetime NOT NULL)",
		`CREATE TABLE "authtoken_token" ("key" varchar(40) NOT NULL PRIMARY KEY, "created" datetime NOT NULL, "user_id" char(32) NOT NULL UNIQUE REFERENCES "accounts_user" ("id"))`}
}

// insertRows writes rows 1..n: head is "INSERT INTO t (cols) VALUES ",
// row(i) one parenthesised tuple.
func insertRows(db *sql.DB, n int, head string, row func(i int) string) error {
	var sb strings.Builder
	for done := 0; done < n; {
		k := min(chunk, n-done)
		sb.Reset()
		sb.WriteString(head)
		for j := 1; j <= k; j++ {
			if j > 1 {
				sb.WriteByte(',')
			}
			sb.WriteString(row(done + j))
		}
		if _, err := db.Exec(sb.String()); err != nil {
			return err
		}
		done += k
	}
	return nil
}
