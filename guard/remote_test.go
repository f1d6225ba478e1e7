package guard

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/jwt"
)

// activeAnswer is gatehouse's extended introspection answer for a
// credential of kind held by user 42 (alice), expiring at exp (0: never).
func activeAnswer(kind string, exp int64, staff bool) string {
	e := ""
	if exp != 0 {
		e = fmt.Sprintf(`,"exp":%d`, exp)
	}
	typ, oauth := "Token", ""
	if kind == "oauth" || kind == "jwt" {
		typ = "Bearer"
	}
	if kind == "oauth" {
		oauth = `,"scope":"read write","client_id":"app1"`
	}
	return fmt.Sprintf(`{"active":true%s%s,"username":"alice","token_type":%q,"token_kind":%q,"iat":1799999000,"sub":"42","user_id":42,`+
		`"email":"alice@example.com","is_staff":%v,"is_superuser":false,"groups":["ops"],"permissions":["orders.view_order"]}`,
		oauth, e, typ, kind, staff)
}

func newRemote(t *testing.T, cfg Config) *Remote {
	t.Helper()
	r, err := NewRemote(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Malformed and refused headers are answered as gatehouse's views answer
// them; nothing reaches gatehouse for a header that is not a credential.
func TestAuthorizationHeader(t *testing.T) {
	clk := newClock()
	intro := newIntro(t)
	intro.answer("oauthtok", activeAnswer("oauth", clk.now().Unix()+3600, false))
	intro.answer("drfkey", activeAnswer("token", 0, false))
	r := newRemote(t, Config{IntrospectionURL: intro.URL, ClientID: testClientID, ClientSecret: testClientSecret,
		HMACKey: []byte(testSecret), Now: clk.now})
	cases := []struct {
		name, header string
		status       int
		www, body    string
	}{
		{"none", "", 401, Challenge, bodyNotProvided},
		{"other scheme", "Basic YWxpY2U6cHc=", 401, Challenge, bodyNotProvided},
		{"Token alone", "Token", 401, Challenge, bodyTokenEmpty},
		{"token alone, lower case", "token", 401, Challenge, bodyTokenEmpty},
		{"Token with spaces", "Token a b", 401, Challenge, bodyTokenSpaces},
		{"TOKEN tab separated", "TOKEN\ta\tb", 401, Challenge, bodyTokenSpaces},
		{"Token not UTF-8", "Token caf\xe9", 401, Challenge, bodyTokenChars},
		{"Token unknown", "Token nope", 401, Challenge, bodyTokenBad},
		{"Token of an OAuth token", "Token oauthtok", 401, Challenge, bodyTokenBad},
		{"Bearer alone", "Bearer", 401, Challenge, bodyBadHeader},
		{"Bearer with spaces", "Bearer a b", 401, Challenge, bodyBadHeader},
		{"bearer alone, lower case", "bearer", 401, Challenge, bodyNotProvided},
		{"bearer with spaces, lower case", "bearer a b", 401, Challenge, bodyNotProvided},
		{"Bearer unknown opaque", "Bearer nope", 401, ChallengeInvalid, bodyJWTInvalid},
		{"Bearer of a DRF key", "Bearer drfkey", 401, ChallengeInvalid, bodyJWTInvalid},
		{"Bearer garbage JWT", "Bearer a.b.c", 401, ChallengeInvalid, bodyJWTInvalid},
		{"bearer unknown, lower case", "bearer nope", 401, ChallengeInvalid, bodyNotProvided},
		{"bearer JWT, lower case", "bearer " + mint(t, codecHS(t, clk), jwt.Access, 42), 401, ChallengeInvalid, bodyNotProvided},
		{"Token ok", "Token drfkey", 200, "", "ok"},
		{"token ok, lower case, extra spaces", "  token   drfkey  ", 200, "", "ok"},
		{"Bearer OAuth ok", "Bearer oauthtok", 200, "", "ok"},
		{"BEARER OAuth ok", "BEARER oauthtok", 200, "", "ok"},
		{"Bearer JWT ok", "Bearer " + mint(t, codecHS(t, clk), jwt.Access, 42), 200, "", "ok"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expectResult(t, serve(r, IsAuthenticated, "GET", c.header), c.status, c.www, c.body)
		})
	}
	// DRF authenticates before it checks permissions: a refused credential
	// is refused under AllowAny too, but DOT's own refusal of a bearer
	// token leaves the request anonymous.
	expectResult(t, serve(r, AllowAny, "GET", "Token nope"), 401, Challenge, bodyTokenBad)
	got := serve(r, AllowAny, "GET", "bearer nope")
	expectResult(t, got, 200, "", "ok")
	if got.p != nil {
		t.Fatalf("principal %+v for a refused bearer token", got.p)
	}
}

// Each token kind gives its principal.
func TestPrincipals(t *testing.T) {
	clk := newClock()
	intro := newIntro(t)
	exp := clk.now().Unix() + 3600
	intro.answer("oauthtok", activeAnswer("oauth", exp, false))
	intro.answer("knoxtok", activeAnswer("knox", exp, true))
	intro.answer("clienttok", fmt.Sprintf(`{"active":true,"scope":"read","exp":%d,"client_id":"app1","token_type":"Bearer","token_kind":"oauth","iat":1}`, exp))
	r := newRemote(t, Config{IntrospectionURL: intro.URL, ClientID: testClientID, ClientSecret: testClientSecret,
		HMACKey: []byte(testSecret), Now: clk.now})
	all := []string{"ops"}
	perms := []string{"orders.view_order"}
	cases := []struct {
		header string
		want   *Principal
	}{
		{"Bearer oauthtok", &Principal{UserID: 42, Username: "alice", Email: "alice@example.com", Kind: KindOAuth,
			Scopes: []string{"read", "write"}, ClientID: "app1", Known: FieldsAll, Groups: all, Permissions: perms}},
		{"Token knoxtok", &Principal{UserID: 42, Username: "alice", Email: "alice@example.com", IsStaff: true, Kind: KindKnox,
			Known: FieldsAll, Groups: all, Permissions: perms}},
		{"Bearer clienttok", &Principal{Kind: KindOAuth, Scopes: []string{"read"}, ClientID: "app1", Known: FieldsAll,
			Groups: []string{}, Permissions: []string{}}},
		{"Bearer " + mint(t, codecHS(t, clk), jwt.Access, 7), &Principal{UserID: 7, Kind: KindJWT}},
	}
	for _, c := range cases {
		t.Run(c.header[:12], func(t *testing.T) {
			got := serve(r, AllowAny, "GET", c.header)
			if got.status != 200 || got.p == nil {
				t.Fatalf("status %d, principal %v: %s", got.status, got.p, got.body)
			}
			p := got.p
			w := c.want
			if p.UserID != w.UserID || p.Username != w.Username || p.Email != w.Email || p.IsStaff != w.IsStaff ||
				p.IsSuperuser != w.IsSuperuser || p.Kind != w.Kind || strings.Join(p.Scopes, " ") != strings.Join(w.Scopes, " ") ||
				p.ClientID != w.ClientID || p.Known != w.Known || fmt.Sprint(p.Groups) != fmt.Sprint(w.Groups) ||
				fmt.Sprint(p.Permissions) != fmt.Sprint(w.Permissions) {
				t.Fatalf("principal\n got %+v\nwant %+v", p, w)
			}
		})
	}
}

// Local verification refuses every token gatehouse would refuse.
func TestJWTRefused(t *testing.T) {
	clk := newClock()
	k1 := codecRS(t, clk, 0, "k1")
	keys := newJWKS(t, k1)
	r := newRemote(t, Config{JWKSURL: keys.URL, HMACKey: []byte(testSecret), Leeway: 10 * time.Second, Now: clk.now})
	now := clk.now().Unix()
	rsa0 := rsaKeys()[0]
	pubDER, _ := x509.MarshalPKIXPublicKey(&rsa0.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	claims := func(over map[string]any) map[string]any {
		c := map[string]any{"token_type": "access", "exp": now + 300, "iat": now, "jti": "abc", "user_id": 42}
		for k, v := range over {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	rs := map[string]any{"alg": "RS256", "typ": "JWT", "kid": "k1"}
	hs := map[string]any{"alg": "HS256", "typ": "JWT"}
	cases := []struct {
		name, token string
		body        string
	}{
		{"expired beyond the leeway", handMade(t, rs, claims(map[string]any{"exp": now - 11}), rsa0, nil), bodyJWTInvalid},
		{"nbf in the future", handMade(t, rs, claims(map[string]any{"nbf": now + 11}), rsa0, nil), bodyJWTInvalid},
		{"iat in the future", handMade(t, rs, claims(map[string]any{"iat": now + 11}), rsa0, nil), bodyJWTInvalid},
		{"no exp", handMade(t, rs, claims(map[string]any{"exp": nil}), rsa0, nil), bodyNoExp}, // simplejwt's words (the Django reference)
		{"refresh token", handMade(t, rs, claims(map[string]any{"token_type": "refresh"}), rsa0, nil), bodyWrongType},
		{"no token type", handMade(t, rs, claims(map[string]any{"token_type": nil}), rsa0, nil), bodyNoType},
		{"no user id", handMade(t, rs, claims(map[string]any{"user_id": nil}), rsa0, nil), bodyNoUserID},
		{"alg none", handMade(t, map[string]any{"alg": "none", "typ": "JWT"}, claims(nil), nil, nil), bodyJWTInvalid},
		{"HS256 keyed with the RSA public key (PEM)", handMade(t, hs, claims(nil), nil, pubPEM), bodyJWTInvalid},
		{"HS256 keyed with the RSA public key (DER)", handMade(t, hs, claims(nil), nil, pubDER), bodyJWTInvalid},
		{"HS256 with kid k1, keyed with the RSA public key", handMade(t, map[string]any{"alg": "HS256", "kid": "k1"}, claims(nil), nil, pubPEM), bodyJWTInvalid},
		{"RS256 signed by another key", handMade(t, rs, claims(nil), rsaKeys()[1], nil), bodyJWTInvalid},
		{"HS256 with another secret", handMade(t, hs, claims(nil), nil, []byte("another-secret-of-enough-length-0123456789")), bodyJWTInvalid},
		{"tampered payload", tamper(handMade(t, rs, claims(nil), rsa0, nil)), bodyJWTInvalid},
		{"audience where none is configured", handMade(t, rs, claims(map[string]any{"aud": "other"}), rsa0, nil), bodyJWTInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expectResult(t, serve(r, AllowAny, "GET", "Bearer "+c.token), 401, ChallengeInvalid, c.body)
		})
	}
	// The same tokens' valid twins pass, so the refusals above are the
	// claims' doing: within the leeway, and both algorithms.
	for name, tok := range map[string]string{
		"expired within the leeway": handMade(t, rs, claims(map[string]any{"exp": now - 9}), rsa0, nil),
		"nbf within the leeway":     handMade(t, rs, claims(map[string]any{"nbf": now + 9}), rsa0, nil),
		"HS256 with the secret":     handMade(t, hs, claims(nil), nil, []byte(testSecret)),
		"minted RS256":              mint(t, k1, jwt.Access, 42),
	} {
		t.Run(name, func(t *testing.T) {
			got := serve(r, IsAuthenticated, "GET", "Bearer "+tok)
			expectResult(t, got, 200, "", "ok")
			if got.p.UserID != 42 || got.p.Kind != KindJWT || got.p.Known != 0 {
				t.Fatalf("principal %+v", got.p)
			}
		})
	}
}

// tamper changes one character of the payload.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	p := []byte(parts[1])
	if p[5] == 'A' {
		p[5] = 'B'
	} else {
		p[5] = 'A'
	}
	return parts[0] + "." + string(p) + "." + parts[2]
}

// A key rotation causes no 401: the first token under a new kid fetches
// the JWKS once, concurrent ones wait for that fetch, later ones use it.
func TestJWKSRotation(t *testing.T) {
	clk := newClock()
	k1, k2 := codecRS(t, clk, 0, "k1"), codecRS(t, clk, 1, "k2")
	keys := newJWKS(t, k1)
	r := newRemote(t, Config{JWKSURL: keys.URL, Now: clk.now})
	expectResult(t, serve(r, IsAuthenticated, "GET", "Bearer "+mint(t, k1, jwt.Access, 1)), 200, "", "ok")
	expectResult(t, serve(r, IsAuthenticated, "GET", "Bearer "+mint(t, k1, jwt.Access, 1)), 200, "", "ok")
	if n := keys.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for two tokens of one key, want 1", n)
	}
	// gatehouse restarts signing with k2, publishing k1 for verification.
	clk.advance(time.Minute)
	keys.set(t, k2, k1)
	var wg sync.WaitGroup
	statuses := make([]int, 20)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := mint(t, k2, jwt.Access, int64(i+1))
			if i%2 == 0 {
				tok = mint(t, k1, jwt.Access, int64(i+1))
			}
			statuses[i] = serve(r, IsAuthenticated, "GET", "Bearer "+tok).status
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != 200 {
			t.Errorf("request %d answered %d during the rotation", i, s)
		}
	}
	if n := keys.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2 (one for the new kid)", n)
	}
}

// Tokens with invented key ids make at most one fetch per
// JWKSMinInterval, and are refused.
func TestUnknownKidFlood(t *testing.T) {
	clk := newClock()
	k1 := codecRS(t, clk, 0, "k1")
	keys := newJWKS(t, k1)
	r := newRemote(t, Config{JWKSURL: keys.URL, JWKSMinInterval: 10 * time.Second, Now: clk.now})
	forged := func(i int) string {
		return mint(t, codecRS(t, clk, 1, fmt.Sprintf("random-%d", i)), jwt.Access, 1)
	}
	for i := range 50 {
		expectResult(t, serve(r, IsAuthenticated, "GET", "Bearer "+forged(i)), 401, ChallengeInvalid, bodyJWTInvalid)
	}
	if n := keys.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for 50 unknown kids, want 1", n)
	}
	clk.advance(9 * time.Second)
	expectResult(t, serve(r, IsAuthenticated, "GET", "Bearer "+forged(99)), 401, ChallengeInvalid, bodyJWTInvalid)
	if n := keys.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches before the interval passed, want 1", n)
	}
	clk.advance(time.Second)
	expectResult(t, serve(r, IsAuthenticated, "GET", "Bearer "+forged(100)), 401, ChallengeInvalid, bodyJWTInvalid)
	if n := keys.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after the interval, want 2", n)
	}
	// The known key works throughout, without fetching.
	expectResult(t, serve(r, IsAuthenticated, "GET", "Bearer "+mint(t, k1, jwt.Access, 1)), 200, "", "ok")
	if n := keys.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

// The JWKS is fetched again when its max-age (or JWKSRefresh) has passed.
func TestJWKSRefreshDue(t *testing.T) {
	for _, c := range []struct {
		name, cc string
		fresh    time.Duration
	}{
		{"max-age", "public, max-age=60", 60 * time.Second},
		{"max-age under the floor", "max-age=1", 10 * time.Second},
		{"no max-age", "no-transform", 2 * time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			clk := newClock()
			k1 := codecRS(t, clk, 0, "k1")
			keys := newJWKS(t, k1)
			keys.cc = c.cc
			r := newRemote(t, Config{JWKSURL: keys.URL, JWKSRefresh: 2 * time.Minute, JWKSMinInterval: 10 * time.Second, Now: clk.now})
			tok := mint(t, k1, jwt.Access, 1)
			serve(r, IsAuthenticated, "GET", "Bearer "+tok)
			clk.advance(c.fresh - time.Second)
			serve(r, IsAuthenticated, "GET", "Bearer "+tok)
			if n := keys.fetches.Load(); n != 1 {
				t.Fatalf("%d fetches while fresh, want 1", n)
			}
			clk.advance(time.Second)
			expectResult(t, serve(r, IsAuthenticated, "GET", "Bearer "+tok), 200, "", "ok")
			if n := keys.fetches.Load(); n != 2 {
				t.Fatalf("%d fetches once due, want 2", n)
			}
			// A failed refresh keeps the keys, and is not retried at once.
			keys.mu.Lock()
			keys.status = http.StatusInternalServerError
			keys.mu.Unlock()
			clk.advance(c.fresh)
			expectResult(t, serve(r, IsAuthenticated, "GET", "Bearer "+tok), 200, "", "ok")
			expectResult(t, serve(r, IsAuthenticated, "GET", "Bearer "+tok), 200, "", "ok")
			if n := keys.fetches.Load(); n != 3 {
				t.Fatalf("%d fetches after a failed refresh, want 3", n)
			}
		})
	}
}

// gatehouse unreachable or failing is a 503, never a pass and never a 401
// that would make a client drop a good token.
func TestUnavailable(t *testing.T) {
	clk := newClock()
	k1 := codecRS(t, clk, 0, "k1")
	keys := newJWKS(t, k1)
	keys.status = http.StatusBadGateway
	intro := newIntro(t)
	intro.answer("oauthtok", activeAnswer("oauth", clk.now().Unix()+3600, false))
	intro.setStatus(http.StatusInternalServerError)
	r := newRemote(t, Config{JWKSURL: keys.URL, IntrospectionURL: intro.URL, ClientID: testClientID, ClientSecret: testClientSecret,
		HMACKey: []byte(testSecret), Now: clk.now})
	check := func(header string) {
		t.Helper()
		got := serve(r, AllowAny, "GET", header)
		if got.status != 503 || got.retry != "1" || got.body != bodyUnavailable || got.www != "" {
			t.Fatalf("%s: got %d retry %q www %q %s", header, got.status, got.retry, got.www, got.body)
		}
	}
	check("Bearer oauthtok")
	check("Token oauthtok")
	check("Bearer " + mint(t, k1, jwt.Access, 1))
	// An HMAC token needs no fetch.
	expectResult(t, serve(r, IsAuthenticated, "GET", "Bearer "+mint(t, codecHS(t, clk), jwt.Access, 1)), 200, "", "ok")
	// Failures are not cached: gatehouse back, the same token passes.
	intro.setStatus(0)
	expectResult(t, serve(r, IsAuthenticated, "GET", "Bearer oauthtok"), 200, "", "ok")
	if n := intro.count("oauthtok"); n != 3 {
		t.Fatalf("%d introspections, want 3", n)
	}
	// Unreachable.
	intro.Close()
	check("Bearer other")
	// An answer without the extended fields: the client is not a resource
	// server, a configuration error.
	short := newIntro(t)
	short.answer("oauthtok", `{"active":true,"scope":"read","exp":1900000000,"client_id":"app1","username":"alice"}`)
	r2 := newRemote(t, Config{IntrospectionURL: short.URL, ClientID: testClientID, ClientSecret: testClientSecret, Now: clk.now})
	got := serve(r2, AllowAny, "GET", "Bearer oauthtok")
	expectResult(t, got, 503, "", bodyUnavailable)
	for _, bad := range []string{`not json`, `{"active":true,"token_kind":"token"}`, `{"active":true,"token_kind":"magic","user_id":1}`,
		`{"active":true,"token_kind":"token","user_id":0}`, `{"active":true,"token_kind":"oauth","exp":-1}`} {
		short.answer("bad", bad)
		short.mu.Lock()
		short.calls = map[string]int{}
		short.mu.Unlock()
		expectResult(t, serve(r2, AllowAny, "GET", "Token bad"), 503, "", bodyUnavailable)
	}
}

// Active answers are reused for IntrospectionTTL but never past the
// token's exp; inactive ones for NegativeTTL; so a revocation shows after
// at most IntrospectionTTL.
func TestIntrospectionCache(t *testing.T) {
	clk := newClock()
	intro := newIntro(t)
	now := clk.now().Unix()
	intro.answer("long", activeAnswer("oauth", now+3600, false))
	intro.answer("short", activeAnswer("oauth", now+10, false))
	intro.answer("key", activeAnswer("token", 0, false))
	r := newRemote(t, Config{IntrospectionURL: intro.URL, ClientID: testClientID, ClientSecret: testClientSecret,
		IntrospectionTTL: 30 * time.Second, NegativeTTL: 5 * time.Second, Now: clk.now})
	ok := func(header string) {
		t.Helper()
		expectResult(t, serve(r, IsAuthenticated, "GET", header), 200, "", "ok")
	}
	calls := func(tok string, want int) {
		t.Helper()
		if n := intro.count(tok); n != want {
			t.Fatalf("%s: %d introspections, want %d", tok, n, want)
		}
	}
	ok("Bearer long")
	ok("Bearer long")
	ok("Token key")
	ok("Token key")
	calls("long", 1)
	calls("key", 1)
	// Within the TTL, a revocation is not seen yet.
	intro.revoke("long")
	clk.advance(29 * time.Second)
	ok("Bearer long")
	ok("Token key")
	calls("long", 1)
	calls("key", 1)
	// After it, it is.
	clk.advance(time.Second)
	expectResult(t, serve(r, IsAuthenticated, "GET", "Bearer long"), 401, ChallengeInvalid, bodyJWTInvalid)
	ok("Token key")
	calls("long", 2)
	calls("key", 2)
	// Negative cache: the revoked token is not asked about again for 5s.
	clk.advance(4 * time.Second)
	expectResult(t, serve(r, IsAuthenticated, "GET", "Bearer long"), 401, ChallengeInvalid, bodyJWTInvalid)
	calls("long", 2)
	clk.advance(time.Second)
	expectResult(t, serve(r, IsAuthenticated, "GET", "Bearer long"), 401, ChallengeInvalid, bodyJWTInvalid)
	calls("long", 3)

	// A token expiring in 10s is cached 10s, not 30.
	clk2 := newClock()
	r2 := newRemote(t, Config{IntrospectionURL: intro.URL, ClientID: testClientID, ClientSecret: testClientSecret,
		IntrospectionTTL: 30 * time.Second, Now: clk2.now})
	expectResult(t, serve(r2, IsAuthenticated, "GET", "Bearer short"), 200, "", "ok")
	clk2.advance(9 * time.Second)
	expectResult(t, serve(r2, IsAuthenticated, "GET", "Bearer short"), 200, "", "ok")
	calls("short", 1)
	clk2.advance(time.Second)
	serve(r2, IsAuthenticated, "GET", "Bearer short")
	calls("short", 2)
}

// The caches hold hashes of the tokens, and no more entries than
// CacheSize each.
func TestIntrospectionCacheBounded(t *testing.T) {
	clk := newClock()
	intro := newIntro(t)
	for i := range 5 {
		intro.answer(fmt.Sprint("good", i), activeAnswer("token", 0, false))
	}
	r := newRemote(t, Config{IntrospectionURL: intro.URL, ClientID: testClientID, ClientSecret: testClientSecret,
		CacheSize: 3, Now: clk.now})
	for i := range 5 {
		serve(r, IsAuthenticated, "GET", fmt.Sprint("Token good", i))
		serve(r, IsAuthenticated, "GET", fmt.Sprint("Token bad", i))
	}
	r.intro.mu.Lock()
	defer r.intro.mu.Unlock()
	if len(r.intro.pos) != 3 || len(r.intro.neg) != 3 {
		t.Fatalf("%d active and %d inactive entries, want 3 and 3", len(r.intro.pos), len(r.intro.neg))
	}
	for k := range r.intro.pos {
		for i := range 5 {
			if strings.Contains(string(k[:]), fmt.Sprint("good", i)) {
				t.Fatalf("a cache key holds the token")
			}
		}
	}
}

// Concurrent requests with the same uncached token make one
// introspection request.
func TestIntrospectionSingleflight(t *testing.T) {
	clk := newClock()
	intro := newIntro(t)
	intro.answer("tok", activeAnswer("oauth", clk.now().Unix()+3600, false))
	gate := make(chan struct{})
	intro.gate = gate
	r := newRemote(t, Config{IntrospectionURL: intro.URL, ClientID: testClientID, ClientSecret: testClientSecret, Now: clk.now})
	const n = 10
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = serve(r, IsAuthenticated, "GET", "Bearer tok").status
		}()
	}
	// Release the one request once every other caller waits on it.
	for r.intro.joined.Load() < n-1 {
		time.Sleep(time.Millisecond)
	}
	close(gate)
	wg.Wait()
	for i, s := range statuses {
		if s != 200 {
			t.Errorf("request %d: %d", i, s)
		}
	}
	if c := intro.count("tok"); c != 1 {
		t.Fatalf("%d introspections for %d concurrent requests, want 1", c, n)
	}
}

// A locally verified JWT's identity is fetched by introspecting it, once
// per token while cached; without introspection, checks needing it deny.
func TestJWTIdentity(t *testing.T) {
	clk := newClock()
	hsc := codecHS(t, clk)
	intro := newIntro(t)
	staffTok := mint(t, hsc, jwt.Access, 42)
	intro.answer(staffTok, activeAnswer("jwt", clk.now().Unix()+300, true))
	r := newRemote(t, Config{IntrospectionURL: intro.URL, ClientID: testClientID, ClientSecret: testClientSecret,
		HMACKey: []byte(testSecret), Now: clk.now})
	expectResult(t, serve(r, IsAuthenticated, "GET", "Bearer "+staffTok), 200, "", "ok")
	if n := intro.count(staffTok); n != 0 {
		t.Fatalf("IsAuthenticated introspected the JWT %d times", n)
	}
	got := serve(r, And(IsAdminUser, HasPermission("orders.view_order")), "GET", "Bearer "+staffTok)
	expectResult(t, got, 200, "", "ok")
	if got.p.Username != "alice" || !got.p.IsStaff || got.p.Known != FieldsAll {
		t.Fatalf("principal %+v", got.p)
	}
	expectResult(t, serve(r, IsAdminUser, "GET", "Bearer "+staffTok), 200, "", "ok")
	if n := intro.count(staffTok); n != 1 {
		t.Fatalf("%d introspections, want 1", n)
	}
	// Revoked (the user deactivated): seen when the identity is needed.
	revoked := mint(t, hsc, jwt.Access, 43)
	expectResult(t, serve(r, IsAdminUser, "GET", "Bearer "+revoked), 401, ChallengeInvalid, bodyJWTInvalid)
	// An answer about another user is not believed.
	other := mint(t, hsc, jwt.Access, 44)
	intro.answer(other, activeAnswer("jwt", clk.now().Unix()+300, true))
	expectResult(t, serve(r, IsAdminUser, "GET", "Bearer "+other), 403, "", bodyDenied)

	// Without introspection the staff flag is unknown: 403.
	local := newRemote(t, Config{HMACKey: []byte(testSecret), Now: clk.now})
	expectResult(t, serve(local, IsAuthenticated, "GET", "Bearer "+staffTok), 200, "", "ok")
	expectResult(t, serve(local, IsAdminUser, "GET", "Bearer "+staffTok), 403, "", bodyDenied)
	expectResult(t, serve(local, HasPermission("orders.view_order"), "GET", "Bearer "+staffTok), 403, "", bodyDenied)
	// Introspection alone (no local key) verifies a JWT there.
	remoteOnly := newRemote(t, Config{IntrospectionURL: intro.URL, ClientID: testClientID, ClientSecret: testClientSecret, Now: clk.now})
	got = serve(remoteOnly, IsAdminUser, "GET", "Bearer "+staffTok)
	expectResult(t, got, 200, "", "ok")
	if got.p.Kind != KindJWT || got.p.UserID != 42 {
		t.Fatalf("principal %+v", got.p)
	}
}

// A simplejwt token Django issued for a custom user model keyed by UUIDs
// (user_id the UUID) names no user this service can know: with
// introspection gatehouse says whose it is, without it the token is
// refused as one without a user.
func TestJWTDjangoKey(t *testing.T) {
	clk := newClock()
	now := clk.now().Unix()
	tok := handMade(t, map[string]any{"alg": "HS256", "typ": "JWT"}, map[string]any{"token_type": "access", "exp": now + 300, "iat": now,
		"jti": "abc", "user_id": "3026d28e-dbc0-4dea-8da0-8aa9f5a3118d"}, nil, []byte(testSecret))
	intro := newIntro(t)
	const pk = "3026d28e-dbc0-4dea-8da0-8aa9f5a3118d"
	withPK := func(answer string) string {
		return strings.Replace(answer, `"user_id":42,`, `"user_id":42,"django_pk":"`+pk+`",`, 1)
	}
	intro.answer(tok, withPK(activeAnswer("jwt", now+300, false)))
	r := newRemote(t, Config{IntrospectionURL: intro.URL, ClientID: testClientID, ClientSecret: testClientSecret,
		HMACKey: []byte(testSecret), Now: clk.now})
	got := serve(r, IsAuthenticated, "GET", "Bearer "+tok)
	expectResult(t, got, 200, "", "ok")
	if got.p.UserID != 42 || got.p.DjangoPK != pk || got.p.Kind != KindJWT || got.p.Username != "alice" || intro.count(tok) != 1 {
		t.Fatalf("principal %+v after %d introspections", got.p, intro.count(tok))
	}
	// A token gatehouse minted names the integer id and is verified
	// locally; the Django key comes with the identity, fetched once.
	own := handMade(t, map[string]any{"alg": "HS256", "typ": "JWT"}, map[string]any{"token_type": "access", "exp": now + 300, "iat": now,
		"jti": "abf", "user_id": 42}, nil, []byte(testSecret))
	intro.answer(own, withPK(activeAnswer("jwt", now+300, false)))
	got = serve(r, IsAuthenticated, "GET", "Bearer "+own)
	expectResult(t, got, 200, "", "ok")
	if got.p.DjangoPK != "" || intro.count(own) != 0 {
		t.Fatalf("locally verified: principal %+v after %d introspections", got.p, intro.count(own))
	}
	if err := got.p.Identity(context.Background()); err != nil || got.p.DjangoPK != pk || intro.count(own) != 1 {
		t.Fatalf("identity: %v, principal %+v after %d introspections", err, got.p, intro.count(own))
	}
	// gatehouse's token for a user it names by key carries the id too
	// (jwt.IDClaim): verified locally, with or without introspection.
	keyed := handMade(t, map[string]any{"alg": "HS256", "typ": "JWT"}, map[string]any{"token_type": "access", "exp": now + 300, "iat": now,
		"jti": "abg", "user_id": pk, jwt.IDClaim: 42}, nil, []byte(testSecret))
	for name, remote := range map[string]*Remote{"with introspection": r, "without": newRemote(t, Config{HMACKey: []byte(testSecret), Now: clk.now})} {
		got = serve(remote, IsAuthenticated, "GET", "Bearer "+keyed)
		expectResult(t, got, 200, "", "ok")
		if got.p.UserID != 42 || got.p.DjangoPK != pk || intro.count(keyed) != 0 {
			t.Fatalf("gatehouse's keyed token, %s: principal %+v after %d introspections", name, got.p, intro.count(keyed))
		}
	}
	// An opaque credential's answer carries it as well.
	intro.answer("drf-key", withPK(activeAnswer("token", 0, false)))
	if got = serve(r, IsAuthenticated, "GET", "Token drf-key"); got.p == nil || got.p.DjangoPK != pk {
		t.Fatalf("a DRF key: %+v", got.p)
	}
	local := newRemote(t, Config{HMACKey: []byte(testSecret), Now: clk.now})
	expectResult(t, serve(local, IsAuthenticated, "GET", "Bearer "+tok), 401, ChallengeInvalid, bodyNoUserID)

	// A string of digits is a Django key too (a CharField key), whose user
	// gatehouse knows, not the id it spells (7 here, 42 in gatehouse's
	// answer); read as the id only when there is no introspection.
	digits := handMade(t, map[string]any{"alg": "HS256", "typ": "JWT"}, map[string]any{"token_type": "access", "exp": now + 300, "iat": now,
		"jti": "abd", "user_id": "7"}, nil, []byte(testSecret))
	intro.answer(digits, activeAnswer("jwt", now+300, false))
	got = serve(r, IsAuthenticated, "GET", "Bearer "+digits)
	expectResult(t, got, 200, "", "ok")
	if got.p.UserID != 42 || got.p.Username != "alice" || intro.count(digits) != 1 {
		t.Fatalf("digits: principal %+v after %d introspections", got.p, intro.count(digits))
	}
	got = serve(local, IsAuthenticated, "GET", "Bearer "+digits)
	expectResult(t, got, 200, "", "ok")
	if got.p.UserID != 7 {
		t.Fatalf("digits without introspection: principal %+v", got.p)
	}
	// An integer user_id is gatehouse's id, verified locally.
	n := intro.count(tok) + intro.count(digits)
	number := handMade(t, map[string]any{"alg": "HS256", "typ": "JWT"}, map[string]any{"token_type": "access", "exp": now + 300, "iat": now,
		"jti": "abe", "user_id": 7}, nil, []byte(testSecret))
	got = serve(r, IsAuthenticated, "GET", "Bearer "+number)
	expectResult(t, got, 200, "", "ok")
	if got.p.UserID != 7 || intro.count(number) != 0 || intro.count(tok)+intro.count(digits) != n {
		t.Fatalf("integer: principal %+v, %d introspections", got.p, intro.count(number))
	}
}

// The groups and permissions claims gatehouse adds are read from the
// token, so HasPermission needs no call.
func TestPermissionClaims(t *testing.T) {
	clk := newClock()
	hsc := codecHS(t, clk)
	r := newRemote(t, Config{HMACKey: []byte(testSecret), GroupsClaim: "groups", PermissionsClaim: "perms", Now: clk.now})
	tok := mint(t, hsc, jwt.Access, 42, jwt.Claim{Name: "groups", Value: []string{"ops"}},
		jwt.Claim{Name: "perms", Value: []string{"orders.change_order"}})
	got := serve(r, HasPermission("orders.change_order"), "POST", "Bearer "+tok)
	expectResult(t, got, 200, "", "ok")
	if fmt.Sprint(got.p.Groups) != "[ops]" || got.p.Known != FieldPermissions {
		t.Fatalf("principal %+v", got.p)
	}
	expectResult(t, serve(r, HasPermission("orders.delete_order"), "POST", "Bearer "+tok), 403, "", bodyDenied)
	// A token without the claims: unknown, so denied.
	expectResult(t, serve(r, HasPermission("orders.change_order"), "POST", "Bearer "+mint(t, hsc, jwt.Access, 42)), 403, "", bodyDenied)
	// A claim that is not a list of strings is not believed.
	bad := mint(t, hsc, jwt.Access, 42, jwt.Claim{Name: "perms", Value: "orders.change_order"})
	expectResult(t, serve(r, HasPermission("orders.change_order"), "POST", "Bearer "+bad), 403, "", bodyDenied)
}

// Bad settings are refused by NewRemote with a message naming them.
func TestConfigRefused(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"nothing", Config{}, "nothing to verify tokens with"},
		{"base URL without scheme", Config{BaseURL: "auth.example.com"}, `BaseURL "auth.example.com" is not an http(s) URL`},
		{"JWKS URL scheme", Config{JWKSURL: "ftp://x/jwks"}, `JWKSURL "ftp://x/jwks" is not an http(s) URL`},
		{"introspection without client", Config{BaseURL: "https://auth.example.com"}, "introspection needs ClientID and ClientSecret"},
		{"introspection URL without host", Config{IntrospectionURL: "https:///o/introspect/", ClientID: "a", ClientSecret: "b"}, `IntrospectionURL "https:///o/introspect/" is not an http(s) URL`},
		{"HMAC algorithm", Config{HMACKey: []byte(testSecret), HMACAlgorithm: "RS256"}, `HMACAlgorithm "RS256" is not HS256, HS384 or HS512`},
		{"negative TTL", Config{HMACKey: []byte(testSecret), IntrospectionTTL: -time.Second}, "IntrospectionTTL is negative"},
		{"negative cache size", Config{HMACKey: []byte(testSecret), CacheSize: -1}, "CacheSize is negative"},
		{"leeway", Config{HMACKey: []byte(testSecret), Leeway: 2 * time.Minute}, "guard: jwt:"},
		{"claim name", Config{HMACKey: []byte(testSecret), GroupsClaim: "exp"}, `"exp" is a claim of every token`},
		{"same claims", Config{HMACKey: []byte(testSecret), GroupsClaim: "x", PermissionsClaim: "x"}, `GroupsClaim and PermissionsClaim are both "x"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewRemote(c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	if _, err := NewRemote(Config{BaseURL: "https://auth.example.com/", ClientID: "a", ClientSecret: "b"}); err != nil {
		t.Fatal(err)
	}
}

// Refresh fetches the JWKS ahead of the first token, and says why it
// cannot.
func TestRefresh(t *testing.T) {
	clk := newClock()
	keys := newJWKS(t, codecRS(t, clk, 0, "k1"))
	r := newRemote(t, Config{JWKSURL: keys.URL, Now: clk.now})
	if err := r.Refresh(context.Background()); err != nil || keys.fetches.Load() != 1 {
		t.Fatalf("Refresh: %v, %d fetches", err, keys.fetches.Load())
	}
	keys.mu.Lock()
	keys.doc = []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"x","alg":"HS256"}]}`)
	keys.mu.Unlock()
	if err := r.Refresh(context.Background()); err == nil || !strings.Contains(err.Error(), "symmetric key refused") {
		t.Fatalf("Refresh of a key set holding a secret: %v", err)
	}
}

// What the Guard logs of gatehouse's failures names the endpoint and the
// status, never the credential.
func TestNoCredentialInLogs(t *testing.T) {
	clk := newClock()
	k1 := codecRS(t, clk, 0, "k1")
	keys := newJWKS(t, k1)
	keys.status = http.StatusInternalServerError
	intro := newIntro(t)
	intro.setStatus(http.StatusBadGateway)
	r := newRemote(t, Config{JWKSURL: keys.URL, IntrospectionURL: intro.URL, ClientID: testClientID, ClientSecret: testClientSecret, Now: clk.now})
	var logs strings.Builder
	var mu sync.Mutex
	g := New(r, WithLogger(slog.New(slog.NewTextHandler(writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(b)
	}), nil))))
	jwtTok := mint(t, k1, jwt.Access, 1)
	secrets := []string{"opaque-secret-token-value", jwtTok, testClientSecret}
	for _, h := range []string{"Bearer opaque-secret-token-value", "Token opaque-secret-token-value", "Bearer " + jwtTok} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", h)
		rec := httptest.NewRecorder()
		g.Protect(AllowAny, http.NotFoundHandler()).ServeHTTP(rec, req)
		if rec.Code != 503 {
			t.Fatalf("%.12s: %d", h, rec.Code)
		}
	}
	intro.Close()
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Token opaque-secret-token-value")
	g.Protect(AllowAny, http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), req)
	out := logs.String()
	for _, want := range []string{"answered 502", "answered 500", "connection refused"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
	for _, s := range secrets {
		if strings.Contains(out, s) || strings.Contains(out, url.QueryEscape(s)) {
			t.Fatalf("a secret is in the logs:\n%s", out)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// TestTwoAuthorizationHeaders: two Authorization headers are joined with
// ",", as a WSGI server joins them for Django, and the joined value is no
// credential: refused with DRF's answer to a header with spaces, whichever
// comes first, and nothing is introspected.
func TestTwoAuthorizationHeaders(t *testing.T) {
	clk := newClock()
	intro := newIntro(t)
	intro.answer("drfkey", activeAnswer("token", 0, false))
	r := newRemote(t, Config{IntrospectionURL: intro.URL, ClientID: testClientID, ClientSecret: testClientSecret,
		HMACKey: []byte(testSecret), Now: clk.now})
	h := New(r).Protect(IsAuthenticated, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	for _, pair := range [][2]string{{"Token drfkey", "Bearer garbage"}, {"Bearer garbage", "Token drfkey"}, {"Token drfkey", "Token drfkey"}} {
		req := httptest.NewRequest("GET", "/orders/", nil)
		req.Header.Add("Authorization", pair[0])
		req.Header.Add("Authorization", pair[1])
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 401 {
			t.Errorf("%q: %d %s", pair, rec.Code, rec.Body)
		}
	}
	if got := serve(r, IsAuthenticated, "GET", "Token drfkey"); got.status != 200 {
		t.Fatalf("one header: %+v", got)
	}
}
