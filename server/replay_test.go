package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/oauth"
)

// A code replayed after the cleanup has run past the code's own expiry
// still revokes the tokens issued from it: the redeemed code's row stays
// while they do (it used to be deleted a minute after issue, and the replay
// then revoked nothing).
func TestCodeReplayAfterCleanup(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		b := e.browser()
		b.login("alice", "alicepass")
		code := b.authorize(url.Values{"client_id": {"code-client"}, "response_type": {"code"}, "redirect_uri": {redirectURI},
			"scope": {"read"}}).Query().Get("code")
		auth := basic("code-client", a.codeSecret)
		r := e.do("POST", "/o/token/", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}, "Authorization", auth)
		expect(t, r, 200, "")
		access := r.json(t)["access_token"].(string)

		e.clock.advance(5 * time.Minute) // the code expired long ago
		cleaner := oauth.NewCleaner(e.store, oauth.DefaultConfig(), e.clock.now, nil)
		if _, err := cleaner.ClearTokens(context.Background()); err != nil {
			t.Fatal(err)
		}
		if e.meStatus(access) != 200 {
			t.Fatal("the cleanup removed a live access token")
		}
		expect(t, e.do("POST", "/o/token/", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}},
			"Authorization", auth), 400, `{"error": "invalid_grant"}`)
		if s := e.meStatus(access); s != 401 {
			t.Fatalf("the replay after the cleanup left the access token working (%d)", s)
		}
	})
}

// HEAD on the authorization endpoint answers like GET without its effect:
// an application that skips the consent page gets no code from a HEAD.
func TestHeadIssuesNoCode(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.setupOAuth()
		if _, _, err := e.clients.Create(context.Background(), oauth.ApplicationSpec{ClientID: "trusted", GrantTypes: []string{"authorization-code"},
			RedirectURIs: []string{redirectURI}, SkipAuthorization: true}); err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.login("alice", "alicepass")
		q := url.Values{"client_id": {"trusted"}, "response_type": {"code"}, "redirect_uri": {redirectURI}, "scope": {"read"}}
		req, _ := http.NewRequest("HEAD", b.base+"/o/authorize/?"+q.Encode(), nil)
		res, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Location") != "" {
			t.Fatalf("HEAD: %d Location %q", res.StatusCode, res.Header.Get("Location"))
		}
		var n int
		if err := e.store.DB().QueryRow("SELECT COUNT(*) FROM oauth_grants").Scan(&n); err != nil || n != 0 {
			t.Fatalf("HEAD stored %d codes (%v)", n, err)
		}
		// GET still issues one, as the consent is skipped.
		res2, _ := b.get("/o/authorize/?" + q.Encode())
		if res2.StatusCode != 302 || !strings.Contains(res2.Header.Get("Location"), "code=") {
			t.Fatalf("GET: %d %s", res2.StatusCode, res2.Header.Get("Location"))
		}
	})
}
