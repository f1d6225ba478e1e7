package djangodb

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// A mysql:// URL becomes the driver's DSN with the session settings the
// reads rely on; what the driver would turn into a SET, or cannot parse,
// is refused saying what to give instead.
func TestMySQLDSN(t *testing.T) {
	const fixed = "loc=UTC&parseTime=true&sql_mode=%27ANSI%27&timeout=10s"
	for _, c := range []struct{ url, want string }{
		{"mysql://django:pw@db.internal:3307/app", "django:pw@tcp(db.internal:3307)/app?" + fixed},
		{"mysql://django@db/app", "django@tcp(db:3306)/app?" + fixed},
		{"mysql:///app", "tcp(127.0.0.1:3306)/app?" + fixed},
		{"mysql://django:p%40ss%2Fw%3Ard@[::1]/app", "django:p@ss/w:rd@tcp([::1]:3306)/app?" + fixed},
		{"mysql://django@/app?socket=/run/mysqld/mysqld.sock", "django@unix(/run/mysqld/mysqld.sock)/app?" + fixed},
		{"mysql://django@db/app?tls=skip-verify", "django@tcp(db:3306)/app?" + fixed + "&tls=skip-verify"},
		{"mariadb://django@db/app?tls=true", "django@tcp(db:3306)/app?" + fixed + "&tls=true"},
	} {
		u, _ := url.Parse(c.url)
		got, err := mysqlDSN(u)
		if err != nil || got != c.want {
			t.Errorf("%s: %q %v, want %q", c.url, got, err, c.want)
		}
	}
	for _, c := range []struct{ url, want string }{
		{"mysql://django:hunter2pass@db", "names no database"},
		{"mysql://django:hunter2pass@db/", "names no database"},
		{"mysql://django:hunter2pass@db/a%2Fb", "is not a database name"},
		{"mysql://dj%3Aango:hunter2pass@db/app", "user name with ':'"},
		{"mysql://django@db/app?password=hunter2pass", "in the URL's user part"},
		{"mysql://django:hunter2pass@db/app?autocommit=1", `parameter "autocommit" is not known`},
		{"mysql://django:hunter2pass@db/app?sql_mode=TRADITIONAL", `parameter "sql_mode" is not known`},
		{"mysql://django:hunter2pass@db/app?tls=maybe", "tls parameter is not valid"},
		{"mysql://django:hunter2pass@db/app?socket=", "socket parameter is not valid"},
		{"mysql://django:hunter2pass@db/app?socket=/run/x.sock", "host or its socket, not both"},
	} {
		u, _ := url.Parse(c.url)
		_, err := mysqlDSN(u)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "hunter2pass") {
			t.Errorf("%s: %v, want %q", c.url, err, c.want)
		}
		if _, err := Open(context.Background(), c.url, Options{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open %s: %v, want %q", c.url, err, c.want)
		}
	}
	// A server that does not answer: the URL shown without its password.
	_, err := Open(context.Background(), "mysql://django:hunter2pass@127.0.0.1:1/app", Options{})
	if err == nil || !strings.Contains(err.Error(), "cannot read the Django database at mysql://django@127.0.0.1:1/app") ||
		strings.Contains(err.Error(), "hunter2pass") {
		t.Errorf("unreachable: %v", err)
	}
}

// A Django project's MySQL database, made by Django itself on MySQL or
// MariaDB (testdata/django/regen.sh --mysql, the corpus's seed and clock),
// reads as the same project's SQLite file does (corpus/db.sqlite3): every
// object, field by field (booleans from tinyint, datetimes, UUIDs from
// char(32), DRF's key column, a reserved word in MySQL). The source is a
// read-only snapshot: rows written after Open are not seen, and a write in
// its transaction is refused.
func TestReadsDjangoMySQL(t *testing.T) {
	src := testdb.MySQLURL(t)
	if err := exec.Command("/usr/bin/python3", "-c", "import django, MySQLdb").Run(); err != nil && os.Geteuid() != 0 {
		if os.Getenv(testdb.EnvMySQLRequired) == "1" {
			t.Fatalf("Debian's Django and python3-mysqldb are not installed: %v", err)
		}
		t.Skipf("MySQL not tested: Debian's Django and python3-mysqldb are not installed and installing them needs root (%v)", err)
	}
	regen := filepath.Join("..", "testdata", "django", "regen.sh")
	if out, err := exec.Command("bash", regen, "--mysql", src).CombinedOutput(); err != nil {
		t.Fatalf("regen.sh --mysql: %v\n%s", err, out)
	}
	corpus := filepath.Join(t.TempDir(), "db.sqlite3")
	b, err := os.ReadFile(filepath.Join("..", "testdata", "django", "corpus", "db.sqlite3"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(corpus, b, 0o600)
	lite, err := Open(context.Background(), corpus, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	want, _ := readAll(t, lite, 1000)
	if len(want) < 100 {
		t.Fatalf("the corpus read as %d objects", len(want))
	}

	s, err := Open(context.Background(), src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// MariaDB's default collation compares the usernames without case,
	// which the MySQL source says (Django found users whatever the case
	// typed there); the other notes are SQLite's.
	notes := s.Notes()
	if len(notes) > 0 && strings.Contains(notes[len(notes)-1], "auth_user.username compares without case (collation ") {
		notes = notes[:len(notes)-1]
	} else {
		t.Errorf("no note of the case-insensitive usernames: %v", notes)
	}
	if s.Dialect() != "mysql" || len(notes) != len(lite.Notes()) {
		t.Fatalf("dialect %s, notes %v against %v", s.Dialect(), s.Notes(), lite.Notes())
	}
	var iso string
	if err := s.tx.QueryRow("SELECT @@transaction_isolation").Scan(&iso); err != nil {
		s.tx.QueryRow("SELECT @@tx_isolation").Scan(&iso) // MySQL 5.7, MariaDB before 11.1
	}
	if iso != "REPEATABLE-READ" {
		t.Fatalf("isolation %q", iso)
	}
	// Django writes a user after the snapshot's first read.
	if _, err := s.Remaining(context.Background(), s.Steps()[0], ""); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(src)
	dsn, err := mysqlDSN(u)
	if err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Exec(`INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
		VALUES (999, '!', 0, 'late', '', '', '', 0, 1, NOW())`); err != nil {
		t.Fatal(err)
	}
	got, keys := readAll(t, s, 3)
	if _, seen := got["auth.user 999"]; seen {
		t.Error("the reads did not keep to the snapshot")
	}
	if len(keys["auth_user"]) < 2 {
		t.Errorf("users not read in batches: %v", keys["auth_user"])
	}
	if len(got) != len(want) {
		t.Errorf("%d objects, want %d", len(got), len(want))
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s not read from MySQL", k)
			continue
		}
		if string(g.Fields) != string(w.Fields) {
			t.Errorf("%s:\nMySQL  %s\nSQLite %s", k, g.Fields, w.Fields)
		}
	}
	if _, err := s.tx.Exec("DELETE FROM authtoken_token"); err == nil {
		t.Fatal("the source accepted a write")
	}
}

// On a real server: an empty database is not a Django database, a wrong
// password and a missing database are refused, and no message shows the
// password.
func TestMySQLRefuses(t *testing.T) {
	empty := testdb.MySQLURL(t)
	u, _ := url.Parse(empty)
	wrong := *u
	wrong.User = url.UserPassword(u.User.Username(), "wrong-hunter2pass")
	missing := *u
	missing.User = url.UserPassword(u.User.Username(), "hunter2pass")
	missing.Path = "/gh_test_no_such_database"
	for name, c := range map[string]struct{ source, want string }{
		"not django":     {empty, "has no auth_user table: it is not a Django database"},
		"wrong password": {wrong.String(), "cannot read the Django database at " + u.Scheme + "://" + u.User.Username() + "@"},
		"no database":    {missing.String(), "cannot read the Django database at"},
		"bad port":       {"mysql://django:hunter2pass@127.0.0.1:port/app", "not a valid URL"},
	} {
		t.Run(name, func(t *testing.T) {
			expectRefused(t, c.source, c.want)
		})
	}
}
