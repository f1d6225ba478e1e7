package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/store"
)

// The cleanup's selections read their time index, not the table, with
// tables of tens of thousands of live rows that were never analyzed (a
// new database, or autovacuum off), both as PostgreSQL plans them for the
// bound given and as a generic plan. "The first n matching rows" without
// an ORDER BY was a sequential scan there: every table read whole at every
// cleanup while nothing had expired.
func TestCleanupStatementsUseIndexes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		if s.Dialect() == "postgres" {
			fillLive(t, s, 20000)
		}
		args := []any{time.Now().UnixMicro(), 1000}
		for name, st := range store.CleanupStatements {
			eachPlan(t, s, st.Query, args, func(plan string, generic bool) {
				// SQLite: "SCAN table" reads it whole ("SEARCH … USING INDEX"
				// otherwise); PostgreSQL: "Seq Scan on table".
				if strings.Contains(plan, "SCAN "+st.Table+"\n") || strings.HasSuffix(plan, "SCAN "+st.Table) ||
					strings.Contains(plan, "Seq Scan on "+st.Table) {
					t.Errorf("%s (generic %v): the plan reads all of %s:\n%s", name, generic, st.Table, plan)
				}
			})
		}
	})
}

// eachPlan calls check with query's plan for args and with its generic
// plan (store.CleanupPlan; on SQLite the same plan twice).
func eachPlan(t *testing.T, s *store.Store, query string, args []any, check func(plan string, generic bool)) {
	t.Helper()
	for _, generic := range []bool{false, true} {
		plan, err := store.CleanupPlan(ctx, s, query, args, generic)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		check(plan, generic)
	}
}

// fillLive writes n rows that have not expired into every table the
// cleanup reads (PostgreSQL), and none of them is analyzed.
func fillLive(t *testing.T, s *store.Store, n int) {
	t.Helper()
	u := newUser(t, s, "filler")
	app := newApp(t, s, "filler")
	const future = "4102444800000000" // 2100, in microseconds
	for _, st := range []struct {
		q    string
		args []any
	}{
		{`INSERT INTO oauth_access_tokens (token_hash, scope, family, created, expires)
			SELECT convert_to('a' || g, 'UTF8'), '', 'f' || g, 0, ` + future + ` FROM generate_series(1, $1) g`, []any{n}},
		// A twentieth revoked, expiring or in a family that expires, so
		// that the partial indexes hold rows too.
		{`INSERT INTO oauth_refresh_tokens (token_hash, application_id, scope, family, created, revoked, expires, family_expires)
			SELECT convert_to('r' || g, 'UTF8'), $2, '', 'f' || g, 0,
				CASE WHEN g % 20 = 0 THEN ` + future + ` END, CASE WHEN g % 20 = 1 THEN ` + future + ` END,
				CASE WHEN g % 20 = 2 THEN ` + future + ` END
			FROM generate_series(1, $1) g`, []any{n, app.ID}},
		{`INSERT INTO oauth_grants (code_hash, application_id, user_id, redirect_uri, scope, code_challenge, code_challenge_method, nonce, created, expires)
			SELECT convert_to('c' || g, 'UTF8'), $2, $3, 'https://x.example/cb', '', '', '', '', 0, ` + future + ` FROM generate_series(1, $1) g`, []any{n, app.ID, u.ID}},
		{`INSERT INTO jwt_tokens (jti, family, created, expires, rotated)
			SELECT 'j' || g, 'f' || g, 0, ` + future + `, false FROM generate_series(1, $1) g`, []any{n}},
		{`INSERT INTO audit_events (at, event, user_id, actor_id, client_id, source, request_id, detail)
			SELECT ` + future + ` + g, 'login.succeeded', 0, 0, '', '', '', '{}' FROM generate_series(1, $1) g`, []any{n}},
		{`INSERT INTO sessions (id_hash, user_id, created, expires, last_seen, user_agent, source)
			SELECT convert_to('s' || g, 'UTF8'), $2, 0, ` + future + `, 0, '', '' FROM generate_series(1, $1) g`, []any{n, u.ID}},
		{`INSERT INTO ended_sessions (id_hash, expires)
			SELECT convert_to('e' || g, 'UTF8'), ` + future + ` FROM generate_series(1, $1) g`, []any{n}},
		{`INSERT INTO oauth_device_grants (device_code_hash, user_code_hash, application_id, scope, created, expires, poll_interval)
			SELECT convert_to('d' || g, 'UTF8'), convert_to('u' || g, 'UTF8'), $2, '', 0, ` + future + `, 5 FROM generate_series(1, $1) g`, []any{n, app.ID}},
		{`INSERT INTO throttle_counters (key, n, at, expires)
			SELECT 'k' || g, 1, 0, ` + future + ` FROM generate_series(1, $1) g`, []any{n}},
		{`INSERT INTO knox_tokens (digest, token_key, salt, user_id, created, expiry)
			SELECT 'k' || g, 'k' || g, '', $2, 0, ` + future + ` FROM generate_series(1, $1) g`, []any{n, u.ID}},
	} {
		if _, err := s.DB().ExecContext(ctx, st.q, st.args...); err != nil {
			t.Fatalf("%v\n%s", err, st.q)
		}
	}
}
