package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/store"
)

// TestFamilyRevocationUsesIndex: a reuse's family revocation reads the
// family index (partial on SQLite: families.go), and on SQLite no other
// statement on refresh tokens that names revoked IS NULL, the partial
// index's condition, reads that index instead of its own.
func TestFamilyRevocationUsesIndex(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		if s.Dialect() == "postgres" {
			fillLive(t, s, 20000)
		}
		now := time.Now().UnixMicro()
		for _, c := range []struct {
			query string
			args  []any
			index string // the index the plan must read
		}{
			{"UPDATE oauth_refresh_tokens SET revoked = ? WHERE family = ? AND revoked IS NULL", []any{now, "'f7'"},
				"oauth_refresh_tokens_family"},
			{"UPDATE oauth_refresh_tokens SET revoked = ? WHERE user_id = ? AND revoked IS NULL", []any{now, 7},
				"oauth_refresh_tokens_user"},
			{"UPDATE oauth_refresh_tokens SET revoked = ? WHERE grant_id = ? AND revoked IS NULL", []any{now, 7},
				"oauth_refresh_tokens_grant"},
		} {
			eachPlan(t, s, c.query, c.args, func(plan string, generic bool) {
				if !strings.Contains(plan, c.index) {
					t.Errorf("%s (generic %v): the plan does not read %s:\n%s", c.query, generic, c.index, plan)
				}
			})
		}
	})
}
