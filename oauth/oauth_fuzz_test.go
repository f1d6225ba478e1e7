package oauth_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
)

// FuzzParseAuthorize feeds authorization requests (a query string, as
// /o/authorize/ reads it) to the parser. Properties: a refusal is an
// *oauth.Error, never an internal error; a request handed back (its errors
// are redirected to the client) names a redirect URI the client
// registered, the one sent when one was sent; the redirect keeps that
// URI's scheme, host and path and carries the state and the error intact;
// an accepted request has response_type code, configured scopes and an
// S256 challenge or none.
func FuzzParseAuthorize(f *testing.F) {
	for _, q := range []string{
		"response_type=code&client_id=conf&redirect_uri=https%3A%2F%2Fclient.example%2Fcb&state=xyz&scope=read",
		"response_type=code&client_id=conf&redirect_uri=https%3A%2F%2Fclient.example%2Fcb%3Ftenant%3D1&state=a+b%26c%3Dd",
		"response_type=code&client_id=pub&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
		"response_type=code&client_id=pub&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=plain",
		"response_type=code&client_id=conf&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
		"response_type=code&client_id=conf&redirect_uri=https%3A%2F%2Fclient.example%2Fcb%23frag",
		"response_type=code&client_id=conf&redirect_uri=https%3A%2F%2Fclient.example%2Fcb&redirect_uri=https%3A%2F%2Fevil.example%2F",
		"response_type=token&client_id=loop&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcb&state=%00%ff",
		"response_type=code&client_id=loop&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2F%2563b",
		"response_type=code&client_id=machine&redirect_uri=",
		"client_id=conf%00&response_type=code",
		"response_type=code&client_id=conf&redirect_uri=https://client.example/cb&scope=read%20admin&state=%E2%80%AE",
		"response_type=code&client_id=conf&redirect_uri=https://client.example/cb&code_challenge_method=S256",
		"%zz&client_id=pub", "", ";;;",
	} {
		f.Add(q, false)
	}
	f.Add("response_type=code&client_id=conf&redirect_uri=https%3A%2F%2Fclient.example%2Fcb", true)
	loop := gatehouse.Application{ID: 4, ClientID: "loop", ClientType: gatehouse.ClientPublic,
		GrantTypes: []string{gatehouse.GrantAuthorizationCode}, RedirectURIs: []string{"http://127.0.0.1/cb"}}
	f.Fuzz(func(t *testing.T, query string, requirePKCE bool) {
		params, _ := url.ParseQuery(query) // lenient, as net/http's Request.URL.Query
		p, err := oauth.New(oauth.Deps{Store: newStore(confidential(), public(), machine(), loop), Secrets: hasher,
			Config: oauth.Config{RequirePKCE: requirePKCE}, Now: func() time.Time { return t0 }})
		if err != nil {
			t.Fatal(err)
		}
		a, err := p.ParseAuthorize(context.Background(), params)
		var oe *oauth.Error
		if err != nil && !errors.As(err, &oe) {
			t.Fatalf("%q: internal error %v", query, err)
		}
		if a == nil {
			if err == nil {
				t.Fatalf("%q: neither a request nor an error", query)
			}
			return
		}
		if !a.App.RedirectURIAllowed(a.RedirectURI) {
			t.Fatalf("%q: redirect to %q, not registered for %s", query, a.RedirectURI, a.App.ClientID)
		}
		if a.RedirectSent != (len(params["redirect_uri"]) > 0) || a.RedirectSent && a.RedirectURI != params.Get("redirect_uri") {
			t.Fatalf("%q: redirect URI %q (sent %v), want the one sent", query, a.RedirectURI, a.RedirectSent)
		}
		if oe == nil {
			oe = oauth.ErrAccessDenied
		}
		checkRedirect(t, a, a.ErrorURL(oe), "error", oe.Code)
		checkRedirect(t, a, a.RedirectURL(url.Values{"code": {"c0de"}}), "code", "c0de")
		if err != nil {
			return
		}
		if a.ResponseType != "code" || !oauth.DefaultConfig().Scopes.Valid(a.Scope) || len(a.Scope) == 0 {
			t.Fatalf("%q: accepted as %+v", query, a)
		}
		if a.Challenge != "" && (a.ChallengeMethod != "S256" || len(a.Challenge) != 43) ||
			a.Challenge == "" && (requirePKCE || a.App.IsPublic()) {
			t.Fatalf("%q: accepted with challenge %q method %q", query, a.Challenge, a.ChallengeMethod)
		}
	})
}

// checkRedirect checks that loc goes to a's redirect URI with key=value
// and the state in its query.
func checkRedirect(t *testing.T, a *oauth.AuthorizeRequest, loc, key, value string) {
	t.Helper()
	if !strings.HasPrefix(loc, a.RedirectURI) {
		t.Fatalf("redirect %q does not start with %q", loc, a.RedirectURI)
	}
	u, err := url.Parse(loc)
	reg, err2 := url.Parse(a.RedirectURI)
	if err != nil || err2 != nil {
		t.Fatalf("redirect %q does not parse: %v %v", loc, err, err2)
	}
	if u.Scheme != reg.Scheme || u.Host != reg.Host || u.EscapedPath() != reg.EscapedPath() || u.User != nil || u.Fragment != "" {
		t.Fatalf("redirect %q leaves %q", loc, a.RedirectURI)
	}
	q := u.Query()
	if !slices.Equal(q[key], []string{value}) {
		t.Fatalf("redirect %q: %s is %q, want %q", loc, key, q[key], value)
	}
	if want := []string{a.State}; a.State != "" && !slices.Equal(q["state"], want) {
		t.Fatalf("redirect %q: state %q, want %q", loc, q["state"], want)
	}
}

// FuzzAuthenticateClient holds client authentication to its rule: a
// confidential client only with its own secret (in the Basic header or
// the form), a public client only when named and sending no secret; any
// refusal is invalid_client.
func FuzzAuthenticateClient(f *testing.F) {
	type creds = oauth.ClientCredentials
	for _, c := range []creds{
		{BasicPresent: true, BasicOK: true, BasicID: "conf", BasicSecret: confSecret},
		{BasicPresent: true, BasicOK: true, BasicID: "conf", BasicSecret: "wrong", ClientID: "conf", ClientSecret: confSecret, SecretSent: true},
		{BasicPresent: true, BasicOK: true, BasicID: "pub"},
		{BasicPresent: true, ClientID: "pub"},
		{ClientID: "conf", ClientSecret: confSecret, SecretSent: true},
		{ClientID: "conf", SecretSent: true},
		{ClientID: "pub"},
		{ClientID: "pub", ClientSecret: "x", SecretSent: true},
		{ClientID: "machine", ClientSecret: machineSecret + "\x00", SecretSent: true},
		{BasicPresent: true, BasicOK: true, BasicID: "conf\x00", BasicSecret: confSecret},
		{BasicPresent: true, BasicOK: true, BasicID: "machine", BasicSecret: confSecret},
		{ClientID: "\xff", SecretSent: true},
	} {
		f.Add(c.BasicPresent, c.BasicOK, c.BasicID, c.BasicSecret, c.ClientID, c.ClientSecret, c.SecretSent)
	}
	secrets := map[string]string{"conf": confSecret, "machine": machineSecret}
	f.Fuzz(func(t *testing.T, basicPresent, basicOK bool, basicID, basicSecret, clientID, clientSecret string, secretSent bool) {
		basicPresent = basicPresent || basicOK
		c := creds{BasicPresent: basicPresent, BasicOK: basicOK, BasicID: basicID, BasicSecret: basicSecret,
			ClientID: clientID, ClientSecret: clientSecret, SecretSent: secretSent}
		p, err := oauth.New(oauth.Deps{Store: newStore(confidential(), public(), machine()), Secrets: hasher})
		if err != nil {
			t.Fatal(err)
		}
		app, err := p.AuthenticateClient(context.Background(), c)
		if err != nil {
			if err != oauth.ErrInvalidClient {
				t.Fatalf("%+v: %v, want invalid_client", c, err)
			}
			return
		}
		id := app.ClientID
		byBasic := basicOK && basicID == id
		byForm := clientID == id
		if sec, confidential := secrets[id]; confidential {
			if !(byBasic && basicSecret == sec) && !(byForm && secretSent && clientSecret == sec) {
				t.Fatalf("%+v: confidential %s authenticated without its secret", c, id)
			}
			return
		}
		if !(byBasic && basicSecret == "") && !(byForm && (!secretSent || clientSecret == "")) {
			t.Fatalf("%+v: public %s authenticated though not named, or sending a secret", c, id)
		}
	})
}

// FuzzCreateApplication checks what client registration lets through:
// a client id the provider can look up again, and redirect URIs that are
// absolute http(s) URLs without a fragment and survive the store's
// space-separated column (a URI holding white space would come back as
// two).
func FuzzCreateApplication(f *testing.F) {
	for _, s := range [][2]string{
		{"code-client", "http://127.0.0.1:9999/cb"},
		{"", "https://client.example/cb\nhttp://127.0.0.1/native"},
		{"c", "https://client.example/cb https://evil.example/cb"},
		{"c", "https://client.example/cb\u00a0https://evil.example/cb"},
		{"c", "https://client.example/cb\u2028"},
		{"c", "javascript://client.example/%0aalert(1)"},
		{"c", "https://client.example/cb#f"},
		{"c\xff", "https://client.example/cb"},
		{"c\x00", "https://client.example/cb"},
		{"c d", "https://client.example/cb"},
		{strings.Repeat("c", 256), "https://client.example/cb"},
		{"c", "https:///cb"},
		{"c", "HTTPS://client.example/cb"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, clientID, uris string) {
		spec := oauth.ApplicationSpec{ClientID: clientID, GrantTypes: []string{gatehouse.GrantAuthorizationCode},
			RedirectURIs: strings.Split(uris, "\n")}
		c := oauth.NewClients(newStore(), hasher, oauth.DefaultConfig(), nil, nil, nil)
		app, _, err := c.Create(context.Background(), spec)
		if err != nil {
			if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Fatalf("%q %q: %v, want EINVALID", clientID, uris, err)
			}
			return
		}
		if clientID != "" && (app.ClientID != clientID || len(clientID) > gatehouse.MaxClientID || !gatehouse.ValidText(clientID) ||
			strings.ContainsFunc(clientID, func(r rune) bool { return r <= ' ' || r == 0x7f })) {
			t.Fatalf("client id %q registered as %q", clientID, app.ClientID)
		}
		if stored := strings.Fields(strings.Join(app.RedirectURIs, " ")); !slices.Equal(stored, app.RedirectURIs) {
			t.Fatalf("redirect URIs %q come back from the store as %q", app.RedirectURIs, stored)
		}
		for _, r := range app.RedirectURIs {
			u, err := url.Parse(r)
			if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.Fragment != "" || strings.Contains(r, "#") {
				t.Fatalf("redirect URI %q registered", r)
			}
		}
	})
}
