package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/fixture"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/store"
)

// Knox tokens load in Load's transaction: loading them again overwrites
// them by digest (Django's loaddata overwrites by primary key), and a token
// whose user is missing fails the whole load, naming the row by the start
// of its digest and the missing user, and loads nothing.
func TestLoadKnoxTokens(t *testing.T) {
	created := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	exp := created.Add(10 * time.Hour)
	users := fixture.Set{Users: []gatehouse.User{{ID: 5, Username: "kim", Password: "!", IsActive: true, DateJoined: created}}}
	tokens := fixture.Set{Knox: []gatehouse.KnoxToken{
		{Digest: strings.Repeat("a1", 64), TokenKey: "3f9c2a7be1d04c5", UserID: 5, Created: created, Expiry: &exp},
		{Digest: strings.Repeat("b2", 64), TokenKey: "0123456789abcde", UserID: 5, Created: created},
	}}
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		if err := s.Load(ctx, users); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := s.Load(ctx, tokens); err != nil {
				t.Fatalf("load: %v", err)
			}
		}
		list, err := s.KnoxTokens(ctx, 5)
		if err != nil || len(list) != 2 || list[0].Expiry == nil || !list[0].Expiry.Equal(exp) || list[1].Expiry != nil {
			t.Fatalf("loaded: %+v %v", list, err)
		}
		bad := fixture.Set{Knox: []gatehouse.KnoxToken{
			{Digest: strings.Repeat("c3", 64), TokenKey: "ffffffffffffff0", UserID: 5, Created: created},
			{Digest: strings.Repeat("d4", 64), TokenKey: "ffffffffffffff1", UserID: 77, Created: created},
		}}
		err = s.Load(ctx, bad)
		if err == nil || !strings.Contains(err.Error(), "knox.authtoken pk d4d4d4d4d4d4…") || !strings.Contains(err.Error(), "auth.user 77") {
			t.Fatalf("a token of a missing user: %v", err)
		}
		if list, _ := s.KnoxTokens(ctx, 5); len(list) != 2 {
			t.Fatalf("the failed load left %d tokens", len(list))
		}
	})
}

// A knox token naming its user by username (dumpdata --natural-foreign)
// is bound to the stored user of that name.
func TestLoadKnoxTokenByNaturalKey(t *testing.T) {
	objs, err := fixture.Decode(strings.NewReader(`[{"model": "knox.authtoken", "pk": "` + strings.Repeat("e5", 64) +
		`", "fields": {"token_key": "3f9c2a7be1d04c5", "user": ["kim"], "created": "2026-05-04T10:00:00Z", "expiry": null}}]`))
	if err != nil {
		t.Fatal(err)
	}
	set, err := fixture.Converter{}.Convert(objs)
	if err != nil {
		t.Fatal(err)
	}
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		kim := newUser(t, s, "kim")
		if err := s.Load(ctx, set); err != nil {
			t.Fatal(err)
		}
		if list, err := s.KnoxTokens(ctx, kim.ID); err != nil || len(list) != 1 {
			t.Fatalf("kim's knox tokens: %+v %v", list, err)
		}
	})
}
