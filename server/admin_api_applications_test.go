package server_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

// The admin API's applications, credentials, audit log, signing keys and
// status (admin_api_applications.go and the files beside it).

// morePerms stores the Django permissions named (beyond adminPerms) in
// f.perms, so that grant can hand them out.
func (f *adminFixture) morePerms(keys ...string) {
	f.e.t.Helper()
	for _, key := range keys {
		if _, ok := f.perms[key]; ok {
			continue
		}
		app, code, _ := strings.Cut(key, ".")
		_, model, _ := strings.Cut(code, "_")
		p := gatehouse.Permission{Name: "Can " + strings.ReplaceAll(code, "_", " "), Codename: code, AppLabel: app, Model: model}
		if err := f.e.store.CreatePermission(context.Background(), &p); err != nil {
			f.e.t.Fatal(err)
		}
		f.perms[key] = p
	}
}

var appPerms = []string{"oauth2_provider.view_application", "oauth2_provider.add_application",
	"oauth2_provider.change_application", "oauth2_provider.delete_application"}

const appsURL = "/api/admin/applications/"

// passwordGrant asks /o/token/ for alice's tokens as client id/secret and
// returns the answer.
func (f *adminFixture) passwordGrant(id, secret string) resp {
	f.e.t.Helper()
	return f.e.do("POST", "/o/token/", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alicepass"},
		"client_id": {id}, "client_secret": {secret}})
}

// Applications: who may, creation with its secret shown once, field
// errors that write nothing, PATCH, rotation, deletion with what it took.
func TestAdminApplications(t *testing.T) {
	eachWithConfig(t, func(c *config) { c.OAuth.AdminClients = []string{"admin-app"} }, nil, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		f.morePerms(appPerms...)
		appman := f.staff("appman", false, appPerms...)
		looker := f.staff("looker", false, "oauth2_provider.view_application")
		e.user("alice", "alicepass")
		body := map[string]any{"client_id": "shop", "name": "Shop", "client_type": "confidential",
			"authorization_grant_type": []string{"password", "authorization-code"}, "redirect_uris": "https://shop.example/cb",
			"allowed_origins": []string{"https://shop.example"}, "skip_authorization": true}

		// Who may: anonymous 401; not staff, staff without the
		// permission 403; viewing is not adding.
		expect(t, f.do("", "GET", appsURL, nil), 401, msgNoCreds)
		expect(t, f.do(f.plain, "GET", appsURL, nil), 403, msgDenied)
		expect(t, f.do(f.clerk, "GET", appsURL, nil), 403, msgDenied)
		expect(t, f.do(f.clerk, "POST", appsURL, body), 403, msgDenied)
		expect(t, f.do(looker, "POST", appsURL, body), 403, msgDenied)
		expect(t, f.do(looker, "GET", appsURL, nil), 200, `{"count":0,"next":null,"previous":null,"results":[]}`)

		// Bad fields: 400 naming the field, nothing stored.
		for _, tc := range []struct {
			change map[string]any
			field  string
		}{
			{map[string]any{"redirect_uris": []string{"not a uri"}}, "redirect_uris"},
			{map[string]any{"redirect_uris": []string{"https://shop.example/cb#frag"}}, "redirect_uris"},
			{map[string]any{"redirect_uris": []string{}}, "redirect_uris"},
			{map[string]any{"post_logout_redirect_uris": []string{"javascript:alert(1)"}}, "post_logout_redirect_uris"},
			{map[string]any{"client_type": "secretive"}, "client_type"},
			{map[string]any{"authorization_grant_type": []string{"implicit"}}, "authorization_grant_type"},
			{map[string]any{"authorization_grant_type": 3}, "authorization_grant_type"},
			{map[string]any{"allowed_origins": []string{"ftp://shop.example"}}, "allowed_origins"},
			{map[string]any{"token_format": "paseto"}, "token_format"},
			{map[string]any{"skip_authorization": "perhaps"}, "skip_authorization"},
			{map[string]any{"redirect_uris": nil}, "redirect_uris"},
		} {
			b := map[string]any{}
			for k, v := range body {
				b[k] = v
			}
			for k, v := range tc.change {
				b[k] = v
			}
			r := f.do(appman, "POST", appsURL, b)
			expect(t, r, 400, "")
			if m := r.json(t); len(m) != 1 || m[tc.field] == nil {
				t.Fatalf("%v: want a field error on %s, got %s", tc.change, tc.field, r.body)
			}
		}
		expect(t, f.do(appman, "POST", appsURL, map[string]any{"name": "x"}), 400, `{"authorization_grant_type":["This field is required."]}`)
		expect(t, f.do(appman, "GET", appsURL, nil), 200, `{"count":0,"next":null,"previous":null,"results":[]}`)

		// Created: 201 with the secret, which works, and is never shown
		// again.
		r := f.do(appman, "POST", appsURL, body)
		expect(t, r, 201, "")
		if r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("the secret's answer may be cached: %v", r.header)
		}
		created := r.json(t)
		secret, _ := created["client_secret"].(string)
		if len(secret) < 32 || created["client_id"] != "shop" || created["client_type"] != "confidential" || created["token_format"] != "opaque" ||
			created["skip_authorization"] != true || strings.Join(toStrings(created["redirect_uris"]), " ") != "https://shop.example/cb" ||
			strings.Join(toStrings(created["authorization_grant_type"]), " ") != "password authorization-code" {
			t.Fatalf("created: %s", r.body)
		}
		if strings.Contains(string(r.body), "hash") {
			t.Fatalf("a hash in the answer: %s", r.body)
		}
		expect(t, f.do(appman, "POST", appsURL, body), 400, `{"client_id":["application with this client id already exists."]}`)
		tok := f.passwordGrant("shop", secret)
		expect(t, tok, 200, "")
		access := tok.json(t)["access_token"].(string)
		r = f.do(looker, "GET", appsURL+"shop/", nil)
		expect(t, r, 200, "")
		if strings.Contains(string(r.body), secret) || strings.Contains(string(r.body), "client_secret") {
			t.Fatalf("the secret shown again: %s", r.body)
		}
		if live := r.json(t)["live_tokens"].(map[string]any); live["oauth-access"] != float64(1) || live["oauth-refresh"] != float64(1) {
			t.Fatalf("live tokens: %s", r.body)
		}
		expect(t, f.do(looker, "GET", appsURL+"nope/", nil), 404, msgNotFound)
		expect(t, f.do(f.clerk, "GET", appsURL+"nope/", nil), 403, msgDenied)

		// PATCH: a bad redirect URI is a field error and changes nothing;
		// good fields apply; unknown client 404; the viewer may not.
		r = f.do(appman, "PATCH", appsURL+"shop/", map[string]any{"name": "Renamed", "redirect_uris": []string{"/relative"}})
		expect(t, r, 400, "")
		if r.json(t)["redirect_uris"] == nil {
			t.Fatalf("PATCH bad redirect: %s", r.body)
		}
		if got := f.do(appman, "GET", appsURL+"shop/", nil).json(t); got["name"] != "Shop" {
			t.Fatalf("half-written: %v", got)
		}
		expect(t, f.do(looker, "PATCH", appsURL+"shop/", map[string]any{"name": "x"}), 403, msgDenied)
		expect(t, f.do(appman, "PATCH", appsURL+"nope/", map[string]any{"name": "x"}), 404, msgNotFound)
		expect(t, f.do(appman, "PATCH", appsURL+"shop/", map[string]any{"client_id": "other"}), 400, `{"client_id":["The client id cannot be changed."]}`)
		r = f.do(appman, "PATCH", appsURL+"shop/", map[string]any{"name": "Renamed", "post_logout_redirect_uris": []string{"https://shop.example/bye"},
			"skip_authorization": false})
		expect(t, r, 200, "")
		if got := r.json(t); got["name"] != "Renamed" || got["skip_authorization"] != false || got["client_secret"] != nil {
			t.Fatalf("patched: %s", r.body)
		}

		// Rotation: the new secret works at once, the old one no more.
		r = f.do(appman, "POST", appsURL+"shop/rotate-secret/", nil)
		expect(t, r, 200, "")
		fresh := r.json(t)["client_secret"].(string)
		if r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("the rotated secret's answer may be cached: %v", r.header)
		}
		if fresh == secret || len(fresh) < 32 {
			t.Fatalf("rotated: %s", r.body)
		}
		expect(t, f.passwordGrant("shop", secret), 401, "")
		expect(t, f.passwordGrant("shop", fresh), 200, "")
		expect(t, f.do(looker, "POST", appsURL+"shop/rotate-secret/", nil), 403, msgDenied)
		expect(t, f.do(appman, "POST", appsURL+"nope/rotate-secret/", nil), 404, msgNotFound)

		// A public client has no secret to rotate; made confidential it
		// gets one, shown in that answer.
		r = f.do(appman, "POST", appsURL, map[string]any{"client_id": "spa", "client_type": "public", "authorization_grant_type": "password"})
		expect(t, r, 201, "")
		if _, has := r.json(t)["client_secret"]; has {
			t.Fatalf("a public client with a secret: %s", r.body)
		}
		r = f.do(appman, "POST", appsURL+"spa/rotate-secret/", nil)
		expect(t, r, 400, "")
		r = f.do(appman, "PATCH", appsURL+"spa/", map[string]any{"client_type": "confidential"})
		expect(t, r, 200, "")
		spaSecret, _ := r.json(t)["client_secret"].(string)
		expect(t, f.passwordGrant("spa", spaSecret), 200, "")

		// An admin client: only a superuser may change it.
		expect(t, f.do(f.root, "POST", appsURL, map[string]any{"client_id": "admin-app", "authorization_grant_type": "client-credentials"}), 201, "")
		expect(t, f.do(appman, "POST", appsURL+"admin-app/rotate-secret/", nil), 403, msgDenied)
		expect(t, f.do(appman, "PATCH", appsURL+"admin-app/", map[string]any{"name": "mine"}), 403, msgDenied)
		expect(t, f.do(appman, "DELETE", appsURL+"admin-app/", nil), 403, msgDenied)
		expect(t, f.do(f.root, "POST", appsURL+"admin-app/rotate-secret/", nil), 200, "")

		// Delete: the answer says what went; the access token is refused
		// at once; the application is gone.
		tok = f.passwordGrant("shop", fresh)
		access = tok.json(t)["access_token"].(string)
		if st := e.meStatus(access); st != 200 {
			t.Fatalf("token before deletion: %d", st)
		}
		expect(t, f.do(looker, "DELETE", appsURL+"shop/", nil), 403, msgDenied)
		r = f.do(appman, "DELETE", appsURL+"shop/", nil)
		expect(t, r, 200, `{"client_id":"shop","removed":{"grants":0,"tokens":{"oauth-access":3,"oauth-refresh":3}}}`)
		if st := e.meStatus(access); st != 401 {
			t.Fatalf("the deleted application's token answered %d, want 401", st)
		}
		expect(t, f.do(appman, "GET", appsURL+"shop/", nil), 404, msgNotFound)
		expect(t, f.do(appman, "DELETE", appsURL+"shop/", nil), 404, msgNotFound)

		// Audited with the acting staff user.
		var sawCreate, sawDelete bool
		for _, ev := range e.auditRows() {
			if ev.ClientID == "shop" && ev.Event == gatehouse.AuditApplicationCreated {
				sawCreate = ev.ActorID == f.users["appman"].ID
			}
			if ev.ClientID == "shop" && ev.Event == gatehouse.AuditApplicationDeleted {
				sawDelete = ev.ActorID == f.users["appman"].ID
			}
			if strings.Contains(strings.Join(mapValues(ev.Detail), " "), fresh) {
				t.Fatalf("a secret in the audit log: %+v", ev)
			}
		}
		if !sawCreate || !sawDelete {
			t.Fatal("application.created or .deleted not audited with the actor")
		}
	})
}

func toStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			s, _ := x.(string)
			out = append(out, s)
		}
	}
	return out
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
