package server_test

import (
	"bytes"
	"crypto/rand"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/secret"
)

// replayReader is crypto/rand, except that the next reads of one length
// can be made to return bytes it gave before.
type replayReader struct {
	mu     sync.Mutex
	reads  [][]byte
	again  []byte // given to the next left reads of its length
	left   int
	served int // reads given again
}

func (r *replayReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.left > 0 && len(p) == len(r.again) {
		copy(p, r.again)
		r.left--
		r.served++
	} else {
		rand.Read(p)
	}
	r.reads = append(r.reads, bytes.Clone(p))
	return len(p), nil
}

// repeat has the next n reads of its length give again the read that
// made the random characters of token (secret.Alnum's after the time
// prefix); false when no read made them.
func (r *replayReader) repeat(token string, n int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	rest := token[secret.KeyPrefix:]
	for _, b := range r.reads {
		if s, err := secret.Alnum(bytes.NewReader(b), len(rest)); err == nil && s == rest {
			r.again, r.left, r.served = b, n, 0
			return true
		}
	}
	return false
}

// TestRefreshSelectorClash: a password grant whose new refresh token
// draws the selector of a stored one (the same millisecond and the same
// 36 random bits) is answered with another pair, drawn again, not a 500;
// the stored token is untouched, and both rotate.
func TestRefreshSelectorClash(t *testing.T) {
	r := &replayReader{}
	eachWith(t, func(w *wiring) { w.OAuth.Random = r }, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		e.clock.freeze(time.Now()) // one millisecond: the prefix is the same
		first := e.password(a)
		// The next two draws of a token's characters repeat the first
		// refresh token's: whichever of them is the new refresh token's,
		// its selector is taken.
		if !r.repeat(first.Refresh, 2) {
			t.Fatal("no read made the refresh token")
		}
		second := e.password(a)
		if r.served != 2 {
			t.Fatalf("%d draws repeated, want 2", r.served)
		}
		if second.Refresh == first.Refresh || second.Refresh[:secret.SelectorLen] == first.Refresh[:secret.SelectorLen] {
			t.Fatalf("the second pair's refresh token %q shares the first's selector", second.Refresh)
		}
		if e.meStatus(first.Access) != 200 || e.meStatus(second.Access) != 200 {
			t.Fatal("an access token of the two pairs does not work")
		}
		e.clock.freeze(time.Time{})
		for _, p := range []tokenPair{first, second} {
			e.tokens(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {p.Refresh},
				"client_id": {"conf-client"}, "client_secret": {a.confSecret}})
		}
	})
}
