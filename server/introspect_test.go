package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/fixture"
	"github.com/gatehouse-auth/gatehouse/internal/oidctest"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// A resource server introspects every credential gatehouse accepts, and
// its answers tell the credential's kind and its user (gatehouse's
// extension); a client that is not one keeps DOT's answers.
func TestIntrospectEveryCredential(t *testing.T) {
	eachWith(t, noThrottles, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		ctx := context.Background()
		rs := e.resourceServer(t)
		key := e.tokenOf("alice", "alicepass")
		me := e.do("GET", "/api/me/", nil, "Authorization", "Token "+key).json(t)
		id := int64(me["id"].(float64))
		refresh, access := e.pair("alice", "alicepass")
		oauthTok := e.password(a, "scope", "read write")
		alice := e.user("knoxer", "knoxpass")
		knoxTok := e.newKnoxToken(alice, nil)
		cc := e.tokens(url.Values{"grant_type": {"client_credentials"}}, "Authorization", basic("cc-client", a.ccSecret))
		now := e.clock.now().Unix()

		user := func(id int64, name string) string {
			return fmt.Sprintf(`"sub": "%d", "user_id": %d, "email": "%s@example.com", "is_staff": false, "is_superuser": false, "groups": [], "permissions": []`, id, id, name)
		}
		introspect := func(token, auth string) resp {
			return e.do("POST", "/o/introspect/", url.Values{"token": {token}}, "Authorization", auth)
		}
		exp := func(r resp) int64 {
			v, ok := r.json(t)["exp"].(float64)
			if !ok {
				t.Fatalf("no exp: %s", r.body)
			}
			return int64(v)
		}
		iat := func(r resp) int64 { return int64(r.json(t)["iat"].(float64)) }

		r := introspect(key, rs)
		expect(t, r, 200, fmt.Sprintf(`{"active": true, "username": "alice", "token_type": "Token", "token_kind": "token", "iat": %d, %s}`, iat(r), user(id, "alice")))
		if d := now - iat(r); d < 0 || d > 60 {
			t.Fatalf("iat %d, now %d", iat(r), now)
		}

		r = introspect(access, rs)
		expect(t, r, 200, fmt.Sprintf(`{"active": true, "exp": %d, "username": "alice", "token_type": "Bearer", "token_kind": "jwt", "iat": %d, %s}`, exp(r), iat(r), user(id, "alice")))
		if want := int64(payloadOf(t, access)["exp"].(float64)); exp(r) != want {
			t.Fatalf("jwt introspects with exp %d, its claim is %d", exp(r), want)
		}

		r = introspect(oauthTok.Access, rs)
		expect(t, r, 200, fmt.Sprintf(`{"active": true, "scope": "read write", "exp": %d, "client_id": "conf-client", "username": "alice", "token_type": "Bearer", "token_kind": "oauth", "iat": %d, %s}`,
			exp(r), iat(r), user(id, "alice")))

		r = introspect(knoxTok, rs)
		expect(t, r, 200, fmt.Sprintf(`{"active": true, "username": "knoxer", "token_type": "Token", "token_kind": "knox", "iat": %d, %s}`, iat(r), user(alice.ID, "knoxer")))

		r = introspect(cc.Access, rs)
		expect(t, r, 200, fmt.Sprintf(`{"active": true, "scope": "read write groups", "exp": %d, "client_id": "cc-client", "token_type": "Bearer", "token_kind": "oauth", "iat": %d}`, exp(r), iat(r)))

		// Not credentials: a refresh token of either kind, garbage, a
		// JWT with a bad signature, an empty-looking value.
		for name, tok := range map[string]string{"jwt refresh": refresh, "oauth refresh": oauthTok.Refresh, "garbage": "nope",
			"bad signature": access[:len(access)-2] + "AA", "long": string(make([]byte, 300))} {
			t.Run(name, func(t *testing.T) { expect(t, introspect(tok, rs), 200, `{"active": false}`) })
		}

		// Another client sees DOT's answers: its own OAuth token without
		// the extension, every other credential inactive.
		conf := basic("conf-client", a.confSecret)
		r = introspect(oauthTok.Access, conf)
		expect(t, r, 200, fmt.Sprintf(`{"active": true, "scope": "read write", "exp": %d, "client_id": "conf-client", "username": "alice", "token_type": "Bearer", "iat": %d, "sub": "%d"}`, exp(r), iat(r), id))
		for _, tok := range []string{key, access, knoxTok} {
			expect(t, introspect(tok, conf), 200, `{"active": false}`)
		}

		// Ending the credentials ends their introspection: logging out
		// deletes the DRF key; a password change ends the rest.
		expect(t, e.do("POST", "/api/tokens/logout/", nil, "Authorization", "Token "+key), 204, "")
		expect(t, introspect(key, rs), 200, `{"active": false}`)
		e.clock.advance(time.Second)
		if err := e.accounts.ChangePassword(ctx, "alice", "n3w-Passw0rd!x"); err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{access, oauthTok.Access} {
			expect(t, introspect(tok, rs), 200, `{"active": false}`)
		}
	})
}

// Every client's introspection answer carries, after DOT's fields, the
// RFC 7662 ones standard clients read: token_type, iat, iss (the
// configured issuer), sub (the user id as a string; none for a client's
// own token). aud is not known for an opaque token and is left out.
func TestIntrospectStandardFields(t *testing.T) {
	const issuer = "https://auth.example.com/auth"
	each(t, func(c *config) { c.Issuer = issuer }, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		p := e.password(a)
		id := int64(e.do("GET", "/api/me/", nil, "Authorization", "Bearer "+p.Access).json(t)["id"].(float64))
		r := e.do("POST", "/o/introspect/", url.Values{"token": {p.Access}}, "Authorization", basic("conf-client", a.confSecret))
		m := r.json(t)
		iat, exp := int64(m["iat"].(float64)), int64(m["exp"].(float64))
		expect(t, r, 200, fmt.Sprintf(`{"active": true, "scope": "read write groups", "exp": %d, "client_id": "conf-client", "username": "alice", `+
			`"token_type": "Bearer", "iat": %d, "iss": "%s", "sub": "%d"}`, exp, iat, issuer, id))
		if now := e.clock.now().Unix(); iat > now || iat < now-60 || exp-iat != 36000 {
			t.Fatalf("iat %d, exp %d, now %d", iat, exp, now)
		}
		cc := e.tokens(url.Values{"grant_type": {"client_credentials"}}, "Authorization", basic("cc-client", a.ccSecret))
		r = e.do("POST", "/o/introspect/", url.Values{"token": {cc.Access}}, "Authorization", basic("cc-client", a.ccSecret))
		m = r.json(t)
		expect(t, r, 200, fmt.Sprintf(`{"active": true, "scope": "read write groups", "exp": %d, "client_id": "cc-client", `+
			`"token_type": "Bearer", "iat": %d, "iss": "%s"}`, int64(m["exp"].(float64)), int64(m["iat"].(float64)), issuer))
		expect(t, e.do("POST", "/o/introspect/", url.Values{"token": {"nope"}}, "Authorization", basic("cc-client", a.ccSecret)), 200, `{"active": false}`)
	})
}

// A user loaded from a project whose user model is keyed by UUIDs: a
// resource server's answer tells that key (django_pk) with the integer
// user_id, for a DRF key and for Django's own simplejwt token naming the
// user by the key; a user made in gatehouse has none, and a client that
// is not a resource server is never told it.
func TestIntrospectDjangoKey(t *testing.T) {
	const key = "3026d28e-dbc0-4dea-8da0-8aa9f5a3118d"
	eachWith(t, noThrottles, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		rs := e.resourceServer(t)
		ada, drfKey := e.loadKeyedUser(t, key)
		now := e.clock.now().Unix()
		djangoJWT := forge(map[string]any{"token_type": "access", "exp": now + 300, "iat": now, "jti": "dj1", "user_id": key}, testJWTKey)
		for name, cred := range map[string]string{"drf key": drfKey, "django's jwt": djangoJWT} {
			r := e.do("POST", "/o/introspect/", url.Values{"token": {cred}}, "Authorization", rs)
			m := r.json(t)
			if r.status != 200 || m["active"] != true || m["user_id"] != float64(ada.ID) || m["django_pk"] != key || m["sub"] != key ||
				m["username"] != "ada@example.com" {
				t.Errorf("%s: %d %s", name, r.status, r.body)
			}
		}
		// A program embedding gatehouse is told it too (guard.Principal).
		req := httptest.NewRequest("GET", "/orders/", nil)
		req.Header.Set("Authorization", "Token "+drfKey)
		if p, err := e.srv.Authenticate(req); err != nil || p == nil || p.UserID != ada.ID || p.DjangoPK != key {
			t.Errorf("Authenticate: %+v, %v", p, err)
		}
		// DRF's views show the key as the user's id, as the project's
		// did; a user made in gatehouse keeps its integer id.
		if me := e.do("GET", "/api/me/", nil, "Authorization", "Token "+drfKey).json(t); me["id"] != key {
			t.Errorf("/api/me/ of a user with a Django key: %v", me)
		}
		page := e.do("GET", "/api/users/", nil, "Authorization", "Token "+drfKey).json(t)
		ids := map[string]any{}
		for _, r := range page["results"].([]any) {
			ids[r.(map[string]any)["username"].(string)] = r.(map[string]any)["id"]
		}
		if ids["ada@example.com"] != key || fmt.Sprint(ids["alice"]) == "" || fmt.Sprintf("%T", ids["alice"]) != "float64" {
			t.Errorf("/api/users/ ids: %v", ids)
		}
		key2 := e.tokenOf("alice", "alicepass")
		if m := e.do("POST", "/o/introspect/", url.Values{"token": {key2}}, "Authorization", rs).json(t); m["active"] != true {
			t.Fatalf("alice's key: %v", m)
		} else if _, has := m["django_pk"]; has {
			t.Errorf("a user made in gatehouse has a django_pk: %v", m)
		}
		// DOT's answer to another client: no extension.
		oauthTok := e.password(a, "scope", "read")
		if m := e.do("POST", "/o/introspect/", url.Values{"token": {oauthTok.Access}}, "Authorization", basic("conf-client", a.confSecret)).json(t); m["active"] != true {
			t.Fatalf("conf-client's token: %v", m)
		} else if _, has := m["django_pk"]; has {
			t.Errorf("DOT's answer has a django_pk: %v", m)
		}
	})
}

// loadKeyedUser loads, as from a Django project whose user model is keyed
// by UUIDs, ada@example.com with that key (given here as the database
// stores it, 32 hex digits in capitals) and a DRF key, which it returns.
func (e *env) loadKeyedUser(t *testing.T, key string) (gatehouse.User, string) {
	t.Helper()
	const drfKey = "0123456789abcdef0123456789abcdef01234567"
	box, err := secret.NewBox("test-server-secret-0123456789") // the harness's
	if err != nil {
		t.Fatal(err)
	}
	set, err := fixture.Converter{UserModel: "accounts.User", Box: box}.Convert([]fixture.Object{
		{Model: "accounts.user", PK: json.RawMessage(`"` + strings.ToUpper(strings.ReplaceAll(key, "-", "")) + `"`),
			Fields: json.RawMessage(`{"password":"!","last_login":null,"is_superuser":false,"email":"ada@example.com","is_staff":false,"is_active":true}`)},
		{Model: "authtoken.token", PK: json.RawMessage(`"` + drfKey + `"`),
			Fields: json.RawMessage(`{"user":["ada@example.com"],"created":"2026-01-01T00:00:00Z"}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Load(context.Background(), set); err != nil {
		t.Fatal(err)
	}
	ada, err := e.store.UserByUsername(context.Background(), "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	return ada, drfKey
}

// resourceServer registers the client "rs" as a resource server and
// returns its HTTP Basic Authorization value.
func (e *env) resourceServer(t *testing.T) string {
	t.Helper()
	_, secret, err := e.clients.Create(context.Background(), oauth.ApplicationSpec{ClientID: "rs", GrantTypes: []string{"client-credentials"}, ResourceServer: true})
	if err != nil {
		t.Fatal(err)
	}
	return basic("rs", secret)
}

// The OAuth views answer OPTIONS with 200 and the Allow they list (RFC
// 9110 10.2.1: a 405 may not list the method it refuses), and other
// methods with 405 and the same Allow; introspection answers HEAD as GET
// without the body, as DOT's view does.
func TestOAuthViewsOptionsAndHead(t *testing.T) {
	eachWith(t, noThrottles, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		pageMethods(t, e, "/o/authorize/", "/o/device/")
		rs := e.resourceServer(t)
		tok := e.password(a, "scope", "read").Access
		get := e.do("GET", "/o/introspect/?token="+url.QueryEscape(tok), nil, "Authorization", rs)
		head := e.do("HEAD", "/o/introspect/?token="+url.QueryEscape(tok), nil, "Authorization", rs)
		if get.status != 200 || !strings.Contains(string(get.body), `"active": true`) || head.status != 200 || len(head.body) != 0 ||
			head.header.Get("Content-Type") != get.header.Get("Content-Type") {
			t.Errorf("HEAD /o/introspect/: %d %q %q, GET %d %s", head.status, head.body, head.header.Get("Content-Type"), get.status, get.body)
		}
		if r := e.do("HEAD", "/o/introspect/?token="+url.QueryEscape(tok), nil); r.status != 403 {
			t.Errorf("HEAD without a client: %d", r.status)
		}
		if r := e.do("OPTIONS", "/o/introspect/", nil); r.status != 200 || r.header.Get("Allow") != "GET, POST, HEAD, OPTIONS" {
			t.Errorf("OPTIONS /o/introspect/: %d %q", r.status, r.header.Get("Allow"))
		}
	})
}

// pageMethods checks OPTIONS and PUT on views that answer GET, HEAD and
// POST.
func pageMethods(t *testing.T, e *env, paths ...string) {
	t.Helper()
	for _, path := range paths {
		r := e.do("OPTIONS", path, nil)
		if r.status != 200 || r.header.Get("Allow") != "GET, POST, HEAD, OPTIONS" || len(r.body) != 0 {
			t.Errorf("OPTIONS %s: %d %q %q", path, r.status, r.header.Get("Allow"), r.body)
		}
		r = e.do("PUT", path, nil)
		if r.status != 405 || r.header.Get("Allow") != "GET, POST, HEAD, OPTIONS" {
			t.Errorf("PUT %s: %d %q", path, r.status, r.header.Get("Allow"))
		}
	}
}

// The OpenID Connect views likewise.
func TestOIDCViewsOptions(t *testing.T) {
	eachOIDC(t, func(t *testing.T, e *env, _ *oidctest.Signer) {
		pageMethods(t, e, "/o/userinfo/", "/o/logout/", "/o/authorize/")
	})
}
