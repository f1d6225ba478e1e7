package server_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/password"
)

func TestSignUp(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.user("alice", "alicepass")
		long := strings.Repeat("v", 151)
		cases := []struct {
			name   string
			body   any
			header []string
			status int
			want   string
		}{
			{"ok", map[string]any{"username": "  pony  ", "password": "  spaced  "}, nil, 201, `{"username":"pony"}`},
			{"duplicate", map[string]any{"username": "pony", "password": "x"}, nil, 400, `{"username":["A user with that username already exists."]}`},
			{"other case is another user", map[string]any{"username": "Pony", "password": "x"}, nil, 201, `{"username":"Pony"}`},
			{"missing both", map[string]any{}, nil, 400, `{"username":["This field is required."],"password":["This field is required."]}`},
			{"blank", map[string]any{"username": "   ", "password": ""}, nil, 400, `{"username":["This field may not be blank."],"password":["This field may not be blank."]}`},
			{"null", map[string]any{"username": "p2", "password": nil}, nil, 400, `{"password":["This field may not be null."]}`},
			{"not a string", map[string]any{"username": true, "password": "x"}, nil, 400, `{"username":["Not a valid string."]}`},
			{"invalid chars", map[string]any{"username": "a b", "password": "x"}, nil, 400, `{"username":["Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."]}`},
			{"too long", map[string]any{"username": long, "password": strings.Repeat("p", 129)}, nil, 400, `{"username":["Ensure this field has no more than 150 characters."],"password":["Ensure this field has no more than 128 characters."]}`},
			{"unicode", map[string]any{"username": "ålice", "password": "x"}, nil, 201, `{"username":"ålice"}`},
			{"form", url.Values{"username": {"pony6"}, "password": {"x"}}, nil, 201, `{"username":"pony6"}`},
			{"array", []any{map[string]string{"username": "x"}}, nil, 400, `{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}`},
			{"garbage bearer", map[string]any{"username": "p11", "password": "x"}, []string{"Authorization", "Bearer garbage"}, 401, ""},
		}
		for _, c := range cases {
			if c.status == 0 {
				continue
			}
			r := e.do("POST", "/sign_up/", c.body, c.header...)
			if r.status != c.status || (c.want != "" && string(r.body) != c.want) {
				t.Errorf("%s: %d %s, want %d %s", c.name, r.status, r.body, c.status, c.want)
			}
		}
		r := e.do("POST", "/sign_up/", "username=x", "Content-Type", "text/plain")
		expect(t, r, 415, `{"detail":"Unsupported media type \"text/plain\" in request."}`)
		r = e.do("POST", "/sign_up/", "{", "Content-Type", "application/json")
		expect(t, r, 400, `{"detail":"JSON parse error - Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"}`)
		// The trimmed password works, the sent one does not.
		e.tokenOf("pony", "spaced")
		r = e.do("POST", "/api-token-auth/", map[string]string{"username": "pony", "password": "  spaced  "})
		expect(t, r, 400, `{"non_field_errors":["Unable to log in with provided credentials."]}`)
		// Anonymous GET needs authentication; authenticated GET is 405.
		r = e.do("GET", "/sign_up/", nil)
		expect(t, r, 401, `{"detail":"Authentication credentials were not provided."}`)
		if r.header.Get("Allow") != "POST, OPTIONS" || r.header.Get("WWW-Authenticate") != `Bearer realm="api"` {
			t.Errorf("headers %v", r.header)
		}
		key := e.tokenOf("alice", "alicepass")
		r = e.do("GET", "/sign_up/", nil, "Authorization", "Token "+key)
		expect(t, r, 405, `{"detail":"Method \"GET\" not allowed."}`)
	})
}

func TestPasswordValidationOnByDefault(t *testing.T) {
	for _, b := range testdb.Backends() {
		t.Run(b, func(t *testing.T) {
			e := buildWith(t, b, nil, func(w *wiring) { w.Accounts.Policy = password.DefaultPolicy() })
			e.t = t
			r := e.do("POST", "/sign_up/", map[string]string{"username": "walter", "password": "123"})
			expect(t, r, 400, `{"password":["This password is too short. It must contain at least 8 characters.","This password is too common.","This password is entirely numeric."]}`)
			r = e.do("POST", "/sign_up/", map[string]string{"username": "walter", "password": "walter12"})
			expect(t, r, 400, `{"password":["The password is too similar to the username."]}`)
			r = e.do("POST", "/sign_up/", map[string]string{"username": "walter", "password": "correct horse battery"})
			expect(t, r, 201, `{"username":"walter"}`)
		})
	}
	if p := password.DefaultPolicy(); p.MinLength != 8 || !p.Common || !p.Numeric || p.MaxSimilarity == 0 {
		t.Fatalf("default policy is not on: %+v", p)
	}
}

func TestMe(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		u := e.user("alice", "alicepass")
		key := e.tokenOf("alice", "alicepass")
		auth := []string{"Authorization", "Token " + key}
		want := fmt.Sprintf(`{"id":%d,"first_name":"","last_name":"","email":"alice@example.com","username":"alice"}`, u.ID)
		r := e.do("GET", "/api/me/", nil, auth...)
		expect(t, r, 200, want)
		for h, v := range map[string]string{"Allow": "GET, HEAD, OPTIONS", "Content-Type": "application/json",
			"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"} {
			if got := r.header.Get(h); got != v {
				t.Errorf("%s = %q, want %q", h, got, v)
			}
		}
		if !strings.Contains(r.header.Get("Vary"), "Authorization") {
			t.Errorf("Vary = %q", r.header.Get("Vary"))
		}
		expect(t, e.do("GET", "/api/me/?format=json", nil, auth...), 200, want)
		expect(t, e.do("GET", "/api/me/?format=xml", nil, auth...), 404, `{"detail":"Not found."}`)
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Token "+key, "Accept", "application/xml"), 406,
			`{"detail":"Could not satisfy the request Accept header."}`)
		if r := e.do("GET", "/api/me/?format=api", nil, auth...); r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("format=api: %d %s", r.status, r.header.Get("Content-Type"))
		}
		if r := e.do("HEAD", "/api/me/", nil, auth...); r.status != 200 || len(r.body) != 0 {
			t.Errorf("HEAD: %d %q", r.status, r.body)
		}
		for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
			expect(t, e.do(m, "/api/me/", nil, auth...), 405, `{"detail":"Method \"`+m+`\" not allowed."}`)
			expect(t, e.do(m, "/api/me/", nil), 401, `{"detail":"Authentication credentials were not provided."}`)
		}
		expect(t, e.do("OPTIONS", "/api/me/", nil), 401, "")
		expect(t, e.do("OPTIONS", "/api/me/", nil, auth...), 200,
			`{"name":"User Detail","description":"Use this endpoint to retrieve user.","renders":["application/json","text/html"],"parses":["application/json","application/x-www-form-urlencoded","multipart/form-data"]}`)
		r = e.do("GET", "/api/me?format=json", nil, auth...)
		if r.status != 301 || r.header.Get("Location") != "/api/me/?format=json" {
			t.Errorf("no slash: %d %q", r.status, r.header.Get("Location"))
		}
		r = e.do("POST", "/sign_up", map[string]string{"username": "x"})
		if r.status != 308 || r.header.Get("Location") != "/sign_up/" {
			t.Errorf("POST without slash: %d %q", r.status, r.header.Get("Location"))
		}
		r = e.do("GET", "/nope/", nil)
		if r.status != 404 || !strings.Contains(string(r.body), "<title>Not Found</title>") {
			t.Errorf("unknown path: %d %s", r.status, r.body)
		}
	})
}

func TestUsersList(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.user("admin", "adminpass")
		for i := 0; i < 46; i++ {
			e.user(fmt.Sprintf("user%02d", i), "pw")
		}
		auth := []string{"Authorization", "Token " + e.tokenOf("admin", "adminpass")}
		base := e.http.URL + "/api/users/"
		page := func(q string) map[string]any {
			r := e.do("GET", "/api/users/"+q, nil, auth...)
			expect(t, r, 200, "")
			return r.json(t)
		}
		p1 := page("")
		if p1["count"].(float64) != 47 || p1["next"] != base+"?page=2" || p1["previous"] != nil || len(p1["results"].([]any)) != 20 {
			t.Fatalf("page 1: %v", p1)
		}
		p2 := page("?page=2&foo=bar&format=json")
		if p2["next"] != base+"?foo=bar&format=json&page=3" || p2["previous"] != base+"?foo=bar&format=json" {
			t.Fatalf("page 2 links: %v %v", p2["next"], p2["previous"])
		}
		if p := page("?page=last"); len(p["results"].([]any)) != 7 || p["next"] != nil {
			t.Fatalf("last page: %v", p)
		}
		for _, q := range []string{"?page=4", "?page=0", "?page=-1", "?page=abc", "?page=", "?page=1.5", "?username=admin&page=2"} {
			expect(t, e.do("GET", "/api/users/"+q, nil, auth...), 404, `{"detail":"Invalid page."}`)
		}
		if p := page("?email=user07@example.com&email=user08@example.com"); p["count"].(float64) != 1 {
			t.Fatalf("repeated filter uses the last value: %v", p)
		}
		if p := page("?email=&foo=1"); p["count"].(float64) != 47 || p["next"] != base+"?email=&foo=1&page=2" {
			t.Fatalf("empty filter ignored: %v", p["next"])
		}
		if p := page("?username=USER07"); p["count"].(float64) != 0 {
			t.Fatal("filters are case-sensitive")
		}
		expect(t, e.do("GET", "/api/users/", nil), 401, `{"detail":"Authentication credentials were not provided."}`)
		r := e.do("PUT", "/api/users/", map[string]string{}, auth...)
		expect(t, r, 405, `{"detail":"Method \"PUT\" not allowed."}`)
		if r.header.Get("Allow") != "GET, POST, HEAD, OPTIONS" {
			t.Errorf("Allow = %q", r.header.Get("Allow"))
		}
	})
}

func TestUsersCreate(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.user("alice", "alicepass")
		auth := []string{"Authorization", "Token " + e.tokenOf("alice", "alicepass")}
		r := e.do("POST", "/api/users/", map[string]any{"id": 5000, "username": "bob", "password": "bobpass", "email": "bob@example.com", "first_name": "Bob", "last_name": "Builder"}, auth...)
		expect(t, r, 201, "")
		m := r.json(t)
		if m["id"].(float64) == 5000 || m["username"] != "bob" || m["first_name"] != "Bob" || m["password"] != nil {
			t.Fatalf("created: %s", r.body)
		}
		e.tokenOf("bob", "bobpass")
		for _, c := range []struct {
			body any
			want string
		}{
			{map[string]any{"username": "alice", "password": "x"}, `{"username":["A user with that username already exists."]}`},
			{map[string]any{"username": "erin", "password": "x", "email": "not-an-email"}, `{"email":["Enter a valid email address."]}`},
			{map[string]any{"username": "gina", "password": "x", "first_name": strings.Repeat("g", 151)}, `{"first_name":["Ensure this field has no more than 150 characters."]}`},
			{map[string]any{"username": "", "password": "", "email": "", "first_name": ""}, `{"username":["This field may not be blank."],"password":["This field may not be blank."]}`},
		} {
			expect(t, e.do("POST", "/api/users/", c.body, auth...), 400, c.want)
		}
		expect(t, e.do("POST", "/api/users/", map[string]any{"username": "leo", "password": "x"}), 401, "")
		// Nothing was written by the refused requests.
		r = e.do("GET", "/api/users/", nil, auth...)
		if r.json(t)["count"].(float64) != 2 {
			t.Fatalf("count %s", r.body)
		}
	})
}

// Found by FuzzUserListQuery: the page number took two signs ("++1" was
// page 1, DRF's int() refuses it) and refused more than 18 characters
// ("0000000000000000000002" is page 2 to int()).
func TestUsersListPageAsPythonInt(t *testing.T) {
	e := newEnv(t, "sqlite", func(c *config) { c.PageSize = 1 })
	e.user("alice", "alicepass")
	e.user("bob", "bobpass")
	auth := []string{"Authorization", "Token " + e.tokenOf("alice", "alicepass")}
	for q, want := range map[string]int{"%2B%2B1": 404, "%2B-1": 404, "-%2B1": 404, "0000000000000000000002": 200,
		"%2B000000000000000000001": 200, "+2+": 200, "%E3%80%802%0B": 200, "%1C2": 404, "1__0": 404, "99999999999999999999": 404} {
		if r := e.do("GET", "/api/users/?page="+q, nil, auth...); r.status != want {
			t.Errorf("page=%s: %d %s, want %d", q, r.status, r.body, want)
		}
	}
}

// TestUsersOptionsIDType: the user list's OPTIONS metadata calls its id
// an integer, as DRF's IntegerField key; under new-user-key uuid, whose
// users are keyed by UUIDs, a string, as DRF's UUIDField key.
func TestUsersOptionsIDType(t *testing.T) {
	for _, keyed := range []bool{false, true} {
		want := map[bool]string{false: "integer", true: "string"}[keyed]
		eachWithConfig(t, nil, func(w *wiring) { w.Accounts.NewUserKeys = keyed }, func(t *testing.T, e *env) {
			e.user("alice", "alicepass")
			r := e.do("OPTIONS", "/api/users/", nil, "Authorization", "Token "+e.tokenOf("alice", "alicepass"))
			var m struct {
				Actions struct {
					POST map[string]map[string]any
				}
			}
			if err := json.Unmarshal(r.body, &m); r.status != 200 || err != nil {
				t.Fatalf("%d %s %v", r.status, r.body, err)
			}
			if id := m.Actions.POST["id"]; id["type"] != want || id["read_only"] != true || id["label"] != "ID" {
				t.Fatalf("keyed %v: id %v, want type %q", keyed, id, want)
			}
		})
	}
}
