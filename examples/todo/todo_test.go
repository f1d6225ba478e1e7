package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/site"
)

// testConfig is gatehouse's defaults on a fresh database of backend, with
// cheap password hashing.
func testConfig(t *testing.T, backend string) site.Config {
	t.Helper()
	c := site.DefaultConfig()
	c.DatabaseURL = testdb.URL(t, backend)
	c.SecretKey = "todo-test-secret-0123456789abcdef"
	c.JWTSigningKey = "todo-test-jwt-signing-key-0123456789abcdef"
	c.Argon2Memory, c.Argon2Time = 1024, 1
	return c
}

// world is gatehouse and the to-do API as a test reaches them.
type world struct {
	t    *testing.T
	site *site.Site // gatehouse's services: users, groups, applications
	auth string     // gatehouse's URL: the API's /auth in embedded mode
	api  string     // the API's URL
}

// embeddedWorld runs the program in embedded mode, as main does.
func embeddedWorld(t *testing.T, backend string) *world {
	t.Helper()
	a, err := embed(context.Background(), testConfig(t, backend), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	hs := httptest.NewServer(a.handler)
	t.Cleanup(hs.Close)
	return &world{t: t, site: a.site, auth: hs.URL + mountPrefix, api: hs.URL}
}

// answer is a response as a client sees it.
type answer struct {
	status    int
	challenge string // WWW-Authenticate
	body      string
}

func (w *world) do(method, url, authorization string, body io.Reader, contentType string) answer {
	w.t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		w.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header.Get("WWW-Authenticate"), string(b)}
}

// post sends a form to gatehouse and returns one string of its JSON answer,
// which must be a success.
func (w *world) post(path string, form url.Values, field string, status int) string {
	w.t.Helper()
	a := w.do("POST", w.auth+path, "", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
	var m map[string]any
	if a.status != status || json.Unmarshal([]byte(a.body), &m) != nil {
		w.t.Fatalf("POST %s: %d %s", path, a.status, a.body)
	}
	s, _ := m[field].(string)
	return s
}

// credentials are one user's ways in.
type credentials struct {
	id                           int64
	key, jwt, oauthRW, oauthRead string
}

// signUp signs username up through gatehouse's /sign_up/ and obtains a DRF
// key, a simplejwt access token and OAuth tokens (scopes "read write" and
// "read") through its other routes.
func (w *world) signUp(username, clientSecret string) credentials {
	w.t.Helper()
	const pw = "correct-horse-battery-9"
	if got := w.post("/sign_up/", url.Values{"username": {username}, "password": {pw}}, "username", 201); got != username {
		w.t.Fatalf("signed up %q", got)
	}
	return w.logIn(username, pw, clientSecret)
}

func (w *world) logIn(username, pw, clientSecret string) credentials {
	w.t.Helper()
	login := url.Values{"username": {username}, "password": {pw}}
	c := credentials{key: w.post("/api-token-auth/", login, "token", 200), jwt: w.post("/access-token/", login, "access", 200)}
	token := func(scope string) string {
		return w.post("/o/token/", url.Values{"grant_type": {"password"}, "username": {username}, "password": {pw},
			"client_id": {"todo-cli"}, "client_secret": {clientSecret}, "scope": {scope}}, "access_token", 200)
	}
	c.oauthRW, c.oauthRead = token("read write"), token("read")
	a := w.do("GET", w.auth+"/api/me/", "Token "+c.key, nil, "")
	var me struct{ ID int64 }
	if a.status != 200 || json.Unmarshal([]byte(a.body), &me) != nil || me.ID == 0 {
		w.t.Fatalf("/api/me/: %d %s", a.status, a.body)
	}
	c.id = me.ID
	return c
}

// grant puts user in a group holding todo.delete_item, as an
// administrator would.
func (w *world) grant(userID int64) {
	w.t.Helper()
	ctx := context.Background()
	perms, err := w.site.Store.Permissions(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	var id int64
	for _, p := range perms {
		if p.Key() == "todo.delete_item" {
			id = p.ID
		}
	}
	if id == 0 {
		w.t.Fatalf("todo.delete_item was not registered: %v", perms)
	}
	g := &gatehouse.Group{Name: "todo editors", Permissions: []int64{id}}
	if err := w.site.Store.CreateGroup(ctx, g); err != nil {
		w.t.Fatal(err)
	}
	if err := w.site.Store.SetUserGroups(ctx, userID, []int64{g.ID}); err != nil {
		w.t.Fatal(err)
	}
}

const (
	notProvided = `{"detail":"Authentication credentials were not provided."}`
	denied      = `{"detail":"You do not have permission to perform this action."}`
	challenge   = `Bearer realm="api"`
	invalid     = `Bearer realm="api",error="invalid_token",error_description="The access token is invalid."`
	jwtInvalid  = `{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access","message":"Token is invalid or expired"}]}`
)

// scenario runs the to-do API's requests against w: every credential kind
// of a user without the delete permission (alice), one with it (bob), a
// staff user (carol), a client's own token, and bad credentials, with the
// status, challenge and body the permissions say.
func scenario(t *testing.T, w *world) (alice credentials) {
	ctx := context.Background()
	_, secret, err := w.site.Clients.Create(ctx, oauth.ApplicationSpec{ClientID: "todo-cli", GrantTypes: []string{"password", "client-credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	alice, bob := w.signUp("alice", secret), w.signUp("bob", secret)
	w.grant(bob.id)
	// A staff user, as gatehouse createsuperuser makes one.
	if _, err := w.site.Accounts.Create(ctx, accounts.NewUser{Username: "carol", Password: "staff-horse-battery-8", IsStaff: true}); err != nil {
		t.Fatal(err)
	}
	carol := w.logIn("carol", "staff-horse-battery-8", secret)
	client := w.post("/o/token/", url.Values{"grant_type": {"client_credentials"}, "client_id": {"todo-cli"}, "client_secret": {secret}, "scope": {"read write"}}, "access_token", 200)
	item := func(id, owner int64, title string) string {
		return fmt.Sprintf(`{"id":%d,"owner":%d,"title":%q}`, id, owner, title)
	}
	json := "application/json"
	for _, tc := range []struct {
		name, method, path, authorization, body string
		status                                  int
		challenge, want                         string
	}{
		{"anonymous list", "GET", "/todos/", "", "", 401, challenge, notProvided},
		{"anonymous create", "POST", "/todos/", "", `{"title":"x"}`, 401, challenge, notProvided},
		{"unknown DRF key", "GET", "/todos/", "Token 0123456789abcdef0123456789abcdef01234567", "", 401, challenge, `{"detail":"Invalid token."}`},
		{"DRF header without a key", "GET", "/todos/", "Token", "", 401, challenge, `{"detail":"Invalid token header. No credentials provided."}`},
		{"forged JWT", "GET", "/todos/", "Bearer " + alice.jwt[:len(alice.jwt)-2] + "xx", "", 401, invalid, jwtInvalid},
		{"unknown OAuth token", "GET", "/todos/", "Bearer nope", "", 401, invalid, jwtInvalid},

		{"alice creates with a DRF key", "POST", "/todos/", "Token " + alice.key, `{"title":"milk"}`, 201, "", item(1, alice.id, "milk")},
		{"alice creates with a JWT", "POST", "/todos/", "Bearer " + alice.jwt, `{"title":"eggs"}`, 201, "", item(2, alice.id, "eggs")},
		{"alice creates with OAuth", "POST", "/todos/", "Bearer " + alice.oauthRead, `{"title":"  bread  "}`, 201, "", item(3, alice.id, "bread")},
		{"bob creates", "POST", "/todos/", "Token " + bob.key, `{"title":"tea"}`, 201, "", item(4, bob.id, "tea")},
		{"alice lists with a JWT", "GET", "/todos/", "Bearer " + alice.jwt, "", 200, "", "[" + item(1, alice.id, "milk") + "," + item(2, alice.id, "eggs") + "," + item(3, alice.id, "bread") + "]"},
		{"bob lists with OAuth", "GET", "/todos/", "Bearer " + bob.oauthRead, "", 200, "", "[" + item(4, bob.id, "tea") + "]"},
		{"a client's own token lists", "GET", "/todos/", "Bearer " + client, "", 403, "", denied},

		{"no title", "POST", "/todos/", "Token " + alice.key, `{}`, 400, "", `{"title":["This field is required."]}`},
		{"blank title", "POST", "/todos/", "Token " + alice.key, `{"title":"  "}`, 400, "", `{"title":["This field may not be blank."]}`},
		{"long title", "POST", "/todos/", "Token " + alice.key, `{"title":"` + strings.Repeat("é", 201) + `"}`, 400, "", `{"title":["Ensure this field has no more than 200 characters."]}`},
		{"title of a number", "POST", "/todos/", "Token " + alice.key, `{"title":5}`, 400, "", `{"title":["Not a valid string."]}`},
		{"not JSON", "POST", "/todos/", "Token " + alice.key, `{"title":`, 400, "", `{"detail":"JSON parse error - expected a JSON object"}`},
		{"bad JSON", "POST", "/todos/", "Token " + alice.key, `{"title":x}`, 400, "", `{"detail":"JSON parse error - invalid JSON at byte 10"}`},

		{"alice deletes with a DRF key", "DELETE", "/todos/1/", "Token " + alice.key, "", 403, "", denied},
		{"alice deletes with a JWT", "DELETE", "/todos/1/", "Bearer " + alice.jwt, "", 403, "", denied},
		{"alice deletes with a read token", "DELETE", "/todos/1/", "Bearer " + alice.oauthRead, "", 403, "", denied},
		{"alice deletes with a write token", "DELETE", "/todos/1/", "Bearer " + alice.oauthRW, "", 204, "", ""},
		{"alice deletes it again", "DELETE", "/todos/1/", "Bearer " + alice.oauthRW, "", 404, "", `{"detail":"Not found."}`},
		{"bob deletes alice's item", "DELETE", "/todos/2/", "Token " + bob.key, "", 404, "", `{"detail":"Not found."}`},
		{"bob deletes no number", "DELETE", "/todos/two/", "Token " + bob.key, "", 404, "", `{"detail":"Not found."}`},
		{"a client's own write token deletes", "DELETE", "/todos/4/", "Bearer " + client, "", 403, "", denied},
		{"anonymous deletes", "DELETE", "/todos/4/", "", "", 401, challenge, notProvided},
		{"bob deletes with a read token (his permission)", "DELETE", "/todos/4/", "Bearer " + bob.oauthRead, "", 204, "", ""},

		{"alice on the admin route", "GET", "/admin/todos/", "Token " + alice.key, "", 403, "", denied},
		{"anonymous on the admin route", "GET", "/admin/todos/", "", "", 401, challenge, notProvided},
		{"carol on the admin route (DRF key)", "GET", "/admin/todos/", "Token " + carol.key, "", 200, "", "[" + item(2, alice.id, "eggs") + "," + item(3, alice.id, "bread") + "]"},
		{"carol on the admin route (OAuth)", "GET", "/admin/todos/", "Bearer " + carol.oauthRead, "", 200, "", "[" + item(2, alice.id, "eggs") + "," + item(3, alice.id, "bread") + "]"},
		{"carol on the admin route (JWT)", "GET", "/admin/todos/", "Bearer " + carol.jwt, "", 200, "", "[" + item(2, alice.id, "eggs") + "," + item(3, alice.id, "bread") + "]"},
	} {
		var body io.Reader
		ct := ""
		if tc.body != "" {
			body, ct = strings.NewReader(tc.body), json
		}
		a := w.do(tc.method, w.api+tc.path, tc.authorization, body, ct)
		if a.status != tc.status || a.challenge != tc.challenge || a.body != tc.want {
			t.Errorf("%s: %s %s answered %d %q %s\nwant %d %q %s", tc.name, tc.method, tc.path, a.status, a.challenge, a.body, tc.status, tc.challenge, tc.want)
		}
	}
	return alice
}

// Embedded: gatehouse under /auth of the program, the API authenticating
// in-process; a password change ends every credential of the user at once.
func TestEmbedded(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			w := embeddedWorld(t, backend)
			alice := scenario(t, w)
			if err := w.site.Accounts.ChangePassword(context.Background(), "alice", "another-horse-battery-7"); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct{ name, authorization, challenge, body string }{
				{"DRF key", "Token " + alice.key, challenge, `{"detail":"Invalid token."}`},
				{"JWT", "Bearer " + alice.jwt, invalid, jwtInvalid},
				{"OAuth", "Bearer " + alice.oauthRW, invalid, jwtInvalid},
			} {
				if a := w.do("GET", w.api+"/todos/", tc.authorization, nil, ""); a.status != 401 || a.challenge != tc.challenge || a.body != tc.body {
					t.Errorf("%s after the password change: %+v", tc.name, a)
				}
			}
		})
	}
}

// The delete permission is registered once: a second start on the same
// database finds it.
func TestPermissionRegisteredOnce(t *testing.T) {
	cfg := testConfig(t, "sqlite")
	for range 2 {
		a, err := embed(context.Background(), cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		perms, err := a.site.Store.Permissions(context.Background())
		a.close()
		if err != nil || len(perms) != 1 || perms[0].Key() != "todo.delete_item" {
			t.Fatalf("%v %v", perms, err)
		}
	}
}

// run refuses bad settings and flags, naming them, before it listens.
func TestRunRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, map[string]string{"GATEHOUSE_PAGE_SIZE": "many"}, `GATEHOUSE_PAGE_SIZE: want a whole number, 0 or more, got "many"`},
		{nil, map[string]string{"GATEHOUSE_DATABASE_URL": "postgres://x@127.0.0.1:1/x"}, "GATEHOUSE_SECRET_KEY is required with PostgreSQL"},
		{[]string{"-gatehouse", "http://127.0.0.1:1"}, nil, "TODO_CLIENT_ID and TODO_CLIENT_SECRET are required with -gatehouse"},
		{[]string{"-nope"}, nil, "flag provided but not defined: -nope"},
	} {
		err := run(context.Background(), tc.args, func(k string) string { return tc.env[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: %v; want %s", tc.args, tc.env, err, tc.want)
		}
	}
}
