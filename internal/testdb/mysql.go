package testdb

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
)

// EnvMySQL names the variable holding a MySQL or MariaDB server's URL
// (mysql://USER[:PASSWORD]@HOST:PORT/, a user that may create databases)
// for the tests of gatehouse import reading a Django project's MySQL
// database. gatehouse stores nothing in MySQL: it is a source only.
const EnvMySQL = "GATEHOUSE_TEST_MYSQL_URL"

// EnvMySQLRequired, set to 1, makes MySQLURL fail rather than skip when
// EnvMySQL is not set (CI sets both).
const EnvMySQLRequired = "GATEHOUSE_TEST_MYSQL_REQUIRED"

// MySQLURL returns the mysql:// URL of a new, empty database (utf8mb4) on
// the server at EnvMySQL, dropped when the test ends. Without EnvMySQL the
// test is skipped, saying so, unless EnvMySQLRequired is 1; a server that
// does not answer fails the test.
func MySQLURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvMySQL)
	if base == "" {
		if os.Getenv(EnvMySQLRequired) == "1" {
			t.Fatalf("%s=1 but %s is not set", EnvMySQLRequired, EnvMySQL)
		}
		t.Skipf("MySQL not tested: set %s (mysql://root@127.0.0.1:3306/)", EnvMySQL)
	}
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "mysql" {
		t.Fatalf("%s: want mysql://USER[:PASSWORD]@HOST:PORT/", EnvMySQL)
	}
	creds := ""
	if u.User != nil {
		creds = u.User.String()
		if p, ok := u.User.Password(); ok {
			creds = u.User.Username() + ":" + p
		}
		creds += "@"
	}
	host := u.Host
	if u.Port() == "" {
		host += ":3306"
	}
	admin, err := sql.Open("mysql", creds+"tcp("+host+")/?timeout=10s")
	if err != nil {
		t.Fatalf("mysql: %v", err)
	}
	defer admin.Close()
	var b [6]byte
	rand.Read(b[:])
	name := "gh_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4"); err != nil {
		t.Fatalf("MySQL unreachable or unusable at %s: %v", EnvMySQL, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("mysql", creds+"tcp("+host+")/?timeout=10s")
		if err == nil {
			db.Exec("DROP DATABASE " + name)
			db.Close()
		}
	})
	v := *u
	v.Path = "/" + name
	v.RawQuery = ""
	return v.String()
}
