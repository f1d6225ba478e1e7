package server_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/password"
)

// The admin API's shared fixture and the users list, the first resource:
// the pattern the other admin API tests follow (admin_api_*_test.go).

// adminFixture is a server with Django's auth permissions and users of
// each kind an authorization check tells apart, each with a DRF token.
type adminFixture struct {
	e     *env
	perms map[string]gatehouse.Permission // "auth.view_user" → the permission
	// Tokens ("Token <key>" headers) of: root (superuser), viewer (staff
	// with auth.view_user), clerk (staff without permissions), plain (not
	// staff, with every permission), ex (staff superuser, inactive:
	// its token is refused at authentication).
	root, viewer, clerk, plain string
	users                      map[string]gatehouse.User
}

// adminPerms are the Django permissions the fixture stores.
var adminPerms = []string{
	"auth.view_user", "auth.add_user", "auth.change_user", "auth.delete_user",
	"auth.view_group", "auth.add_group", "auth.change_group", "auth.delete_group",
	"auth.view_permission", "shop.view_item",
}

// newAdminFixture sets the fixture up on e.
func newAdminFixture(e *env) *adminFixture {
	e.t.Helper()
	ctx := context.Background()
	f := &adminFixture{e: e, perms: map[string]gatehouse.Permission{}, users: map[string]gatehouse.User{}}
	for _, key := range adminPerms {
		app, code, _ := strings.Cut(key, ".")
		_, model, _ := strings.Cut(code, "_")
		p := gatehouse.Permission{Name: "Can " + strings.ReplaceAll(code, "_", " "), Codename: code, AppLabel: app, Model: model}
		if err := e.store.CreatePermission(ctx, &p); err != nil {
			e.t.Fatal(err)
		}
		f.perms[key] = p
	}
	f.root = f.staff("root", true)
	f.viewer = f.staff("viewer", false, "auth.view_user")
	f.clerk = f.staff("clerk", false)
	plain := e.user("plain", "plainpass")
	f.users["plain"] = plain
	f.grant(plain.ID, adminPerms...)
	f.plain = "Token " + e.tokenOf("plain", "plainpass")
	return f
}

// staff creates a staff user holding perms directly, and returns the
// Authorization header of their DRF token.
func (f *adminFixture) staff(username string, superuser bool, perms ...string) string {
	f.e.t.Helper()
	u := f.newUser(username, true, superuser)
	f.grant(u.ID, perms...)
	return "Token " + f.e.tokenOf(username, username+"pass")
}

// newUser stores an active user with password username+"pass".
func (f *adminFixture) newUser(username string, staff, superuser bool) gatehouse.User {
	f.e.t.Helper()
	h, err := password.New(fastParams, nil).Hash(username + "pass")
	if err != nil {
		f.e.t.Fatal(err)
	}
	u := gatehouse.User{Username: username, Email: username + "@example.com", Password: h, IsActive: true, IsStaff: staff, IsSuperuser: superuser}
	if err := f.e.accounts.Insert(context.Background(), &u); err != nil {
		f.e.t.Fatal(err)
	}
	f.users[username] = u
	return u
}

// grant gives user id the permissions named, directly.
func (f *adminFixture) grant(id int64, perms ...string) {
	f.e.t.Helper()
	ids := make([]int64, len(perms))
	for i, p := range perms {
		ids[i] = f.perms[p].ID
	}
	if err := f.e.store.SetUserPermissions(context.Background(), id, ids); err != nil {
		f.e.t.Fatal(err)
	}
}

// do sends an admin API request with the Authorization header auth ("":
// none); body as env.do.
func (f *adminFixture) do(auth, method, path string, body any) resp {
	f.e.t.Helper()
	if auth == "" {
		return f.e.do(method, path, body)
	}
	return f.e.do(method, path, body, "Authorization", auth)
}

// decode unmarshals r's body into v.
func decode(t *testing.T, r resp, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
}

// usernamesOf lists the usernames of a users page.
func usernamesOf(t *testing.T, r resp) []string {
	t.Helper()
	var page struct {
		Results []struct {
			Username string `json:"username"`
		} `json:"results"`
	}
	decode(t, r, &page)
	var out []string
	for _, u := range page.Results {
		out = append(out, u.Username)
	}
	return out
}

// refusal is a request the admin API must refuse: the answer's status
// and exact body ("": any body). A string body is sent as raw JSON.
type refusal struct {
	name   string
	auth   string
	body   any
	status int
	want   string
}

// refuse sends each refusal as method to path and checks the answer;
// after each, readBack (when not nil) must give what it gave before: the
// refusal changed nothing.
func (f *adminFixture) refuse(t *testing.T, method, path string, cases []refusal, readBack func() string) {
	t.Helper()
	var orig string
	if readBack != nil {
		orig = readBack()
	}
	for _, tc := range cases {
		var r resp
		if s, ok := tc.body.(string); ok {
			r = f.e.do(method, path, s, "Authorization", tc.auth, "Content-Type", "application/json")
		} else {
			r = f.do(tc.auth, method, path, tc.body)
		}
		if r.status != tc.status || (tc.want != "" && string(r.body) != tc.want) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, r.status, r.body, tc.status, tc.want)
		}
		if readBack != nil {
			if got := readBack(); got != orig {
				t.Fatalf("%s changed what it should not:\n%s\nwas\n%s", tc.name, got, orig)
			}
		}
	}
}

const (
	msgDenied    = `{"detail":"You do not have permission to perform this action."}`
	msgNoCreds   = `{"detail":"Authentication credentials were not provided."}`
	msgNotFound  = `{"detail":"Not found."}`
	msgBadPage   = `{"detail":"Invalid page."}`
	usersListURL = "/api/admin/users/"
)

// GET /api/admin/users/: who may list, the DRF page shape, the fields
// shown, and pagination with page and page_size.
func TestAdminUsersList(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		// Anonymous: 401 with the challenge; not staff, or staff without
		// auth.view_user: 403.
		r := f.do("", "GET", usersListURL, nil)
		expect(t, r, 401, msgNoCreds)
		if r.header.Get("WWW-Authenticate") == "" {
			t.Fatal("401 without a challenge")
		}
		expect(t, f.do(f.plain, "GET", usersListURL, nil), 403, msgDenied)
		expect(t, f.do(f.clerk, "GET", usersListURL, nil), 403, msgDenied)
		expect(t, f.do("Token nonsense", "GET", usersListURL, nil), 401, `{"detail":"Invalid token."}`)

		for _, auth := range []string{f.root, f.viewer} {
			r := f.do(auth, "GET", usersListURL, nil)
			expect(t, r, 200, "")
			if got := r.header.Get("Content-Type"); got != "application/json" {
				t.Fatalf("Content-Type %q", got)
			}
			var page struct {
				Count    int              `json:"count"`
				Next     *string          `json:"next"`
				Previous *string          `json:"previous"`
				Results  []map[string]any `json:"results"`
			}
			decode(t, r, &page)
			if page.Count != 4 || page.Next != nil || page.Previous != nil || len(page.Results) != 4 {
				t.Fatalf("page: %s", r.body)
			}
			root := page.Results[0]
			keys := []string{"id", "username", "email", "first_name", "last_name", "is_active", "is_staff", "is_superuser", "date_joined", "last_login"}
			if len(root) != len(keys) {
				t.Fatalf("fields %v, want %v", root, keys)
			}
			for _, k := range keys {
				if _, ok := root[k]; !ok {
					t.Fatalf("no %s in %v", k, root)
				}
			}
			if root["username"] != "root" || root["is_superuser"] != true || root["is_staff"] != true || root["id"] != float64(f.users["root"].ID) {
				t.Fatalf("first user: %v", root)
			}
			if strings.Contains(string(r.body), "pbkdf2") || strings.Contains(string(r.body), "argon2") || strings.Contains(string(r.body), "password") {
				t.Fatalf("a password hash in the listing: %s", r.body)
			}
		}

		// Pages of 3: next keeps the other parameters, the last page has
		// previous; past the end and bad numbers are DRF's 404.
		r = f.do(f.viewer, "GET", usersListURL+"?page_size=3", nil)
		expect(t, r, 200, "")
		m := r.json(t)
		if m["count"] != float64(4) || m["next"] != e.http.URL+usersListURL+"?page=2&page_size=3" || m["previous"] != nil {
			t.Fatalf("first page: %s", r.body)
		}
		if got := usernamesOf(t, r); strings.Join(got, ",") != "root,viewer,clerk" {
			t.Fatalf("first page: %v", got)
		}
		r = f.do(f.viewer, "GET", usersListURL+"?page=2&page_size=3", nil)
		m = r.json(t)
		if m["next"] != nil || m["previous"] != e.http.URL+usersListURL+"?page_size=3" || strings.Join(usernamesOf(t, r), ",") != "plain" {
			t.Fatalf("second page: %s", r.body)
		}
		if got := usernamesOf(t, f.do(f.viewer, "GET", usersListURL+"?page=last&page_size=3", nil)); strings.Join(got, ",") != "plain" {
			t.Fatalf("page=last: %v", got)
		}
		for _, q := range []string{"?page=3&page_size=3", "?page=0", "?page=-1", "?page=x", "?page=99999999999999999999999"} {
			expect(t, f.do(f.viewer, "GET", usersListURL+q, nil), 404, msgBadPage)
		}
		// A page_size DRF cannot read is the default; a larger one the
		// maximum.
		for _, q := range []string{"?page_size=x", "?page_size=0", "?page_size=100000"} {
			r := f.do(f.viewer, "GET", usersListURL+q, nil)
			if r.status != 200 || len(usernamesOf(t, r)) != 4 {
				t.Fatalf("%s: %d %s", q, r.status, r.body)
			}
		}
		// Only JSON is served.
		expect(t, f.do(f.viewer, "GET", usersListURL+"?format=api", nil), 404, msgNotFound)
		// A path under /api/admin/ that is no resource: a JSON 404.
		expect(t, f.do(f.viewer, "GET", "/api/admin/nothing-here/", nil), 404, msgNotFound)
	})
}

// OAuth tokens administer only with the admin scope, which only the
// clients of admin-clients are granted: a staff user's token from another
// application is refused, a client's own admin token acts as a superuser.
func TestAdminOAuthScope(t *testing.T) {
	// With oauth-require-scopes, the admin scope replaces read and write:
	// a token of scope "admin" alone administers.
	each(t, func(c *config) {
		c.OAuth.AdminClients, c.OAuth.RequireScopes = []string{"cc-client", "conf-client"}, true
	}, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		a := e.setupOAuth()
		ctx := context.Background()
		other, otherSecret, err := e.clients.Create(ctx, oauthSpec("other-cc", "client-credentials"))
		if err != nil {
			t.Fatal(err)
		}
		// A client not in admin-clients asking for admin: invalid_scope.
		r := e.do("POST", "/o/token/", url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}}, "Authorization", basic(other.ClientID, otherSecret))
		expect(t, r, 400, `{"error": "invalid_scope"}`)
		// An admin client's own token without the scope: 403; with it: a
		// superuser's view.
		plainCC := e.tokens(url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}, "Authorization", basic("cc-client", a.ccSecret))
		expect(t, f.do("Bearer "+plainCC.Access, "GET", usersListURL, nil), 403, msgDenied)
		adminCC := e.tokens(url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}}, "Authorization", basic("cc-client", a.ccSecret))
		if adminCC.Scope != "admin" {
			t.Fatalf("scope %q", adminCC.Scope)
		}
		r = f.do("Bearer "+adminCC.Access, "GET", usersListURL, nil)
		expect(t, r, 200, "")
		if r.json(t)["count"] != float64(5) {
			t.Fatalf("client's listing: %s", r.body)
		}
		// A staff user's password-grant token: without admin 403, with it
		// the user's own permissions (viewer may list).
		form := func(scope string) url.Values {
			return url.Values{"grant_type": {"password"}, "username": {"viewer"}, "password": {"viewerpass"}, "scope": {scope},
				"client_id": {"conf-client"}, "client_secret": {a.confSecret}}
		}
		expect(t, f.do("Bearer "+e.tokens(form("read write")).Access, "GET", usersListURL, nil), 403, msgDenied)
		expect(t, f.do("Bearer "+e.tokens(form("read admin")).Access, "GET", usersListURL, nil), 200, "")
		// The same user through a client that may not have admin.
		expect(t, e.do("POST", "/o/token/", url.Values{"grant_type": {"password"}, "username": {"viewer"}, "password": {"viewerpass"},
			"scope": {"admin"}, "client_id": {"pub-client"}}), 400, `{"error": "invalid_scope"}`)
		// The client's changes are audited with its client_id, no user.
		expect(t, f.do("Bearer "+adminCC.Access, "POST", "/api/admin/groups/", map[string]any{"name": "bots"}), 201, "")
		found := false
		for _, ev := range e.auditRows() {
			if ev.Event == gatehouse.AuditGroupCreated {
				found = ev.ClientID == "cc-client" && ev.ActorID == 0
				if !found {
					t.Errorf("group.created by the client: %+v", ev)
				}
			}
		}
		if !found {
			t.Fatal("no group.created")
		}
	})
	// Once a client leaves admin-clients, its admin tokens stop working.
	each(t, func(c *config) { c.OAuth.AdminClients = []string{"cc-client"} }, func(t *testing.T, e *env) {
		newAdminFixture(e)
		a := e.setupOAuth()
		tok := e.tokens(url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}}, "Authorization", basic("cc-client", a.ccSecret))
		later := e.restart(func(c *config) { c.OAuth.AdminClients = nil }, nil)
		expect(t, later.do("GET", usersListURL, nil, "Authorization", "Bearer "+tok.Access), 403, msgDenied)
	})
}

// oauthSpec is a confidential application of one grant type.
func oauthSpec(clientID, grant string) oauth.ApplicationSpec {
	return oauth.ApplicationSpec{ClientID: clientID, Name: clientID, GrantTypes: []string{grant}}
}
