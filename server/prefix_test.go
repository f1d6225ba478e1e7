package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/server"
)

// mounted serves e's handler under /auth of a mux, as a program embedding
// gatehouse mounts it, beside a route of the program's own at /app/.
func mounted(t *testing.T, e *env) (*httptest.Server, *browser) {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", e.handler))
	mux.HandleFunc("/app/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("app")) })
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	jar, _ := cookiejar.New(nil)
	return hs, &browser{t: t, base: hs.URL, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// cookiePaths returns the Path of each cookie a response sets, by name.
func cookiePaths(res *http.Response) map[string]string {
	out := map[string]string{}
	for _, c := range res.Cookies() {
		out[c.Name] = c.Path
	}
	return out
}

// Mounted under /auth with http.StripPrefix and MountPrefix "/auth", every
// URL gatehouse writes carries the prefix: the trailing-slash redirects,
// the redirect of the authorize flow and the pages to the login page with
// next, the login form's action and its redirect to next, the consent
// form's action, the logout form's action and its login link, the cookie
// paths, and the pagination links of /api/users/. The client's own
// redirect URI is left as registered.
func TestMountPrefixURLs(t *testing.T) {
	each(t, func(c *config) { c.MountPrefix = "/auth"; c.PageSize = 1 }, func(t *testing.T, e *env) {
		e.setupOAuth()
		e.user("bob", "bobpass")
		hs, b := mounted(t, e)
		noFollow := b.c

		t.Run("slash redirects", func(t *testing.T) {
			for _, tc := range []struct {
				method, path, want string
				status             int
			}{
				{"GET", "/auth/api/me", "/auth/api/me/", 301},
				{"HEAD", "/auth/api/users?page=2", "/auth/api/users/?page=2", 301},
				{"POST", "/auth/api-token-auth", "/auth/api-token-auth/", 308},
				{"POST", "/auth/o/token?x=1", "/auth/o/token/?x=1", 308},
			} {
				req, _ := http.NewRequest(tc.method, hs.URL+tc.path, nil)
				res, err := noFollow.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != tc.status || res.Header.Get("Location") != tc.want {
					t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, res.StatusCode, res.Header.Get("Location"), tc.status, tc.want)
				}
			}
		})

		q := url.Values{"client_id": {"code-client"}, "response_type": {"code"}, "redirect_uri": {redirectURI},
			"scope": {"read"}, "state": {"s1"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}
		authorizeURI := "/auth/o/authorize/?" + q.Encode()
		var next string
		t.Run("to the login page", func(t *testing.T) {
			// next is quoted as Python's urllib.parse.quote(safe="/").
			for _, tc := range []struct{ path, want string }{
				{authorizeURI, "/auth/admin/login/?next=/auth/o/authorize/%3Fclient_id%3Dcode-client%26code_challenge%3DE9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" +
					"%26code_challenge_method%3DS256%26redirect_uri%3Dhttp%253A%252F%252F127.0.0.1%253A9999%252Fcb%26response_type%3Dcode%26scope%3Dread%26state%3Ds1"},
				{"/auth/o/applications/", "/auth/admin/login/?next=/auth/o/applications/"},
				{"/auth/o/authorized_tokens/?a=b", "/auth/admin/login/?next=/auth/o/authorized_tokens/%3Fa%3Db"},
			} {
				res, _ := b.get(tc.path)
				if res.StatusCode != 302 || res.Header.Get("Location") != tc.want {
					t.Fatalf("GET %s: %d %q, want 302 %q", tc.path, res.StatusCode, res.Header.Get("Location"), tc.want)
				}
			}
			next = authorizeURI
		})

		t.Run("login", func(t *testing.T) {
			res, page := b.get("/auth/admin/login/?next=" + url.QueryEscape(next))
			if res.StatusCode != 200 || !strings.Contains(page, `<form method="post" action="/auth/admin/login/">`) {
				t.Fatalf("login page: %d\n%s", res.StatusCode, page)
			}
			if got := cookiePaths(res); got["sessionid"] != "/auth/" || got["csrftoken"] != "/auth/" {
				t.Fatalf("cookie paths %v, want /auth/ for both", got)
			}
			form := hidden(page)
			if form.Get("next") != next {
				t.Fatalf("the form's next is %q, want %q", form.Get("next"), next)
			}
			form.Set("username", "alice")
			form.Set("password", "alicepass")
			res, _ = b.post("/auth/admin/login/", form)
			if res.StatusCode != 302 || res.Header.Get("Location") != next {
				t.Fatalf("login: %d %q, want 302 %q", res.StatusCode, res.Header.Get("Location"), next)
			}
			if got := cookiePaths(res); got["sessionid"] != "/auth/" || got["csrftoken"] != "/auth/" {
				t.Fatalf("cookie paths after login %v, want /auth/ for both", got)
			}
			// The cookie is the prefix's: the program's own routes do not get it.
			u, _ := url.Parse(hs.URL + "/app/")
			if cs := b.c.Jar.Cookies(u); len(cs) != 0 {
				t.Fatalf("cookies sent to /app/: %v", cs)
			}
		})

		t.Run("consent", func(t *testing.T) {
			res, page := b.get(next)
			if res.StatusCode != 200 || !strings.Contains(page, `<form method="post" action="/auth/o/authorize/">`) {
				t.Fatalf("consent page: %d\n%s", res.StatusCode, page)
			}
			form := hidden(page)
			form.Set("allow", "Authorize")
			res, _ = b.post("/auth/o/authorize/", form)
			loc, err := url.Parse(res.Header.Get("Location"))
			if res.StatusCode != 302 || err != nil || loc.Scheme+"://"+loc.Host+loc.Path != redirectURI || loc.Query().Get("code") == "" || loc.Query().Get("state") != "s1" {
				t.Fatalf("allow: %d %q, want the client's redirect URI with a code", res.StatusCode, res.Header.Get("Location"))
			}
			res, page = b.get("/auth/o/authorized_tokens/")
			if res.StatusCode != 200 || !strings.Contains(page, "Clients revoke their tokens at /auth/o/revoke_token/;") {
				t.Fatalf("authorized tokens page: %d\n%s", res.StatusCode, page)
			}
		})

		t.Run("logout", func(t *testing.T) {
			res, page := b.get("/auth/admin/logout/")
			if res.StatusCode != 200 || !strings.Contains(page, `<form method="post" action="/auth/admin/logout/">`) {
				t.Fatalf("logout page: %d\n%s", res.StatusCode, page)
			}
			res, page = b.post("/auth/admin/logout/", hidden(page))
			if res.StatusCode != 200 || !strings.Contains(page, `You are logged out. <a href="/auth/admin/login/">Log in</a>`) {
				t.Fatalf("logged out page: %d\n%s", res.StatusCode, page)
			}
			if got := cookiePaths(res); got["sessionid"] != "/auth/" || got["csrftoken"] != "/auth/" {
				t.Fatalf("deleted cookie paths %v, want /auth/ for both", got)
			}
			res, page = b.get("/auth/admin/logout/")
			if res.StatusCode != 200 || !strings.Contains(page, `You are not logged in. <a href="/auth/admin/login/">Log in</a>`) {
				t.Fatalf("logout page when logged out: %d\n%s", res.StatusCode, page)
			}
		})

		t.Run("pagination", func(t *testing.T) {
			key := e.tokenOf("alice", "alicepass")
			req, _ := http.NewRequest("GET", hs.URL+"/auth/api/users/?page=1", nil)
			req.Header.Set("Authorization", "Token "+key)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body struct {
				Next     *string `json:"next"`
				Previous *string `json:"previous"`
			}
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != 200 || body.Next == nil || *body.Next != hs.URL+"/auth/api/users/?page=2" {
				t.Fatalf("page 1: %d %v next %v", res.StatusCode, err, body.Next)
			}
			// The request log names the path the client asked for.
			if !strings.Contains(e.logs.String(), `"method":"GET","path":"/auth/api/users/","status":200`) {
				t.Fatalf("the request log lacks the prefixed path:\n%s", e.logs.String())
			}
		})
	})
}

// Without a prefix the same URLs are the root's: the cookie paths are /.
func TestNoMountPrefixCookiePath(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		res, _ := e.browser().get("/admin/login/")
		if got := cookiePaths(res); res.StatusCode != 200 || got["sessionid"] != "/" || got["csrftoken"] != "/" {
			t.Fatalf("login page: %d, cookie paths %v", res.StatusCode, got)
		}
	})
}

// A mount prefix that is not a clean path of plain characters is refused,
// naming the setting.
func TestMountPrefixRefused(t *testing.T) {
	p, err := oauth.New(oauth.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"auth", "/auth/", "/", "//auth", "/a/../b", "/a/./b", "/a b", "/a%2fb", "/a?b", "/a#b", "/é", "/a\\b"} {
		cfg := server.DefaultConfig()
		cfg.MountPrefix = bad
		_, err := server.New(server.Deps{OAuth: p, Config: cfg})
		if err == nil || !strings.HasPrefix(err.Error(), "GATEHOUSE_MOUNT_PREFIX: ") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	for _, good := range []string{"", "/auth", "/api/v1/auth", "/a-b_c.d~e"} {
		cfg := server.DefaultConfig()
		cfg.MountPrefix = good
		if _, err := server.New(server.Deps{OAuth: p, Config: cfg}); err != nil {
			t.Errorf("%q refused: %v", good, err)
		}
	}
}
