package site

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	neturl "net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/gatehouse-auth/gatehouse/store"
)

// urlScheme matches the scheme of a URL ("mysql:", "http:"); a SQLite
// path has none, or sqlite:.
var urlScheme = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*):`)

// checkDatabaseURL refuses, before anything is opened or created, a
// database URL of a scheme gatehouse does not speak and a SQLite path whose
// directory does not exist (created, mode 0700, only with
// GATEHOUSE_DATABASE_CREATE_DIRS): only the database file itself, and the
// secret file beside it, are ever created.
func checkDatabaseURL(url string, createDirs bool) error {
	// None of these messages shows the value: it may hold a password.
	if strings.TrimSpace(url) != url {
		return errors.New("GATEHOUSE_DATABASE_URL: the value starts or ends with a space: remove it")
	}
	if isPostgres(url) {
		if u, err := neturl.Parse(url); err == nil && u.Host == "" && strings.Trim(u.Path, "/") == "" && u.RawQuery == "" {
			return errors.New("GATEHOUSE_DATABASE_URL: the postgres:// URL names no host and no database " +
				"(PostgreSQL's defaults would pick them): write postgres://USER@HOST:PORT/DATABASE")
		}
		return nil
	}
	if keywordDSN.MatchString(url) {
		return errors.New("GATEHOUSE_DATABASE_URL: a PostgreSQL keyword=value connection string is not read (it would be taken " +
			"for a SQLite file name): write it as a postgres://USER@HOST:PORT/DATABASE URL")
	}
	if m := urlScheme.FindStringSubmatch(url); m != nil && m[1] != "sqlite" {
		return fmt.Errorf("GATEHOUSE_DATABASE_URL: unknown scheme %q: want a SQLite file path (or sqlite:PATH) or a postgres:// URL", m[1])
	}
	path := sqlitePath(url)
	if path == "" {
		return errors.New("GATEHOUSE_DATABASE_URL: empty SQLite path")
	}
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		return errors.New("GATEHOUSE_DATABASE_URL: an in-memory SQLite database or a file: URI is not read (the data would be gone at exit, or options ignored): name the database file")
	}
	if strings.ContainsAny(path, "?#") {
		// Not options: SQLite would make a file of that very name, a new
		// empty database (found by a bad-input pass: ?mode=ro).
		return errors.New("GATEHOUSE_DATABASE_URL: a SQLite path with ? or # (query options such as ?mode=ro) is not read: " +
			"gatehouse sets SQLite's options itself; name the file alone")
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist) && createDirs:
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("GATEHOUSE_DATABASE_CREATE_DIRS: creating %s: %w", dir, err)
		}
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return noDirError{fmt.Errorf("GATEHOUSE_DATABASE_URL: the directory %s of the SQLite database %s does not exist: create it "+
			"(gatehouse creates only the database file), or set GATEHOUSE_DATABASE_CREATE_DIRS=true", dir, path)}
	case err != nil:
		return fmt.Errorf("GATEHOUSE_DATABASE_URL: %w", err)
	case !st.IsDir():
		return fmt.Errorf("GATEHOUSE_DATABASE_URL: %s, the directory of the SQLite database, is not a directory", dir)
	}
	return nil
}

// keywordDSN matches the start of PostgreSQL's keyword=value form
// ("host=db user=app ...").
var keywordDSN = regexp.MustCompile(`^[A-Za-z_]+[ \t]*=`)

// probeWrite writes the store's readiness row once, so that a database
// that answers but cannot take a write (a read-only file or filesystem, a
// full disk, a read-only PostgreSQL replica or role) stops the start
// with a clear message instead of failing the first sign-up.
func probeWrite(ctx context.Context, st *store.Store) error {
	if err := st.Ready(ctx); err != nil {
		msg := err.Error()
		msg = strings.TrimPrefix(msg, "store: ")
		return fmt.Errorf("GATEHOUSE_DATABASE_URL: the %s database cannot be written (%s): check the file's and its directory's "+
			"permissions, free disk space, or the PostgreSQL role and server (not a read-only replica)", st.Dialect(), msg)
	}
	return nil
}

// IsPostgres reports whether url names a PostgreSQL database (else it is
// a SQLite file).
func IsPostgres(url string) bool { return isPostgres(url) }

// noDirError is checkDatabaseURL's refusal of a SQLite database whose
// directory does not exist (one a start with create-dirs would make).
type noDirError struct{ error }

func (e noDirError) Unwrap() error { return e.error }
