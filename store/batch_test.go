package store_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/store"
)

// Concurrent lone access tokens are grouped into multi-row statements, and
// each gets its own id: the one its hash is stored under.
func TestCreateTokensGrouped(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		app := newApp(t, s, "cc")
		now := time.Now()
		ids := map[int64]bool{}
		for round := 0; round < 20 && store.GroupedAccessTokens(s) == 0; round++ {
			const n = 64
			tokens := make([]*gatehouse.AccessToken, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range tokens {
				tokens[i] = &gatehouse.AccessToken{Hash: secret.Hash(fmt.Sprint("grouped", round, i)), ApplicationID: app.ID,
					Scope: fmt.Sprint("s", i), Created: now, Expires: now.Add(time.Hour)}
				wg.Add(1)
				go func() { defer wg.Done(); errs[i] = s.CreateTokens(ctx, tokens[i], nil, nil) }()
			}
			wg.Wait()
			for i, tok := range tokens {
				if errs[i] != nil {
					t.Fatalf("token %d: %v", i, errs[i])
				}
				if tok.ID == 0 || ids[tok.ID] {
					t.Fatalf("token %d: id %d", i, tok.ID)
				}
				ids[tok.ID] = true
				g, err := s.AccessTokenByHash(ctx, tok.Hash)
				if err != nil || g.Token.ID != tok.ID || g.Token.Scope != tok.Scope {
					t.Fatalf("token %d: stored %+v, %v; issued id %d scope %q", i, g.Token, err, tok.ID, tok.Scope)
				}
			}
		}
		if store.GroupedAccessTokens(s) == 0 {
			t.Fatal("no access tokens were grouped in 20 rounds of 64 concurrent issuances")
		}
	})
}

// The revocation queries use the partial indexes that client_credentials
// tokens (no user, family or grant) stay out of.
func TestAccessTokenPartialIndexes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		for cond, index := range map[string]string{
			"family = 'f' AND family <> ''": "oauth_access_tokens_family",
			"user_id = 7":                   "oauth_access_tokens_user",
			"grant_id = 7":                  "oauth_access_tokens_grant",
		} {
			if plan := planOf(t, s, "oauth_access_tokens", cond); !strings.Contains(plan, index) {
				t.Errorf("%s: plan does not use %s:\n%s", cond, index, plan)
			}
		}
	})
}

// planOf is the query plan of selecting the rows of table that cond selects.
func planOf(t *testing.T, s *store.Store, table, cond string) string {
	t.Helper()
	plan, err := store.Plan(ctx, s, table, cond)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// Concurrent refresh-token rotations share transactions, and each gets its
// own new pair in its own family.
func TestRotationsGrouped(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		app := newApp(t, s, "conf")
		now := time.Now()
		for round := 0; round < 20 && (store.GroupedRotations(s) == 0 || s.Dialect() == "postgres" && store.RotationsTogether(s) == 0); round++ {
			rotateRound(t, s, app, round, 32, now)
		}
		if store.GroupedRotations(s) == 0 {
			t.Fatal("no rotations were grouped in 20 rounds of 32 concurrent ones")
		}
		if s.Dialect() == "postgres" && store.RotationsTogether(s) == 0 {
			t.Fatal("no rotations ran through the set statements on PostgreSQL")
		}
	})
}

// rotateRound stores n token pairs of the round, each of its own family,
// rotates their refresh tokens all at once, and checks each rotation's
// outcome: the new pair stored in the old token's family, the old access
// token deleted and reported so (the caches drop it).
func rotateRound(t *testing.T, s *store.Store, app gatehouse.Application, round, n int, now time.Time) {
	t.Helper()
	ctx := t.Context()
	name := func(kind string, i int) string { return fmt.Sprint(kind, round, " ", i) }
	for i := range n {
		at := &gatehouse.AccessToken{Hash: secret.Hash(name("a", i)), ApplicationID: app.ID, Family: name("f", i), Created: now, Expires: now.Add(time.Hour)}
		rt := &gatehouse.RefreshToken{Hash: secret.Hash(name("r", i)), ApplicationID: app.ID, Family: at.Family, Created: now}
		if err := s.CreateTokens(ctx, at, rt, nil); err != nil {
			t.Fatal(err)
		}
	}
	errs := make([]error, n)
	gone := make([]gatehouse.RevokedAccess, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			gone[i], errs[i] = s.RotateRefreshToken(ctx, secret.Hash(name("r", i)), app.ID, now, 0, nil,
				func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error) {
					return &gatehouse.AccessToken{Hash: secret.Hash(name("a2", i)), ApplicationID: app.ID, Created: now, Expires: now.Add(time.Hour)},
						&gatehouse.RefreshToken{Hash: secret.Hash(name("r2", i)), ApplicationID: app.ID, Created: now}, nil
				})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("round %d, rotation %d: %v", round, i, err)
		}
		rt, err := s.RefreshTokenByHash(ctx, secret.Hash(name("r2", i)))
		if err != nil || rt.Family != name("f", i) || rt.Revoked != nil || rt.AccessTokenID == nil {
			t.Fatalf("round %d, rotation %d's new token: %+v %v", round, i, rt, err)
		}
		if len(gone[i]) != 1 || string(gone[i][0]) != string(secret.Hash(name("a", i))) {
			t.Fatalf("round %d, rotation %d reports %d deleted access tokens", round, i, len(gone[i]))
		}
		if _, err := s.AccessTokenByHash(ctx, secret.Hash(name("a", i))); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("round %d, rotation %d's old access token: %v", round, i, err)
		}
		if g, err := s.AccessTokenByHash(ctx, secret.Hash(name("a2", i))); err != nil || g.Token.Family != name("f", i) || g.Token.ID != *rt.AccessTokenID {
			t.Fatalf("round %d, rotation %d's new access token: %+v %v, want id %d", round, i, g.Token, err, *rt.AccessTokenID)
		}
	}
}

// Concurrent simplejwt rotations share transactions too, and on
// PostgreSQL run with one statement per step for the group; each rotates
// its own token into its own family.
func TestJWTRotationsGrouped(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		grouped, together := store.GroupedRotations(s), store.RotationsTogether(s)
		for round := 0; round < 20 && (store.GroupedRotations(s) == grouped || s.Dialect() == "postgres" && store.RotationsTogether(s) == together); round++ {
			rotateJWTRound(t, s, round, 32, time.Now())
		}
		if store.GroupedRotations(s) == grouped {
			t.Fatal("no simplejwt rotations were grouped in 20 rounds of 32 concurrent ones")
		}
		if s.Dialect() == "postgres" && store.RotationsTogether(s) == together {
			t.Fatal("no simplejwt rotations ran through the set statement on PostgreSQL")
		}
	})
}

// rotateJWTRound records n simplejwt refresh tokens of the round, each of
// its own family, rotates them all at once, and checks each rotation's
// outcome: rotated, and the new token in the old one's record (replaying
// the old token blacklists it).
func rotateJWTRound(t *testing.T, s *store.Store, round, n int, now time.Time) {
	t.Helper()
	ctx := t.Context()
	rec := func(kind string, i int) gatehouse.RefreshRecord {
		return gatehouse.RefreshRecord{JTI: fmt.Sprint(kind, round, "-", i), Created: now, Expires: now.Add(time.Hour)}
	}
	// in keeps r in the record of the round's token i (a rotation's).
	in := func(r gatehouse.RefreshRecord, i int) gatehouse.RefreshRecord {
		r.Record = rec("j", i).JTI
		return r
	}
	for i := range n {
		r := rec("j", i)
		r.Family = fmt.Sprint("f", round, "-", i)
		if err := s.RecordRefresh(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	outcomes := make([]gatehouse.RotateOutcome, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { outcomes[i], errs[i] = s.RotateRefresh(ctx, rec("j", i), in(rec("j2", i), i), now) })
	}
	wg.Wait()
	for i := range errs {
		if errs[i] != nil || outcomes[i] != gatehouse.Rotated {
			t.Fatalf("round %d, rotation %d: %v %v", round, i, outcomes[i], errs[i])
		}
		if b, err := s.RefreshBlacklisted(ctx, rec("j", i).JTI, rec("j2", i).JTI); err != nil || b {
			t.Fatalf("round %d, rotation %d's new token blacklisted: %v %v", round, i, b, err)
		}
		// Replaying the old token revokes the new one: it is in the old
		// one's family.
		if got, err := s.RotateRefresh(ctx, rec("j", i), in(rec("j3", i), i), now); err != nil || got != gatehouse.Reused {
			t.Fatalf("round %d, replay %d: %v %v", round, i, got, err)
		}
		if b, err := s.RefreshBlacklisted(ctx, rec("j", i).JTI, rec("j2", i).JTI); err != nil || !b {
			t.Fatalf("round %d, rotation %d's new token outlived the replay: %v %v", round, i, b, err)
		}
	}
}

// A group of lone access tokens (client_credentials) whose statement
// committed but whose reply was lost is tried again row by row: each row
// is then found stored, and its caller gets its token with the stored id
// instead of a conflict with its own row.
func TestAccessGroupReplyLost(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		app := newApp(t, s, "conf")
		var once sync.Once
		store.SetAccessGroupDone(s, func() (err error) {
			once.Do(func() { err = &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "connection reset (a test's)"} })
			return err
		})
		now := time.Now()
		const n = 8
		tokens, errs := make([]*gatehouse.AccessToken, n), make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			tokens[i] = &gatehouse.AccessToken{Hash: secret.Hash(fmt.Sprint("cc ", i)), ApplicationID: app.ID, Scope: "read", Created: now, Expires: now.Add(time.Hour)}
			wg.Go(func() { errs[i] = s.CreateTokens(ctx, tokens[i], nil, nil) })
		}
		wg.Wait()
		store.SetAccessGroupDone(s, nil)
		for i, at := range tokens {
			if errs[i] != nil {
				t.Errorf("token %d: %v", i, errs[i])
				continue
			}
			if g, err := s.AccessTokenByHash(ctx, at.Hash); err != nil || g.Token.ID != at.ID || at.ID == 0 {
				t.Errorf("token %d: id %d, stored %+v %v", i, at.ID, g.Token, err)
			}
		}
	})
}
