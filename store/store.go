// Package store keeps gatehouse's data in SQLite (embedded, the default) or
// PostgreSQL behind one set of methods. The two backends share the SQL; what
// differs between them sits in the dialect table below. Every
// read-modify-write runs in one transaction.
package store

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/startwait"

	// registers the "mysql" database/sql driver, which only djangodb uses:
	// gatehouse import reads a Django project's MySQL or MariaDB database.
	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// migrations is the one migration set of every backend. A file may name
// {{placeholders}} that Migrate fills in from the dialect's schema table.
//
//go:embed migrations/*.sql
var migrations embed.FS

// dialect is everything that differs between the backends.
type dialect struct {
	name       string
	driver     string
	goose      goose.Dialect
	dollar     bool // placeholders are $1, $2 instead of ?
	isConflict func(error) bool
	// isUnavailable reports errors that say "not now" rather than "wrong":
	// a locked, full or read-only database, a lost connection. The store
	// turns them into EUNAVAILABLE, which clients see as 503 with
	// Retry-After instead of a 500.
	isUnavailable func(error) bool
	// afterExplicitIDs realigns id sequences after rows were inserted with
	// their own primary keys (loaddata).
	afterExplicitIDs func(table string) string
	// likeCol is the column as UserFilter.Search's LIKE compares it with
	// the lowered term: SQLite's LIKE ignores ASCII case itself (lowering
	// each value first made a scan of a million users 2.5 times slower),
	// PostgreSQL's does not.
	likeCol func(col string) string
	// schema fills the migrations' placeholders: {{name}} becomes
	// schema[name]. The column types that differ are named here once, so
	// that the migration files are shared.
	schema map[string]string
}

var sqliteDialect = dialect{
	name:   "sqlite",
	driver: "sqlite",
	goose:  goose.DialectSQLite3,
	isConflict: func(err error) bool {
		return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
	},
	isUnavailable: func(err error) bool {
		var se interface{ Code() int }
		if !errors.As(err, &se) {
			return false
		}
		switch se.Code() & 0xff { // the primary result code
		case 5, 6, 8, 10, 13, 14: // BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN
			return true
		}
		return false
	},
	afterExplicitIDs: func(string) string { return "" }, // AUTOINCREMENT follows the largest id
	likeCol:          func(col string) string { return col },
	schema: map[string]string{
		// AUTOINCREMENT: ids of deleted rows are never handed out again,
		// as with PostgreSQL's sequences.
		"id":                  "INTEGER PRIMARY KEY AUTOINCREMENT",
		"bytes":               "BLOB",
		"users_search_up":     sqliteUserSearchUp,
		"users_search_down":   sqliteUserSearchDown,
		"refresh_family_up":   sqliteRefreshFamilyUp,
		"refresh_family_down": sqliteRefreshFamilyDown,
	},
}

var postgresDialect = dialect{
	name:   "postgres",
	driver: "pgx",
	goose:  goose.DialectPostgres,
	dollar: true,
	isConflict: func(err error) bool {
		var pe *pgconn.PgError
		return errors.As(err, &pe) && pe.Code == "23505"
	},
	isUnavailable: func(err error) bool {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			// Connection exceptions, insufficient resources (disk full, too
			// many connections), operator intervention (shutdown, a
			// statement cancelled or past the statement_timeout an operator
			// set), a lock not had within lock_timeout, a read-only
			// transaction (a standby), and the transaction rollbacks that
			// a retry resolves (serialization failure, deadlock, completion
			// unknown).
			switch pe.Code {
			case "57014", "55P03", "25006", "40001", "40P01", "40003":
				return true
			}
			return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "53") ||
				strings.HasPrefix(pe.Code, "57P")
		}
		var ce *pgconn.ConnectError
		// database/sql's own words for a session that ended under it (a
		// terminated backend, a cut connection), as the migration tool
		// passes them on.
		return errors.As(err, &ce) || pgconn.SafeToRetry(err) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone)
	},
	afterExplicitIDs: func(table string) string {
		return fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%s', 'id'), COALESCE((SELECT MAX(id) FROM %s), 0) + 1, false)", table, table)
	},
	likeCol: func(col string) string { return "LOWER(" + col + ")" },
	schema: map[string]string{
		"id":                  "BIGSERIAL PRIMARY KEY",
		"bytes":               "BYTEA",
		"users_search_up":     postgresUserSearchUp,
		"users_search_down":   postgresUserSearchDown,
		"refresh_family_up":   postgresRefreshFamily,
		"refresh_family_down": postgresRefreshFamily,
	},
}

// The store implements the whole storage contract.
var _ gatehouse.Store = (*Store)(nil)

// Option adjusts a Store at Open.
type Option func(*Store)

// WithLogger sets where the store reports what it finds wrong while
// running (a deleted WAL); the default discards it.
func WithLogger(l *slog.Logger) Option {
	return func(s *Store) {
		if l != nil {
			s.log = l
		}
	}
}

// WithClock sets the clock that stamps rows whose creation time the caller
// left zero (a user's date_joined, a token's created); the default is
// time.Now. Every other time comes from the caller.
func WithClock(now func() time.Time) Option {
	return func(s *Store) {
		if now != nil {
			s.now = now
		}
	}
}

// WithConnectWait sets how long Open waits for a PostgreSQL server that
// does not accept connections yet (starting up, shutting down, too many
// connections, not reachable), trying again with growing pauses; a refusal
// that waiting does not cure (a wrong password, a database that does not
// exist) fails at once. The default, 0, fails at the first refusal.
func WithConnectWait(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.connectWait = d
		}
	}
}

// Store is a handle on the database; safe for concurrent use.
type Store struct {
	health      health
	connectWait time.Duration // Open's wait for PostgreSQL (WithConnectWait)
	log         *slog.Logger
	closeOnce   sync.Once
	closeErr    error
	now         func() time.Time
	db          *sql.DB
	d           dialect
	queries     sync.Map // query text with ? -> text for this dialect
	stmts       sync.Map // query text with ? -> *sql.Stmt (hot paths only)
	preparing   sync.Map // queries a goroutine is preparing for stmts
	// prep tracks those goroutines, which Close waits for: one still
	// preparing holds a connection, whose SQLite files it would open or
	// delete after Close returned. prepClosed (under prepMu) starts no
	// more once Close began.
	prep       sync.WaitGroup
	prepMu     sync.Mutex
	prepClosed bool
	access     *accessWriter // groups lone access-token inserts
	groups     *txGroups     // groups refresh-token rotations
	writes     writeGate     // SQLite: one write at a time, queued in Go

	walPath     string        // SQLite: the WAL file that checkpoints copies back
	checkpoints *checkpointer // SQLite: the background checkpoint

	// setWrite, for tests, runs a rotation set's write (write) and
	// returns its error: it may act between the set's read and its write,
	// or stand for a reply lost after the write committed.
	setWrite func(write func() error) error
	// groupCommitted, for tests, runs after a rotation writer's group
	// transaction committed; its error stands for a reply to the COMMIT
	// lost after the commit.
	groupCommitted func() error
	// accessGroupDone, for tests, runs after a group of lone access tokens
	// was stored; its error stands for the statement's reply lost after
	// it committed.
	accessGroupDone func() error
	// setCheck, for tests, runs the read after a failed set write of
	// whether it committed all the same (check), and returns its error.
	setCheck func(check func() error) error
	// prepareHook, for tests, runs first in each background preparation.
	prepareHook func()
}

// runSetWrite runs a rotation set's write statement (write).
func (s *Store) runSetWrite(write func() error) error {
	if s.setWrite != nil {
		return s.setWrite(write)
	}
	return write()
}

// setCheckTimeout bounds the read of whether a failed set write committed:
// it runs after the group's own context ended (the write was stopped at
// the group's end), so it has a context of its own (checkContext).
const setCheckTimeout = 5 * time.Second

// checkContext is the context of that read: ctx's values, not its end.
func checkContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), setCheckTimeout)
}

// checkSetWrite reads, in a new session (again), whether a set write that
// failed committed all the same (read); the test hook setCheck may stand
// in for it.
func (s *Store) checkSetWrite(again func() (querier, error), read func(querier) error) error {
	check := func() error {
		q, err := again()
		if err != nil {
			return err
		}
		return read(q)
	}
	if s.setCheck != nil {
		return s.setCheck(check)
	}
	return check()
}

// IsPostgres reports whether url names a PostgreSQL database.
func IsPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// Open connects to url: a postgres:// URL, or a SQLite file path (optionally
// prefixed "sqlite:" or "sqlite://"). It does not migrate.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	var s *Store
	if IsPostgres(url) {
		db, err := openPostgres(url)
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(32)
		db.SetMaxIdleConns(32)
		db.SetConnMaxIdleTime(5 * time.Minute)
		s = &Store{db: db, d: postgresDialect}
	} else {
		path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite://"), "sqlite:")
		if path == "" {
			return nil, errors.New("store: empty SQLite path")
		}
		if err := checkWritable(path); err != nil {
			return nil, err
		}
		_, statErr := os.Stat(path)
		created := errors.Is(statErr, os.ErrNotExist)
		// Escape what a file: URI would read as query or fragment.
		escaped := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
		dsn := "file:" + escaped + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)" +
			fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)&_pragma=journal_size_limit(%d)&_txlock=immediate", autocheckpointMax, walLimit)
		db, err := sql.Open(sqliteDialect.driver, dsn)
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
		if created {
			// SQLite creates the file with the process's umask (often 0644):
			// it holds password hashes and sealed keys, so only its owner
			// reads it. Its WAL and index take the same mode.
			if err := db.PingContext(ctx); err != nil {
				db.Close()
				return nil, fmt.Errorf("store: create %s: %w", path, err)
			}
			if err := os.Chmod(path, 0o600); err != nil {
				db.Close()
				return nil, fmt.Errorf("store: %w", err)
			}
		}
		s = &Store{db: db, d: sqliteDialect, walPath: path + "-wal", writes: make(writeGate, 1)}
	}
	s.now = time.Now
	s.log = slog.New(slog.DiscardHandler)
	for _, o := range opts {
		o(s)
	}
	if err := s.connect(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	s.access = newAccessWriter(s)
	s.groups = newTxGroups(s, groupWriters(s.d.name))
	if s.walPath != "" {
		s.checkpoints = s.startCheckpointer(s.walPath)
	}
	return s, nil
}

// connect checks that the database answers. On PostgreSQL a refusal that
// a server coming up gives (startingUp) is tried again, after pauses from
// a quarter of a second doubling to two seconds, until s.connectWait has
// passed; each is logged as a warning.
func (s *Store) connect(ctx context.Context) error {
	pauses := startwait.Until(time.Now().Add(s.connectWait))
	for attempt := 1; ; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := s.db.PingContext(pctx)
		cancel()
		if err == nil {
			return nil
		}
		if s.d.name != postgresDialect.name || !startingUp(err) || !pauses.Due() {
			return fmt.Errorf("store: connect %s: %w", s.d.name, err)
		}
		s.log.Warn("PostgreSQL does not accept connections yet; trying again", "attempt", attempt,
			"retry_in", pauses.Next().String(), "gives_up_at", pauses.Deadline().Format(time.RFC3339), "error", err.Error())
		if !pauses.Wait(ctx) {
			return fmt.Errorf("store: connect %s: %w", s.d.name, err)
		}
	}
}

// startingUp reports whether a PostgreSQL connection failed as it does
// while the server (or the network to it) is coming up: no answer, a
// refused or cut connection, a name not resolved yet, or the server's
// cannot_connect_now (starting up, shutting down, in recovery),
// too_many_connections or a connection exception. An error the server
// gives for the login itself (a wrong password, no such database or
// role) is not.
func startingUp(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// 57P01/57P02: the session was ended (an administrator, a
		// restart) as it was being checked.
		return pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || pe.Code == "53300" || strings.HasPrefix(pe.Code, "08")
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	// driver.ErrBadConn: database/sql's word for a session cut under it.
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, driver.ErrBadConn)
}

// Dialect names the backend: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// Close stops the background work and releases the prepared statements
// and the connections; later calls do nothing and return the first result.
func (s *Store) Close() (err error) {
	defer s.classified(&err)
	s.closeOnce.Do(func() {
		if s.access != nil {
			s.access.close()
		}
		if s.groups != nil {
			s.groups.close()
		}
		if s.checkpoints != nil {
			s.checkpoints.close()
		}
		s.prepMu.Lock()
		s.prepClosed = true
		s.prepMu.Unlock()
		s.prep.Wait()
		s.stmts.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) (err error) {
	defer s.classified(&err)
	return s.db.PingContext(ctx)
}

// Migrate applies the embedded migrations with the dialect's placeholders
// filled in. A placeholder the dialect does not define is an error, and then
// no migration is applied. On PostgreSQL it holds an advisory lock, so
// replicas starting together do not race.
func (s *Store) Migrate(ctx context.Context) (err error) {
	defer s.classified(&err)
	src, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	return s.migrate(ctx, src)
}

// migrate applies the migration files in src.
//
// goose reads the expanded text through an fs.FS rather than as Go
// migrations: it keeps parsing the files (annotations, statement splitting,
// Down sections) and taking versions from their names exactly as it did
// when each backend had a directory of its own, so databases migrated then
// are at the same versions now. goose's own ENVSUB is no substitute: it
// reads the process environment and turns an unknown name into "".
func (s *Store) migrate(ctx context.Context, src fs.FS) error {
	fsys, err := expandMigrations(src, s.d)
	if err != nil {
		return err
	}
	var opts []goose.ProviderOption
	if s.d.dollar {
		opts = append(opts, goose.WithSessionLocker(blockingLocker{id: lock.DefaultLockID, log: s.log}))
	}
	p, err := goose.NewProvider(s.d.goose, s.db, fsys, opts...)
	if err != nil {
		return err
	}
	results, err := p.Up(ctx)
	for _, r := range results {
		if r.Error == nil {
			s.log.Info("migration applied", "version", r.Source.Version, "file", path.Base(r.Source.Path), "took", r.Duration.String())
		}
	}
	return err
}

// expandMigrations returns src with every *.sql file's placeholders filled
// in from d.schema. It expands all files before goose sees any, so that a
// bad placeholder in a later migration fails before an earlier one runs.
func expandMigrations(src fs.FS, d dialect) (fs.FS, error) {
	names, err := fs.Glob(src, "*.sql")
	if err != nil {
		return nil, err
	}
	files := make(map[string][]byte, len(names))
	for _, name := range names {
		text, err := fs.ReadFile(src, name)
		if err != nil {
			return nil, err
		}
		if files[name], err = expandPlaceholders(text, d.schema); err != nil {
			return nil, fmt.Errorf("store: migration %s for %s: %w", name, d.name, err)
		}
	}
	return expandedFS{src: src, files: files}, nil
}

// expandPlaceholders replaces each {{name}} in text with vars[name]. Every
// "{{" opens a placeholder, even in an SQL comment or string: a name not in
// vars, or a "{{" without "}}" on the same line, is an error naming the line.
func expandPlaceholders(text []byte, vars map[string]string) ([]byte, error) {
	var out bytes.Buffer
	line := 1
	for {
		i := bytes.Index(text, []byte("{{"))
		if i < 0 {
			out.Write(text)
			return out.Bytes(), nil
		}
		line += bytes.Count(text[:i], []byte("\n"))
		out.Write(text[:i])
		rest := text[i+2:]
		j := bytes.Index(rest, []byte("}}"))
		if j < 0 || bytes.IndexByte(rest[:j], '\n') >= 0 {
			return nil, fmt.Errorf("line %d: unterminated placeholder: \"{{\" without \"}}\"", line)
		}
		name := string(rest[:j])
		v, ok := vars[name]
		if !ok {
			return nil, fmt.Errorf("line %d: unknown placeholder {{%s}} (the dialect defines %s)",
				line, name, strings.Join(slices.Sorted(maps.Keys(vars)), ", "))
		}
		out.WriteString(v)
		text = rest[j+2:]
	}
}

// expandedFS serves the expanded text in place of the files of the same
// name. Everything else, the directory that goose globs included, comes
// from src.
type expandedFS struct {
	src   fs.FS
	files map[string][]byte
}

func (f expandedFS) Open(name string) (fs.File, error) {
	text, ok := f.files[name]
	if !ok {
		return f.src.Open(name)
	}
	info, err := fs.Stat(f.src, name)
	if err != nil {
		return nil, err
	}
	return expandedFile{Reader: bytes.NewReader(text), info: sizedInfo{info, int64(len(text))}}, nil
}

type expandedFile struct {
	*bytes.Reader
	info fs.FileInfo
}

func (f expandedFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f expandedFile) Close() error               { return nil }

// sizedInfo is the source file's FileInfo with the expanded size.
type sizedInfo struct {
	fs.FileInfo
	size int64
}

func (i sizedInfo) Size() int64 { return i.size }

// q returns query rewritten for the dialect's placeholders, kept for the
// next call: for statement texts of a fixed set. A text that varies with
// its input (an IN list, a multi-row VALUES) goes through qVarying.
func (s *Store) q(query string) string {
	if !s.d.dollar {
		return query
	}
	if v, ok := s.queries.Load(query); ok {
		return v.(string)
	}
	out := s.qVarying(query)
	s.queries.Store(query, out)
	return out
}

// qVarying returns query rewritten for the dialect's placeholders without
// keeping it: q's texts stay for the life of the process.
func (s *Store) qVarying(query string) string {
	if !s.d.dollar {
		return query
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// prepared returns query (written with ?) prepared once for this Store.
// modernc.org/sqlite parses every statement it is given anew, which was a
// quarter of the CPU of an introspection (docs/performance.md); a prepared
// statement is parsed once per connection. Used on the per-request paths.
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if v, ok := s.stmts.Load(query); ok {
		return v.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, s.q(query))
	if err != nil {
		return nil, err
	}
	if v, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return v.(*sql.Stmt), nil
	}
	return st, nil
}

// queryRow runs a single-row query, prepared once for the pool, inside tx
// when tx is not nil.
//
// Inside a transaction nothing may take a second connection from the pool
// while tx holds one: preparing the statement the first time (which
// db.PrepareContext does on a pool connection) deadlocked a freshly
// started process under concurrent OAuth writes — SQLite stalled for its
// busy timeout, PostgreSQL ran out of pool (issue 13). So a statement not
// yet prepared runs unprepared on the transaction's connection while a
// goroutine prepares it for the pool, outside the transaction; one already
// prepared is rebound to the transaction (StmtContext prepares it there,
// on the same connection, if needed).
func (s *Store) queryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if tx != nil {
		if st := s.stmtIn(ctx, tx, query); st != nil {
			return st.QueryRowContext(ctx, args...)
		}
		return tx.QueryRowContext(ctx, s.q(query), args...)
	}
	st, err := s.prepared(ctx, query)
	if err != nil {
		// QueryRow reports the error from Scan; an unprepared query fails the same way.
		return s.db.QueryRowContext(ctx, s.q(query), args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// execTx runs a write inside tx, prepared once for the pool as queryRow's
// queries are: the statements of the grouped write transactions (refresh
// rotations), where parsing each statement anew was a quarter of the
// writer's time on SQLite.
func (s *Store) execTx(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := s.stmtIn(ctx, tx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, s.q(query), args...)
}

// stmtIn is query's prepared statement rebound to tx, or nil when it is not
// prepared yet; then a goroutine prepares it for the pool, outside the
// transaction (queryRow says why), and the caller runs it unprepared.
func (s *Store) stmtIn(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	if v, ok := s.stmts.Load(query); ok {
		return tx.StmtContext(ctx, v.(*sql.Stmt))
	}
	if _, started := s.preparing.LoadOrStore(query, true); !started {
		s.prepMu.Lock()
		defer s.prepMu.Unlock()
		if s.prepClosed {
			return nil
		}
		s.prep.Go(func() {
			if s.prepareHook != nil {
				s.prepareHook()
			}
			pctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := s.prepared(pctx, query); err != nil {
				s.preparing.Delete(query) // try again at the next use
			}
		})
	}
	return nil
}

// tx runs fn in one transaction, committed when fn returns nil. A store
// with a fault refuses it.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.txWith(ctx, func() (*sql.Tx, error) { return s.db.BeginTx(ctx, nil) }, fn)
}

// txWith is tx with the transaction begun by begin (on a connection of
// the caller's, under a context of its own), after the write gate, which
// is waited for under ctx.
func (s *Store) txWith(ctx context.Context, begin func() (*sql.Tx, error), fn func(*sql.Tx) error) error {
	if err := s.faulted(); err != nil {
		return err
	}
	if err := s.writes.enter(ctx); err != nil {
		return err
	}
	defer s.writes.leave()
	tx, err := begin()
	if err != nil {
		return s.classify(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return s.classify(err)
	}
	return s.classify(tx.Commit())
}

// exec runs a write outside a transaction; a store with a fault refuses it.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := s.faulted(); err != nil {
		return nil, err
	}
	if err := s.writes.enter(ctx); err != nil {
		return nil, err
	}
	defer s.writes.leave()
	res, err := s.db.ExecContext(ctx, s.q(query), args...)
	return res, s.classify(err)
}

// writeGate lets one write of this process at a time into SQLite, queued
// in Go. SQLite runs one writer anyway (every transaction here begins
// IMMEDIATE); without the gate the others wait in its busy handler, which
// sleeps 1, 2, 5, 10 ... 100 ms between tries: under concurrent writes
// (refresh rotations with their audit rows) that made a p99 of 60 ms. Other
// processes on the same file (a CLI command) still meet the busy handler.
// nil (PostgreSQL) lets everything through. A transaction must not start
// another write while it holds the gate: SQLite's own lock would hold that
// one for the busy timeout anyway.
type writeGate chan struct{}

func (g writeGate) enter(ctx context.Context) error {
	if g == nil {
		return nil
	}
	select {
	case g <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g writeGate) leave() {
	if g != nil {
		<-g
	}
}

// conflict maps a unique-constraint violation to gatehouse.ErrConflict.
func (s *Store) conflict(err error) error {
	if s.d.isConflict(err) {
		return gatehouse.ErrConflict
	}
	return err
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// A user's auth_epoch is 0 when it was never set, the zero time in Go.
func epochMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromEpoch(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromMicros(v)
}

// nullString is s, or NULL for "".
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

func (s *Store) notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return gatehouse.ErrNotFound
	}
	return s.classify(err)
}

// classify turns an error that means "not now" into EUNAVAILABLE, and one
// about the data given (PostgreSQL's data exceptions: a NUL or invalid
// UTF-8 in text, a value too long) into EINVALID: the callers validate
// their input, this is the net under them, so that no such input is a 500.
func (s *Store) classify(err error) error {
	if err == nil || gatehouse.ErrorCode(err) != gatehouse.EINTERNAL {
		return err
	}
	if s.d.isUnavailable(err) {
		return &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "the database cannot serve this now", Err: err}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && strings.HasPrefix(pe.Code, "22") {
		return &gatehouse.Error{Code: gatehouse.EINVALID, Message: "The request contains characters or values that cannot be stored.", Err: err}
	}
	if isForeignKeyViolation(err) {
		// A row naming a user or an application that was deleted since
		// the request read it (another replica's deletion, still in this
		// replica's cache): the credential names nothing any more.
		return &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: gatehouse.ReasonCredentialInvalid,
			Message: "what the credential names was deleted", Err: err}
	}
	return err
}

// isForeignKeyViolation reports a write refused for naming a row that does
// not exist: PostgreSQL's foreign_key_violation, SQLite's FOREIGN KEY
// constraint (787). Only the driver's error as it came (a request's
// write): one a method wrapped with what it was doing (a load naming the
// object) keeps its words.
func isForeignKeyViolation(err error) bool {
	switch e := err.(type) {
	case *pgconn.PgError:
		return e.Code == "23503"
	case interface{ Code() int }:
		return e.Code() == 787
	}
	return false
}

// classified is classify for the error result of an exported method,
// which each defers as its first statement (TestExportedErrorsClassified):
// a statement cut off by a lost connection, a locked or full database,
// whatever the path it took, reaches the caller as EUNAVAILABLE (a 503
// with Retry-After), never as an internal error. Errors already
// classified, and sql.ErrNoRows, pass unchanged.
func (s *Store) classified(err *error) { *err = s.classify(*err) }

// DB exposes the connection pool for tests and tools that inspect the data
// as stored.
func (s *Store) DB() *sql.DB { return s.db }
