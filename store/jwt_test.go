package store_test

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/fixture"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/store"
)

// Rolled back past migration 00026, a record rotated in place becomes a
// record per token again, as the older release keeps them: the current
// token gets its own record in the family, live, and the record it was
// kept in is marked rotated, so that the older release takes a replay of
// a token rotated away from for a reuse.
func TestJWTInPlaceMigrationDown(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		u := newUser(t, s, "down")
		now := time.Now()
		rec := func(record, jti string) gatehouse.RefreshRecord {
			return gatehouse.RefreshRecord{JTI: jti, Record: record, UserID: u.ID, Created: now, Expires: now.Add(time.Hour)}
		}
		for _, jti := range []string{"d1", "e1"} {
			if err := s.RecordRefresh(ctx, rec("", jti)); err != nil {
				t.Fatal(err)
			}
		}
		for _, step := range [][2]gatehouse.RefreshRecord{{rec("", "d1"), rec("d1", "d2")}, {rec("d1", "d2"), rec("d1", "d3")}} {
			if out, err := s.RotateRefresh(ctx, step[0], step[1], now); err != nil || out != gatehouse.Rotated {
				t.Fatalf("rotating %s: %v %v", step[0].JTI, out, err)
			}
		}
		if err := store.MigrateDownTo(ctx, s, 25); err != nil {
			t.Fatal(err)
		}
		type row struct {
			family      string
			blacklisted bool
			rotated     bool
		}
		got := map[string]row{}
		rows, err := s.DB().QueryContext(ctx, "SELECT jti, family, blacklisted_at IS NOT NULL, rotated FROM jwt_tokens")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var jti string
			var r row
			if err := rows.Scan(&jti, &r.family, &r.blacklisted, &r.rotated); err != nil {
				t.Fatal(err)
			}
			got[jti] = r
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		want := map[string]row{"d1": {"d1", true, true}, "d3": {"d1", false, false}, "e1": {"e1", false, false}}
		if len(got) != len(want) {
			t.Fatalf("records %v, want %v", got, want)
		}
		for jti, w := range want {
			if got[jti] != w {
				t.Errorf("%s: %+v, want %+v", jti, got[jti], w)
			}
		}
		// And forward again: a token rotated in place before is taken for
		// a token its record was rotated away from (docs/operations.md).
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if b, err := s.RefreshBlacklisted(ctx, "d1", "d3"); err != nil || !b {
			t.Fatalf("d3 after the round trip: blacklisted %v, %v", b, err)
		}
		if out, err := s.RotateRefresh(ctx, rec("d1", "d2"), rec("d1", "d4"), now); err != nil || out != gatehouse.Reused {
			t.Fatalf("replaying d2 after the round trip: %v %v", out, err)
		}
	})
}

// Loading a dump again over a record rotated in place keeps the record's
// bound on its expiry: the dump's expiry of the record's first token would
// let the cleanup delete the record while its current token lives, and a
// token it was rotated away from would then be taken for one never seen.
func TestJWTInPlaceReloaded(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		u := newUser(t, s, "reload")
		now := time.Now()
		first := gatehouse.RefreshRecord{JTI: "r1", UserID: u.ID, Family: "r1", Created: now, Expires: now.Add(time.Minute)}
		set := fixture.Set{Refresh: []gatehouse.RefreshRecord{first}}
		if err := s.Load(ctx, set); err != nil {
			t.Fatal(err)
		}
		next := gatehouse.RefreshRecord{JTI: "r2", Record: "r1", UserID: u.ID, Created: now, Expires: now.Add(time.Hour)}
		if out, err := s.RotateRefresh(ctx, first, next, now); err != nil || out != gatehouse.Rotated {
			t.Fatalf("rotating: %v %v", out, err)
		}
		if err := s.Load(ctx, set); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DeleteExpiredRefresh(ctx, now.Add(30*time.Minute), 10); err != nil || n != 0 {
			t.Fatalf("cleanup removed %d, %v; want nothing while r2 lives", n, err)
		}
		if out, err := s.RotateRefresh(ctx, first, gatehouse.RefreshRecord{JTI: "r3", Record: "r1", UserID: u.ID, Created: now, Expires: now.Add(time.Hour)}, now); err != nil || out != gatehouse.Reused {
			t.Fatalf("replaying r1: %v %v; want a reuse", out, err)
		}
	})
}
