package server_test

import (
	"context"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/knox"
)

// newKnoxToken makes a token as knox 5 does (64 hex characters) and stores
// its row as knox does: the digest hashlib.sha512(token.encode()).hexdigest(),
// computed here by that formula, and token_key its first 15 characters.
func (e *env) newKnoxToken(u gatehouse.User, expiry *time.Time) string {
	e.t.Helper()
	raw := make([]byte, 32)
	rand.Read(raw)
	token := hex.EncodeToString(raw)
	e.putKnox(u, token, expiry)
	return token
}

func (e *env) putKnox(u gatehouse.User, token string, expiry *time.Time) {
	e.t.Helper()
	sum := sha512.Sum512([]byte(token))
	row := gatehouse.KnoxToken{Digest: hex.EncodeToString(sum[:]), TokenKey: token[:15], UserID: u.ID,
		Created: e.clock.now().Add(-time.Minute), Expiry: expiry}
	if err := e.store.PutKnoxToken(context.Background(), row); err != nil {
		e.t.Fatal(err)
	}
}

const knoxInvalid = `{"detail":"Invalid token."}`

// A knox token authenticates on /api/me/ as its user, with the body a DRF
// key of the same user gets; wrong, expired and inactive users' tokens are
// refused as knox refuses them (AuthenticationFailed: 401 "Invalid token."
// or "User inactive or deleted."), with the same challenge as a refused DRF
// key; DRF keys work as before beside them.
func TestKnoxTokenOnMe(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		alice := e.user("alice", "pw-alice-1")
		key := e.tokenOf("alice", "pw-alice-1")
		drf := e.do("GET", "/api/me/", nil, "Authorization", "Token "+key)
		expect(t, drf, 200, "")

		tok := e.newKnoxToken(alice, nil)
		r := e.do("GET", "/api/me/", nil, "Authorization", "Token "+tok)
		expect(t, r, 200, string(drf.body))
		// DRF's keyword is case-insensitive, and so is knox's.
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "token "+tok), 200, string(drf.body))

		refusedDRF := e.do("GET", "/api/me/", nil, "Authorization", "Token "+strings.Repeat("0", 40))
		expect(t, refusedDRF, 401, knoxInvalid)
		wrong := tok[:15] + strings.Repeat("0", 49) // same token_key, another token
		r = e.do("GET", "/api/me/", nil, "Authorization", "Token "+wrong)
		expect(t, r, 401, knoxInvalid)
		if got, want := r.header.Get("WWW-Authenticate"), refusedDRF.header.Get("WWW-Authenticate"); got != want {
			t.Fatalf("challenge %q, a refused DRF key's is %q", got, want)
		}

		past := e.clock.now().Add(-time.Second)
		expired := e.newKnoxToken(alice, &past)
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Token "+expired), 401, knoxInvalid)
		future := e.clock.now().Add(time.Hour)
		later := e.newKnoxToken(alice, &future)
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Token "+later), 200, string(drf.body))
		e.clock.advance(time.Hour + time.Second)
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Token "+later), 401, knoxInvalid)

		// A user loaded inactive from the dump, with a knox token.
		bob := e.user("bob", "pw-bob-1")
		if _, err := e.store.UpdateUser(context.Background(), bob.ID, func(u *gatehouse.User) (gatehouse.UserChange, error) {
			u.IsActive = false
			return gatehouse.UserChange{}, nil
		}); err != nil {
			t.Fatal(err)
		}
		bobs := e.newKnoxToken(bob, nil)
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Token "+bobs), 401, `{"detail":"User inactive or deleted."}`)

		// The DRF key is untouched by all this.
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Token "+key), 200, string(drf.body))
	})
}

// A password change, a deactivation and "log out everywhere" end a user's
// knox tokens at once, cached or not, as they end DRF keys; other users'
// tokens go on working.
func TestKnoxTokensEndWithTheUsersCredentials(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		ctx := context.Background()
		carol := e.user("carol", "pw-carol-1")
		keep := e.newKnoxToken(carol, nil)
		for _, tc := range []struct {
			name string
			end  func(u gatehouse.User) error
		}{
			{"password change", func(u gatehouse.User) error { return e.accounts.ChangePassword(ctx, u.Username, "a-new-pw-9124") }},
			{"deactivation", func(u gatehouse.User) error { return e.accounts.SetActive(ctx, u.Username, false) }},
			{"log out everywhere", func(u gatehouse.User) error { return e.accounts.LogOutEverywhere(ctx, u.ID) }},
		} {
			u := e.user("u-"+strings.ReplaceAll(tc.name, " ", "-"), "pw-user-1")
			tok := e.newKnoxToken(u, nil)
			expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Token "+tok), 200, "") // now cached
			if err := tc.end(u); err != nil {
				t.Fatal(err)
			}
			expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Token "+tok), 401, knoxInvalid)
			if left, err := e.store.KnoxTokens(ctx, u.ID); err != nil || len(left) != 0 {
				t.Fatalf("%s left %d knox tokens (%v)", tc.name, len(left), err)
			}
		}
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Token "+keep), 200, "")
	})
}

// With auto refresh (knox's AUTO_REFRESH), a use moves the stored expiry to
// TTL from then, but writes it only when it moves by more than the minimum
// refresh interval.
func TestKnoxAutoRefreshOnMe(t *testing.T) {
	cfg := knox.DefaultConfig()
	cfg.AutoRefresh = true
	eachWith(t, func(w *wiring) { w.Authn.KnoxConfig = cfg; w.Authn.CacheTTL = 0 }, func(t *testing.T, e *env) {
		ctx := context.Background()
		now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
		e.clock.freeze(now)
		dan := e.user("dan", "pw-dan-1")
		exp := now.Add(10*time.Hour - 30*time.Second)
		tok := e.newKnoxToken(dan, &exp)
		stored := func() time.Time {
			t.Helper()
			list, err := e.store.KnoxTokens(ctx, dan.ID)
			if err != nil || len(list) != 1 || list[0].Expiry == nil {
				t.Fatalf("%+v %v", list, err)
			}
			return *list[0].Expiry
		}
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Token "+tok), 200, "")
		if got := stored(); !got.Equal(exp) {
			t.Fatalf("expiry written for a move of 30 s: %v", got)
		}
		e.clock.freeze(now.Add(2 * time.Minute))
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Token "+tok), 200, "")
		if got, want := stored(), now.Add(2*time.Minute+10*time.Hour); !got.Equal(want) {
			t.Fatalf("expiry %v, want %v", got, want)
		}
	})
}
