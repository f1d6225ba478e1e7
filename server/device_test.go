package server_test

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/oidctest"
	"github.com/gatehouse-auth/gatehouse/oauth"
)

// The device authorization grant (RFC 8628) end to end: the device's
// requests on /o/device-authorization/ and /o/token/, the user's on the
// login page and /o/device/.

// deviceAnswer is a successful device authorization response.
type deviceAnswer struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

// setupDevice creates alice, the other test clients, and tv-client: a
// public client allowed the device grant only.
func (e *env) setupDevice() {
	e.t.Helper()
	e.setupOAuth()
	if _, _, err := e.clients.Create(context.Background(), oauth.ApplicationSpec{ClientID: "tv-client", Name: "Living room TV",
		ClientType: "public", GrantTypes: []string{gatehouse.GrantDeviceCode}}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) deviceAuthorize(form url.Values) deviceAnswer {
	e.t.Helper()
	r := e.do("POST", "/o/device-authorization/", form)
	expect(e.t, r, 200, "")
	var d deviceAnswer
	if err := json.Unmarshal(r.body, &d); err != nil {
		e.t.Fatal(err)
	}
	return d
}

func (e *env) devicePoll(code string) resp {
	e.t.Helper()
	return e.do("POST", "/o/token/", url.Values{"grant_type": {gatehouse.GrantDeviceCode}, "device_code": {code}, "client_id": {"tv-client"}})
}

var userCodeRE = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

// enterCode posts a user code on /o/device/ with the page's CSRF token
// and returns the answer.
func (b *browser) enterCode(code string) (int, string) {
	b.t.Helper()
	res, page := b.get("/o/device/")
	if res.StatusCode != 200 {
		b.t.Fatalf("device page: %d %s", res.StatusCode, page)
	}
	form := hidden(page)
	form.Set("user_code", code)
	res, page = b.post("/o/device/", form)
	return res.StatusCode, page
}

// decide enters code and presses button ("allow" or "cancel") on the
// consent page that follows.
func (b *browser) decide(code, button string) (int, string) {
	b.t.Helper()
	status, page := b.enterCode(code)
	if status != 200 || !strings.Contains(page, "Authorize Living room TV?") {
		b.t.Fatalf("consent page: %d %s", status, page)
	}
	form := hidden(page)
	form.Set(button, "x")
	res, page := b.post("/o/device/", form)
	return res.StatusCode, page
}

func TestDeviceFlow(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.setupDevice()
		r := e.do("POST", "/o/device-authorization/", url.Values{"client_id": {"tv-client"}, "scope": {"read write"}})
		expect(t, r, 200, "")
		if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("headers %v", r.header)
		}
		var d deviceAnswer
		if err := json.Unmarshal(r.body, &d); err != nil {
			t.Fatal(err)
		}
		if len(d.DeviceCode) < 40 || !userCodeRE.MatchString(d.UserCode) || d.VerificationURI != e.http.URL+"/o/device/" ||
			d.VerificationURIComplete != d.VerificationURI+"?user_code="+d.UserCode || d.ExpiresIn != 600 || d.Interval != 5 {
			t.Fatalf("answer %s", r.body)
		}
		expect(t, e.devicePoll(d.DeviceCode), 400, `{"error": "authorization_pending"}`)

		// An anonymous user following the complete URI logs in first and
		// comes back to the form, prefilled.
		b := e.browser()
		path := strings.TrimPrefix(d.VerificationURIComplete, e.http.URL)
		res, _ := b.get(path)
		if res.StatusCode != 302 || res.Header.Get("Location") != "/admin/login/?next="+pythonQuoted(path) {
			t.Fatalf("anonymous: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		_, page := b.get(res.Header.Get("Location"))
		form := hidden(page)
		form.Set("username", "alice")
		form.Set("password", "alicepass")
		res, _ = b.post("/admin/login/", form)
		if res.StatusCode != 302 || res.Header.Get("Location") != path {
			t.Fatalf("login: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		res, page = b.get(path)
		if res.StatusCode != 200 || !strings.Contains(page, `value="`+d.UserCode+`"`) || !strings.Contains(page, "Signed in as <strong>alice</strong>") {
			t.Fatalf("prefilled form: %d %s", res.StatusCode, page)
		}
		// The code is compared without case or dash.
		status, page := b.enterCode(strings.ToLower(strings.ReplaceAll(d.UserCode, "-", "")))
		if status != 200 || !strings.Contains(page, "Authorize Living room TV?") || !strings.Contains(page, "<li>Read scope</li><li>Write scope</li>") ||
			!strings.Contains(page, `value="Deny"`) || !strings.Contains(page, `value="Authorize"`) {
			t.Fatalf("consent: %d %s", status, page)
		}
		form = hidden(page)
		form.Set("allow", "Authorize")
		res, page = b.post("/o/device/", form)
		if res.StatusCode != 200 || !strings.Contains(page, "Device connected") {
			t.Fatalf("approve: %d %s", res.StatusCode, page)
		}
		// Polling before the interval is up slows the device down.
		expect(t, e.devicePoll(d.DeviceCode), 400, `{"error": "slow_down"}`)
		e.clock.advance(11 * time.Second)
		r = e.devicePoll(d.DeviceCode)
		expect(t, r, 200, "")
		var p tokenPair
		if err := json.Unmarshal(r.body, &p); err != nil || p.Scope != "read write" || p.Refresh == "" {
			t.Fatalf("tokens %s", r.body)
		}
		if got := e.do("GET", "/api/me/", nil, "Authorization", "Bearer "+p.Access); got.status != 200 || got.json(t)["username"] != "alice" {
			t.Fatalf("/api/me/: %d %s", got.status, got.body)
		}
		// The refresh token works as the code flow's does.
		e.tokens(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {p.Refresh}, "client_id": {"tv-client"}})
		// Once only.
		e.clock.advance(30 * time.Second)
		expect(t, e.devicePoll(d.DeviceCode), 400, `{"error": "invalid_grant"}`)
		// The code is used: the page says so.
		status, page = b.enterCode(d.UserCode)
		if status != 400 || !strings.Contains(page, "not valid or has expired") {
			t.Fatalf("used code: %d %s", status, page)
		}
	})
}

// pythonQuoted is the login redirect's next for path (Python's quote).
func pythonQuoted(path string) string {
	return strings.NewReplacer("?", "%3F", "=", "%3D").Replace(path)
}

func TestDeviceDenyExpireAndPasswordChange(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.setupDevice()
		b := e.browser()
		b.login("alice", "alicepass")

		denied := e.deviceAuthorize(url.Values{"client_id": {"tv-client"}})
		status, page := b.decide(denied.UserCode, "cancel")
		if status != 200 || !strings.Contains(page, "Access denied") {
			t.Fatalf("deny: %d %s", status, page)
		}
		expect(t, e.devicePoll(denied.DeviceCode), 400, `{"error": "access_denied"}`)

		changed := e.deviceAuthorize(url.Values{"client_id": {"tv-client"}})
		if status, page := b.decide(changed.UserCode, "allow"); status != 200 {
			t.Fatalf("approve: %d %s", status, page)
		}
		e.clock.advance(time.Second)
		if err := e.accounts.ChangePassword(context.Background(), "alice", "new-alicepass-123"); err != nil {
			t.Fatal(err)
		}
		e.clock.advance(10 * time.Second)
		expect(t, e.devicePoll(changed.DeviceCode), 400, `{"error": "invalid_grant"}`)

		expired := e.deviceAuthorize(url.Values{"client_id": {"tv-client"}})
		e.clock.advance(601 * time.Second)
		expect(t, e.devicePoll(expired.DeviceCode), 400, `{"error": "expired_token"}`)
		b = e.browser()
		b.login("alice", "new-alicepass-123")
		status, page = b.enterCode(expired.UserCode)
		if status != 400 || !strings.Contains(page, "That code is not valid or has expired.") || !strings.Contains(page, `role="alert"`) {
			t.Fatalf("expired code on the page: %d %s", status, page)
		}
	})
}

func TestDeviceRefusals(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.setupDevice()
		for _, c := range []struct {
			name   string
			form   url.Values
			status int
			body   string
		}{
			{"unknown client", url.Values{"client_id": {"nobody"}}, 401, `{"error": "invalid_client"}`},
			{"no client", url.Values{}, 401, `{"error": "invalid_client"}`},
			{"client without the device grant", url.Values{"client_id": {"pub-client"}}, 400, `{"error": "unauthorized_client"}`},
			{"unknown scope", url.Values{"client_id": {"tv-client"}, "scope": {"read admin"}}, 400, `{"error": "invalid_scope"}`},
			{"duplicate scope", url.Values{"client_id": {"tv-client"}, "scope": {"read", "write"}}, 400,
				`{"error": "invalid_request", "error_description": "Duplicate scope parameter."}`},
			{"duplicate client_id", url.Values{"client_id": {"tv-client", "tv-client"}}, 400,
				`{"error": "invalid_request", "error_description": "Duplicate client_id parameter."}`},
		} {
			t.Run(c.name, func(t *testing.T) {
				expect(t, e.do("POST", "/o/device-authorization/", c.form), c.status, c.body)
			})
		}
		expect(t, e.do("POST", "/o/device-authorization/?client_id=tv-client", url.Values{}), 400,
			`{"error": "invalid_request", "error_description": "URL query parameters are not allowed"}`)
		if r := e.do("GET", "/o/device-authorization/", nil); r.status != 405 || r.header.Get("Allow") != "POST, OPTIONS" {
			t.Fatalf("GET: %d %v", r.status, r.header)
		}

		d := e.deviceAuthorize(url.Values{"client_id": {"tv-client"}})
		poll := func(form url.Values) resp { return e.do("POST", "/o/token/", form) }
		expect(t, poll(url.Values{"grant_type": {gatehouse.GrantDeviceCode}, "client_id": {"tv-client"}}), 400,
			`{"error": "invalid_request", "error_description": "Missing device_code parameter."}`)
		expect(t, poll(url.Values{"grant_type": {gatehouse.GrantDeviceCode}, "client_id": {"tv-client"}, "device_code": {d.DeviceCode, d.DeviceCode}}), 400,
			`{"error": "invalid_request", "error_description": "Duplicate device_code parameter."}`)
		expect(t, poll(url.Values{"grant_type": {gatehouse.GrantDeviceCode}, "client_id": {"pub-client"}, "device_code": {d.DeviceCode}}), 400,
			`{"error": "unauthorized_client"}`)
		expect(t, poll(url.Values{"grant_type": {gatehouse.GrantDeviceCode}, "client_id": {"nobody"}, "device_code": {d.DeviceCode}}), 401,
			`{"error": "invalid_client"}`)
		expect(t, e.devicePoll("no-such-code"), 400, `{"error": "invalid_grant"}`)
		expect(t, e.devicePoll(strings.Repeat("x", 5000)), 400, `{"error": "invalid_grant"}`)
		// None of those counted as a poll of the real code.
		expect(t, e.devicePoll(d.DeviceCode), 400, `{"error": "authorization_pending"}`)
	})
}

// The approval form is CSRF protected as the consent form is; wrong codes
// get a clear 400 and, after a few, 429 from that user and source.
func TestDeviceVerificationPageSecurity(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.setupDevice()
		d := e.deviceAuthorize(url.Values{"client_id": {"tv-client"}})
		b := e.browser()
		b.login("alice", "alicepass")

		status, page := b.enterCode(d.UserCode)
		if status != 200 {
			t.Fatalf("consent: %d %s", status, page)
		}
		form := hidden(page)
		form.Set("allow", "Authorize")
		for _, bad := range []string{"", "wrong-token"} {
			f := url.Values{"user_code": {d.UserCode}, "allow": {"Authorize"}}
			if bad != "" {
				f.Set("csrfmiddlewaretoken", bad)
			}
			res, page := b.post("/o/device/", f)
			if res.StatusCode != 403 || !strings.Contains(page, "CSRF verification failed") {
				t.Fatalf("CSRF %q: %d %s", bad, res.StatusCode, page)
			}
		}
		expect(t, e.devicePoll(d.DeviceCode), 400, `{"error": "authorization_pending"}`)
		// Another user's session cannot reuse alice's token either.
		e.user("bob", "bobpass")
		other := e.browser()
		other.login("bob", "bobpass")
		if res, _ := other.post("/o/device/", form); res.StatusCode != 403 {
			t.Fatalf("alice's CSRF token in bob's session: %d", res.StatusCode)
		}
		// An anonymous POST goes to the login page and changes nothing.
		anon := e.browser()
		if res, _ := anon.post("/o/device/", form); res.StatusCode != 302 || !strings.HasPrefix(res.Header.Get("Location"), "/admin/login/?next=") {
			t.Fatalf("anonymous POST: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		e.clock.advance(6 * time.Second)
		expect(t, e.devicePoll(d.DeviceCode), 400, `{"error": "authorization_pending"}`)

		// Wrong codes: a clear message, the code typed kept, then 429.
		for i, code := range []string{"BCDF-GHJK", "nonsense", "", "ZZZZ-ZZZ", "<script>"} {
			if code == d.UserCode {
				continue
			}
			status, page := b.enterCode(code)
			if status != 400 || !strings.Contains(page, "That code is not valid or has expired.") {
				t.Fatalf("wrong code %d %q: %d %s", i, code, status, page)
			}
			if strings.Contains(page, "<script>") {
				t.Fatal("the typed code is not escaped")
			}
		}
		status, page = b.enterCode(d.UserCode)
		if status != 429 || !strings.Contains(page, "Too many attempts") {
			t.Fatalf("after 5 wrong codes: %d %s", status, page)
		}
		// The right code cannot be approved while throttled either.
		res, _ := b.post("/o/device/", form)
		if res.StatusCode != 429 {
			t.Fatalf("approve while throttled: %d", res.StatusCode)
		}
		e.clock.advance(6 * time.Second)
		expect(t, e.devicePoll(d.DeviceCode), 400, `{"error": "authorization_pending"}`)
		// Once the back-off has passed, the right code works.
		e.clock.advance(2 * time.Second)
		if res, page := b.post("/o/device/", form); res.StatusCode != 200 || !strings.Contains(page, "Device connected") {
			t.Fatalf("approve after the wait: %d %s", res.StatusCode, page)
		}
		e.clock.advance(6 * time.Second)
		expect(t, e.devicePoll(d.DeviceCode), 200, "")

		// Methods other than GET, HEAD and POST.
		if r := e.do("PUT", "/o/device/", nil); r.status != 405 {
			t.Fatalf("PUT: %d", r.status)
		}
	})
}

// Two replicas on one database poll at once after the approval: exactly
// one gets tokens, the other invalid_grant.
func TestDeviceConcurrentPollsOnTwoReplicas(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.setupDevice()
		other := e.restart(nil, nil)
		d := e.deviceAuthorize(url.Values{"client_id": {"tv-client"}})
		b := e.browser()
		b.login("alice", "alicepass")
		if status, page := b.decide(d.UserCode, "allow"); status != 200 {
			t.Fatalf("approve: %d %s", status, page)
		}
		form := url.Values{"grant_type": {gatehouse.GrantDeviceCode}, "device_code": {d.DeviceCode}, "client_id": {"tv-client"}}
		statuses := make(chan int, 2)
		for _, s := range []*env{e, other} {
			go func() { statuses <- s.doNoFatal("POST", "/o/token/", form) }()
		}
		got := map[int]int{}
		for range 2 {
			got[<-statuses]++
		}
		if got[200] != 1 || got[400] != 1 {
			t.Fatalf("statuses %v, want one 200 and one 400", got)
		}
	})
}

// With an issuer configured, the verification URIs are under it, whatever
// the request's Host.
func TestDeviceVerificationURIUnderIssuer(t *testing.T) {
	each(t, func(c *config) { c.Issuer = "https://auth.example.com/auth" }, func(t *testing.T, e *env) {
		e.setupDevice()
		d := e.deviceAuthorize(url.Values{"client_id": {"tv-client"}})
		if d.VerificationURI != "https://auth.example.com/auth/o/device/" ||
			d.VerificationURIComplete != "https://auth.example.com/auth/o/device/?user_code="+d.UserCode {
			t.Fatalf("%+v", d)
		}
	})
}

// The device flow with openid asked for answers an id_token on the poll
// that redeems the grant, as the code flow does (it was on the first
// refresh only; found by a client-library pass with openid-client and
// zitadel/oidc).
func TestDeviceFlowIDToken(t *testing.T) {
	eachOIDC(t, func(t *testing.T, e *env, signer *oidctest.Signer) {
		e.setupDevice()
		d := e.deviceAuthorize(url.Values{"client_id": {"tv-client"}, "scope": {"openid read"}})
		b := e.browser()
		b.login("alice", "alicepass")
		if status, page := b.decide(d.UserCode, "allow"); status != 200 {
			t.Fatalf("allow: %d %s", status, page)
		}
		r := e.devicePoll(d.DeviceCode)
		expect(t, r, 200, "")
		m := r.json(t)
		tok, _ := m["id_token"].(string)
		if tok == "" {
			t.Fatalf("no id_token: %s", r.body)
		}
		claims := idClaims(t, signer, tok)
		if claims["aud"] != "tv-client" || claims["iss"] != testIssuer || claims["sub"] == nil || claims["at_hash"] == nil {
			t.Fatalf("id_token claims %v", claims)
		}
	})
}
