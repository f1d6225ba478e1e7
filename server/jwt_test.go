package server_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/server"
)

// forge signs claims with the test HS256 key, like the scenarios do.
func forge(claims map[string]any, key string) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"HS256"}`))
	p, _ := json.Marshal(claims)
	in := h + "." + base64.RawURLEncoding.EncodeToString(p)
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func payloadOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

func (e *env) pair(username, pw string) (refresh, access string) {
	e.t.Helper()
	r := e.do("POST", "/access-token/", map[string]string{"username": username, "password": pw})
	expect(e.t, r, 200, "")
	if !strings.HasPrefix(string(r.body), `{"refresh":"`) {
		e.t.Fatalf("key order: %s", r.body)
	}
	m := r.json(e.t)
	return m["refresh"].(string), m["access"].(string)
}

func TestJWTObtainRefreshVerify(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		u := e.user("alice", "alicepass")
		refresh, access := e.pair(" alice ", " alicepass ") // both trimmed, as simplejwt does
		ap := payloadOf(t, access)
		if ap["token_type"] != "access" || ap["user_id"].(float64) != float64(u.ID) || int(ap["exp"].(float64)-ap["iat"].(float64)) != 600 {
			t.Fatalf("access claims %v", ap)
		}
		rp := payloadOf(t, refresh)
		if rp["token_type"] != "refresh" || int(rp["exp"].(float64)-rp["iat"].(float64)) != 86400 || len(rp["jti"].(string)) != 32 {
			t.Fatalf("refresh claims %v", rp)
		}
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Bearer "+access), 200, "")

		r := e.do("POST", "/access-token/refresh/", map[string]string{"refresh": refresh})
		expect(t, r, 200, "")
		newAccess := r.json(t)["access"].(string)
		if r.json(t)["refresh"] != nil {
			t.Fatal("refresh rotated with ROTATE_REFRESH_TOKENS off")
		}
		if payloadOf(t, newAccess)["iat"] != rp["iat"] {
			t.Fatal("refreshed access token does not keep the refresh token's iat")
		}
		expect(t, e.do("POST", "/access-token/refresh/", url.Values{"refresh": {refresh}}), 200, "") // no rotation: works again

		fail := func(detail string) string { return `{"detail":"` + detail + `","code":"token_not_valid"}` }
		now := time.Now().Unix()
		expired := forge(map[string]any{"token_type": "refresh", "exp": now - 10, "iat": now - 100, "jti": "a", "user_id": u.ID}, testJWTKey)
		wrongKey := forge(map[string]any{"token_type": "refresh", "exp": now + 100, "iat": now, "jti": "b", "user_id": u.ID}, "other-key")
		noID := forge(map[string]any{"token_type": "refresh", "exp": now + 100, "iat": now, "user_id": u.ID}, testJWTKey)
		noExp := forge(map[string]any{"token_type": "refresh", "iat": now, "jti": "c", "user_id": u.ID}, testJWTKey)
		noType := forge(map[string]any{"exp": now + 100, "iat": now, "jti": "d", "user_id": u.ID}, testJWTKey)
		for _, c := range []struct {
			path string
			body any
			code int
			want string
		}{
			{"/access-token/refresh/", map[string]string{"refresh": access}, 401, fail("Token has wrong type")},
			{"/access-token/refresh/", map[string]string{"refresh": "garbage"}, 401, fail("Token is invalid or expired")},
			{"/access-token/refresh/", map[string]string{"refresh": expired}, 401, fail("Token is invalid or expired")},
			{"/access-token/refresh/", map[string]string{"refresh": wrongKey}, 401, fail("Token is invalid or expired")},
			{"/access-token/refresh/", map[string]string{}, 400, `{"refresh":["This field is required."]}`},
			{"/access-token/refresh/", map[string]string{"refresh": ""}, 400, `{"refresh":["This field may not be blank."]}`},
			{"/access-token/verify/", map[string]string{"token": access}, 200, `{}`},
			{"/access-token/verify/", map[string]string{"token": refresh}, 200, `{}`},
			{"/access-token/verify/", map[string]string{"token": "a.b.c"}, 401, fail("Token is invalid or expired")},
			{"/access-token/verify/", map[string]string{"token": noID}, 401, fail("Token has no id")},
			{"/access-token/refresh/", map[string]string{"refresh": noID}, 401, fail("Token has no id")},
			// The Django reference's answers: simplejwt checks exp, then the id, then the type.
			{"/access-token/verify/", map[string]string{"token": noExp}, 401, fail("Token has no 'exp' claim")},
			{"/access-token/refresh/", map[string]string{"refresh": noExp}, 401, fail("Token has no 'exp' claim")},
			{"/access-token/refresh/", map[string]string{"refresh": noType}, 401, fail("Token has no type")},
			{"/access-token/verify/", map[string]string{"token": noType}, 200, `{}`}, // verify reads no type
			{"/access-token/verify/", map[string]string{}, 400, `{"token":["This field is required."]}`},
			{"/access-token/", map[string]string{"username": "alice", "password": "nope"}, 401, `{"detail":"No active account found with the given credentials"}`},
			{"/access-token/", map[string]string{"username": "", "password": ""}, 400, `{"username":["This field may not be blank."],"password":["This field may not be blank."]}`},
		} {
			r := e.do("POST", c.path, c.body)
			expect(t, r, c.code, c.want)
			if c.code == 401 && r.header.Get("WWW-Authenticate") != `Bearer realm="api"` {
				t.Errorf("%s: WWW-Authenticate %q", c.path, r.header.Get("WWW-Authenticate"))
			}
		}
		// A garbage Authorization header is ignored by the simplejwt views.
		expect(t, e.do("POST", "/access-token/", map[string]string{"username": "alice", "password": "alicepass"}, "Authorization", "Bearer garbage"), 200, "")
		expect(t, e.do("GET", "/access-token/", nil), 405, `{"detail":"Method \"GET\" not allowed."}`)
	})
}

func TestJWTBearerErrors(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		u := e.user("alice", "alicepass")
		refresh, access := e.pair("alice", "alicepass")
		now := time.Now().Unix()
		invalid := func(msg string) string {
			return `{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access","message":"` + msg + `"}]}`
		}
		www := `Bearer realm="api",error="invalid_token",error_description="The access token is invalid."`
		for _, c := range []struct {
			header, want, www string
		}{
			{"Bearer " + refresh, invalid("Token has wrong type"), www},
			{"Bearer " + forge(map[string]any{"token_type": "access", "exp": now + 60, "iat": now, "jti": "x", "user_id": 99999}, testJWTKey), `{"detail":"User not found","code":"user_not_found"}`, www},
			{"Bearer " + forge(map[string]any{"token_type": "access", "exp": now + 60, "iat": now, "jti": "x"}, testJWTKey), `{"detail":"Token contained no recognizable user identification","code":"token_not_valid"}`, www},
			// simplejwt checks the id after the expiry.
			{"Bearer " + forge(map[string]any{"token_type": "access", "exp": now + 60, "iat": now, "user_id": u.ID}, testJWTKey), invalid("Token has no id"), www},
			// The Django reference's answers for a token without exp, without
			// a type, with user_id null.
			{"Bearer " + forge(map[string]any{"token_type": "access", "iat": now, "jti": "x", "user_id": u.ID}, testJWTKey), invalid("Token has no 'exp' claim"), www},
			{"Bearer " + forge(map[string]any{"iat": now, "jti": "x", "user_id": u.ID}, testJWTKey), invalid("Token has no 'exp' claim"), www},
			{"Bearer " + forge(map[string]any{"exp": now + 60, "iat": now, "jti": "x", "user_id": u.ID}, testJWTKey), invalid("Token has no type"), www},
			{"Bearer " + forge(map[string]any{"exp": now + 60, "iat": now, "user_id": u.ID}, testJWTKey), invalid("Token has no id"), www},
			{"Bearer " + forge(map[string]any{"token_type": "access", "exp": now + 60, "iat": now, "jti": "x", "user_id": nil}, testJWTKey), `{"detail":"User not found","code":"user_not_found"}`, www},
			{"Bearer " + forge(map[string]any{"token_type": "access", "exp": now - 60, "iat": now - 700, "user_id": u.ID}, testJWTKey), invalid("Token is invalid or expired"), www},
			{"Bearer " + forge(map[string]any{"token_type": "access", "exp": now - 60, "iat": now - 700, "jti": "x", "user_id": u.ID}, testJWTKey), invalid("Token is invalid or expired"), www},
			{"Bearer", `{"detail":"Authorization header must contain two space-delimited values","code":"bad_authorization_header"}`, `Bearer realm="api"`},
			{"Bearer a b", `{"detail":"Authorization header must contain two space-delimited values","code":"bad_authorization_header"}`, `Bearer realm="api"`},
			{"bearer " + access, `{"detail":"Authentication credentials were not provided."}`, www},
			{"JWT " + access, `{"detail":"Authentication credentials were not provided."}`, `Bearer realm="api"`},
			{"Token " + access, `{"detail":"Invalid token."}`, `Bearer realm="api"`},
			{"Bearer " + strings.Repeat("x", 8000), invalid("Token is invalid or expired"), www},
		} {
			r := e.do("GET", "/api/me/", nil, "Authorization", c.header)
			if r.status != 401 || string(r.body) != c.want || r.header.Get("WWW-Authenticate") != c.www {
				t.Errorf("%.40q: %d %s [%s]\nwant %s [%s]", c.header, r.status, r.body, r.header.Get("WWW-Authenticate"), c.want, c.www)
			}
		}
		// alg none is refused.
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"none"}`))
		p := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"token_type":"access","exp":%d,"iat":%d,"jti":"x","user_id":%d}`, now+60, now, u.ID)))
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Bearer "+h+"."+p+"."), 401, invalid("Token is invalid or expired"))
	})
}

func TestJWTPasswordChangeAndDeactivation(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.user("alice", "alicepass")
		refresh, access := e.pair("alice", "alicepass")
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Bearer "+access), 200, "")
		e.clock.advance(2 * time.Second) // the epoch has one-second resolution, like iat
		if err := e.accounts.ChangePassword(context.Background(), "alice", "a brand new passphrase"); err != nil {
			t.Fatal(err)
		}
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Bearer "+access), 401, "")
		expect(t, e.do("POST", "/access-token/refresh/", map[string]string{"refresh": refresh}), 401, "")
		expect(t, e.do("POST", "/access-token/verify/", map[string]string{"token": access}), 401, "")
		_, access2 := e.pair("alice", "a brand new passphrase")
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Bearer "+access2), 200, "")
		if err := e.accounts.SetActive(context.Background(), "alice", false); err != nil {
			t.Fatal(err)
		}
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Bearer "+access2), 401, "")
		expect(t, e.do("POST", "/access-token/", map[string]string{"username": "alice", "password": "a brand new passphrase"}), 401, "")
	})
}

func rotating(w *wiring) {
	w.JWT.Options.RotateRefreshTokens = true
	w.JWT.Options.BlacklistAfterRotation = true
}

func TestJWTRotationAndReuseDetection(t *testing.T) {
	eachWith(t, rotating, func(t *testing.T, e *env) {
		e.user("alice", "alicepass")
		r0, _ := e.pair("alice", "alicepass")
		r := e.do("POST", "/access-token/refresh/", map[string]string{"refresh": r0})
		expect(t, r, 200, "")
		if !strings.HasPrefix(string(r.body), `{"access":"`) {
			t.Fatalf("key order %s", r.body)
		}
		r1 := r.json(t)["refresh"].(string)
		r = e.do("POST", "/access-token/refresh/", map[string]string{"refresh": r1})
		expect(t, r, 200, "")
		r2 := r.json(t)["refresh"].(string)
		// Presenting r0 again (already rotated) revokes the whole family, r2 included.
		expect(t, e.do("POST", "/access-token/refresh/", map[string]string{"refresh": r0}), 401, `{"detail":"Token is blacklisted","code":"token_not_valid"}`)
		expect(t, e.do("POST", "/access-token/refresh/", map[string]string{"refresh": r2}), 401, `{"detail":"Token is blacklisted","code":"token_not_valid"}`)
		// Another login is another family and still works.
		other, _ := e.pair("alice", "alicepass")
		expect(t, e.do("POST", "/access-token/refresh/", map[string]string{"refresh": other}), 200, "")
		// The blacklist endpoint.
		fresh, _ := e.pair("alice", "alicepass")
		expect(t, e.do("POST", "/access-token/blacklist/", map[string]string{"refresh": fresh}), 200, `{}`)
		expect(t, e.do("POST", "/access-token/refresh/", map[string]string{"refresh": fresh}), 401, `{"detail":"Token is blacklisted","code":"token_not_valid"}`)
		expect(t, e.do("POST", "/access-token/verify/", map[string]string{"token": fresh}), 401, `{"detail":"Token is blacklisted","code":"token_not_valid"}`)
		expect(t, e.do("POST", "/access-token/blacklist/", map[string]string{}), 400, `{"refresh":["This field is required."]}`)
	})
}

// A refresh token whose jti no refresh record could hold (a NUL, which
// PostgreSQL's text refuses; more than OutstandingToken.jti's 255
// characters) gets the same answers on both backends: refused by refresh
// and blacklist, verified (no blacklist names it), never a 500.
func TestJWTUnrecordableJTI(t *testing.T) {
	eachWith(t, rotating, func(t *testing.T, e *env) {
		u := e.user("alice", "alicepass")
		now := time.Now().Unix()
		for _, jti := range []string{"a\x00b", strings.Repeat("j", 256)} {
			tok := forge(map[string]any{"token_type": "refresh", "exp": now + 60, "iat": now, "jti": jti, "user_id": u.ID}, testJWTKey)
			for _, path := range []string{"/access-token/refresh/", "/access-token/blacklist/"} {
				if r := e.do("POST", path, map[string]string{"refresh": tok}); r.status != 401 {
					t.Errorf("%s with jti %.10q: %d %s, want 401", path, jti, r.status, r.body)
				}
			}
			expect(t, e.do("POST", "/access-token/verify/", map[string]string{"token": tok}), 200, `{}`)
		}
	})
}

func TestJWTConcurrentRotationOneWinner(t *testing.T) {
	eachWith(t, rotating, func(t *testing.T, e *env) {
		e.user("alice", "alicepass")
		r0, _ := e.pair("alice", "alicepass")
		const n = 8
		var wg sync.WaitGroup
		codes := make([]int, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				codes[i] = e.do("POST", "/access-token/refresh/", map[string]string{"refresh": r0}).status
			}(i)
		}
		wg.Wait()
		ok := 0
		for _, c := range codes {
			switch c {
			case 200:
				ok++
			case 401:
			default:
				t.Fatalf("status %d in %v", c, codes)
			}
		}
		if ok != 1 {
			t.Fatalf("%d successes of %d concurrent rotations: %v", ok, n, codes)
		}
	})
}

func TestJWKSForHS256IsEmpty(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		expect(t, e.do("GET", "/.well-known/jwks.json", nil), 200, `{"keys":[]}`)
	})
}

func TestTokenPairFor(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		u := e.user("alice", "alicepass")
		refresh, access, err := e.pairs.PairFor(context.Background(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Bearer "+access), 200, "")
		expect(t, e.do("POST", "/access-token/blacklist/", map[string]string{"refresh": refresh}), 200, `{}`)
		expect(t, e.do("POST", "/access-token/refresh/", map[string]string{"refresh": refresh}), 401, "")
		if _, _, err := e.pairs.PairFor(context.Background(), 424242); err == nil {
			t.Fatal("pair for an unknown user")
		}
	})
}

// simplejwt's AUTH_HEADER_TYPES and AUTH_HEADER_NAME: the scheme takes
// exactly the configured keywords, in the configured header; the DRF
// token and OAuth schemes still read Authorization.
func TestJWTHeaderTypesAndName(t *testing.T) {
	const notProvided = `{"detail":"Authentication credentials were not provided."}`
	const badHeader = `{"detail":"Authorization header must contain two space-delimited values","code":"bad_authorization_header"}`
	each(t, func(c *config) { c.JWTHeaderTypes = []string{"JWT", "Bearer"} }, func(t *testing.T, e *env) {
		e.user("alice", "alicepass")
		_, access := e.pair("alice", "alicepass")
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "JWT "+access), 200, "")
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Bearer "+access), 200, "")
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "jwt "+access), 401, notProvided)
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "JWT a b"), 401, badHeader)
	})
	each(t, func(c *config) { c.JWTHeaderTypes, c.JWTHeaderName = []string{"JWT"}, "x-access-token" }, func(t *testing.T, e *env) {
		e.user("alice", "alicepass")
		_, access := e.pair("alice", "alicepass")
		key := e.tokenOf("alice", "alicepass")
		expect(t, e.do("GET", "/api/me/", nil, "X-Access-Token", "JWT "+access), 200, "")
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "JWT "+access), 401, notProvided)
		// Bearer is no JWT keyword now: the token is tried as an OAuth token only.
		r := e.do("GET", "/api/me/", nil, "Authorization", "Bearer "+access)
		expect(t, r, 401, notProvided)
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Token "+key, "X-Access-Token", "Basic x"), 200, "")
	})
}

func TestJWTHeaderSettingsRefused(t *testing.T) {
	p, err := oauth.New(oauth.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		types []string
		name  string
		want  string
	}{
		{[]string{"JWT", ""}, "", "GATEHOUSE_JWT_AUTH_HEADER_TYPES"},
		{[]string{"Bear er"}, "", "GATEHOUSE_JWT_AUTH_HEADER_TYPES"},
		{nil, "HTTP_X_AUTH:", "GATEHOUSE_JWT_AUTH_HEADER_NAME"},
		{nil, "X Auth", "GATEHOUSE_JWT_AUTH_HEADER_NAME"},
	} {
		cfg := server.DefaultConfig()
		cfg.JWTHeaderTypes, cfg.JWTHeaderName = tc.types, tc.name
		if _, err := server.New(server.Deps{OAuth: p, Config: cfg}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q %q: %v", tc.types, tc.name, err)
		}
	}
}
