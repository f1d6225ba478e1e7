package server_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

var tokenPerms = []string{"authtoken.view_token", "authtoken.delete_token", "oauth2_provider.view_accesstoken",
	"oauth2_provider.delete_accesstoken", "oauth2_provider.view_refreshtoken", "oauth2_provider.delete_refreshtoken"}

const credsURL = "/api/admin/credentials/"

// credentialsOf lists the kinds and ids of a credentials page.
func credentialsOf(t *testing.T, r resp) []map[string]any {
	t.Helper()
	var page struct {
		Results []map[string]any `json:"results"`
	}
	decode(t, r, &page)
	return page.Results
}

// Credentials: listing with filters and pages, per-kind permissions, bad
// filters, revocation by ids and by filter refused at once by /api/, and
// the refusals that end nothing.
func TestAdminCredentials(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		f.morePerms(tokenPerms...)
		drfOnly := f.staff("drfonly", false, "authtoken.view_token", "authtoken.delete_token")
		tokman := f.staff("tokman", false, tokenPerms...)
		apps := e.setupOAuth() // alice, conf-client
		aliceU, err := e.store.UserByUsername(t.Context(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		aliceKey := e.tokenOf("alice", "alicepass")
		pair := e.password(apps)
		if e.meStatus(pair.Access) != 200 {
			t.Fatal("alice's access token refused before revocation")
		}
		uid := strconv.FormatInt(aliceU.ID, 10)

		// Who may: anonymous 401, not staff or staff without a token
		// permission 403; a kind one may not view 403.
		expect(t, f.do("", "GET", credsURL, nil), 401, msgNoCreds)
		expect(t, f.do(f.plain, "GET", credsURL, nil), 403, msgDenied)
		expect(t, f.do(f.clerk, "GET", credsURL, nil), 403, msgDenied)
		expect(t, f.do(drfOnly, "GET", credsURL+"?kind=oauth-access", nil), 403, msgDenied)

		// The DRF-only staff sees DRF keys only.
		r := f.do(drfOnly, "GET", credsURL+"?user="+uid, nil)
		expect(t, r, 200, "")
		for _, c := range credentialsOf(t, r) {
			if c["kind"] != gatehouse.CredentialDRF || c["user"] != float64(aliceU.ID) {
				t.Fatalf("drfonly sees %v", c)
			}
		}
		// Everything of alice's, then pages of one: every item once.
		r = f.do(f.root, "GET", credsURL+"?user="+uid, nil)
		expect(t, r, 200, "")
		all := credentialsOf(t, r)
		kinds := map[any]int{}
		for _, c := range all {
			kinds[c["kind"]]++
			if strings.Contains(string(r.body), pair.Access) || strings.Contains(string(r.body), aliceKey) {
				t.Fatal("a secret in the listing")
			}
		}
		if kinds[gatehouse.CredentialDRF] < 1 || kinds[gatehouse.CredentialOAuthAccess] != 1 || kinds[gatehouse.CredentialOAuthRefresh] != 1 {
			t.Fatalf("alice's credentials %v", kinds)
		}
		var paged []string
		next := credsURL + "?user=" + uid + "&page_size=1"
		for i := 0; next != ""; i++ {
			r := f.do(f.root, "GET", strings.TrimPrefix(next, e.http.URL), nil)
			expect(t, r, 200, "")
			m := r.json(t)
			if m["count"] != float64(len(all)) {
				t.Fatalf("count %v, want %d", m["count"], len(all))
			}
			for _, c := range credentialsOf(t, r) {
				paged = append(paged, c["kind"].(string)+"/"+c["id"].(string))
			}
			next, _ = m["next"].(string)
			if i > 20 {
				t.Fatal("no end to the pages")
			}
		}
		var want []string
		for _, c := range all {
			want = append(want, c["kind"].(string)+"/"+c["id"].(string))
		}
		if strings.Join(paged, ",") != strings.Join(want, ",") {
			t.Fatalf("pages of one %v, the whole list %v", paged, want)
		}
		r = f.do(f.root, "GET", credsURL+"?client_id=conf-client", nil)
		if got := credentialsOf(t, r); len(got) != 2 || got[0]["client_id"] != "conf-client" {
			t.Fatalf("by client: %s", r.body)
		}

		// Bad filters: 400 naming the field.
		for q, field := range map[string]string{"kind=cookie": "kind", "state=zombie": "state", "user=999999": "user", "user=abc": "user",
			"client_id=nope": "client_id"} {
			r := f.do(f.root, "GET", credsURL+"?"+q, nil)
			expect(t, r, 400, "")
			if m := r.json(t); len(m) != 1 || m[field] == nil {
				t.Fatalf("?%s: %s", q, r.body)
			}
		}
		expect(t, f.do(f.root, "GET", credsURL+"?page=99", nil), 404, msgBadPage)

		// Revocation refusals end nothing.
		revoke := credsURL + "revoke/"
		expect(t, f.do(f.root, "POST", revoke, map[string]any{}), 400, "")
		expect(t, f.do(f.root, "POST", revoke, map[string]any{"ids": []any{}}), 400, `{"ids":["This list may not be empty."]}`)
		expect(t, f.do(f.root, "POST", revoke, map[string]any{"ids": []map[string]string{{"kind": "oauth-access", "id": "99999"}}}), 400, "")
		expect(t, f.do(f.root, "POST", revoke, map[string]any{"ids": []map[string]string{{"kind": "cookie", "id": "1"}}}), 400, "")
		expect(t, f.do(f.root, "POST", revoke, map[string]any{"ids": []map[string]string{{"kind": "drf", "id": "1"}}, "user": uid}), 400, "")
		expect(t, f.do(f.root, "POST", revoke, map[string]any{"user": "999999"}), 400, "")
		expect(t, f.do(f.clerk, "POST", revoke, map[string]any{"user": uid}), 403, msgDenied)
		expect(t, f.do(drfOnly, "POST", revoke, map[string]any{"user": uid, "kind": "oauth-access"}), 403, msgDenied)
		expect(t, f.do(tokman, "POST", revoke, map[string]any{"kind": "drf"}), 403, msgDenied) // no user named
		expect(t, f.do(tokman, "POST", revoke, map[string]any{"user": strconv.FormatInt(f.users["root"].ID, 10), "kind": "drf"}), 403, msgDenied)
		if e.meStatus(pair.Access) != 200 || e.do("GET", "/api/me/", nil, "Authorization", "Token "+aliceKey).status != 200 {
			t.Fatal("a refused revocation ended something")
		}

		// By id: the access token is refused at once.
		var accessID string
		for _, c := range all {
			if c["kind"] == gatehouse.CredentialOAuthAccess {
				accessID = c["id"].(string)
			}
		}
		r = f.do(tokman, "POST", revoke, map[string]any{"ids": []map[string]string{{"kind": "oauth-access", "id": accessID}}})
		expect(t, r, 200, `{"revoked":1}`)
		if st := e.meStatus(pair.Access); st != 401 {
			t.Fatalf("revoked access token answered %d", st)
		}
		// By filter: alice's DRF keys, refused at once.
		r = f.do(tokman, "POST", revoke, map[string]any{"user": uid, "kind": "drf"})
		expect(t, r, 200, "")
		if n := r.json(t)["revoked"].(float64); n < 1 {
			t.Fatalf("revoked %v", n)
		}
		if st := e.do("GET", "/api/me/", nil, "Authorization", "Token "+aliceKey).status; st != 401 {
			t.Fatalf("revoked DRF key answered %d", st)
		}
		r = f.do(f.root, "GET", credsURL+"?user="+uid+"&state=ended&kind=oauth-refresh", nil)
		if got := credentialsOf(t, r); len(got) != 0 { // revoking the access token leaves its refresh token
			t.Fatalf("ended refresh tokens: %s", r.body)
		}
		var audited bool
		for _, ev := range e.auditRows() {
			if ev.Event == gatehouse.AuditCredentialsRevoked && ev.ActorID == f.users["tokman"].ID && ev.Detail["count"] == "1" {
				audited = true
			}
		}
		if !audited {
			t.Fatal("credentials.revoked not audited with the actor")
		}
	})
}
