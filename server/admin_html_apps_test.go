package server_test

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

var secretRE = regexp.MustCompile(`id="client-secret" type="text" value="([^"]+)"`)
var clientIDRE = regexp.MustCompile(`id="client-id" type="text" value="([^"]+)"`)

// The applications and tokens pages without a browser: a bad redirect URI
// comes back on its field and registers nothing; the secret is shown once,
// on the page answering the POST, and works; rotation replaces it; the
// tokens page lists and revokes; the superusers' pages refuse other staff.
func TestAdminSiteApplicationsAndTokens(t *testing.T) {
	eachWith(t, nil, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		root := e.browser()
		root.login("root", "rootpass")
		_, page := root.get("/admin/applications/add/")
		form := postedForm(t, page, "/admin/applications/add/")
		form.Set("name", "Shop")
		form["grant_types"] = []string{gatehouse.GrantAuthorizationCode, gatehouse.GrantPassword}
		form.Set("redirect_uris", "not a uri")
		res, page := root.post("/admin/applications/add/", form)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, `id="id_redirect_uris-errors"`) || !strings.Contains(page, `aria-invalid="true"`) {
			t.Fatalf("bad redirect URI: %d\n%s", res.StatusCode, page)
		}
		if _, page = root.get("/admin/applications/"); !strings.Contains(page, "No application yet.") {
			t.Fatalf("a refused form registered an application:\n%s", page)
		}
		form.Set("redirect_uris", "https://shop.example.com/cb\n\nhttps://shop.example.com/cb2")
		res, page = root.post("/admin/applications/add/", form)
		sm, cm := secretRE.FindStringSubmatch(page), clientIDRE.FindStringSubmatch(page)
		if res.StatusCode != 200 || sm == nil || cm == nil || res.Header.Get("Cache-Control") != "max-age=0, no-cache, no-store, must-revalidate, private" {
			t.Fatalf("create: %d %q\n%s", res.StatusCode, res.Header.Get("Cache-Control"), page)
		}
		clientID, secret := cm[1], sm[1]
		if !strings.Contains(page, `data-copy="client-secret"`) || !strings.Contains(page, " hidden>Copy secret</button>") {
			t.Fatalf("no copy button (hidden until the script shows it)")
		}
		if len(clientID) != 40 || form.Get("client_id") != clientID {
			t.Fatalf("the form's client id %q, created %q", form.Get("client_id"), clientID)
		}
		// The form sent again (a reload of the page showing the secret):
		// the client id is taken, no second application, the secret stands.
		if res, page = root.post("/admin/applications/add/", form); res.StatusCode != http.StatusBadRequest || secretRE.MatchString(page) {
			t.Fatalf("the add form sent twice: %d\n%s", res.StatusCode, page)
		}
		if apps, _ := e.store.Applications(t.Context()); len(apps) != 1 {
			t.Fatalf("the add form sent twice made %d applications", len(apps))
		}
		grant := func(sec string) (int, string) {
			r := e.do("POST", "/o/token/", url.Values{"grant_type": {"password"}, "username": {"plain"}, "password": {"plainpass"}},
				"Authorization", basic(clientID, sec))
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			if r.status == 200 {
				decode(t, r, &tok)
			}
			return r.status, tok.AccessToken
		}
		st, access := grant(secret)
		if st != 200 {
			t.Fatalf("password grant with the shown secret: %d", st)
		}
		appURL := "/admin/applications/" + url.PathEscape(clientID) + "/"
		res, page = root.get(appURL)
		if res.StatusCode != 200 || strings.Contains(page, secret) || !strings.Contains(page, "https://shop.example.com/cb\nhttps://shop.example.com/cb2</textarea>") {
			t.Fatalf("application page: %d\n%s", res.StatusCode, page)
		}
		// Change: skip authorization and the token format; the rest as posted.
		form = postedForm(t, page, appURL)
		form.Set("skip_authorization", "on")
		form.Set("token_format", gatehouse.TokenFormatJWT)
		if res, page = root.post(appURL, form); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("save: %d\n%s", res.StatusCode, page)
		}
		app, err := e.store.Application(t.Context(), clientID)
		if err != nil || !app.SkipAuthorization || app.TokenFormat != gatehouse.TokenFormatJWT || len(app.RedirectURIs) != 2 || len(app.GrantTypes) != 2 {
			t.Fatalf("saved: %+v %v", app, err)
		}
		// Rotate: a new secret, the old one refused.
		_, page = root.get(appURL)
		rotate := postedForm(t, page, appURL+"rotate-secret/")
		res, page = root.post(appURL+"rotate-secret/", rotate)
		sm = secretRE.FindStringSubmatch(page)
		if res.StatusCode != 200 || sm == nil || sm[1] == secret {
			t.Fatalf("rotate: %d", res.StatusCode)
		}
		if st, _ := grant(secret); st != 401 {
			t.Fatalf("the old secret after rotation: %d", st)
		}
		// The rotation sent again: refused, the secret just shown stands.
		rotated, _ := e.store.Application(t.Context(), clientID)
		if res, page = root.post(appURL+"rotate-secret/", rotate); res.StatusCode != http.StatusConflict || secretRE.MatchString(page) {
			t.Fatalf("the rotation sent twice: %d\n%s", res.StatusCode, page)
		}
		if again, _ := e.store.Application(t.Context(), clientID); !bytes.Equal(again.SecretHash, rotated.SecretHash) {
			t.Fatal("the rotation sent twice changed the secret")
		}

		// The tokens page lists the access token; a bad kind is 400 on
		// its field; revoking nothing is refused; the checked one ends.
		res, page = root.get("/admin/tokens/?user=plain&kind=oauth-access")
		if res.StatusCode != 200 || !strings.Contains(page, `name="ids" value="oauth-access:`) {
			t.Fatalf("tokens: %d\n%s", res.StatusCode, page)
		}
		rv := postedForm(t, page, "/admin/tokens/revoke/")
		for _, m := range regexp.MustCompile(`name="ids" value="([^"]+)"`).FindAllStringSubmatch(page, -1) {
			rv.Add("ids", htmlUnescape(m[1])) // checked
		}
		if len(rv["ids"]) != 1 {
			t.Fatalf("the tokens of plain: %v", rv["ids"])
		}
		if res, _ = root.get("/admin/tokens/?kind=cookie"); res.StatusCode != http.StatusBadRequest {
			t.Fatalf("bad kind: %d", res.StatusCode)
		}
		if res, _ = root.get("/admin/tokens/?user=nobody"); res.StatusCode != http.StatusBadRequest {
			t.Fatalf("unknown user: %d", res.StatusCode)
		}
		none := url.Values{"csrfmiddlewaretoken": rv["csrfmiddlewaretoken"]}
		if res, _ = root.post("/admin/tokens/revoke/", none); res.StatusCode != http.StatusBadRequest {
			t.Fatalf("nothing checked: %d", res.StatusCode)
		}
		noCSRF := url.Values{"ids": rv["ids"]}
		if res, _ = root.post("/admin/tokens/revoke/", noCSRF); res.StatusCode != http.StatusForbidden {
			t.Fatalf("revoke without CSRF: %d", res.StatusCode)
		}
		if st := e.do("GET", "/api/me/", nil, "Authorization", "Bearer "+access).status; st != 200 {
			t.Fatalf("the token after refused revocations: %d", st)
		}
		res, _ = root.post("/admin/tokens/revoke/", rv)
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/tokens/?") ||
			!strings.Contains(loc, "user=plain") || !strings.Contains(loc, "done=revoked") {
			t.Fatalf("revoke: %d %q", res.StatusCode, loc)
		}
		if st := e.do("GET", "/api/me/", nil, "Authorization", "Bearer "+access).status; st != 401 {
			t.Fatalf("the revoked token: %d", st)
		}
		if _, page = root.get("/admin/tokens/?user=plain&kind=oauth-access&state=ended"); !strings.Contains(page, "revoked</span>") && !strings.Contains(page, "No token matches.") {
			t.Fatalf("ended tokens:\n%s", page)
		}

		// The deletion page counts the live refresh token; the deletion ends it.
		res, page = root.get(appURL + "delete/")
		if res.StatusCode != 200 || !regexp.MustCompile(`live refresh tokens</th><td>1<`).MatchString(page) {
			t.Fatalf("delete page: %d\n%s", res.StatusCode, page)
		}
		if res, _ = root.post(appURL+"delete/", postedForm(t, page, appURL+"delete/")); res.StatusCode != http.StatusSeeOther ||
			res.Header.Get("Location") != "/admin/applications/?done=appdeleted&n=1" {
			t.Fatalf("delete: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		for _, p := range []string{appURL, "/admin/applications/nope/", "/admin/applications/%20/"} {
			if res, _ = root.get(p); res.StatusCode != http.StatusNotFound {
				t.Errorf("%s: %d", p, res.StatusCode)
			}
		}

		// Audited with root as the actor.
		seen := map[string]bool{}
		for _, ev := range e.auditRows() {
			if ev.ClientID == clientID && (ev.Event == gatehouse.AuditApplicationCreated || ev.Event == gatehouse.AuditApplicationChanged || ev.Event == gatehouse.AuditApplicationDeleted) {
				if ev.ActorID != f.users["root"].ID {
					t.Errorf("%s by %d", ev.Event, ev.ActorID)
				}
				seen[ev.Event] = true
			}
		}
		if len(seen) != 3 {
			t.Errorf("application events seen: %v", seen)
		}

		// Staff who is not a superuser: no audit log, keys or status.
		viewer := e.browser()
		viewer.login("viewer", "viewerpass")
		for _, p := range []string{"/admin/audit/", "/admin/keys/", "/admin/status/", "/admin/applications/"} {
			if res, _ = viewer.get(p); res.StatusCode != http.StatusForbidden {
				t.Errorf("viewer on %s: %d", p, res.StatusCode)
			}
		}
		for _, p := range []string{"/admin/audit/", "/admin/keys/", "/admin/status/"} {
			if res, _ = root.get(p); res.StatusCode != 200 {
				t.Errorf("root on %s: %d", p, res.StatusCode)
			}
		}
		if res, page = root.get("/admin/audit/?since=yesterday"); res.StatusCode != http.StatusBadRequest || !strings.Contains(page, `href="#id_since"`) {
			t.Errorf("bad since: %d", res.StatusCode)
		}
	})
}
