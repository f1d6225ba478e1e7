package server_test

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/secret"
)

func TestTokenHeader(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.user("alice", "alicepass")
		key := e.tokenOf("alice", "alicepass")
		cases := []struct {
			header string
			status int
			body   string
			www    string
		}{
			{"Token " + key, 200, "", ""},
			{"token " + key, 200, "", ""},
			{"TOKEN  " + key, 200, "", ""},
			{"Token", 401, `{"detail":"Invalid token header. No credentials provided."}`, `Bearer realm="api"`},
			{"Token a b", 401, `{"detail":"Invalid token header. Token string should not contain spaces."}`, `Bearer realm="api"`},
			{"Token " + strings.Repeat("0", 40), 401, `{"detail":"Invalid token."}`, `Bearer realm="api"`},
			{"Token " + strings.ToUpper(key), 401, `{"detail":"Invalid token."}`, `Bearer realm="api"`},
			{"", 401, `{"detail":"Authentication credentials were not provided."}`, `Bearer realm="api"`},
			{"Basic " + "YWxpY2U6YWxpY2VwYXNz", 401, `{"detail":"Authentication credentials were not provided."}`, `Bearer realm="api"`},
			{"Bearer " + key, 401, `{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access","message":"Token is invalid or expired"}]}`,
				`Bearer realm="api",error="invalid_token",error_description="The access token is invalid."`},
		}
		for _, c := range cases {
			r := e.do("GET", "/api/me/", nil, "Authorization", c.header)
			if r.status != c.status || (c.body != "" && string(r.body) != c.body) || r.header.Get("WWW-Authenticate") != c.www {
				t.Errorf("%q: %d %s [%s], want %d %s [%s]", c.header, r.status, r.body, r.header.Get("WWW-Authenticate"), c.status, c.body, c.www)
			}
		}
		// ?token= is not a credential.
		expect(t, e.do("GET", "/api/me/?token="+key, nil), 401, `{"detail":"Authentication credentials were not provided."}`)
		// A bad header fails even where anonymous access is allowed.
		expect(t, e.do("POST", "/api-token-auth/", map[string]string{"username": "alice", "password": "alicepass"}, "Authorization", "Token"), 401,
			`{"detail":"Invalid token header. No credentials provided."}`)
	})
}

func TestObtainToken(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.user("alice", "alicepass")
		key := e.tokenOf("alice", "alicepass")
		if len(key) != 40 || strings.Trim(key, "0123456789abcdef") != "" {
			t.Fatalf("key %q is not 40 lowercase hex", key)
		}
		invalid := `{"non_field_errors":["Unable to log in with provided credentials."]}`
		for _, c := range []struct {
			body   any
			status int
			want   string
		}{
			{url.Values{"username": {"alice"}, "password": {"alicepass"}}, 200, `{"token":"` + key + `"}`},
			{map[string]string{"username": " alice ", "password": "alicepass"}, 200, `{"token":"` + key + `"}`},
			{map[string]string{"username": "alice", "password": " alicepass "}, 400, invalid},
			{map[string]string{"username": "ALICE", "password": "alicepass"}, 400, invalid},
			{map[string]string{"username": "alice@example.com", "password": "alicepass"}, 400, invalid},
			{map[string]string{"username": "nobody", "password": "x"}, 400, invalid},
			{map[string]string{"username": strings.Repeat("a", 10000), "password": strings.Repeat("b", 10000)}, 400, invalid},
			{map[string]any{}, 400, `{"username":["This field is required."],"password":["This field is required."]}`},
			{map[string]any{"username": nil, "password": nil}, 400, `{"username":["This field may not be null."],"password":["This field may not be null."]}`},
			{map[string]any{"username": "", "password": ""}, 400, `{"username":["This field may not be blank."],"password":["This field may not be blank."]}`},
		} {
			expect(t, e.do("POST", "/api-token-auth/", c.body), c.status, c.want)
		}
		expect(t, e.do("POST", "/api-token-auth-custom/", map[string]string{"username": "alice", "password": "alicepass"}), 200,
			`{"token":"`+key+`","username":"alice","email":"alice@example.com"}`)
		r := e.do("GET", "/api-token-auth/", nil)
		expect(t, r, 405, `{"detail":"Method \"GET\" not allowed."}`)
		if r.header.Get("Allow") != "POST, OPTIONS" {
			t.Errorf("Allow %q", r.header.Get("Allow"))
		}
		expect(t, e.do("POST", "/api-token-auth/", `{"username": "alice",`, "Content-Type", "application/json"), 400,
			`{"detail":"JSON parse error - Expecting property name enclosed in double quotes: line 1 column 22 (char 21)"}`)
		// An inactive user cannot log in.
		if err := e.accounts.SetActive(context.Background(), "alice", false); err != nil {
			t.Fatal(err)
		}
		expect(t, e.do("POST", "/api-token-auth/", map[string]string{"username": "alice", "password": "alicepass"}), 400, invalid)
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Token "+key), 401, `{"detail":"Invalid token."}`)
	})
}

func TestPasswordChangeRevokesTokens(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.user("alice", "alicepass")
		key := e.tokenOf("alice", "alicepass")
		auth := []string{"Authorization", "Token " + key}
		expect(t, e.do("GET", "/api/me/", nil, auth...), 200, "") // now cached
		if err := e.accounts.ChangePassword(context.Background(), "alice", "n3w-Pa55word"); err != nil {
			t.Fatal(err)
		}
		expect(t, e.do("GET", "/api/me/", nil, auth...), 401, `{"detail":"Invalid token."}`)
		expect(t, e.do("POST", "/api-token-auth/", map[string]string{"username": "alice", "password": "alicepass"}), 400, "")
		newKey := e.tokenOf("alice", "n3w-Pa55word")
		if newKey == key {
			t.Fatal("login after a password change returned the revoked key")
		}
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Token "+newKey), 200, "")
	})
}

// A copy of the database alone yields no usable token: what is stored is a
// hash, and the sealed copy needs the server secret.
func TestDatabaseDumpDoesNotAuthenticate(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, nil)
			e.user("alice", "alicepass")
			key := e.tokenOf("alice", "alicepass")
			db := rawDB(t, e)
			rows, err := db.Query("SELECT key_hash, key_sealed, prefix FROM drf_tokens")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			n := 0
			for rows.Next() {
				var hash, sealed []byte
				var prefix string
				if err := rows.Scan(&hash, &sealed, &prefix); err != nil {
					t.Fatal(err)
				}
				n++
				if strings.Contains(string(hash), key) || strings.Contains(string(sealed), key) {
					t.Fatal("the key is stored in clear")
				}
				for _, candidate := range []string{hex.EncodeToString(hash), hex.EncodeToString(sealed), hex.EncodeToString(hash)[:40]} {
					r := e.do("GET", "/api/me/", nil, "Authorization", "Token "+candidate)
					if r.status == 200 {
						t.Fatalf("a stored column authenticates: %q", candidate)
					}
				}
				if !strings.HasPrefix(key, prefix) || len(prefix) > 8 {
					t.Fatalf("prefix %q", prefix)
				}
			}
			if n == 0 {
				t.Fatal("no token rows")
			}
			other, _ := secret.NewBox("another-server-secret-0123")
			if _, err := other.Open([]byte("x")); err == nil {
				t.Fatal("opened garbage")
			}
		})
	}
}

func rawDB(t *testing.T, e *env) *sql.DB {
	t.Helper()
	db := e.store.DB()
	return db
}

func TestPerDeviceTokens(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.user("alice", "alicepass")
		e.user("bob", "bobpass")
		login := e.tokenOf("alice", "alicepass")
		auth := []string{"Authorization", "Token " + login}

		r := e.do("POST", "/api/tokens/", map[string]any{"name": "laptop", "expires_in": 3600}, auth...)
		expect(t, r, 201, "")
		created := r.json(t)
		laptop := created["key"].(string)
		if len(laptop) != 40 || created["expires"] == nil {
			t.Fatalf("created %s", r.body)
		}
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Token "+laptop), 200, "")

		r = e.do("GET", "/api/tokens/", nil, auth...)
		expect(t, r, 200, "")
		if strings.Contains(string(r.body), laptop) || strings.Contains(string(r.body), login) {
			t.Fatal("the list shows a key")
		}
		if !strings.Contains(string(r.body), `"name":"laptop"`) || !strings.Contains(string(r.body), `"current":true`) {
			t.Fatalf("list %s", r.body)
		}
		for _, bad := range []map[string]any{{}, {"name": ""}, {"name": strings.Repeat("n", 101)}, {"name": "x", "expires_in": -5}, {"name": "x", "expires_in": "soon"}, {"name": "x", "expires_in": true}} {
			if r := e.do("POST", "/api/tokens/", bad, auth...); r.status != 400 {
				t.Errorf("%v: %d %s", bad, r.status, r.body)
			}
		}
		// Another user cannot delete it.
		bobAuth := []string{"Authorization", "Token " + e.tokenOf("bob", "bobpass")}
		id := int64(created["id"].(float64))
		expect(t, e.do("DELETE", fmt.Sprintf("/api/tokens/%d/", id), nil, bobAuth...), 404, `{"detail":"Not found."}`)
		expect(t, e.do("DELETE", "/api/tokens/abc/", nil, auth...), 404, `{"detail":"Not found."}`)
		expect(t, e.do("DELETE", fmt.Sprintf("/api/tokens/%d/", id), nil, auth...), 204, "")
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Token "+laptop), 401, `{"detail":"Invalid token."}`)

		// logout revokes only the token in use.
		phone := e.do("POST", "/api/tokens/", map[string]any{"name": "phone"}, auth...).json(t)["key"].(string)
		expect(t, e.do("POST", "/api/tokens/logout/", nil, "Authorization", "Token "+phone), 204, "")
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Token "+phone), 401, "")
		expect(t, e.do("GET", "/api/me/", nil, auth...), 200, "")
		// logoutall revokes the rest.
		tablet := e.do("POST", "/api/tokens/", map[string]any{"name": "tablet"}, auth...).json(t)["key"].(string)
		expect(t, e.do("POST", "/api/tokens/logoutall/", nil, auth...), 204, "")
		expect(t, e.do("GET", "/api/me/", nil, auth...), 401, "")
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Token "+tablet), 401, "")
		expect(t, e.do("GET", "/api/me/", nil, bobAuth...), 200, "")
		expect(t, e.do("GET", "/api/tokens/", nil), 401, "")
	})
}

func TestTokenExpiry(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.user("alice", "alicepass")
		key, err := e.accounts.IssueToken(context.Background(), "alice", "short", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Token "+key), 200, "")
		e.clock.advance(time.Hour)
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Token "+key), 401, `{"detail":"Invalid token."}`)
		if _, err := e.accounts.IssueToken(context.Background(), "nobody", "x", 0); err == nil {
			t.Fatal("token for an unknown user")
		}
	})
}
