package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/gatehouse-auth/gatehouse"
)

// GroupedAccessTokens reports how many access tokens s stored through
// multi-row statements.
func GroupedAccessTokens(s *Store) int64 { return s.access.grouped.Load() }

// GroupedRotations reports how many refresh-token rotations s ran in
// transactions of more than one.
func GroupedRotations(s *Store) int64 { return s.groups.grouped.Load() }

// Checkpoints reports how many checkpoints the SQLite store's goroutine ran.
func Checkpoints(s *Store) int64 { return s.checkpoints.runs.Load() }

// Plan returns the database's query plan for selecting the rows of table
// that cond (SQL with literals) selects; on PostgreSQL with sequential
// scans disabled, so that a usable index is always chosen.
func Plan(ctx context.Context, s *Store, table, cond string) (string, error) {
	return explain(ctx, s, "SELECT id FROM "+table+" WHERE "+cond, nil, "enable_seqscan")
}

// UserListPlan returns the plan of ListUsers' first page of 25 for f, or
// of its CountUsersUpTo(10,001) when count; on PostgreSQL with sequential
// scans and sorts disabled, as the planner would choose at a million rows
// rather than in an empty test table.
func UserListPlan(ctx context.Context, s *Store, f gatehouse.UserFilter, count bool) (string, error) {
	order, err := userOrderBy(f.Order)
	if err != nil {
		return "", err
	}
	via, err := s.searchFor(ctx, f, count)
	if err != nil {
		return "", err
	}
	from, args := s.userFrom(f, via)
	q := "SELECT " + userColsOf("users") + from + order + " LIMIT 25"
	if count {
		q = "SELECT COUNT(*) FROM (SELECT 1" + from + " LIMIT 10001) capped"
	}
	return explain(ctx, s, s.q(q), args, "enable_seqscan", "enable_sort")
}

// explain returns the plan of query (in the dialect's placeholders) as
// text, with the PostgreSQL settings named in off turned off for it.
func explain(ctx context.Context, s *Store, query string, args []any, off ...string) (string, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	q := "EXPLAIN QUERY PLAN " + query
	if s.d.dollar {
		for _, setting := range off {
			if _, err := tx.ExecContext(ctx, "SET LOCAL "+setting+" = off"); err != nil {
				return "", err
			}
		}
		q = "EXPLAIN " + query
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var plan strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		fmt.Fprintln(&plan, vals...)
	}
	return plan.String(), rows.Err()
}

// RotationsTogether reports how many rotations (OAuth and simplejwt) s ran with one
// statement per step for their group (PostgreSQL).
func RotationsTogether(s *Store) int64 { return s.groups.together.Load() }

// RotationsAhead is how many OAuth rotations were written ahead
// (applyAheadSet).
func RotationsAhead(s *Store) int64 { return s.groups.ahead.Load() }

// CleanupStatements names the background cleanup's selections (cleanup.go),
// each with the table it reads; each takes a time bound and a limit.
var CleanupStatements = map[string]struct{ Table, Query string }{
	"access":          {"oauth_access_tokens", expiredAccessSQL},
	"grants":          {"oauth_grants", expiredGrantsSQL},
	"refresh":         {"oauth_refresh_tokens", expiredRefreshSQL},
	"refresh family":  {"oauth_refresh_tokens", expiredRefreshFamilySQL},
	"refresh revoked": {"oauth_refresh_tokens", revokedRefreshSQL},
	"jwt":             {"jwt_tokens", expiredJWTSQL},
	"audit":           {"audit_events", expiredAuditSQL},
	"sessions":        {"sessions", expiredSessionsSQL},
	"ended sessions":  {"ended_sessions", expiredEndedSessionsSQL},
	"device grants":   {"oauth_device_grants", expiredDeviceGrantsSQL},
	"throttle":        {"throttle_counters", expiredThrottleSQL},
	"knox":            {"knox_tokens", expiredKnoxSQL},
}

// CleanupPlan returns query's plan with args, as PostgreSQL plans it
// without a setting changed: generic (for any bound, as a prepared
// statement run often is) when generic, else for args' values. On
// SQLite it is EXPLAIN QUERY PLAN's.
func CleanupPlan(ctx context.Context, s *Store, query string, args []any, generic bool) (string, error) {
	if !s.d.dollar || !generic {
		return explain(ctx, s, s.q(query), args)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	defer conn.ExecContext(ctx, "DEALLOCATE cleanup_plan")
	defer conn.ExecContext(ctx, "RESET plan_cache_mode")
	if _, err := conn.ExecContext(ctx, "SET plan_cache_mode = force_generic_plan"); err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, "PREPARE cleanup_plan AS "+s.q(query)); err != nil {
		return "", err
	}
	vals := make([]string, len(args))
	for i, a := range args {
		vals[i] = fmt.Sprint(a)
	}
	rows, err := conn.QueryContext(ctx, "EXPLAIN EXECUTE cleanup_plan("+strings.Join(vals, ", ")+")")
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return "", err
		}
		plan.WriteString(line + "\n")
	}
	return plan.String(), rows.Err()
}

// KeptStatements counts the statement texts s keeps for the life of the
// process: rewritten for its placeholders and prepared.
func KeptStatements(s *Store) int {
	n := 0
	for _, m := range []*sync.Map{&s.queries, &s.stmts} {
		m.Range(func(any, any) bool { n++; return true })
	}
	return n
}

// DropWriterSession opens a group writer's PostgreSQL session as a group
// would, then drops it as a failed group does; it returns the session's
// enable_seqscan and plan_cache_mode settings as the writer saw them.
func DropWriterSession(ctx context.Context, s *Store) (string, error) {
	w := &groupWriter{g: s.groups}
	tx, err := w.begin(ctx)
	if err != nil {
		return "", err
	}
	var seq, plans string
	err = tx.QueryRowContext(ctx, "SELECT current_setting('enable_seqscan'), current_setting('plan_cache_mode')").Scan(&seq, &plans)
	tx.Rollback()
	w.drop()
	return seq + " " + plans, err
}

// DB is the store's pool.
func DB(s *Store) *sql.DB { return s.db }

// ApplyRotationSet runs one OAuth rotation per key in hashes (for the
// application appID, at now) as one set, as a PostgreSQL group writer
// does, issue(i, …) giving rotation i its new pair. It returns each
// rotation's outcome and whether the set settled it (false: left to the
// group's transaction).
func ApplyRotationSet(ctx context.Context, s *Store, hashes [][]byte, appID int64, now time.Time,
	issue func(i int, rot gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error)) ([]error, []bool, error) {
	rs := make([]*rotation, len(hashes))
	for i, h := range hashes {
		rs[i] = &rotation{hash: h, appID: appID, now: now, issue: func(rot gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
			return issue(i, rot)
		}}
	}
	err := s.applyRotationSet(ctx, s.db, func() (querier, error) { return s.db, nil }, rs)
	outcomes, settled := make([]error, len(rs)), make([]bool, len(rs))
	for i, r := range rs {
		outcomes[i], settled[i] = r.outcome, r.inSet
	}
	return outcomes, settled, err
}

// SetSetWrite has every rotation set's write statement run through f
// (nil: directly).
func SetSetWrite(s *Store, f func(write func() error) error) { s.setWrite = f }

// SetSetCheck has every read of whether a failed set write committed run
// through f (nil: directly).
func SetSetCheck(s *Store, f func(check func() error) error) { s.setCheck = f }

// SetGroupCommitted has f run after each committed group transaction of
// the rotation writers, its error taken as the COMMIT's (nil: nothing).
func SetGroupCommitted(s *Store, f func() error) { s.groupCommitted = f }

// SetAccessGroupDone has f run after each stored group of lone access
// tokens, its error taken as the statement's (nil: nothing).
func SetAccessGroupDone(s *Store, f func() error) { s.accessGroupDone = f }

// SetPrepareHook has f run first in every background preparation of a
// statement for the pool (stmtIn).
func SetPrepareHook(s *Store, f func()) { s.prepareHook = f }

// MigrateDownTo rolls s's schema back to version, running the Down
// sections of the migrations after it.
func MigrateDownTo(ctx context.Context, s *Store, version int64) error {
	src, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	fsys, err := expandMigrations(src, s.d)
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(s.d.goose, s.db, fsys)
	if err != nil {
		return err
	}
	_, err = p.DownTo(ctx, version)
	return err
}
