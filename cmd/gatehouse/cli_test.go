package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// runIn runs gatehouse with args and stdin, returning stdout, stderr and
// the error.
func runIn(t *testing.T, env map[string]string, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"gatehouse"}, args...), getenvFrom(env), strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), err
}

// Every command refuses arguments it does not take with a usage error
// (exit 2), before it opens anything: the database is not created.
func TestExtraArgumentsAreRefused(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "gh.db")
	env := map[string]string{"GATEHOUSE_DATABASE_URL": db, "GATEHOUSE_SECRET_KEY": "test-secret-key-0123456789abcdef"}
	for _, c := range commands() {
		if c.nargs[1] < 0 {
			continue // keys, loaddata: any number, checked by the command
		}
		args := strings.Fields(c.name)
		for range c.nargs[1] + 1 {
			args = append(args, "extra-arg")
		}
		_, _, err := runIn(t, env, "", args...)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "extra-arg") {
			t.Errorf("gatehouse %s: %v (exit %d), want a usage error naming the argument", strings.Join(args, " "), err, exitCode(err))
		}
		if c.nargs[0] > 0 {
			if _, _, err := runIn(t, env, "", strings.Fields(c.name)...); err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "missing") {
				t.Errorf("gatehouse %s without its argument: %v", c.name, err)
			}
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("a refused command created the database")
	}
	for _, args := range [][]string{{"users"}, {"users", "frobnicate"}, {"users", "list", "--bogus"}, {"completion", "tcsh"}} {
		if _, _, err := runIn(t, env, "", args...); err == nil || exitCode(err) != 2 {
			t.Errorf("%q: %v", args, err)
		}
	}
}

// COMMAND --help lists the command's own flags only; serve --help the
// settings; gatehouse --help a line per command.
func TestHelpShowsOwnFlags(t *testing.T) {
	_, help, err := runIn(t, nil, "", "users", "list", "--help")
	if err != nil || !strings.Contains(help, "  -search") || strings.Contains(help, "  -database-url") || strings.Contains(help, "jwt-algorithm") ||
		!strings.Contains(help, "gatehouse serve --help lists them") || strings.Count(help, "\n") > 25 {
		t.Errorf("users list --help:\n%s", help)
	}
	_, help, _ = runIn(t, nil, "", "migrate", "--help")
	if strings.Count(help, "\n") > 8 || strings.Contains(help, "  -addr") {
		t.Errorf("migrate --help:\n%s", help)
	}
	_, help, _ = runIn(t, nil, "", "serve", "--help")
	if !strings.Contains(help, "-database-url") || !strings.Contains(help, "-jwt-algorithm") {
		t.Errorf("serve --help lacks the settings:\n%.500s", help)
	}
	out, _, _ := runIn(t, nil, "", "--help")
	for _, c := range commands() {
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(c.name) + ` +\S`).MatchString(out) {
			t.Errorf("gatehouse --help lacks %s:\n%s", c.name, out)
		}
	}
	// The older names still work.
	if _, help, err := runIn(t, nil, "", "createapplication", "--help"); err != nil || !strings.Contains(help, "usage: gatehouse applications create") {
		t.Errorf("createapplication --help: %v %s", err, help)
	}
	// gatehouse help COMMAND and a group's --help answer what was asked
	// (found by a bad-input pass: the top-level help, and an unknown
	// subcommand "--help").
	if out, _, err := runIn(t, nil, "", "users", "--help"); err != nil || !strings.Contains(out, "usage: gatehouse users SUBCOMMAND") || !strings.Contains(out, "logout-everywhere") {
		t.Errorf("users --help: %v\n%s", err, out)
	}
	if out, _, err := runIn(t, nil, "", "help", "users"); err != nil || !strings.Contains(out, "usage: gatehouse users SUBCOMMAND") {
		t.Errorf("help users: %v\n%s", err, out)
	}
	if _, help, err := runIn(t, nil, "", "help", "users", "list"); err != nil || !strings.Contains(help, "usage: gatehouse users list") {
		t.Errorf("help users list: %v\n%s", err, help)
	}
	if _, _, err := runIn(t, nil, "", "help", "bogus"); err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), `unknown command "bogus"`) {
		t.Errorf("help bogus: %v", err)
	}
}

// The users commands on both backends: list with filters and pages, show,
// deactivate (credentials end), activate, logout-everywhere, delete (with
// --yes); an unknown user is exit 1 and changes nothing; each change is in
// the audit log.
func TestUsersCommands(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			env := baseEnv(testdb.URL(t, backend))
			env["GATEHOUSE_PASSWORD"] = "a long good passphrase"
			for _, u := range []string{"ann", "bob", "cat"} {
				if _, _, err := runIn(t, env, "", "createuser", "--username", u, "--email", u+"@example.com"); err != nil {
					t.Fatal(err)
				}
			}
			if _, _, err := runIn(t, env, "", "createsuperuser", "--username", "root"); err != nil {
				t.Fatal(err)
			}
			key, _, err := runIn(t, env, "", "createtoken", "bob")
			if err != nil {
				t.Fatal(err)
			}
			out, errText, err := runIn(t, env, "", "users", "list", "--per-page", "2", "--page", "2")
			if err != nil || !strings.Contains(out, "cat") || strings.Contains(out, "ann") || !strings.Contains(errText, "page 2 of 2 (4 users)") {
				t.Errorf("list page 2: %v\n%s%s", err, out, errText)
			}
			if out, _, _ := runIn(t, env, "", "users", "list", "--staff"); !strings.Contains(out, "root") || strings.Contains(out, "ann") {
				t.Errorf("list --staff:\n%s", out)
			}
			if out, _, _ := runIn(t, env, "", "users", "list", "--search", "BO"); !strings.Contains(out, "bob@example.com") || strings.Contains(out, "ann") {
				t.Errorf("list --search:\n%s", out)
			}
			if out, _, err := runIn(t, env, "", "users", "show", "bob"); err != nil || !regexp.MustCompile(`drf_tokens\s+2`).MatchString(out) || strings.Contains(out, strings.TrimSpace(key)) {
				t.Errorf("show bob: %v\n%s", err, out)
			}
			if _, _, err := runIn(t, env, "", "users", "deactivate", "bob"); err != nil {
				t.Fatal(err)
			}
			if out, _, _ := runIn(t, env, "", "users", "list", "--active=false"); !strings.Contains(out, "bob") || strings.Contains(out, "ann") {
				t.Errorf("list --active=false:\n%s", out)
			}
			if out, _, _ := runIn(t, env, "", "users", "show", "bob"); !regexp.MustCompile(`drf_tokens\s+0`).MatchString(out) || !regexp.MustCompile(`is_active\s+false`).MatchString(out) {
				t.Errorf("bob's tokens outlived the deactivation:\n%s", out)
			}
			if _, _, err := runIn(t, env, "", "users", "activate", "bob"); err != nil {
				t.Fatal(err)
			}
			runIn(t, env, "", "createtoken", "ann")
			if _, _, err := runIn(t, env, "", "users", "logout-everywhere", "ann"); err != nil {
				t.Fatal(err)
			}
			if out, _, _ := runIn(t, env, "", "users", "show", "ann"); !regexp.MustCompile(`drf_tokens\s+0`).MatchString(out) || regexp.MustCompile(`credentials_since\s+-`).MatchString(out) {
				t.Errorf("ann after logout-everywhere:\n%s", out)
			}
			if _, _, err := runIn(t, env, "", "users", "delete", "cat"); err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "--yes") {
				t.Errorf("delete without --yes: %v", err)
			}
			if _, _, err := runIn(t, env, "", "users", "delete", "--yes", "cat"); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"users", "show", "nobody"}, {"users", "deactivate", "nobody"}, {"users", "activate", "nobody"},
				{"users", "logout-everywhere", "nobody"}, {"users", "delete", "--yes", "nobody"}} {
				if _, _, err := runIn(t, env, "", args...); err == nil || exitCode(err) != 1 || err.Error() != `user "nobody" does not exist` {
					t.Errorf("%q: %v", args, err)
				}
			}
			if _, _, err := runIn(t, env, "", "users", "list", "--per-page", "0"); err == nil || exitCode(err) != 2 {
				t.Errorf("--per-page 0: %v", err)
			}
			out, _, _ = runIn(t, env, "", "users", "list")
			if strings.Contains(out, "cat") || !strings.Contains(out, "ann") {
				t.Errorf("after delete:\n%s", out)
			}
			audit, _, err := runIn(t, env, "", "audit", "--format", "json")
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range []string{"user.deactivated", "user.activated", "user.logged_out_everywhere", "user.deleted"} {
				if !strings.Contains(audit, `"`+ev+`"`) {
					t.Errorf("no %s in the audit log", ev)
				}
			}
		})
	}
}

// backup copies a SQLite database while it is open, private; it never
// overwrites; PostgreSQL gets a pointer to pg_dump.
func TestBackup(t *testing.T) {
	dir := t.TempDir()
	env := baseEnv(filepath.Join(dir, "gh.db"))
	env["GATEHOUSE_PASSWORD"] = "a long good passphrase"
	if _, _, err := runIn(t, env, "", "createuser", "--username", "ann"); err != nil {
		t.Fatal(err)
	}
	// Never over the database's own files: the secret file's path is free
	// when the secret comes from the environment (found by a bad-input
	// pass: the copy landed there).
	for _, own := range []string{"gh.db", "gh.db.secret", "gh.db-wal"} {
		if _, _, err := runIn(t, env, "", "backup", filepath.Join(dir, own)); err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "one of the database's own files") {
			t.Errorf("backup to %s: %v", own, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "gh.db.secret")); err == nil {
		t.Error("a backup was written to the secret file's path")
	}
	copyPath := filepath.Join(dir, "backup.db")
	if out, _, err := runIn(t, env, "", "backup", copyPath); err != nil || !strings.Contains(out, "backed up") {
		t.Fatalf("%v %s", err, out)
	}
	st, err := os.Stat(copyPath)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%v %v", st, err)
	}
	// The copy is a working database with the user.
	env2 := baseEnv(copyPath)
	if out, _, err := runIn(t, env2, "", "users", "show", "ann"); err != nil || !strings.Contains(out, "ann") {
		t.Errorf("the copy: %v %s", err, out)
	}
	if _, _, err := runIn(t, env, "", "backup", copyPath); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("overwriting a backup: %v", err)
	}
	if _, _, err := runIn(t, env, "", "backup", filepath.Join(dir, "no", "such", "dir", "b.db")); err == nil {
		t.Error("a backup into a missing directory succeeded")
	}
	pg := baseEnv("postgres://postgres@127.0.0.1:1/none")
	if _, _, err := runIn(t, pg, "", "backup", copyPath+"2"); err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Errorf("PostgreSQL: %v", err)
	}
}

// loaddata - reads standard input, in the formats loaddata detects.
func TestLoaddataStdin(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			env := baseEnv(testdb.URL(t, backend))
			out, _, err := runIn(t, env, string(testdb.ReferenceDump()), "loaddata", "-")
			if err != nil || !strings.Contains(out, "loaded 3 OAuth applications") {
				t.Fatalf("%v %s", err, out)
			}
			if _, _, err := runIn(t, env, "not json", "loaddata", "-"); err == nil || !strings.Contains(err.Error(), "nothing loaded") {
				t.Errorf("bad input: %v", err)
			}
		})
	}
}

// An unknown database URL scheme and a missing directory are refused
// naming the setting, exit 1, nothing created; --database-create-dirs
// creates the directories.
func TestDatabaseURLRefusals(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ url, want string }{
		{"mysql://root@localhost/db", `GATEHOUSE_DATABASE_URL: unknown scheme "mysql"`},
		{"http://x", `GATEHOUSE_DATABASE_URL: unknown scheme "http"`},
		{filepath.Join(dir, "nonexistent", "dir", "gh.db"), "GATEHOUSE_DATABASE_URL: the directory " + filepath.Join(dir, "nonexistent", "dir") + " of the SQLite database"},
		{"sqlite:" + filepath.Join(dir, "missing", "gh.db"), "does not exist"},
		// Query options are no options: SQLite made a new file of that name.
		{"sqlite:" + filepath.Join(dir, "gh.db") + "?mode=ro", "a SQLite path with ? or #"},
		{filepath.Join(dir, "gh.db#x"), "a SQLite path with ? or #"},
	} {
		env := map[string]string{"GATEHOUSE_DATABASE_URL": tc.url}
		_, _, err := runIn(t, env, "", "migrate")
		if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %s", tc.url, err, tc.want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("created %v", entries)
	}
	if _, err := os.Stat("mysql:"); err == nil {
		t.Error("created ./mysql:")
	}
	nested := filepath.Join(dir, "a", "b", "gh.db")
	if _, _, err := runIn(t, map[string]string{"GATEHOUSE_DATABASE_URL": nested}, "", "migrate", "--database-create-dirs"); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Dir(nested)); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("created directory: %v %v", st, err)
	}
}

// A database that cannot be written stops the start with a message saying
// so, not 500s later: as root, a read-only tmpfs; otherwise file modes.
func TestReadOnlyDatabaseAtStart(t *testing.T) {
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
			t.Skipf("running as root and cannot mount a tmpfs to make read-only: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("umount", dir).Run() })
	}
	db := filepath.Join(dir, "gh.db")
	env := baseEnv(db)
	if _, _, err := runIn(t, env, "", "migrate"); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
			t.Skipf("cannot remount read-only: %v %s", err, out)
		}
	} else {
		os.Chmod(db, 0o400)
		os.Chmod(dir, 0o500)
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
	}
	_, _, err := runIn(t, env, "", "migrate")
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "not writable") {
		t.Errorf("a read-only database: %v", err)
	}
}

// completion prints a script for each shell naming the commands and
// their flags; bash parses it.
func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		out, _, err := runIn(t, nil, "", "completion", shell)
		if err != nil || !strings.Contains(out, "logout-everywhere") || !strings.Contains(out, "search") || !strings.Contains(out, "rotate") {
			t.Errorf("%s: %v\n%.300s", shell, err, out)
		}
		if shell == "bash" {
			if bash, err := exec.LookPath("bash"); err == nil {
				if b, err := exec.Command(bash, "-n", "-c", out).CombinedOutput(); err != nil {
					t.Errorf("bash -n: %v %s", err, b)
				}
			}
		}
	}
}
