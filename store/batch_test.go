package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/testdb"
	"gatehouse/secret"
	"gatehouse/store"
)

// Concurrent lone access tokens (batched into shared transactions on
// SQLite) are each stored with their own id, and a duplicate fails alone.
func TestCreateTokensConcurrent(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		app := newApp(t, s, "cc")
		now := time.Now()
		mk := func(i int) *gatehouse.AccessToken {
			return &gatehouse.AccessToken{Hash: secret.Hash(fmt.Sprint("tok", i)), ApplicationID: app.ID, Scope: "read", Created: now, Expires: now.Add(time.Hour)}
		}
		const n = 64
		tokens := make([]*gatehouse.AccessToken, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range tokens {
			tokens[i] = mk(i % (n - 1)) // the last repeats the first: one conflict
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = s.CreateTokens(ctx, tokens[i], nil, nil) }()
		}
		wg.Wait()
		conflicts := 0
		ids := map[int64]bool{}
		for i, err := range errs {
			switch {
			case errors.Is(err, gatehouse.ErrConflict):
				conflicts++
			case err != nil:
				t.Fatalf("token %d: %v", i, err)
			default:
				if tokens[i].ID == 0 || ids[tokens[i].ID] {
					t.Fatalf("token %d: id %d", i, tokens[i].ID)
				}
				ids[tokens[i].ID] = true
				if g, err := s.AccessTokenByHash(ctx, tokens[i].Hash); err != nil || g.Token.ID != tokens[i].ID {
					t.Fatalf("token %d: %+v %v", i, g.Token, err)
				}
			}
		}
		if conflicts != 1 {
			t.Fatalf("%d conflicts, want 1", conflicts)
		}
	})
}
