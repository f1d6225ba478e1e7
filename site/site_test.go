package site_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/accounts"
	"github.com/gatehouse-auth/gatehouse/guard"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/site"
)

// testConfig is the defaults on a fresh database of backend, with cheap
// password hashing.
func testConfig(t *testing.T, backend string) site.Config {
	t.Helper()
	c := site.DefaultConfig()
	c.DatabaseURL = testdb.URL(t, backend)
	c.SecretKey = "site-test-secret-0123456789abcdef"
	c.Argon2Memory, c.Argon2Time = 1024, 1
	return c
}

// embedded is a program embedding gatehouse under /auth with one route of
// its own, /whoami/, behind the in-process authenticator and
// IsAuthenticated: it answers the principal it got.
type embedded struct {
	t    *testing.T
	site *site.Site
	url  string
}

func embed(t *testing.T, backend string) *embedded {
	t.Helper()
	cfg := testConfig(t, backend)
	cfg.MountPrefix = "/auth"
	cfg.AllowQueryToken = true // gatehouse's views take ?access_token=; the program's routes must not
	s, err := site.Open(context.Background(), cfg, site.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	g := guard.New(s.Authenticator())
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", s.Handler()))
	mux.Handle("/whoami/", g.Protect(guard.IsAuthenticated, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := guard.PrincipalFrom(r.Context())
		before := int(p.Known)
		ok, err := p.HasPerms(r.Context(), "todo.delete_item")
		json.NewEncoder(w).Encode(whoami{UserID: p.UserID, Username: p.Username, Email: p.Email, IsStaff: p.IsStaff, IsSuperuser: p.IsSuperuser,
			Kind: string(p.Kind), Scopes: p.Scopes, ClientID: p.ClientID, KnownBefore: before, Known: int(p.Known), CanDelete: ok && err == nil,
			Groups: p.Groups, Permissions: p.Permissions})
	})))
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return &embedded{t: t, site: s, url: hs.URL}
}

type whoami struct {
	UserID      int64    `json:"user_id"`
	Username    string   `json:"username"`
	Email       string   `json:"email"`
	IsStaff     bool     `json:"is_staff"`
	IsSuperuser bool     `json:"is_superuser"`
	Kind        string   `json:"kind"`
	Scopes      []string `json:"scopes"`
	ClientID    string   `json:"client_id"`
	KnownBefore int      `json:"known_before"` // before the permission check
	Known       int      `json:"known"`
	CanDelete   bool     `json:"can_delete"`
	Groups      []string `json:"groups"`
	Permissions []string `json:"permissions"`
}

type answer struct {
	status    int
	challenge string
	body      string
}

func (e *embedded) do(method, path, authorization string, form url.Values) answer {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header.Get("WWW-Authenticate"), strings.TrimSpace(string(b))}
}

// field returns one string field of a JSON answer.
func (e *embedded) field(a answer, name string) string {
	e.t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(a.body), &m); err != nil || a.status != 200 {
		e.t.Fatalf("%d %s", a.status, a.body)
	}
	s, _ := m[name].(string)
	return s
}

// The in-process authenticator takes every credential gatehouse issues,
// through the routes gatehouse serves under /auth, and gives the
// principal its identity, scopes and client; the permissions are read on
// the first check that needs them.
func TestEmbeddedAuthenticator(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			e := embed(t, backend)
			ctx := context.Background()
			alice, err := e.site.Accounts.Create(ctx, accounts.NewUser{Username: "alice", Email: "alice@example.com", Password: "correct-horse-battery-9", IsStaff: true})
			if err != nil {
				t.Fatal(err)
			}
			perm := &gatehouse.Permission{Name: "Can delete item", Codename: "delete_item", AppLabel: "todo", Model: "item"}
			if err := e.site.Store.CreatePermission(ctx, perm); err != nil {
				t.Fatal(err)
			}
			group := &gatehouse.Group{Name: "editors", Permissions: []int64{perm.ID}}
			if err := e.site.Store.CreateGroup(ctx, group); err != nil {
				t.Fatal(err)
			}
			if err := e.site.Store.SetUserGroups(ctx, alice.ID, []int64{group.ID}); err != nil {
				t.Fatal(err)
			}
			_, secret, err := e.site.Clients.Create(ctx, oauth.ApplicationSpec{ClientID: "todo-cli", GrantTypes: []string{"password", "client-credentials"}})
			if err != nil {
				t.Fatal(err)
			}
			login := url.Values{"username": {"alice"}, "password": {"correct-horse-battery-9"}}
			key := e.field(e.do("POST", "/auth/api-token-auth/", "", login), "token")
			jwtAccess := e.field(e.do("POST", "/auth/access-token/", "", login), "access")
			oauthForm := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"correct-horse-battery-9"},
				"client_id": {"todo-cli"}, "client_secret": {secret}, "scope": {"read write"}}
			access := e.field(e.do("POST", "/auth/o/token/", "", oauthForm), "access_token")
			clientOnly := e.field(e.do("POST", "/auth/o/token/", "", url.Values{"grant_type": {"client_credentials"},
				"client_id": {"todo-cli"}, "client_secret": {secret}, "scope": {"read"}}), "access_token")

			identity := int(guard.FieldUsername | guard.FieldEmail | guard.FieldStaff)
			all := int(guard.FieldsAll)
			user := whoami{UserID: alice.ID, Username: "alice", Email: "alice@example.com", IsStaff: true, KnownBefore: identity, Known: all, CanDelete: true,
				Groups: []string{"editors"}, Permissions: []string{"todo.delete_item"}}
			for _, tc := range []struct {
				name, authorization string
				want                whoami
			}{
				{"DRF key", "Token " + key, with(user, "token", nil, "")},
				{"simplejwt", "Bearer " + jwtAccess, with(user, "jwt", nil, "")},
				{"OAuth", "Bearer " + access, with(user, "oauth", []string{"read", "write"}, "todo-cli")},
			} {
				t.Run(tc.name, func(t *testing.T) {
					a := e.do("GET", "/whoami/", tc.authorization, nil)
					var got whoami
					if a.status != 200 || json.Unmarshal([]byte(a.body), &got) != nil || !reflect.DeepEqual(got, tc.want) {
						t.Fatalf("%d %s\nwant %+v", a.status, a.body, tc.want)
					}
				})
			}
			// A token in the URL is not read, even one gatehouse's views
			// take (GATEHOUSE_ALLOW_QUERY_TOKEN): the request is anonymous.
			if a := e.do("GET", "/auth/api/me/?access_token="+access, "", nil); a.status != 200 {
				t.Fatalf("gatehouse's /api/me/?access_token=: %+v", a)
			}
			if a := e.do("GET", "/whoami/?access_token="+access, "", nil); a.status != 401 || a.challenge != guard.Challenge ||
				a.body != `{"detail":"Authentication credentials were not provided."}` {
				t.Fatalf("?access_token=: %+v", a)
			}
			// A client's own token names no user: IsAuthenticated denies it.
			if a := e.do("GET", "/whoami/", "Bearer "+clientOnly, nil); a.status != 403 ||
				a.body != `{"detail":"You do not have permission to perform this action."}` {
				t.Fatalf("client credentials: %+v", a)
			}

			// A password change ends every credential at once on this
			// process: the authenticator shares gatehouse's cache.
			if err := e.site.Accounts.ChangePassword(ctx, "alice", "another-horse-battery-7"); err != nil {
				t.Fatal(err)
			}
			for _, authorization := range []string{"Token " + key, "Bearer " + jwtAccess, "Bearer " + access} {
				if a := e.do("GET", "/whoami/", authorization, nil); a.status != 401 {
					t.Errorf("%.12s... after the password change: %+v", authorization, a)
				}
			}
		})
	}
}

// with is p authenticated by kind, with scopes and client.
func with(p whoami, kind string, scopes []string, client string) whoami {
	p.Kind, p.Scopes, p.ClientID = kind, scopes, client
	return p
}

// A refused credential is answered on the program's route as gatehouse's
// own /api/me/ answers it: the same status, challenge and body.
func TestEmbeddedRefusalsAsGatehouse(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			e := embed(t, backend)
			ctx := context.Background()
			if _, err := e.site.Accounts.Create(ctx, accounts.NewUser{Username: "bob", Password: "correct-horse-battery-9"}); err != nil {
				t.Fatal(err)
			}
			key, err := e.site.Accounts.IssueToken(ctx, "bob", "t", 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.site.Accounts.Create(ctx, accounts.NewUser{Username: "carol", Password: "correct-horse-battery-9"}); err != nil {
				t.Fatal(err)
			}
			carolKey, err := e.site.Accounts.IssueToken(ctx, "carol", "t", 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.site.Accounts.SetActive(ctx, "carol", false); err != nil {
				t.Fatal(err)
			}
			for _, authorization := range []string{
				"", "Token", "Token a b", "Token nope", "token nope", "Token " + carolKey,
				"Bearer", "Bearer nope", "bearer nope", "Bearer a.b.c", "Bearer " + key + ".x", "Basic Ym9iOmJvYg==",
			} {
				t.Run(authorization, func(t *testing.T) {
					own := e.do("GET", "/auth/api/me/", authorization, nil)
					got := e.do("GET", "/whoami/", authorization, nil)
					if own.status != 401 || got != own {
						t.Fatalf("the program answered %+v\n gatehouse answered %+v", got, own)
					}
				})
			}
		})
	}
}

// FromEnv reads the variables, then the file GATEHOUSE_CONFIG names, then
// the defaults; a bad value is refused naming the variable or the line.
func TestFromEnv(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "gatehouse.conf")
	if err := os.WriteFile(file, []byte("GATEHOUSE_MOUNT_PREFIX=/auth\nGATEHOUSE_PAGE_SIZE=7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GATEHOUSE_CONFIG": file, "GATEHOUSE_PAGE_SIZE": "9"}
	c, err := site.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	d := site.DefaultConfig()
	if c.MountPrefix != "/auth" || c.PageSize != 9 || c.Addr != d.Addr || c.Addr != "127.0.0.1:8000" || c.AuthCacheTTL != d.AuthCacheTTL {
		t.Fatalf("read %q %d %q %v", c.MountPrefix, c.PageSize, c.Addr, c.AuthCacheTTL)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"GATEHOUSE_PAGE_SIZE": "many"}, `GATEHOUSE_PAGE_SIZE: want a whole number, 0 or more, got "many"`},
		{map[string]string{"GATEHOUSE_CONFIG": file + ".missing"}, "GATEHOUSE_CONFIG: open " + file + ".missing"},
		{map[string]string{"GATEHOUSE_NOPE": "1", "GATEHOUSE_CONFIG": writeFile(t, "GATEHOUSE_NOPE=1\n")}, `line 1: unknown setting "GATEHOUSE_NOPE"`},
	} {
		if _, err := site.FromEnv(func(k string) string { return tc.env[k] }); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v; want %s", tc.env, err, tc.want)
		}
	}
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gatehouse.conf")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Open refuses bad settings, naming them.
func TestOpenRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*site.Config)
		want string
	}{
		{"mount prefix", func(c *site.Config) { c.MountPrefix = "auth/" }, "GATEHOUSE_MOUNT_PREFIX: want a path such as /auth"},
		{"short secret", func(c *site.Config) { c.SecretKey = "short" }, "GATEHOUSE_SECRET_KEY must be at least 16 characters"},
		{"page size", func(c *site.Config) { c.PageSize = 0 }, "GATEHOUSE_PAGE_SIZE must be at least 1"},
		{"scopes", func(c *site.Config) { c.OAuthScopes = "" }, "GATEHOUSE_OAUTH_SCOPES: at least one scope is required"},
		{"sub twice", func(c *site.Config) { c.JWTSubjectClaim, c.JWTUserIDClaim = true, "sub" },
			"GATEHOUSE_JWT_SUBJECT_CLAIM writes a sub claim, and GATEHOUSE_JWT_USER_ID_CLAIM already names a claim sub"},
		{"username field password", func(c *site.Config) { c.UsernameField = "password" }, "GATEHOUSE_USERNAME_FIELD: \"password\" is not a field name other than password"},
		{"username field not a name", func(c *site.Config) { c.UsernameField = "e-mail" }, "GATEHOUSE_USERNAME_FIELD: \"e-mail\" is not a field name"},
		{"sub twice, groups", func(c *site.Config) { c.JWTSubjectClaim, c.JWTGroupsClaim = true, "sub" },
			"GATEHOUSE_JWT_SUBJECT_CLAIM writes a sub claim, and GATEHOUSE_JWT_GROUPS_CLAIM already names a claim sub"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig(t, "sqlite")
			tc.set(&c)
			s, err := site.Open(context.Background(), c, site.Options{})
			if err == nil || s != nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, %v; want %s", s, err, tc.want)
			}
		})
	}
}
