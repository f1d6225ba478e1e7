package authn_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/authn"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// cachingStore is a fakeStore whose DRF token, OAuth token and user are
// always found, so the call counts show what the cache answered.
func cachingStore() *fakeStore {
	return &fakeStore{
		tokenByHash: func([]byte) (gatehouse.Token, gatehouse.User, error) {
			return gatehouse.Token{ID: 7, UserID: 42, Created: t0}, alice(), nil
		},
		accessTokenByHash: func([]byte) (gatehouse.AccessTokenInfo, error) {
			u := alice()
			return gatehouse.AccessTokenInfo{User: &u, Token: gatehouse.AccessToken{ID: 9, UserID: &u.ID,
				Created: t0, Expires: t0.Add(time.Hour)}}, nil
		},
		user:         func(int64) (gatehouse.User, error) { return alice(), nil },
		touchTokens:  func(map[int64]time.Time) error { return nil },
		sessionEnded: func([]byte) (bool, error) { return false, nil },
	}
}

const (
	drfKey     = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
	oauthValue = "Vf3dAw1nUq9Yk2LmZp7Rt5Xc8Bh4Js"
)

// credentials of each cached kind, and the store method each one reads.
var cached = []struct {
	name   string
	cred   authn.Credential
	method string
}{
	{"drf token", authn.Credential{Scheme: gatehouse.SchemeToken, Value: drfKey}, "TokenByHash"},
	{"oauth token", authn.Credential{Scheme: gatehouse.SchemeOAuth, Value: oauthValue}, "AccessTokenByHash"},
	{"session user", authn.Credential{Scheme: gatehouse.SchemeSession, UserID: 42, Issued: t0, SessionID: "sid"}, "User"},
	{"session not ended", authn.Credential{Scheme: gatehouse.SchemeSession, UserID: 42, Issued: t0, SessionID: "sid"}, "SessionEnded"},
}

func authOK(t *testing.T, a *authn.Authenticator, c authn.Credential) {
	t.Helper()
	if _, err := a.Authenticate(context.Background(), c); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
}

func TestCacheTTL(t *testing.T) {
	const ttl = 30 * time.Second
	for _, c := range cached {
		t.Run(c.name, func(t *testing.T) {
			clk := &clock{t0}
			st := cachingStore()
			a := authn.New(authn.Deps{Store: st, Now: clk.now, CacheTTL: ttl})
			defer a.Close()

			authOK(t, a, c.cred)
			// The last instant inside the TTL still answers from the cache.
			clk.t = t0.Add(ttl - time.Nanosecond)
			authOK(t, a, c.cred)
			if got := st.calls[c.method]; got != 1 {
				t.Fatalf("%s called %d times within the TTL, want 1", c.method, got)
			}
			// At the TTL the entry is stale: another replica's revocation
			// must be seen within CacheTTL, not after.
			clk.t = t0.Add(ttl)
			authOK(t, a, c.cred)
			if got := st.calls[c.method]; got != 2 {
				t.Fatalf("%s called %d times at the TTL, want 2", c.method, got)
			}
		})
	}
}

func TestCacheTTLZeroNeverCaches(t *testing.T) {
	for _, c := range cached {
		t.Run(c.name, func(t *testing.T) {
			st := cachingStore()
			a := authn.New(authn.Deps{Store: st, Now: (&clock{t0}).now})
			defer a.Close()
			for range 3 {
				authOK(t, a, c.cred)
			}
			if got := st.calls[c.method]; got != 3 {
				t.Fatalf("%s called %d times, want 3", c.method, got)
			}
		})
	}
}

func TestForgetDropsAtOnce(t *testing.T) {
	tests := []struct {
		name   string
		cred   authn.Credential
		method string
		forget func(a *authn.Authenticator)
	}{
		{name: "ForgetUser drops the user's DRF token", cred: cached[0].cred, method: "TokenByHash",
			forget: func(a *authn.Authenticator) { a.ForgetUser(42) }},
		{name: "ForgetUser drops the user's OAuth token", cred: cached[1].cred, method: "AccessTokenByHash",
			forget: func(a *authn.Authenticator) { a.ForgetUser(42) }},
		{name: "ForgetUser drops the user", cred: cached[2].cred, method: "User",
			forget: func(a *authn.Authenticator) { a.ForgetUser(42) }},
		{name: "ForgetAccess drops the OAuth token", cred: cached[1].cred, method: "AccessTokenByHash",
			forget: func(a *authn.Authenticator) { a.ForgetAccess([][]byte{secret.Hash("other"), secret.Hash(oauthValue)}) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := cachingStore()
			a := authn.New(authn.Deps{Store: st, Now: (&clock{t0}).now, CacheTTL: time.Minute})
			defer a.Close()
			authOK(t, a, tc.cred)
			authOK(t, a, tc.cred)
			if got := st.calls[tc.method]; got != 1 {
				t.Fatalf("%s called %d times before forgetting, want 1", tc.method, got)
			}
			tc.forget(a)
			authOK(t, a, tc.cred)
			if got := st.calls[tc.method]; got != 2 {
				t.Fatalf("%s called %d times after forgetting, want 2", tc.method, got)
			}
		})
	}
}

// TestForgetLeavesOthers checks that forgetting is targeted: another
// user's entries and other tokens stay cached.
func TestForgetLeavesOthers(t *testing.T) {
	st := cachingStore()
	a := authn.New(authn.Deps{Store: st, Now: (&clock{t0}).now, CacheTTL: time.Minute})
	defer a.Close()
	for _, c := range cached {
		authOK(t, a, c.cred)
	}
	a.ForgetUser(43)
	a.ForgetAccess([][]byte{secret.Hash("another token")})
	for _, c := range cached {
		authOK(t, a, c.cred)
	}
	want := map[string]int{"TokenByHash": 1, "AccessTokenByHash": 1, "User": 1}
	for m, n := range want {
		if st.calls[m] != n {
			t.Fatalf("store calls %v, want %v", st.calls, want)
		}
	}
}

// TestCachedTokenStillExpires checks that a cache entry does not outlive
// the token: expiry is checked on every use, cached or not.
func TestCachedTokenStillExpires(t *testing.T) {
	clk := &clock{t0}
	st := cachingStore()
	exp := t0.Add(10 * time.Second)
	st.tokenByHash = func([]byte) (gatehouse.Token, gatehouse.User, error) {
		return gatehouse.Token{ID: 7, Created: t0, Expires: &exp}, alice(), nil
	}
	a := authn.New(authn.Deps{Store: st, Now: clk.now, CacheTTL: time.Minute})
	defer a.Close()
	authOK(t, a, cached[0].cred)
	clk.t = exp
	p, err := a.Authenticate(context.Background(), cached[0].cred)
	check(t, p, err, nil, gatehouse.ReasonCredentialInvalid, nil)
	if got := st.calls["TokenByHash"]; got != 1 {
		t.Fatalf("TokenByHash called %d times, want 1 (the refusal came from the cache)", got)
	}
}
