package authn

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// touchStore ranges over each map it is given, as a store's batch write
// does, and counts what it saw.
type touchStore struct {
	Store
	mu               sync.Mutex
	tokens, sessions int
}

func (s *touchStore) TouchTokens(_ context.Context, used map[int64]time.Time) error {
	s.count(&s.tokens, ranged(used))
	return nil
}

func (s *touchStore) TouchSessions(_ context.Context, seen map[string]time.Time) error {
	s.count(&s.sessions, ranged(seen))
	return nil
}

func (s *touchStore) count(n *int, k int) {
	s.mu.Lock()
	*n += k
	s.mu.Unlock()
}

// ranged counts m's entries by ranging over it, as a store's batch write
// reads it.
func ranged[K comparable](m map[K]time.Time) int {
	n := 0
	for range m {
		n++
	}
	return n
}

// Requests record "last used" while the batch is written: a map taken for
// the write is never the one requests still fill. The flush once read the
// live map after releasing the lock when it had been empty, and could hand
// it to the write while requests filled it (a data race the race
// detector reports, a crash without it; found by a race-detector pass).
// Every touch is written exactly once.
func TestTouchesWhileFlushing(t *testing.T) {
	st := &touchStore{}
	a := &Authenticator{store: st, touched: map[int64]time.Time{}, seen: map[string]time.Time{}}
	const writers, each = 4, 2000
	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if w%2 == 0 {
					a.touch(int64(w*each+i), time.Now())
				} else { // as session() records a browser session's use
					a.touchMu.Lock()
					a.seen[fmt.Sprint(w*each+i)] = time.Now()
					a.touchMu.Unlock()
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	for {
		a.flushTouches(t.Context())
		select {
		case <-done:
			a.flushTouches(t.Context())
			if st.tokens+st.sessions != writers*each || st.tokens != writers/2*each {
				t.Fatalf("%d token and %d session touches written, want %d each", st.tokens, st.sessions, writers/2*each)
			}
			return
		default:
		}
	}
}
