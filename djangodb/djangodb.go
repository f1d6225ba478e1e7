// Package djangodb reads a Django project's database (PostgreSQL, MySQL or
// MariaDB, or a SQLite file) directly and gives its rows as the objects Django's dumpdata
// would write for them (fixture.Object: the same model labels, field names,
// datetimes and primary keys), so that the fixture package's converter,
// and nothing else, turns them into gatehouse's records.
//
// A Source is opened read-only inside one read-only transaction: on
// PostgreSQL REPEATABLE READ, a consistent snapshot while a live Django
// keeps writing; on MySQL and MariaDB a REPEATABLE READ transaction too
// (InnoDB's consistent snapshot, taken at the first read); on SQLite a
// read transaction (a snapshot in WAL mode; in
// Django's default rollback-journal mode it holds a shared lock, and
// Django's writes fail with "database is locked" until it ends). Tables
// are read in batches in key order (keyset pagination), never whole.
package djangodb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	// The database drivers are registered by the store package, imported
	// for that alone: only store imports a driver (internal/archtest).
	_ "github.com/gatehouse-auth/gatehouse/store"
)

// Source is an open Django database.
type Source struct {
	db      *sql.DB
	tx      *sql.Tx
	dialect string         // "sqlite", "postgres" or "mysql"
	zone    *time.Location // Options.TimeZone
	name    string
	steps   []Step
	notes   []string
	users   *table // auth_user, or the table of a custom user model
	// userFound: users is a custom user model found by its columns.
	userFound bool
	plan      []*table // the passes, plan with users in its place
	// columns present, by table; a table absent has no entry.
	columns map[string]map[string]bool
	// read are the columns of every table looked at, by table (an
	// absent table: an empty set), so that each is asked for once.
	read map[string]map[string]bool
	// usernameField is Options.UsernameField.
	usernameField string
}

// Step is one pass of an import: the rows of one table in the order of
// its key, with the rows that hang on them (many-to-many lists, and the
// attached rows of another table).
type Step struct {
	// Table is the table the pass reads; it names the pass's progress.
	Table string
	// Models are the models of the objects the pass gives.
	Models []string
	// Absent says why the pass reads nothing (its table is not in the
	// source); empty when it reads.
	Absent string
	t      *table
	// cols, m2m and attach are the parts of t the source has.
	cols   []column
	m2m    []m2m
	attach *attached
	acols  []column
}

// Options are how a project's tables differ from Django's own.
type Options struct {
	// UserModel is the project's AUTH_USER_MODEL ("accounts.User"); ""
	// or "auth.User" means Django's auth_user.
	UserModel string
	// UserTable is that model's table when its Meta.db_table names one;
	// "" means Django's name for it (app_label_model).
	UserTable string
	// OAuthModels are the project's own models that stand for Django
	// OAuth Toolkit's swappable ones, by DOT's label
	// ("oauth2_provider.application": "clients.Application"): their tables
	// (app_label_model) are read instead of DOT's, their objects given
	// the project's label.
	OAuthModels map[string]string
	// UsernameField is the user model's USERNAME_FIELD (GATEHOUSE_USERNAME_FIELD);
	// "" means username, or email for a model without one, as the
	// converter chooses. A user model whose primary key is not an integer
	// (a UUID) is referred to by it (userKeys).
	UsernameField string
	// TimeZone is the project's TIME_ZONE when its USE_TZ is False: SQLite
	// and MySQL then hold that zone's wall-clock times, which are read as
	// such. nil: UTC, as Django stores them with USE_TZ on. PostgreSQL's
	// columns hold instants either way (Django sets the session's zone).
	TimeZone *time.Location
}

// Open opens the Django database at source: a postgres:// (or
// postgresql://) URL, a mysql:// URL (MySQL or MariaDB), or the path of a
// SQLite file (optionally prefixed "sqlite:"), read-only, and checks that it holds the users' table
// (auth_user, or o's) and that each table it reads has the columns
// gatehouse needs. Errors say what is wrong and never show a password.
func Open(ctx context.Context, source string, o Options) (*Source, error) {
	s := &Source{columns: map[string]map[string]bool{}, usernameField: strings.TrimSpace(o.UsernameField), zone: o.TimeZone}
	var err error
	if s.users, err = userTable(o); err != nil {
		return nil, err
	}
	// The flags are checked before anything is read.
	if _, err := oauthTables(o); err != nil {
		return nil, err
	}
	switch {
	case strings.HasPrefix(source, "postgres://") || strings.HasPrefix(source, "postgresql://"):
		err = s.openPostgres(ctx, source)
	case strings.HasPrefix(source, "mysql://") || strings.HasPrefix(source, "mariadb://"):
		err = s.openMySQL(ctx, source)
	case strings.Contains(source, "://") && !strings.HasPrefix(source, "sqlite://"):
		scheme, _, _ := strings.Cut(source, "://")
		return nil, fmt.Errorf("djangodb: %s:// databases are not read; give a postgres:// or mysql:// URL or the path of a SQLite file, "+
			"or dump the data with python manage.py dumpdata and use gatehouse loaddata", scheme)
	default:
		err = s.openSQLite(ctx, strings.TrimPrefix(strings.TrimPrefix(source, "sqlite://"), "sqlite:"))
	}
	if err != nil {
		return nil, err
	}
	if err := s.planFor(ctx, o); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.inspect(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// planFor sets the passes for o, with the project's own DOT models that
// detectOAuthModels finds added to those o names.
func (s *Source) planFor(ctx context.Context, o Options) error {
	if err := s.detectUserModel(ctx, o); err != nil {
		return err
	}
	found, err := s.detectOAuthModels(ctx, o)
	if err != nil {
		return err
	}
	if len(found) > 0 {
		named := map[string]string{}
		for dot, label := range o.OAuthModels {
			named[dot] = label
		}
		for dot, label := range found {
			named[dot] = label
		}
		o.OAuthModels = named
	}
	swapped, err := oauthTables(o)
	if err != nil {
		return err
	}
	for _, t := range plan {
		if t == users {
			t = s.users
		}
		if sw := swapped[t]; sw != nil {
			t = sw
		}
		s.plan = append(s.plan, t)
	}
	return nil
}

func (s *Source) openPostgres(ctx context.Context, source string) error {
	u, err := url.Parse(source)
	if err != nil {
		return errors.New("djangodb: the PostgreSQL URL is not a valid URL")
	}
	s.dialect, s.name = "postgres", redact(u)
	return s.begin(ctx, "pgx", source)
}

// begin opens the server's database with driver and starts the read: one
// connection, one REPEATABLE READ READ ONLY transaction (PostgreSQL's
// snapshot; InnoDB's consistent read from the first statement).
func (s *Source) begin(ctx context.Context, driver, dsn string) error {
	var err error
	if s.db, err = sql.Open(driver, dsn); err != nil {
		return fmt.Errorf("djangodb: %s: %w", s.name, err)
	}
	s.db.SetMaxOpenConns(1)
	s.tx, err = s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		s.db.Close()
		return fmt.Errorf("djangodb: cannot read the Django database at %s: %w", s.name, err)
	}
	return nil
}

// redact is u without its password (in the user part or the password
// parameter): the name a source is shown and recorded under.
func redact(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User(c.User.Username())
	}
	q := c.Query()
	if q.Has("password") {
		q.Del("password")
		c.RawQuery = q.Encode()
	}
	return c.String()
}

func (s *Source) openSQLite(ctx context.Context, path string) error {
	if path == "" {
		return errors.New("djangodb: give the Django database: a postgres:// or mysql:// URL or the path of a SQLite file")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	s.dialect, s.name = "sqlite", abs
	fi, err := os.Stat(abs)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("djangodb: %s: no such file", abs)
	}
	if err != nil {
		return fmt.Errorf("djangodb: %w", err)
	}
	if fi.IsDir() {
		return fmt.Errorf("djangodb: %s is a directory, not a SQLite file", abs)
	}
	escaped := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(abs)
	s.db, err = sql.Open("sqlite", "file:"+escaped+"?mode=ro&_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		return err
	}
	s.db.SetMaxOpenConns(1)
	if s.tx, err = s.db.BeginTx(ctx, nil); err != nil {
		s.db.Close()
		return fmt.Errorf("djangodb: %s: %w", abs, err)
	}
	return nil
}

// UserModel is the model the users' objects are given as: "auth.user",
// or the custom user model's label, lower-cased as dumpdata writes it.
func (s *Source) UserModel() string { return s.users.model }

// UserModelFound says the custom user model was not named but found by
// its table's columns (detectUserModel).
func (s *Source) UserModelFound() bool { return s.userFound }

// Name is the source as messages show it and an import's progress is
// recorded under: the URL without its password, or the file's absolute
// path.
func (s *Source) Name() string { return s.name }

// Dialect is "postgres", "mysql" or "sqlite".
func (s *Source) Dialect() string { return s.dialect }

// Steps are the passes of an import in load order: parents first (content
// types, permissions, groups, users), then what names them (tokens, OAuth
// applications, then codes and tokens).
func (s *Source) Steps() []Step { return s.steps }

// Notes say what the source lacks that an import would otherwise read
// (tables of packages the project does not use).
func (s *Source) Notes() []string { return s.notes }

// Close ends the read transaction and closes the connection.
func (s *Source) Close() error {
	if s.tx != nil {
		s.tx.Rollback()
	}
	return s.db.Close()
}

// inspect reads which tables and columns the source has and builds the
// steps.
func (s *Source) inspect(ctx context.Context) error {
	names := map[string]bool{}
	for _, t := range s.plan {
		names[t.name] = true
		for _, m := range t.m2m {
			names[m.table] = true
		}
		if t.attach != nil {
			names[t.attach.t.name] = true
		}
	}
	for name := range names {
		cols, err := s.tableColumns(ctx, name)
		if err != nil {
			return err
		}
		if len(cols) > 0 {
			s.columns[name] = cols
		}
	}
	if s.columns[s.users.name] == nil {
		if s.users != users {
			return fmt.Errorf("djangodb: %s has no table %s for the user model %s (--user-table names the table its Meta.db_table sets)%s",
				s.name, s.users.name, s.users.model, s.schemaHint())
		}
		return fmt.Errorf("djangodb: %s has no auth_user table: it is not a Django database, or the project keeps its users in a custom "+
			"user model (AUTH_USER_MODEL): name it with --user-model app_label.Model, and its table with --user-table when "+
			"its Meta.db_table sets one (a custom table is not found by itself)%s",
			s.name, s.schemaHint())
	}
	if err := s.userKeys(ctx); err != nil {
		return err
	}
	if s.dialect == "mysql" {
		s.noteCaseInsensitiveLogin(ctx)
	}
	for _, t := range s.plan {
		st, err := s.step(t)
		if err != nil {
			return err
		}
		s.steps = append(s.steps, st)
	}
	return nil
}

func (s *Source) schemaHint() string {
	switch s.dialect {
	case "postgres":
		return "; if Django's tables are in another schema, add ?search_path=SCHEMA to the URL"
	case "mysql":
		return "; the URL's path names the database (mysql://user@host/DATABASE)"
	}
	return ""
}

// tableColumns lists the columns of table in the source; none when it does
// not exist. Each table is asked for once.
func (s *Source) tableColumns(ctx context.Context, table string) (map[string]bool, error) {
	if cols, ok := s.read[table]; ok {
		return cols, nil
	}
	cols, err := s.queryColumns(ctx, table)
	if err != nil {
		return nil, err
	}
	if s.read == nil {
		s.read = map[string]map[string]bool{}
	}
	s.read[table] = cols
	return cols, nil
}

func (s *Source) queryColumns(ctx context.Context, table string) (map[string]bool, error) {
	q := "SELECT name FROM pragma_table_info(?)"
	switch s.dialect {
	case "postgres":
		q = "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped"
	case "mysql":
		// Django's table names are lower case; so is what MySQL reports on
		// a server that folds them (lower_case_table_names).
		q = "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?"
	}
	rows, err := s.tx.QueryContext(ctx, q, table)
	if err != nil {
		if s.dialect == "sqlite" && strings.Contains(err.Error(), "not a database") {
			return nil, fmt.Errorf("djangodb: %s is not a SQLite database", s.name)
		}
		return nil, fmt.Errorf("djangodb: reading the tables of %s: %w", s.name, err)
	}
	defer rows.Close()
	cols := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols[c] = true
	}
	return cols, rows.Err()
}

// step is the pass over t with the columns the source has.
func (s *Source) step(t *table) (Step, error) {
	st := Step{Table: t.name, Models: []string{t.model}, t: t}
	have := s.columns[t.name]
	if have == nil {
		st.Absent = fmt.Sprintf("table %s does not exist in %s: no %s objects imported", t.name, s.name, t.model)
		if t == applications {
			st.Absent += " (a project whose OAUTH2_PROVIDER_APPLICATION_MODEL is a model of its own names it with --oauth-application-model)"
		}
		return st, nil
	}
	var err error
	if st.cols, err = s.present(t, have); err != nil {
		return st, err
	}
	for _, m := range t.m2m {
		if c := s.columns[m.table]; c == nil || !c[m.owner] || !c[m.target] {
			s.notes = append(s.notes, fmt.Sprintf("table %s does not exist in %s: %s objects are imported without their %s",
				m.table, s.name, t.model, m.field))
			continue
		}
		st.m2m = append(st.m2m, m)
	}
	if a := t.attach; a != nil {
		if c := s.columns[a.t.name]; c == nil {
			s.notes = append(s.notes, fmt.Sprintf("table %s does not exist in %s: no %s objects imported", a.t.name, s.name, a.t.model))
		} else {
			if st.acols, err = s.present(a.t, c); err != nil {
				return st, err
			}
			if !c[a.link] {
				return st, fmt.Errorf("djangodb: table %s of %s has no column %s", a.t.name, s.name, a.link)
			}
			st.attach = a
			st.Models = append(st.Models, a.t.model)
		}
	}
	return st, nil
}

// present is t's columns that the source has; a required one missing is
// an error naming it.
func (s *Source) present(t *table, have map[string]bool) ([]column, error) {
	for _, c := range []column{t.pk, t.keyCol()} {
		if !have[c.col] {
			return nil, fmt.Errorf("djangodb: table %s of %s has no column %s: it is not the table Django writes for %s", t.name, s.name, c.col, t.model)
		}
	}
	var cols []column
	for _, c := range t.cols {
		switch {
		case have[c.col]:
			cols = append(cols, c)
		case c.required:
			return nil, fmt.Errorf("djangodb: table %s of %s has no column %s: it is not the table Django writes for %s", t.name, s.name, c.col, t.model)
		}
	}
	return cols, nil
}

// noteCaseInsensitiveLogin notes a MySQL user table whose login column
// (the USERNAME_FIELD: username, else email) compares without case, as
// MySQL's default collations do: there Django found a user whatever the
// case typed, while gatehouse matches a username exactly, as Django does
// on PostgreSQL and SQLite. A column it cannot read is left unsaid.
func (s *Source) noteCaseInsensitiveLogin(ctx context.Context) {
	col := s.usernameField
	if col == "" {
		col = "username"
		if !s.columns[s.users.name]["username"] {
			col = "email"
		}
	}
	var collation sql.NullString
	err := s.tx.QueryRowContext(ctx, `SELECT COLLATION_NAME FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?`, s.users.name, col).Scan(&collation)
	if err != nil || !strings.HasSuffix(strings.ToLower(collation.String), "_ci") {
		return
	}
	s.notes = append(s.notes, fmt.Sprintf("%s.%s compares without case (collation %s): Django found a user whatever the case "+
		"a login typed (Alice for alice); gatehouse matches a login exactly, as Django does on PostgreSQL and SQLite, so users must "+
		"type it as stored", s.users.name, col, collation.String))
}
