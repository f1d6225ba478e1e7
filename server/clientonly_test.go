package server_test

import (
	"net/url"
	"testing"
)

// A client_credentials token belongs to no user: DOT authenticates it with
// request.user None, so a view that needs a user answers 403 (not the 401
// "Given token not valid" of a bad token), a view open to anonymous
// callers serves it as one, and once revoked it is a bad token again.
func TestClientOnlyTokenOnUserViews(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		cc := e.tokens(url.Values{"grant_type": {"client_credentials"}}, "Authorization", basic("cc-client", a.ccSecret))
		auth := []string{"Authorization", "Bearer " + cc.Access}
		denied := `{"detail":"You do not have permission to perform this action."}`
		expect(t, e.do("GET", "/api/me/", nil, auth...), 403, denied)
		expect(t, e.do("GET", "/api/users/", nil, auth...), 403, denied)
		expect(t, e.do("GET", "/api/tokens/", nil, auth...), 403, denied)
		expect(t, e.do("POST", "/sign_up/", map[string]string{"username": "newcomer", "password": "a-long-passphrase-1"}, auth...), 201, "")
		expect(t, e.do("POST", "/o/revoke_token/", url.Values{"token": {cc.Access}}, "Authorization", basic("cc-client", a.ccSecret)), 200, "")
		r := e.do("GET", "/api/me/", nil, auth...)
		if r.status != 401 {
			t.Fatalf("a revoked client token: %d %s", r.status, r.body)
		}
	})
}
