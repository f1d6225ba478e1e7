package server_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// A password change ends every credential issued before it, even one
// issued earlier in the same second (simplejwt's iat has one-second
// resolution, and gatehouse's auth epoch used to as well), and none issued
// after it, even later in that same second. Each path is checked: a JWT, a
// DRF token, an OAuth token and a browser session. The DRF and OAuth
// tokens of the user are deleted by the change; the "survivor" rows model
// a token whose insert raced the change and committed after it, so that the
// rule itself (gatehouse.User.Accepts) is what refuses them.
func TestCredentialsFromTheSecondOfAPasswordChange(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		ctx := context.Background()
		second := time.Now().Truncate(time.Second).Add(time.Minute)
		before, change, after := second.Add(300*time.Millisecond), second.Add(400*time.Millisecond), second.Add(401*time.Millisecond)

		apps := e.setupOAuth() // alice, alicepass, and the clients
		u, err := e.store.UserByUsername(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}

		e.clock.freeze(before)
		_, jwtBefore := e.pair("alice", "alicepass")
		drfBefore := e.tokenOf("alice", "alicepass")
		oauthBefore := e.password(apps).Access
		browserBefore := e.browser()
		browserBefore.login("alice", "alicepass")
		codeBefore := browserBefore.authorize(url.Values{"client_id": {"code-client"}, "response_type": {"code"},
			"redirect_uri": {redirectURI}, "scope": {"read"}}).Query().Get("code")
		// Rows as a racing insert would leave them: issued before the change,
		// committed after its deletes.
		survivorKey, survivorAccess := "0123456789abcdef0123456789abcdef01234567", "survivor-access-token-0123456789"
		survivorRefresh := "survivor-refresh-token-012345678"

		e.clock.freeze(change)
		if err := e.accounts.ChangePassword(ctx, "alice", "a brand new passphrase"); err != nil {
			t.Fatal(err)
		}
		if err := e.store.CreateToken(ctx, &gatehouse.Token{UserID: u.ID, Hash: secret.Hash(survivorKey), Prefix: "01234567",
			Name: "raced", Created: before}); err != nil {
			t.Fatal(err)
		}
		app, err := e.store.Application(ctx, "conf-client")
		if err != nil {
			t.Fatal(err)
		}
		if err = e.store.CreateTokens(ctx, &gatehouse.AccessToken{Hash: secret.Hash(survivorAccess), UserID: &u.ID,
			ApplicationID: app.ID, Scope: "read write", Family: "raced", Created: before, Expires: before.Add(time.Hour)}, nil, nil); err != nil {
			t.Fatal(err)
		}

		e.clock.freeze(after)
		_, jwtAfter := e.pair("alice", "a brand new passphrase")
		drfAfter := e.tokenOf("alice", "a brand new passphrase")
		oauthAfter := e.password(apps, "password", "a brand new passphrase").Access
		browserAfter := e.browser()
		browserAfter.login("alice", "a brand new passphrase")

		for _, c := range []struct {
			name, header string
			want         int
		}{
			{"JWT before", "Bearer " + jwtBefore, 401},
			{"DRF token before", "Token " + drfBefore, 401},
			{"DRF token before, raced", "Token " + survivorKey, 401},
			{"OAuth before", "Bearer " + oauthBefore, 401},
			{"OAuth before, raced", "Bearer " + survivorAccess, 401},
			{"JWT after", "Bearer " + jwtAfter, 200},
			{"DRF token after", "Token " + drfAfter, 200},
			{"OAuth after", "Bearer " + oauthAfter, 200},
		} {
			if r := e.do("GET", "/api/me/", nil, "Authorization", c.header); r.status != c.want {
				t.Errorf("%s: %d %s, want %d", c.name, r.status, r.body, c.want)
			}
		}
		for name, b := range map[string]*browser{"session before": browserBefore, "session after": browserAfter} {
			want := map[string]int{"session before": http.StatusUnauthorized, "session after": http.StatusOK}[name]
			if res, body := b.get("/api/me/"); res.StatusCode != want {
				t.Errorf("%s: %d %s, want %d", name, res.StatusCode, body, want)
			}
		}
		// The OAuth grants and introspection apply the same rule: a code or a
		// refresh token from before the change is void, and introspection
		// calls an access token from before it inactive.
		conf := []string{"Authorization", basic("conf-client", apps.confSecret)}
		expect(t, e.do("POST", "/o/token/", url.Values{"grant_type": {"authorization_code"}, "code": {codeBefore},
			"redirect_uri": {redirectURI}}, "Authorization", basic("code-client", apps.codeSecret)), 400, `{"error": "invalid_grant"}`)
		expect(t, e.do("POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {survivorRefresh}}, conf...),
			400, `{"error": "invalid_grant"}`)
		expect(t, e.do("POST", "/o/introspect/", url.Values{"token": {survivorAccess}}, conf...), 200, `{"active": false}`)
		if r := e.do("POST", "/o/introspect/", url.Values{"token": {oauthAfter}}, conf...); r.json(t)["active"] != true {
			t.Errorf("introspection of a token from after the change: %s", r.body)
		}
		// simplejwt's verify endpoint applies the same rule.
		expect(t, e.do("POST", "/access-token/verify/", map[string]string{"token": jwtBefore}), 401, "")
		expect(t, e.do("POST", "/access-token/verify/", map[string]string{"token": jwtAfter}), 200, "{}")
	})
}

// "Log out everywhere" ends every credential of the user, not only the DRF
// tokens: access JWTs, OAuth tokens, unredeemed codes, browser sessions.
func TestLogoutAllEndsEveryCredential(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		apps := e.setupOAuth()
		e.clock.freeze(time.Now())
		_, jwtAccess := e.pair("alice", "alicepass")
		oauthAccess := e.password(apps).Access
		br := e.browser()
		br.login("alice", "alicepass")
		code := br.authorize(url.Values{"client_id": {"code-client"}, "response_type": {"code"},
			"redirect_uri": {redirectURI}, "scope": {"read"}}).Query().Get("code")
		key := e.tokenOf("alice", "alicepass")

		e.clock.freeze(time.Now().Add(time.Millisecond))
		expect(t, e.do("POST", "/api/tokens/logoutall/", nil, "Authorization", "Token "+key), 204, "")

		for name, header := range map[string]string{"DRF": "Token " + key, "JWT": "Bearer " + jwtAccess, "OAuth": "Bearer " + oauthAccess} {
			if r := e.do("GET", "/api/me/", nil, "Authorization", header); r.status != 401 {
				t.Errorf("%s after logout-all: %d", name, r.status)
			}
		}
		if res, _ := br.get("/api/me/"); res.StatusCode != 401 {
			t.Errorf("session after logout-all: %d", res.StatusCode)
		}
		expect(t, e.do("POST", "/o/token/", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}},
			"Authorization", basic("code-client", apps.codeSecret)), 400, `{"error": "invalid_grant"}`)
		e.clock.freeze(time.Now().Add(2 * time.Millisecond))
		if _, access := e.pair("alice", "alicepass"); e.do("GET", "/api/me/", nil, "Authorization", "Bearer "+access).status != 200 {
			t.Error("a login after logout-all does not work")
		}
	})
}
