package server_test

import (
	"net/url"
	"testing"
)

// Requests at the edges of DOT's and DRF's parameters, answered as the
// Django reference answers them (each checked against it): introspection
// without a token or with two, an empty refresh_token, client_credentials
// asked by a public client, scopes that are blank, doubly spaced or hold a
// tab, an empty or blank scope on a refresh, a DRF key that is not UTF-8,
// and the login page's username with spaces around it.
func TestOAuthEdgesAsDjango(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		conf := basic("conf-client", a.confSecret)
		password := func(extra ...string) url.Values {
			v := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alicepass"}}
			for i := 0; i+1 < len(extra); i += 2 {
				v.Add(extra[i], extra[i+1])
			}
			return v
		}
		r := e.do("POST", "/o/token/", password(), "Authorization", conf)
		expect(t, r, 200, "")
		pair := r.json(t)
		access, refresh := pair["access_token"].(string), pair["refresh_token"].(string)

		expect(t, e.do("POST", "/o/introspect/", url.Values{}, "Authorization", conf), 200, `{"active": false}`)
		expect(t, e.do("GET", "/o/introspect/", nil, "Authorization", conf), 200, `{"active": false}`)
		// Two tokens: the last is read, as request.POST.get reads it.
		expect(t, e.do("POST", "/o/introspect/", url.Values{"token": {access, "nonsense"}}, "Authorization", conf), 200, `{"active": false}`)
		if m := e.do("POST", "/o/introspect/", url.Values{"token": {"nonsense", access}}, "Authorization", conf).json(t); m["active"] != true {
			t.Fatalf("the last of two tokens, a good one: %v", m)
		}
		if m := e.do("GET", "/o/introspect/?token=nonsense&token="+access, nil, "Authorization", conf).json(t); m["active"] != true {
			t.Fatalf("GET, the last of two tokens: %v", m)
		}

		expect(t, e.do("POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {""}}, "Authorization", conf),
			400, `{"error": "invalid_grant"}`)
		expect(t, e.do("POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}}, "Authorization", conf),
			400, `{"error": "invalid_request", "error_description": "Missing refresh token parameter."}`)
		r = e.do("POST", "/o/token/", url.Values{"grant_type": {"client_credentials"}, "client_id": {"pub-client"}})
		expect(t, r, 401, `{"error": "invalid_client"}`)
		if got := r.header.Get("WWW-Authenticate"); got != `Bearer error="invalid_client"` {
			t.Fatalf("WWW-Authenticate %q", got)
		}

		for _, scope := range []string{"", " ", "read  write", "read\twrite"} {
			expect(t, e.do("POST", "/o/token/", password("scope", scope), "Authorization", conf), 400, `{"error": "invalid_scope"}`)
		}
		if m := e.do("POST", "/o/token/", password("scope", " read "), "Authorization", conf).json(t); m["scope"] != "read" {
			t.Fatalf("a padded scope: %v", m)
		}
		// On a refresh an empty scope is none (the token's own), a blank one is refused.
		expect(t, e.do("POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "scope": {" "}},
			"Authorization", conf), 400, `{"error": "invalid_scope"}`)
		r = e.do("POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "scope": {""}}, "Authorization", conf)
		if m := r.json(t); r.status != 200 || m["scope"] != pair["scope"] {
			t.Fatalf("a refresh with an empty scope: %d %s", r.status, r.body)
		}

		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Token caf\xe9"), 401,
			`{"detail":"Invalid token header. Token string should not contain invalid characters."}`)

		// The login page trims the username, as AuthenticationForm does.
		b := e.browser()
		res, page := b.get("/admin/login/")
		if res.StatusCode != 200 {
			t.Fatalf("login page: %d", res.StatusCode)
		}
		form := hidden(page)
		form.Set("username", " alice ")
		form.Set("password", "alicepass")
		if res, body := b.post("/admin/login/", form); res.StatusCode != 302 {
			t.Fatalf("login with spaces around the username: %d %s", res.StatusCode, body)
		}
	})
}

// An application deleted by another replica while this one still has it
// cached: its client's token request is refused as a client that no
// longer authenticates (401 invalid_client), not a 500 from the foreign
// key (found by a multi-replica pass). The deletion goes to the store
// directly, as another replica's would, leaving this server's cache warm.
func TestDeletedApplicationStillCached(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		cc := basic("cc-client", a.ccSecret)
		form := url.Values{"grant_type": {"client_credentials"}}
		expect(t, e.do("POST", "/o/token/", form, "Authorization", cc), 200, "")
		if err := e.store.DeleteApplication(t.Context(), "cc-client"); err != nil {
			t.Fatal(err)
		}
		r := e.do("POST", "/o/token/", form, "Authorization", cc)
		if r.status != 401 || string(r.body) != `{"error": "invalid_client"}` {
			t.Fatalf("a deleted application still cached: %d %s", r.status, r.body)
		}
	})
}

// A client secret rotated by another replica is accepted here at once,
// and the old cached secret's refusals are not counted against the
// client: the stored application decides when the cached one refuses
// (found by a multi-replica pass: the new secret was refused until the
// cache expired, and the client's retries were backed off to 429). The
// rotation goes through oauth.Clients, which leaves this server's
// application cache warm, as another replica's would.
func TestRotatedSecretAcceptedBeforeTheCacheExpires(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		form := url.Values{"grant_type": {"client_credentials"}}
		expect(t, e.do("POST", "/o/token/", form, "Authorization", basic("cc-client", a.ccSecret)), 200, "")
		fresh, err := e.clients.RotateSecret(t.Context(), "cc-client")
		if err != nil {
			t.Fatal(err)
		}
		for i := range 8 { // past the failed-attempt back-off's free failures, were they counted
			if r := e.do("POST", "/o/token/", form, "Authorization", basic("cc-client", fresh)); r.status != 200 {
				t.Fatalf("the new secret, attempt %d: %d %s", i, r.status, r.body)
			}
		}
		expect(t, e.do("POST", "/o/token/", form, "Authorization", basic("cc-client", a.ccSecret)), 401, `{"error": "invalid_client"}`)
	})
}
