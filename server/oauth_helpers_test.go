package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/oauth"
)

// oauthApps are the reference fixture's applications plus a
// client-credentials client and a public PKCE client.
type oauthApps struct {
	confSecret, codeSecret, ccSecret string
}

const (
	redirectURI = "http://127.0.0.1:9999/cb"
)

// setupOAuth creates alice and the applications the tests use.
func (e *env) setupOAuth() oauthApps {
	e.t.Helper()
	e.user("alice", "alicepass")
	ctx := context.Background()
	mk := func(spec oauth.ApplicationSpec) string {
		_, sec, err := e.clients.Create(ctx, spec)
		if err != nil {
			e.t.Fatalf("create %s: %v", spec.ClientID, err)
		}
		return sec
	}
	var a oauthApps
	a.confSecret = mk(oauth.ApplicationSpec{ClientID: "conf-client", Name: "Confidential password client", GrantTypes: []string{"password"}})
	mk(oauth.ApplicationSpec{ClientID: "pub-client", ClientType: "public", GrantTypes: []string{"password"}})
	a.codeSecret = mk(oauth.ApplicationSpec{ClientID: "code-client", GrantTypes: []string{"authorization-code"}, RedirectURIs: []string{redirectURI}})
	a.ccSecret = mk(oauth.ApplicationSpec{ClientID: "cc-client", GrantTypes: []string{"client-credentials"}})
	mk(oauth.ApplicationSpec{ClientID: "spa-client", ClientType: "public", GrantTypes: []string{"authorization-code"},
		RedirectURIs: []string{"http://127.0.0.1/spa/cb", "https://app.example/cb"}})
	return a
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// tokenPair is a successful token response.
type tokenPair struct {
	Access  string `json:"access_token"`
	Refresh string `json:"refresh_token"`
	Scope   string `json:"scope"`
}

// password gets tokens for alice from conf-client.
func (e *env) password(a oauthApps, extra ...string) tokenPair {
	e.t.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alicepass"},
		"client_id": {"conf-client"}, "client_secret": {a.confSecret}}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	return e.tokens(form)
}

// tokens posts form to /o/token/ and expects success.
func (e *env) tokens(form url.Values, headers ...string) tokenPair {
	e.t.Helper()
	r := e.do("POST", "/o/token/", form, headers...)
	expect(e.t, r, 200, "")
	var p tokenPair
	if err := json.Unmarshal(r.body, &p); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// meStatus is the status of GET /api/me/ with a bearer token.
func (e *env) meStatus(access string) int {
	e.t.Helper()
	return e.do("GET", "/api/me/", nil, "Authorization", "Bearer "+access).status
}

// browser is a user agent with a cookie jar that does not follow redirects.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, base: e.http.URL, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	res, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	res, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// hidden returns the hidden fields of a page (values HTML-unescaped).
func hidden(page string) url.Values {
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(page, -1) {
		v.Set(m[1], htmlUnescape(m[2]))
	}
	return v
}

func htmlUnescape(s string) string {
	r := strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">")
	return r.Replace(s)
}

// login signs the browser in as username through the login form.
func (b *browser) login(username, pw string) {
	b.t.Helper()
	res, page := b.get("/admin/login/")
	if res.StatusCode != 200 {
		b.t.Fatalf("login page: %d", res.StatusCode)
	}
	form := hidden(page)
	form.Set("username", username)
	form.Set("password", pw)
	res, _ = b.post("/admin/login/", form)
	if res.StatusCode != 302 {
		b.t.Fatalf("login: %d", res.StatusCode)
	}
}

// authorize runs GET /o/authorize/ with q and approves the consent form;
// it returns the redirect Location.
func (b *browser) authorize(q url.Values) *url.URL {
	b.t.Helper()
	res, page := b.get("/o/authorize/?" + q.Encode())
	if res.StatusCode != 200 {
		b.t.Fatalf("authorize form: %d %s", res.StatusCode, page)
	}
	form := hidden(page)
	form.Set("allow", "Authorize")
	res, _ = b.post("/o/authorize/", form)
	if res.StatusCode != 302 {
		b.t.Fatalf("authorize allow: %d", res.StatusCode)
	}
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		b.t.Fatal(err)
	}
	return loc
}

// doNoFatal posts like do but is safe in other goroutines: it returns the
// status, or -1 when the request failed.
func (e *env) doNoFatal(method, path string, form url.Values) int {
	req, err := http.NewRequest(method, e.http.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		return -1
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}
