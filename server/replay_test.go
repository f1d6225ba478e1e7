package server_test

import (
	"context"
	"net/url"
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
