package server_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/password"
)

// The admin API's users: every operation with its bad inputs, on both
// backends. A refused request changes nothing: each test reads back.

// djangoPolicy applies Django's default password validators.
func djangoPolicy(w *wiring) { w.Accounts.Policy = password.DefaultPolicy() }

func userURL(id int64, rest ...string) string {
	return "/api/admin/users/" + strconv.FormatInt(id, 10) + "/" + strings.Join(rest, "")
}

// The list's filters and their bad values.
func TestAdminUsersFilters(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		ctx := context.Background()
		carol := f.newUser("carol", false, false)
		if _, err := e.store.UpdateUser(ctx, carol.ID, func(u *gatehouse.User) (gatehouse.UserChange, error) {
			u.IsActive, u.FirstName = false, "Caroline"
			return gatehouse.UserChange{}, nil
		}); err != nil {
			t.Fatal(err)
		}
		list := func(q string) string {
			t.Helper()
			r := f.do(f.root, "GET", usersListURL+q, nil)
			expect(t, r, 200, "")
			return strings.Join(usernamesOf(t, r), ",")
		}
		for q, want := range map[string]string{
			"":                        "root,viewer,clerk,plain,carol",
			"?search=CAROL":           "carol",
			"?search=caroline":        "carol", // the first name
			"?search=example.com":     "root,viewer,clerk,plain,carol",
			"?search=%25":             "", // % is literal
			"?is_active=false":        "carol",
			"?is_active=0":            "carol",
			"?is_active=true":         "root,viewer,clerk,plain",
			"?is_staff=True":          "root,viewer,clerk",
			"?is_staff=false":         "plain,carol",
			"?is_staff=":              "root,viewer,clerk,plain,carol", // empty: no filter
			"?is_staff=1&search=view": "viewer",
		} {
			if got := list(q); got != want {
				t.Errorf("%s: %s, want %s", q, got, want)
			}
		}
		// The superuser flag, a group's members, the orderings.
		g := gatehouse.Group{Name: "editors"}
		if err := e.store.CreateGroup(ctx, &g); err != nil {
			t.Fatal(err)
		}
		for _, u := range []gatehouse.User{f.users["viewer"], carol} {
			if err := e.store.SetUserGroups(ctx, u.ID, []int64{g.ID}); err != nil {
				t.Fatal(err)
			}
		}
		gq := "?group=" + strconv.FormatInt(g.ID, 10)
		for q, want := range map[string]string{
			"?is_superuser=true":           "root",
			"?is_superuser=false":          "viewer,clerk,plain,carol",
			gq:                             "viewer,carol",
			gq + "&is_active=false":        "carol",
			"?ordering=username":           "carol,clerk,plain,root,viewer",
			"?ordering=-username":          "viewer,root,plain,clerk,carol",
			"?ordering=-id":                "carol,plain,clerk,viewer,root",
			"?ordering=email&is_staff=yes": "clerk,root,viewer",
		} {
			if got := list(q); got != want {
				t.Errorf("%s: %s, want %s", q, got, want)
			}
		}
		for q, body := range map[string]string{
			"?is_active=maybe":              `{"is_active":["Must be a valid boolean."]}`,
			"?is_staff=2&is_superuser=nope": `{"is_staff":["Must be a valid boolean."],"is_superuser":["Must be a valid boolean."]}`,
			"?group=abc":                    `{"group":["Select a valid choice. That choice is not one of the available choices."]}`,
			"?group=9999":                   `{"group":["Select a valid choice. That choice is not one of the available choices."]}`,
			"?ordering=password":            `{"ordering":["\"password\" is not an ordering; use one of id, username, email, date_joined, last_login, each with an optional leading \"-\"."]}`,
			"?ordering=-":                   `{"ordering":["\"-\" is not an ordering; use one of id, username, email, date_joined, last_login, each with an optional leading \"-\"."]}`,
		} {
			expect(t, f.do(f.root, "GET", usersListURL+q, nil), 400, body)
		}
		// A search that cannot be stored text matches nothing.
		r := f.do(f.root, "GET", usersListURL+"?search=%00", nil)
		expect(t, r, 200, `{"count":0,"next":null,"previous":null,"results":[]}`)
	})
}

// POST /api/admin/users/: a user with Django's rules, 201 with the user;
// every refusal a 400 in DRF's shape (or 401, 403, 415) and no user made.
func TestAdminUserCreate(t *testing.T) {
	eachWith(t, djangoPolicy, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		ctx := context.Background()
		adder := f.staff("adder", false, "auth.add_user")
		g := gatehouse.Group{Name: "editors"}
		if err := e.store.CreateGroup(ctx, &g); err != nil {
			t.Fatal(err)
		}
		count := func() int {
			n, err := e.store.CountUsers(ctx, gatehouse.UserFilter{})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := count()
		good := map[string]any{"username": "newbie", "password": "a-long-passphrase-1", "email": "newbie@example.com"}
		with := func(k string, v any) map[string]any {
			m := map[string]any{}
			for a, b := range good {
				m[a] = b
			}
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
			return m
		}
		f.refuse(t, "POST", usersListURL, []refusal{
			{"anonymous", "", good, 401, msgNoCreds},
			{"not staff", f.plain, good, 403, msgDenied},
			{"staff without add_user", f.viewer, good, 403, msgDenied},
			{"add_user but is_staff", adder, with("is_staff", true), 403, msgDenied},
			{"add_user but groups", adder, with("groups", []int64{g.ID}), 403, msgDenied},
			{"duplicate username", f.root, with("username", "plain"), 400, `{"username":["A user with that username already exists."]}`},
			{"bad username", f.root, with("username", "no spaces"), 400, `{"username":["Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."]}`},
			{"missing username", f.root, with("username", nil), 400, `{"username":["This field is required."]}`},
			{"null username", f.root, `{"username": null, "password": "a-long-passphrase-1"}`, 400, `{"username":["This field may not be null."]}`},
			{"bad email", f.root, with("email", "nope"), 400, `{"email":["Enter a valid email address."]}`},
			{"long first name", f.root, with("first_name", strings.Repeat("x", 151)), 400, `{"first_name":["Ensure this field has no more than 150 characters."]}`},
			{"null in the first name", f.root, with("first_name", "x\x00y"), 400, `{"first_name":["Null characters are not allowed."]}`},
			{"null in the password", f.root, with("password", "a-long-\x00passphrase"), 400, `{"password":["Null characters are not allowed."]}`},
			{"short password", f.root, with("password", "short"), 400, `{"password":["This password is too short. It must contain at least 8 characters."]}`},
			{"password like the username", f.root, map[string]any{"username": "averyuniquename", "password": "averyuniquename"}, 400,
				`{"password":["The password is too similar to the username."]}`},
			{"missing password", f.root, with("password", nil), 400, `{"password":["This field is required."]}`},
			{"is_staff not a boolean", f.root, with("is_staff", "maybe"), 400, `{"is_staff":["Must be a valid boolean."]}`},
			{"is_active null", f.root, `{"username": "newbie", "password": "a-long-passphrase-1", "is_active": null}`, 400, `{"is_active":["This field may not be null."]}`},
			{"groups not a list", f.root, with("groups", "1"), 400, `{"groups":["Expected a list of items but got type \"str\"."]}`},
			{"groups of strings", f.root, with("groups", []string{"x"}), 400, `{"groups":["Incorrect type. Expected pk value, received str."]}`},
			{"unknown group", f.root, with("groups", []int64{9999}), 400, `{"groups":["Invalid pk \"9999\" - object does not exist."]}`},
			{"unknown permission", f.root, with("user_permissions", []int64{9999}), 400, `{"user_permissions":["Invalid pk \"9999\" - object does not exist."]}`},
			{"invalid JSON", f.root, `{"username": `, 400, ""},
			{"a list", f.root, `[1]`, 400, `{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}`},
		}, func() string { return strconv.Itoa(count()) })
		if r := e.do("POST", usersListURL, `{"username": `, "Authorization", f.root, "Content-Type", "application/json"); !strings.HasPrefix(string(r.body), `{"detail":"JSON parse error - `) {
			t.Errorf("invalid JSON: %s", r.body)
		}
		// JSON only.
		r := e.do("POST", usersListURL, url.Values{"username": {"formuser"}, "password": {"a-long-passphrase-1"}}, "Authorization", f.root)
		expect(t, r, 415, `{"detail":"Unsupported media type \"application/x-www-form-urlencoded\" in request."}`)
		if after := count(); after != before {
			t.Fatalf("refusals created %d users", after-before)
		}

		// Accepted: 201 with the user, groups and permissions as ids.
		r = f.do(f.root, "POST", usersListURL, with("groups", []int64{g.ID}))
		expect(t, r, 201, "")
		m := r.json(t)
		if m["username"] != "newbie" || m["is_active"] != true || m["is_staff"] != false || m["email"] != "newbie@example.com" ||
			len(m["groups"].([]any)) != 1 || len(m["user_permissions"].([]any)) != 0 || m["password"] != nil {
			t.Fatalf("created: %s", r.body)
		}
		// The new user logs in with the password given.
		e.tokenOf("newbie", "a-long-passphrase-1")
		// A staff user with add_user alone creates a plain user.
		expect(t, f.do(adder, "POST", usersListURL, map[string]any{"username": "second", "password": "a-long-passphrase-2"}), 201, "")
		if after := count(); after != before+2 {
			t.Fatalf("users %d, want %d", after, before+2)
		}
	})
}

// GET, PATCH and DELETE /api/admin/users/{id}/.
func TestAdminUserDetail(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		ctx := context.Background()
		changer := f.staff("changer", false, "auth.change_user", "auth.view_user")
		plain := f.users["plain"]
		g := gatehouse.Group{Name: "editors", Permissions: []int64{f.perms["auth.view_user"].ID}}
		if err := e.store.CreateGroup(ctx, &g); err != nil {
			t.Fatal(err)
		}
		// GET: the user with the ids of their groups and permissions.
		r := f.do(f.viewer, "GET", userURL(plain.ID), nil)
		expect(t, r, 200, "")
		m := r.json(t)
		if m["username"] != "plain" || len(m["user_permissions"].([]any)) != len(adminPerms) || len(m["groups"].([]any)) != 0 {
			t.Fatalf("GET: %s", r.body)
		}
		for _, p := range []string{userURL(9999), "/api/admin/users/abc/", "/api/admin/users/0/", "/api/admin/users/-1/", "/api/admin/users/99999999999999999999/"} {
			expect(t, f.do(f.viewer, "GET", p, nil), 404, msgNotFound)
		}
		expect(t, f.do(f.clerk, "GET", userURL(plain.ID), nil), 403, msgDenied)
		expect(t, f.do("", "GET", userURL(plain.ID), nil), 401, msgNoCreds)
		expect(t, f.do(f.root, "PUT", userURL(plain.ID), map[string]any{}), 405, `{"detail":"Method \"PUT\" not allowed."}`)

		// PATCH refusals leave the user as it was.
		readBack := func() string {
			t.Helper()
			r := f.do(f.root, "GET", userURL(plain.ID), nil)
			expect(t, r, 200, "")
			return string(r.body)
		}
		f.refuse(t, "PATCH", userURL(plain.ID), []refusal{
			{"viewer may not change", f.viewer, map[string]any{"first_name": "X"}, 403, msgDenied},
			{"taken username", f.root, map[string]any{"username": "root", "first_name": "X"}, 400, `{"username":["A user with that username already exists."]}`},
			{"blank username", f.root, map[string]any{"username": " ", "first_name": "X"}, 400, `{"username":["This field may not be blank."]}`},
			{"bad email", f.root, map[string]any{"email": "x@", "first_name": "X"}, 400, `{"email":["Enter a valid email address."]}`},
			{"password", f.root, map[string]any{"password": "a-long-passphrase-9", "first_name": "X"}, 400,
				`{"password":["Set a password with POST /api/admin/users/{id}/password/."]}`},
			{"is_active a list", f.root, map[string]any{"is_active": []int{1}}, 400, `{"is_active":["Must be a valid boolean."]}`},
			{"unknown group", f.root, map[string]any{"groups": []int64{g.ID, 9999}, "first_name": "X"}, 400, `{"groups":["Invalid pk \"9999\" - object does not exist."]}`},
			{"is_superuser by a non-superuser", changer, map[string]any{"is_superuser": true}, 403, msgDenied},
			{"is_staff by a non-superuser", changer, map[string]any{"is_staff": true}, 403, msgDenied},
			{"a permission the changer lacks", changer, map[string]any{"user_permissions": []int64{f.perms["shop.view_item"].ID}}, 403, msgDenied},
			{"invalid JSON", f.root, `{"first_name": "X"`, 400, ""},
		}, readBack)
		expect(t, f.do(f.root, "PATCH", userURL(9999), map[string]any{"first_name": "X"}), 404, msgNotFound)
		// A changer may not touch a staff account.
		expect(t, f.do(changer, "PATCH", userURL(f.users["viewer"].ID), map[string]any{"first_name": "X"}), 403, msgDenied)

		// Accepted: a superuser clears plain's permissions; then fields,
		// groups, a permission the changer holds.
		expect(t, f.do(f.root, "PATCH", userURL(plain.ID), map[string]any{"user_permissions": []int64{}}), 200, "")
		r = f.do(changer, "PATCH", userURL(plain.ID), map[string]any{"first_name": "Plain", "email": "p@example.org",
			"groups": []int64{g.ID}, "user_permissions": []int64{f.perms["auth.view_user"].ID}})
		expect(t, r, 200, "")
		m = r.json(t)
		if m["first_name"] != "Plain" || m["email"] != "p@example.org" || len(m["groups"].([]any)) != 1 || len(m["user_permissions"].([]any)) != 1 {
			t.Fatalf("PATCH: %s", r.body)
		}
		if got := readBack(); got != string(r.body) {
			t.Fatalf("read back %s, answered %s", got, r.body)
		}
		// Deactivating ends the user's credentials.
		expect(t, f.do(f.root, "PATCH", userURL(plain.ID), map[string]any{"is_active": false}), 200, "")
		expect(t, f.do(f.plain, "GET", "/api/me/", nil), 401, "")

		// DELETE: 204, then 404; the refusals first.
		expect(t, f.do(f.viewer, "DELETE", userURL(plain.ID), nil), 403, msgDenied)
		expect(t, f.do(f.root, "DELETE", userURL(9999), nil), 404, msgNotFound)
		expect(t, f.do(f.root, "DELETE", userURL(f.users["root"].ID), nil), 400, `{"non_field_errors":["You cannot delete yourself."]}`)
		expect(t, f.do(f.root, "DELETE", userURL(plain.ID), nil), 204, "")
		expect(t, f.do(f.root, "GET", userURL(plain.ID), nil), 404, msgNotFound)
		expect(t, f.do(f.root, "DELETE", userURL(plain.ID), nil), 404, msgNotFound)

		// Every change is audited with the acting user.
		var changed, deleted int
		for _, ev := range e.auditRows() {
			switch ev.Event {
			case gatehouse.AuditUserChanged:
				changed++
				if ev.UserID != plain.ID || ev.ActorID == 0 || ev.ActorID == plain.ID {
					t.Errorf("user.changed: %+v", ev)
				}
			case gatehouse.AuditUserDeleted:
				deleted++
				if ev.ActorID != f.users["root"].ID {
					t.Errorf("user.deleted by %d, want root", ev.ActorID)
				}
			}
		}
		if changed != 3 || deleted != 1 {
			t.Fatalf("user.changed %d, user.deleted %d; want 3 and 1", changed, deleted)
		}
	})
}

// POST /api/admin/users/{id}/password/ and /logout-everywhere/.
func TestAdminUserPasswordAndLogout(t *testing.T) {
	eachWith(t, djangoPolicy, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		plain := f.users["plain"]
		pwURL := userURL(plain.ID, "password/")
		for _, tc := range []struct {
			auth   string
			body   any
			status int
			want   string
		}{
			{"", map[string]string{"password": "a-long-passphrase-3"}, 401, msgNoCreds},
			{f.viewer, map[string]string{"password": "a-long-passphrase-3"}, 403, msgDenied},
			{f.root, map[string]string{}, 400, `{"password":["This field is required."]}`},
			{f.root, map[string]any{"password": nil}, 400, `{"password":["This field may not be null."]}`},
			{f.root, map[string]string{"password": ""}, 400, `{"password":["This field may not be blank."]}`},
			{f.root, map[string]string{"password": "12345678"}, 400, `{"password":["This password is too common.","This password is entirely numeric."]}`},
			{f.root, map[string]string{"password": "plain"}, 400, ""},
		} {
			r := f.do(tc.auth, "POST", pwURL, tc.body)
			if r.status != tc.status || (tc.want != "" && string(r.body) != tc.want) {
				t.Errorf("%v: %d %s, want %d %s", tc.body, r.status, r.body, tc.status, tc.want)
			}
		}
		expect(t, f.do(f.root, "POST", userURL(9999, "password/"), map[string]string{"password": "a-long-passphrase-3"}), 404, msgNotFound)
		// Nothing changed: the old password and token still work.
		expect(t, f.do(f.plain, "GET", "/api/me/", nil), 200, "")
		e.tokenOf("plain", "plainpass")

		expect(t, f.do(f.root, "POST", pwURL, map[string]string{"password": "a-long-passphrase-3"}), 204, "")
		expect(t, f.do(f.plain, "GET", "/api/me/", nil), 401, "")
		fresh := "Token " + e.tokenOf("plain", "a-long-passphrase-3")
		expect(t, f.do(fresh, "GET", "/api/me/", nil), 200, "")

		// Log out everywhere: the token ends, the password stays.
		outURL := userURL(plain.ID, "logout-everywhere/")
		expect(t, f.do(f.viewer, "POST", outURL, nil), 403, msgDenied)
		expect(t, f.do(fresh, "GET", "/api/me/", nil), 200, "")
		expect(t, f.do(f.root, "POST", userURL(9999, "logout-everywhere/"), nil), 404, msgNotFound)
		expect(t, f.do(f.root, "GET", outURL, nil), 405, `{"detail":"Method \"GET\" not allowed."}`)
		expect(t, f.do(f.root, "POST", outURL, nil), 204, "")
		expect(t, f.do(fresh, "GET", "/api/me/", nil), 401, "")
		e.tokenOf("plain", "a-long-passphrase-3")
	})
}

// GET /api/admin/users/{id}/credentials/ and DELETE of one of them.
func TestAdminUserCredentials(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		plain := f.users["plain"]
		credsURL := userURL(plain.ID, "credentials/")
		// A second DRF token, a device token of plain's.
		r := f.do(f.plain, "POST", "/api/tokens/", map[string]string{"name": "laptop"})
		expect(t, r, 201, "")
		laptop := "Token " + r.json(t)["key"].(string)

		expect(t, f.do(f.clerk, "GET", credsURL, nil), 403, msgDenied)
		expect(t, f.do(f.root, "GET", userURL(9999, "credentials/"), nil), 404, msgNotFound)
		expect(t, f.do(f.root, "GET", credsURL+"?state=sideways", nil), 400,
			`{"state":["Select a valid choice. sideways is not one of the available choices: live, ended, all."]}`)
		r = f.do(f.viewer, "GET", credsURL, nil)
		expect(t, r, 200, "")
		var page struct {
			Count   int `json:"count"`
			Results []struct {
				Kind  string `json:"kind"`
				ID    string `json:"id"`
				User  int64  `json:"user"`
				Label string `json:"label"`
			} `json:"results"`
		}
		decode(t, r, &page)
		if page.Count != 2 || page.Results[0].Kind != gatehouse.CredentialDRF || page.Results[0].User != plain.ID {
			t.Fatalf("credentials: %s", r.body)
		}
		if strings.Contains(string(r.body), strings.TrimPrefix(laptop, "Token ")) || strings.Contains(string(r.body), strings.TrimPrefix(f.plain, "Token ")) {
			t.Fatalf("a token's key in the listing: %s", r.body)
		}
		var laptopID string
		for _, c := range page.Results {
			if strings.Contains(c.Label, "laptop") {
				laptopID = c.ID
			}
		}
		if laptopID == "" {
			t.Fatalf("no laptop token in %s", r.body)
		}
		one := credsURL + "drf/" + laptopID + "/"
		expect(t, f.do(f.viewer, "DELETE", one, nil), 403, msgDenied)
		expect(t, f.do(f.root, "DELETE", credsURL+"nonsense/"+laptopID+"/", nil), 400,
			`{"kind":["Select a valid choice. nonsense is not one of the available choices: drf, knox, jwt-refresh, oauth-access, oauth-refresh, session."]}`)
		expect(t, f.do(f.root, "DELETE", credsURL+"drf/999999/", nil), 404, msgNotFound)
		// Another user's token is not this user's.
		expect(t, f.do(f.root, "DELETE", userURL(f.users["viewer"].ID, "credentials/drf/", laptopID, "/"), nil), 404, msgNotFound)
		expect(t, f.do(laptop, "GET", "/api/me/", nil), 200, "")
		expect(t, f.do(f.root, "DELETE", one, nil), 204, "")
		expect(t, f.do(laptop, "GET", "/api/me/", nil), 401, "")
		expect(t, f.do(f.plain, "GET", "/api/me/", nil), 200, "") // the other token lives
		expect(t, f.do(f.root, "DELETE", one, nil), 404, msgNotFound)
		if r := f.do(f.root, "GET", credsURL, nil); r.json(t)["count"] != float64(1) {
			t.Fatalf("after revoking: %s", r.body)
		}
		revoked := 0
		for _, ev := range e.auditRows() {
			if ev.Event == gatehouse.AuditCredentialsRevoked {
				revoked++
				if ev.UserID != plain.ID || ev.ActorID != f.users["root"].ID || ev.Detail["kind"] != "drf" || ev.Detail["id"] != laptopID {
					t.Errorf("credentials.revoked: %+v", ev)
				}
			}
		}
		if revoked != 1 {
			t.Fatalf("%d credentials.revoked events", revoked)
		}
	})
}

// The browser session authenticates the admin API too, with Django's CSRF
// rule for unsafe methods.
func TestAdminSessionCSRF(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		b := e.browser()
		b.login("root", "rootpass")
		res, body := b.get(usersListURL)
		if res.StatusCode != 200 || !strings.Contains(body, `"username":"root"`) {
			t.Fatalf("GET with a session: %d %s", res.StatusCode, body)
		}
		req, _ := http.NewRequest("PATCH", e.http.URL+userURL(f.users["plain"].ID), bytes.NewReader([]byte(`{"first_name":"X"}`)))
		req.Header.Set("Content-Type", "application/json")
		res, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 403 {
			t.Fatalf("PATCH without the CSRF token: %d", res.StatusCode)
		}
		if u, _ := e.store.User(context.Background(), f.users["plain"].ID); u.FirstName != "" {
			t.Fatal("the refused PATCH wrote")
		}
	})
}

// Over a large listing the count stops at the limit (10,000; 3 here):
// count_capped says more match, next stays exact (a page is read with one
// user more), a page past the end is still "Invalid page.", and page=last
// counts exactly.
func TestAdminUsersCountCapped(t *testing.T) {
	eachWith(t, func(w *wiring) { w.Admin.CountLimit = 3 }, func(t *testing.T, e *env) {
		f := newAdminFixture(e) // 4 users
		f.newUser("fifth", false, false)
		page := func(q string) map[string]any {
			t.Helper()
			r := f.do(f.root, "GET", usersListURL+q, nil)
			expect(t, r, 200, "")
			return r.json(t)
		}
		m := page("?page_size=2")
		if m["count"] != float64(3) || m["count_capped"] != true || m["next"] != e.http.URL+usersListURL+"?page=2&page_size=2" {
			t.Fatalf("first page: %v", m)
		}
		m = page("?page=3&page_size=2")
		if m["next"] != nil || len(m["results"].([]any)) != 1 || m["previous"] == nil {
			t.Fatalf("third page: %v", m)
		}
		expect(t, f.do(f.root, "GET", usersListURL+"?page=4&page_size=2", nil), 404, msgBadPage)
		m = page("?page=last&page_size=2")
		if m["count"] != float64(5) || m["count_capped"] != nil || len(m["results"].([]any)) != 1 || m["next"] != nil {
			t.Fatalf("page=last: %v", m)
		}
		// Under the limit the count is exact and not marked.
		m = page("?is_staff=true")
		if m["count"] != float64(3) || m["count_capped"] != nil {
			t.Fatalf("staff: %v", m)
		}
	})
}

// TestAdminUserDjangoKey: the admin API and site show a keyed user's
// Django key (django_pk), by which DRF, simplejwt and OpenID Connect name
// it, beside gatehouse's id; a user without one shows none.
func TestAdminUserDjangoKey(t *testing.T) {
	const key = "5b0e7c3d-2f4a-4b8e-9d1c-6a7f8e9b0c21"
	eachWith(t, djangoPolicy, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		ada := gatehouse.User{Username: "ada", Password: "!", IsActive: true, DateJoined: time.Now(), DjangoKey: key}
		if err := e.store.CreateUser(context.Background(), &ada, nil); err != nil {
			t.Fatal(err)
		}
		r := f.do(f.viewer, "GET", userURL(ada.ID), nil)
		if m := r.json(t); r.status != 200 || m["django_pk"] != key || m["id"] != float64(ada.ID) {
			t.Fatalf("keyed user: %d %s", r.status, r.body)
		}
		r = f.do(f.viewer, "GET", userURL(f.users["plain"].ID), nil)
		if m := r.json(t); r.status != 200 || m["django_pk"] != nil {
			t.Fatalf("user without a key: %d %s", r.status, r.body)
		}
		r = f.do(f.viewer, "GET", "/api/admin/users/?search=ada", nil)
		if page := r.json(t); r.status != 200 || page["count"] != float64(1) || page["results"].([]any)[0].(map[string]any)["django_pk"] != key {
			t.Fatalf("list: %d %s", r.status, r.body)
		}
		root := e.browser()
		root.login("root", "rootpass")
		if _, page := root.get(siteUserURL(ada.ID)); !strings.Contains(page, "<dt>Django key</dt><dd><code>"+key+"</code></dd>") {
			t.Fatalf("the site's page of a keyed user:\n%s", page)
		}
		if _, page := root.get(siteUserURL(f.users["plain"].ID)); strings.Contains(page, "Django key") {
			t.Fatalf("the site's page of a user without a key shows one:\n%s", page)
		}
	})
}
