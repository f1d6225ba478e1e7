package server_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

// The admin site's users, groups and permissions pages, driven as a
// browser without JavaScript would (forms posted as the pages write
// them), on both backends. The browser test (cmd/gatehouse) runs the
// main path in Chromium; these cover the refusals and every action.

var (
	inputRE   = regexp.MustCompile(`<input ([^>]*)>`)
	attrRE    = regexp.MustCompile(`([a-z-]+)(?:="([^"]*)")?`)
	formRE    = regexp.MustCompile(`(?s)<form method="post" action="([^"]*)"[^>]*>(.*?)</form>`)
	hrefPage2 = regexp.MustCompile(`href="([^"]*page=2[^"]*)"`)
	selectRE  = regexp.MustCompile(`(?s)<select id="[^"]*" name="([^"]+)"[^>]*>(.*?)</select>`)
	chosenRE  = regexp.MustCompile(`<option value="([^"]*)" selected>`)
	areaRE    = regexp.MustCompile(`(?s)<textarea id="[^"]*" name="([^"]+)"[^>]*>(.*?)</textarea>`)
)

// postedForm is what a browser would post from the form of page whose
// action is action: its hidden and text fields, its checked boxes, the
// options selected, the text areas.
func postedForm(t *testing.T, page, action string) url.Values {
	t.Helper()
	for _, m := range formRE.FindAllStringSubmatch(page, -1) {
		if htmlUnescape(m[1]) != action {
			continue
		}
		v := url.Values{}
		for _, in := range inputRE.FindAllStringSubmatch(m[2], -1) {
			attrs := map[string]string{}
			for _, a := range attrRE.FindAllStringSubmatch(in[1], -1) {
				attrs[a[1]] = htmlUnescape(a[2])
			}
			if _, checked := attrs["checked"]; attrs["type"] == "checkbox" && !checked {
				continue
			}
			if attrs["name"] != "" {
				v.Add(attrs["name"], attrs["value"])
			}
		}
		for _, sel := range selectRE.FindAllStringSubmatch(m[2], -1) {
			if c := chosenRE.FindStringSubmatch(sel[2]); c != nil {
				v.Set(sel[1], htmlUnescape(c[1]))
			}
		}
		for _, ta := range areaRE.FindAllStringSubmatch(m[2], -1) {
			v.Set(ta[1], htmlUnescape(ta[2]))
		}
		return v
	}
	t.Fatalf("no form posting to %s in the page:\n%s", action, page)
	return nil
}

func siteUserURL(id int64) string { return "/admin/users/" + strconv.FormatInt(id, 10) + "/" }

// The users list: search, filters, ordering, pages whose links keep the
// filters; a bad ordering or group is the list with the error (400), a
// page past the last a 404. Who sees it: a staff user with view_user,
// not one without permissions.
func TestAdminSiteUsersList(t *testing.T) {
	eachWith(t, djangoPolicy, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		for i := range 60 {
			f.newUser("bulk"+strconv.Itoa(100+i), false, false)
		}
		root := e.browser()
		root.login("root", "rootpass")
		res, page := root.get("/admin/users/?q=BULK&active=yes&ordering=-username")
		if res.StatusCode != 200 || !strings.Contains(page, ">bulk159</a>") || strings.Contains(page, ">bulk109</a>") || strings.Contains(page, ">root</a>") {
			t.Fatalf("first page: %d\n%s", res.StatusCode, page)
		}
		if !strings.Contains(page, "Page 1 of 2 (60 in all)") || strings.Index(page, ">bulk159<") > strings.Index(page, ">bulk158<") {
			t.Fatalf("first page's pager or order wrong:\n%s", page)
		}
		m := hrefPage2.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no link to page 2")
		}
		next, _ := url.Parse(htmlUnescape(m[1]))
		if q := next.Query(); next.Path != "/admin/users/" || q.Get("q") != "BULK" || q.Get("active") != "yes" || q.Get("ordering") != "-username" {
			t.Fatalf("page 2's link drops the filters: %s", next)
		}
		res, page = root.get(next.String())
		if res.StatusCode != 200 || !strings.Contains(page, ">bulk109</a>") || !strings.Contains(page, ">bulk100</a>") || strings.Contains(page, ">bulk110</a>") {
			t.Fatalf("second page: %d\n%s", res.StatusCode, page)
		}
		// The filters: staff only, superuser only, inactive (none).
		if _, page = root.get("/admin/users/?staff=yes&superuser=no&ordering=username"); !strings.Contains(page, ">clerk</a>") ||
			!strings.Contains(page, ">viewer</a>") || strings.Contains(page, ">root</a>") || strings.Contains(page, ">plain</a>") {
			t.Fatalf("staff, not superuser:\n%s", page)
		}
		if _, page = root.get("/admin/users/?active=no"); !strings.Contains(page, "No user matches") {
			t.Fatalf("inactive users:\n%s", page)
		}
		for q, want := range map[string]string{"ordering=password": `<a href="#id_ordering">Order by: `, "group=999": `<a href="#id_group">Group: `} {
			res, page = root.get("/admin/users/?" + q)
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, want) || !strings.Contains(page, `role="alert"`) {
				t.Errorf("?%s: %d\n%s", q, res.StatusCode, page)
			}
		}
		for _, q := range []string{"page=3&q=bulk", "page=0", "page=x"} {
			if res, _ = root.get("/admin/users/?" + q); res.StatusCode != http.StatusNotFound {
				t.Errorf("?%s: %d", q, res.StatusCode)
			}
		}
		if res, page = root.get("/admin/users/?page=last&q=bulk"); res.StatusCode != 200 || !strings.Contains(page, "Page 2 of 2") {
			t.Errorf("?page=last: %d", res.StatusCode)
		}

		viewer := e.browser()
		viewer.login("viewer", "viewerpass")
		if res, page = viewer.get("/admin/users/"); res.StatusCode != 200 || !strings.Contains(page, ">plain</a>") {
			t.Fatalf("viewer: %d", res.StatusCode)
		}
		// The navigation shows what the permissions open.
		if strings.Contains(page, `href="/admin/audit/"`) || strings.Contains(page, `href="/admin/groups/"`) || strings.Contains(page, `href="/admin/tokens/"`) {
			t.Errorf("viewer's navigation offers what he may not open")
		}
		clerk := e.browser()
		clerk.login("clerk", "clerkpass")
		if res, page = clerk.get("/admin/users/"); res.StatusCode != http.StatusForbidden || !strings.Contains(page, "You do not have permission") {
			t.Fatalf("clerk: %d\n%s", res.StatusCode, page)
		}
		if _, page = clerk.get("/admin/"); strings.Contains(page, `href="/admin/users/"`) {
			t.Errorf("clerk's dashboard offers the users")
		}
	})
}

// Creating and changing a user through the pages: every action calls the
// service, a refusal (validators, permissions, CSRF) shows on the page and
// changes nothing, and every change is audited with the staff user who
// made it.
func TestAdminSiteUserActions(t *testing.T) {
	eachWith(t, djangoPolicy, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		root := e.browser()
		root.login("root", "rootpass")

		// Create: a weak password and a taken username come back on the form.
		_, page := root.get("/admin/users/add/")
		form := postedForm(t, page, "/admin/users/add/")
		form.Set("username", "plain")
		form.Set("password", "a fine passphrase 5")
		form.Set("password2", "a fine passphrase 5")
		res, page := root.post("/admin/users/add/", form)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "A user with that username already exists.") ||
			!strings.Contains(page, `aria-describedby="id_username-help id_username-errors" aria-invalid="true"`) {
			t.Fatalf("taken username: %d\n%s", res.StatusCode, page)
		}
		form.Set("username", "dora")
		form.Set("password", "1234")
		form.Set("password2", "1234")
		res, page = root.post("/admin/users/add/", form)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "This password is too short.") ||
			!strings.Contains(page, `aria-describedby="id_password-help id_password-errors" aria-invalid="true"`) {
			t.Fatalf("weak password: %d\n%s", res.StatusCode, page)
		}
		form.Set("password2", "something else 5")
		form.Set("username", "dora")
		form.Set("password", "a fine passphrase 5")
		if res, page = root.post("/admin/users/add/", form); res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "The two password fields didn&#39;t match.") {
			t.Fatalf("mismatched passwords: %d\n%s", res.StatusCode, page)
		}
		form.Set("password2", "a fine passphrase 5")
		// NUL in a name: the field's error, on both backends (PostgreSQL
		// could not store it; SQLite did).
		form.Set("first_name", "Do\x00ra")
		if res, page = root.post("/admin/users/add/", form); res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Null characters are not allowed.") ||
			!strings.Contains(page, `aria-describedby="id_first_name-help id_first_name-errors" aria-invalid="true"`) && !strings.Contains(page, `id="id_first_name-errors"`) {
			t.Fatalf("NUL in the first name: %d\n%s", res.StatusCode, page)
		}
		form.Set("first_name", "")
		form.Set("email", "dora@example.com")
		form.Add("user_permissions", strconv.FormatInt(f.perms["shop.view_item"].ID, 10))
		res, _ = root.post("/admin/users/add/", form)
		loc := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/users/") || !strings.HasSuffix(loc, "/?done=created") {
			t.Fatalf("create: %d %q", res.StatusCode, loc)
		}
		dora, err := e.store.UserByUsername(t.Context(), "dora")
		if err != nil || dora.Email != "dora@example.com" || !dora.IsActive || dora.IsStaff {
			t.Fatalf("dora: %+v %v", dora, err)
		}
		res, page = root.get(loc)
		if res.StatusCode != 200 || !strings.Contains(page, `<p class="flash" role="status">Created.</p>`) ||
			!regexp.MustCompile(`name="user_permissions" value="`+strconv.FormatInt(f.perms["shop.view_item"].ID, 10)+`" checked`).MatchString(page) {
			t.Fatalf("dora's page: %d\n%s", res.StatusCode, page)
		}
		doraURL := siteUserURL(dora.ID)

		// Change: the email; the rest of the form posted as it is.
		form = postedForm(t, page, doraURL)
		form.Set("email", "dora@example.org")
		if res, _ = root.post(doraURL, form); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != doraURL+"?done=saved" {
			t.Fatalf("save: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		if u, _ := e.store.UserByUsername(t.Context(), "dora"); u.Email != "dora@example.org" {
			t.Fatalf("email %q", u.Email)
		}
		if _, perms, _ := e.store.UserLinks(t.Context(), dora.ID); len(perms) != 1 {
			t.Fatalf("saving the form changed dora's permissions: %v", perms)
		}
		// The same post without the CSRF token: 403, nothing changed.
		form.Set("email", "evil@example.org")
		form.Del("csrfmiddlewaretoken")
		if res, page = root.post(doraURL, form); res.StatusCode != http.StatusForbidden || !strings.Contains(page, "CSRF verification failed") {
			t.Fatalf("no CSRF: %d", res.StatusCode)
		}
		if u, _ := e.store.UserByUsername(t.Context(), "dora"); u.Email != "dora@example.org" {
			t.Fatalf("a post without CSRF changed the email to %q", u.Email)
		}

		// Set the password: the validators' words, then a good one that
		// ends dora's token.
		doraToken := "Token " + e.tokenOf("dora", "a fine passphrase 5")
		_, page = root.get(doraURL)
		pw := postedForm(t, page, doraURL+"password/")
		pw.Set("password", "password")
		pw.Set("password2", "password")
		if res, page = root.post(doraURL+"password/", pw); res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "This password is too common.") ||
			!strings.Contains(page, `id="id_new_password-errors"`) {
			t.Fatalf("weak password: %d\n%s", res.StatusCode, page)
		}
		pw.Set("password", "another passphrase 6")
		pw.Set("password2", "another passphrase 6")
		if res, _ = root.post(doraURL+"password/", pw); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("set password: %d", res.StatusCode)
		}
		if st := e.do("GET", "/api/me/", nil, "Authorization", doraToken).status; st != 401 {
			t.Fatalf("dora's token after the password change: %d", st)
		}

		// Her new token is listed with a Revoke button, which ends it.
		doraToken = "Token " + e.tokenOf("dora", "another passphrase 6")
		_, page = root.get(doraURL)
		rv := postedForm(t, page, doraURL+"revoke/")
		if rv.Get("kind") != gatehouse.CredentialDRF || rv.Get("id") == "" {
			t.Fatalf("revoke form: %v", rv)
		}
		if res, _ = root.post(doraURL+"revoke/", rv); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("revoke: %d", res.StatusCode)
		}
		if st := e.do("GET", "/api/me/", nil, "Authorization", doraToken).status; st != 401 {
			t.Fatalf("dora's revoked token: %d", st)
		}
		if res, page = root.post(doraURL+"revoke/", rv); res.StatusCode != http.StatusNotFound {
			t.Fatalf("revoking it again: %d", res.StatusCode)
		}

		// Log out everywhere, deactivate.
		doraToken = "Token " + e.tokenOf("dora", "another passphrase 6")
		if res, _ = root.post(doraURL+"logout-everywhere/", hidden(page)); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("log out everywhere: %d", res.StatusCode)
		}
		if st := e.do("GET", "/api/me/", nil, "Authorization", doraToken).status; st != 401 {
			t.Fatalf("dora's token after log out everywhere: %d", st)
		}
		_, page = root.get(doraURL)
		if res, _ = root.post(doraURL+"active/", postedForm(t, page, doraURL+"active/")); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("deactivate: %d", res.StatusCode)
		}
		if u, _ := e.store.UserByUsername(t.Context(), "dora"); u.IsActive {
			t.Fatal("dora still active")
		}

		// A viewer may look, not change; a staff user may not promote.
		viewer := e.browser()
		viewer.login("viewer", "viewerpass")
		res, page = viewer.get(doraURL)
		if res.StatusCode != 200 {
			t.Fatalf("viewer on dora: %d", res.StatusCode)
		}
		form = postedForm(t, page, doraURL)
		form.Set("first_name", "Mallory")
		if res, page = viewer.post(doraURL, form); res.StatusCode != http.StatusForbidden || !strings.Contains(page, "You do not have permission") {
			t.Fatalf("viewer saves dora: %d\n%s", res.StatusCode, page)
		}
		if res, _ = viewer.post("/admin/users/add/", postedForm(t, page, "/admin/logout/")); res.StatusCode != http.StatusForbidden {
			t.Fatalf("viewer adds a user: %d", res.StatusCode)
		}
		// Nor see the pages of what they may not do (Django's admin: 403).
		for _, path := range []string{"/admin/users/add/", doraURL + "delete/", "/admin/groups/add/", "/admin/applications/add/"} {
			if res, _ = viewer.get(path); res.StatusCode != http.StatusForbidden {
				t.Errorf("viewer GET %s: %d", path, res.StatusCode)
			}
		}

		// Delete: a confirmation page, then the user is gone; not oneself.
		res, page = root.get(doraURL + "delete/")
		if res.StatusCode != 200 || !strings.Contains(page, "cannot be undone") {
			t.Fatalf("delete page: %d", res.StatusCode)
		}
		if res, _ = root.post(doraURL+"delete/", postedForm(t, page, doraURL+"delete/")); res.StatusCode != http.StatusSeeOther ||
			res.Header.Get("Location") != "/admin/users/?done=deleted" {
			t.Fatalf("delete: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		if res, _ = root.get(doraURL); res.StatusCode != http.StatusNotFound {
			t.Fatalf("deleted user's page: %d", res.StatusCode)
		}
		rootURL := siteUserURL(f.users["root"].ID)
		// No one deactivates themselves: the button is not shown, and the
		// post is refused (the last superuser would lock everyone out).
		if res, page = root.get(rootURL); res.StatusCode != 200 || strings.Contains(page, rootURL+"active/") {
			t.Fatalf("own page offers deactivation: %d", res.StatusCode)
		}
		off := hidden(page)
		off.Set("active", "off")
		if res, page = root.post(rootURL+"active/", off); res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "You cannot take this status from yourself") {
			t.Fatalf("deactivating oneself: %d\n%s", res.StatusCode, page)
		}
		if u, _ := e.store.UserByUsername(t.Context(), "root"); !u.IsActive {
			t.Fatal("root deactivated themselves")
		}
		if res, page = root.post(rootURL+"delete/", hidden(page)); res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "You cannot delete yourself.") {
			t.Fatalf("deleting oneself: %d\n%s", res.StatusCode, page)
		}
		for _, p := range []string{"/admin/users/0/", "/admin/users/x/", "/admin/users/99999/"} {
			if res, _ = root.get(p); res.StatusCode != http.StatusNotFound {
				t.Errorf("%s: %d", p, res.StatusCode)
			}
		}

		// Audited, with root as the actor.
		want := map[string]bool{gatehouse.AuditUserCreated: false, gatehouse.AuditUserChanged: false, gatehouse.AuditPasswordChanged: false,
			gatehouse.AuditCredentialsRevoked: false, gatehouse.AuditUserDeleted: false}
		for _, ev := range e.auditRows() {
			if _, ok := want[ev.Event]; ok && ev.UserID == dora.ID {
				if ev.ActorID != f.users["root"].ID {
					t.Errorf("%s by %d, want root (%d)", ev.Event, ev.ActorID, f.users["root"].ID)
				}
				want[ev.Event] = true
			}
		}
		for ev, seen := range want {
			if !seen {
				t.Errorf("no %s event for dora", ev)
			}
		}
	})
}

// Groups: created with a permission, renamed, deleted after the
// confirmation page; the permissions page lists Django's permissions.
func TestAdminSiteGroups(t *testing.T) {
	eachWith(t, nil, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		root := e.browser()
		root.login("root", "rootpass")
		_, page := root.get("/admin/groups/add/")
		form := postedForm(t, page, "/admin/groups/add/")
		form.Set("name", "")
		if res, page := root.post("/admin/groups/add/", form); res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "This field is required.") {
			t.Fatalf("no name: %d\n%s", res.StatusCode, page)
		}
		form.Set("name", "shopkeepers")
		form.Add("permissions", strconv.FormatInt(f.perms["shop.view_item"].ID, 10))
		res, _ := root.post("/admin/groups/add/", form)
		loc := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther || !strings.HasSuffix(loc, "/?done=created") {
			t.Fatalf("create group: %d %q", res.StatusCode, loc)
		}
		groupURL := strings.TrimSuffix(loc, "?done=created")
		_, page = root.get(groupURL)
		form = postedForm(t, page, groupURL)
		if len(form["permissions"]) != 1 {
			t.Fatalf("the group's permissions are not checked: %v", form)
		}
		form.Set("name", "merchants")
		if res, _ = root.post(groupURL, form); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("rename: %d", res.StatusCode)
		}
		if _, page = root.get("/admin/groups/"); !strings.Contains(page, ">merchants</a>") {
			t.Fatalf("groups list:\n%s", page)
		}
		if _, page = root.get("/admin/permissions/"); !strings.Contains(page, "<code>shop.view_item</code>") {
			t.Fatalf("permissions list:\n%s", page)
		}
		_, page = root.get(groupURL + "delete/")
		if res, _ = root.post(groupURL+"delete/", postedForm(t, page, groupURL+"delete/")); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("delete group: %d", res.StatusCode)
		}
		if res, _ = root.get(groupURL); res.StatusCode != http.StatusNotFound {
			t.Fatalf("deleted group: %d", res.StatusCode)
		}
	})
}

// Over the count limit (admin.Config.CountLimit, 10,000 by default; 10
// here) the list says "more than" and links the next page and the last
// by name, which is counted then.
func TestAdminSiteUsersListCapped(t *testing.T) {
	eachWith(t, func(w *wiring) { w.Admin.CountLimit = 10 }, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		for i := range 60 {
			f.newUser("bulk"+strconv.Itoa(100+i), false, false)
		}
		root := e.browser()
		root.login("root", "rootpass")
		res, page := root.get("/admin/users/?q=bulk")
		if res.StatusCode != 200 || !strings.Contains(page, "Page 1 (more than 10 in all)") ||
			!strings.Contains(page, `href="/admin/users/?page=2&amp;q=bulk" rel="next"`) || !strings.Contains(page, `href="/admin/users/?page=last&amp;q=bulk">Last`) {
			t.Fatalf("capped first page: %d\n%s", res.StatusCode, page)
		}
		if res, page = root.get("/admin/users/?q=bulk&page=last"); res.StatusCode != 200 || !strings.Contains(page, "Page 2 of 2 (60 in all)") ||
			!strings.Contains(page, ">bulk159</a>") {
			t.Fatalf("last page: %d\n%s", res.StatusCode, page)
		}
		if res, _ = root.get("/admin/users/?q=bulk&page=3"); res.StatusCode != http.StatusNotFound {
			t.Fatalf("past the last page: %d", res.StatusCode)
		}
	})
}
