package oauth_test

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
)

func TestClientsCreateRefused(t *testing.T) {
	code := []string{gatehouse.GrantAuthorizationCode}
	cb := []string{"https://client.example/cb"}
	tests := []struct {
		name     string
		spec     oauth.ApplicationSpec
		code     string
		message  string
		sentinel error // errors.Is must hold, when set
	}{
		{name: "unknown client type", spec: oauth.ApplicationSpec{ClientType: "native", GrantTypes: code, RedirectURIs: cb},
			code: gatehouse.EINVALID, message: "client type must be confidential or public"},
		{name: "no grant type", spec: oauth.ApplicationSpec{},
			code: gatehouse.EINVALID, message: "at least one grant type is required"},
		// A public client cannot keep the secret client_credentials rests on.
		{name: "public client-credentials",
			spec: oauth.ApplicationSpec{ClientType: gatehouse.ClientPublic, GrantTypes: []string{gatehouse.GrantClientCredentials}},
			code: gatehouse.EINVALID, message: "a public client cannot use client-credentials"},
		{name: "unknown grant", spec: oauth.ApplicationSpec{GrantTypes: []string{gatehouse.GrantPassword, "implicit"}},
			code: gatehouse.EINVALID, message: `unknown grant type "implicit" (authorization-code, password, client-credentials, urn:ietf:params:oauth:grant-type:device_code)`},
		{name: "relative redirect URI", spec: oauth.ApplicationSpec{GrantTypes: code, RedirectURIs: []string{"/cb"}},
			code: gatehouse.EINVALID, message: `redirect URI "/cb": must be an absolute URL whose scheme is one of http, https, without a fragment or white space`},
		{name: "custom scheme", spec: oauth.ApplicationSpec{GrantTypes: code, RedirectURIs: []string{"ftp://client.example/cb"}},
			code: gatehouse.EINVALID, message: `redirect URI "ftp://client.example/cb": must be an absolute URL whose scheme is one of http, https, without a fragment or white space`},
		{name: "redirect URI with a fragment",
			spec: oauth.ApplicationSpec{GrantTypes: code, RedirectURIs: []string{"https://client.example/cb#x"}},
			code: gatehouse.EINVALID, message: `redirect URI "https://client.example/cb#x": must be an absolute URL whose scheme is one of http, https, without a fragment or white space`},
		// Found by FuzzCreateApplication: the store keeps redirect URIs in
		// one space-separated column, so a URI holding white space came
		// back as two (the second one never checked).
		{name: "redirect URI with a space",
			spec: oauth.ApplicationSpec{GrantTypes: code, RedirectURIs: []string{"https://client.example/cb https://evil.example/cb"}},
			code: gatehouse.EINVALID, message: `redirect URI "https://client.example/cb https://evil.example/cb": must be an absolute URL whose scheme is one of http, https, without a fragment or white space`},
		{name: "redirect URI with a no-break space",
			spec: oauth.ApplicationSpec{GrantTypes: code, RedirectURIs: []string{"https://client.example/cb\u00a0https://evil.example/cb"}},
			code: gatehouse.EINVALID, message: `redirect URI "https://client.example/cb\u00a0https://evil.example/cb": must be an absolute URL whose scheme is one of http, https, without a fragment or white space`},
		// An empty fragment still sends the code in the fragment.
		{name: "redirect URI with an empty fragment",
			spec: oauth.ApplicationSpec{GrantTypes: code, RedirectURIs: []string{"https://client.example/cb#"}},
			code: gatehouse.EINVALID, message: `redirect URI "https://client.example/cb#": must be an absolute URL whose scheme is one of http, https, without a fragment or white space`},
		// Found by an admin-UI pass: stored on SQLite, a 400 without a field
		// on PostgreSQL; and clients whose admin pages could not be reached.
		{name: "name with a null character", spec: oauth.ApplicationSpec{Name: "x\x00y", GrantTypes: []string{gatehouse.GrantPassword}},
			code: gatehouse.EINVALID, message: "name must be at most 255 characters, without null characters"},
		{name: "name too long", spec: oauth.ApplicationSpec{Name: strings.Repeat("é", 256), GrantTypes: []string{gatehouse.GrantPassword}},
			code: gatehouse.EINVALID, message: "name must be at most 255 characters, without null characters"},
		{name: "client id ..", spec: oauth.ApplicationSpec{ClientID: "..", GrantTypes: []string{gatehouse.GrantPassword}},
			code: gatehouse.EINVALID, message: `client id ".." is a path segment every URL resolves away: choose another`},
		{name: "client id .", spec: oauth.ApplicationSpec{ClientID: ".", GrantTypes: []string{gatehouse.GrantPassword}},
			code: gatehouse.EINVALID, message: `client id "." is a path segment every URL resolves away: choose another`},
		{name: "code grant without redirect URI", spec: oauth.ApplicationSpec{GrantTypes: code},
			code: gatehouse.EINVALID, message: "the authorization-code grant needs at least one redirect URI"},
		{name: "default scope not configured",
			spec: oauth.ApplicationSpec{GrantTypes: []string{gatehouse.GrantPassword}, DefaultScopes: []string{"read", "admin"}},
			code: gatehouse.EINVALID, message: "default scopes must be among read write groups"},
		{name: "unknown owner", spec: oauth.ApplicationSpec{GrantTypes: []string{gatehouse.GrantPassword}, Owner: "ghost"},
			code: gatehouse.ENOTFOUND, message: `owner "ghost" does not exist`, sentinel: gatehouse.ErrNotFound},
		{name: "client id with a space", spec: oauth.ApplicationSpec{ClientID: "my app", GrantTypes: []string{gatehouse.GrantPassword}},
			code: gatehouse.EINVALID, message: "client id must be at most 255 characters, without spaces or control characters"},
		{name: "client id with a control character", spec: oauth.ApplicationSpec{ClientID: "app\n", GrantTypes: []string{gatehouse.GrantPassword}},
			code: gatehouse.EINVALID, message: "client id must be at most 255 characters, without spaces or control characters"},
		{name: "client id not UTF-8", spec: oauth.ApplicationSpec{ClientID: "app\xff", GrantTypes: []string{gatehouse.GrantPassword}},
			code: gatehouse.EINVALID, message: "client id must be at most 255 characters, without spaces or control characters"},
		{name: "origin with a path", spec: oauth.ApplicationSpec{GrantTypes: []string{gatehouse.GrantPassword}, AllowedOrigins: []string{"https://spa.example/"}},
			code: gatehouse.EINVALID, message: `allowed origin "https://spa.example/": an origin has no path (not even a trailing /), query or fragment`},
		{name: "origin wildcard", spec: oauth.ApplicationSpec{GrantTypes: []string{gatehouse.GrantPassword}, AllowedOrigins: []string{"https://*.spa.example"}},
			code: gatehouse.EINVALID, message: `allowed origin "https://*.spa.example": wildcards are not allowed: list each origin`},
		{name: "origin of another scheme", spec: oauth.ApplicationSpec{GrantTypes: []string{gatehouse.GrantPassword}, AllowedOrigins: []string{"ftp://spa.example"}},
			code: gatehouse.EINVALID, message: `allowed origin "ftp://spa.example": the scheme must be http or https`},
		{name: "taken client id", spec: oauth.ApplicationSpec{ClientID: "conf", GrantTypes: []string{gatehouse.GrantPassword}},
			code: gatehouse.ECONFLICT, message: `client id "conf" is taken`, sentinel: gatehouse.ErrConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore()
			st.createApplication = func(a *gatehouse.Application) error {
				if a.ClientID == "conf" {
					return gatehouse.ErrConflict
				}
				return nil
			}
			c := oauth.NewClients(st, hasher, oauth.DefaultConfig(), func() time.Time { return t0 }, nil, nil)
			_, plain, err := c.Create(context.Background(), tc.spec)
			var ge *gatehouse.Error
			if !errors.As(err, &ge) || ge.Code != tc.code || ge.Message != tc.message {
				t.Fatalf("err = %v, want %s %q", err, tc.code, tc.message)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Fatalf("errors.Is(%v, %v) = false", err, tc.sentinel)
			}
			// A refused spec stores nothing and reveals no secret.
			if plain != "" || len(st.newApps) != 0 {
				t.Fatalf("secret %q, stored %+v", plain, st.newApps)
			}
		})
	}
}

// Origins are normalised and deduplicated; http is refused when the
// redirect schemes do not allow it; SetAllowedOrigins stores them.
func TestClientsAllowedOrigins(t *testing.T) {
	st := newStore()
	c := oauth.NewClients(st, hasher, oauth.DefaultConfig(), func() time.Time { return t0 }, nil, nil)
	app, _, err := c.Create(context.Background(), oauth.ApplicationSpec{ClientType: gatehouse.ClientPublic,
		GrantTypes: []string{gatehouse.GrantPassword}, AllowedOrigins: []string{"HTTPS://SPA.example:443", "https://spa.example", "http://localhost:3000"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"https://spa.example", "http://localhost:3000"}; !reflect.DeepEqual(app.AllowedOrigins, want) ||
		!reflect.DeepEqual(st.newApps[0].AllowedOrigins, want) {
		t.Fatalf("origins %q, stored %q", app.AllowedOrigins, st.newApps[0].AllowedOrigins)
	}
	cfg := oauth.DefaultConfig()
	cfg.RedirectSchemes = []string{"https", "com.example.app"}
	strict := oauth.NewClients(st, hasher, cfg, func() time.Time { return t0 }, nil, nil)
	if _, err := strict.Origins([]string{"http://localhost:3000"}); gatehouse.ErrorCode(err) != gatehouse.EINVALID ||
		!strings.Contains(err.Error(), "the scheme must be https") {
		t.Fatalf("http origin without http redirect scheme: %v", err)
	}
}

func TestClientsCreate(t *testing.T) {
	alnum := func(n int) *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9]{` + strconv.Itoa(n) + `}$`) }
	t.Run("confidential with owner", func(t *testing.T) {
		st := newStore()
		st.users["alice"] = alice
		c := oauth.NewClients(st, hasher, oauth.DefaultConfig(), func() time.Time { return t0 }, nil, nil)
		spec := oauth.ApplicationSpec{Name: "Portal", GrantTypes: []string{gatehouse.GrantAuthorizationCode, gatehouse.GrantPassword},
			RedirectURIs: []string{"https://client.example/cb", "http://127.0.0.1/cb"}, Owner: "alice",
			DefaultScopes: []string{"read"}, SkipAuthorization: true}
		app, plain, err := c.Create(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		// A generated client id is 40 characters, the secret 64, as DOT's
		// generators make them; only the secret's hash is kept.
		if !alnum(40).MatchString(app.ClientID) || !alnum(64).MatchString(plain) {
			t.Fatalf("client id %q, secret %q", app.ClientID, plain)
		}
		uid := int64(42)
		want := gatehouse.Application{ID: 100, ClientID: app.ClientID, SecretHash: hasher.Hash(plain),
			ClientType: gatehouse.ClientConfidential, GrantTypes: spec.GrantTypes, RedirectURIs: spec.RedirectURIs,
			Name: "Portal", UserID: &uid, SkipAuthorization: true, DefaultScopes: []string{"read"}, Created: t0, Updated: t0}
		if !reflect.DeepEqual(st.newApps, []gatehouse.Application{want}) || !reflect.DeepEqual(app, want) {
			t.Fatalf("stored %+v\nreturned %+v\nwant %+v", st.newApps, app, want)
		}
		if !hasher.Verify(plain, st.newApps[0].SecretHash) {
			t.Fatal("the returned secret does not verify against the stored hash")
		}
	})
	// Found by a bad-input pass: --grant-types password,password was
	// stored as given.
	t.Run("values listed twice are kept once", func(t *testing.T) {
		st := newStore()
		c := oauth.NewClients(st, hasher, oauth.DefaultConfig(), func() time.Time { return t0 }, nil, nil)
		app, _, err := c.Create(context.Background(), oauth.ApplicationSpec{
			GrantTypes:    []string{gatehouse.GrantPassword, gatehouse.GrantAuthorizationCode, gatehouse.GrantPassword},
			RedirectURIs:  []string{"https://client.example/cb", "https://client.example/cb", "https://client.example/cb2"},
			DefaultScopes: []string{"read", "read"}, PostLogoutRedirectURIs: []string{"https://client.example/bye", "https://client.example/bye"}})
		if err != nil {
			t.Fatal(err)
		}
		stored := st.newApps[0]
		if !reflect.DeepEqual(stored.GrantTypes, []string{gatehouse.GrantPassword, gatehouse.GrantAuthorizationCode}) ||
			!reflect.DeepEqual(stored.RedirectURIs, []string{"https://client.example/cb", "https://client.example/cb2"}) ||
			!reflect.DeepEqual(stored.DefaultScopes, []string{"read"}) || !reflect.DeepEqual(stored.PostLogoutRedirectURIs, []string{"https://client.example/bye"}) ||
			!reflect.DeepEqual(app.GrantTypes, stored.GrantTypes) {
			t.Fatalf("stored %+v", stored)
		}
	})
	t.Run("public", func(t *testing.T) {
		st := newStore()
		c := oauth.NewClients(st, hasher, oauth.DefaultConfig(), func() time.Time { return t0 }, nil, nil)
		spec := oauth.ApplicationSpec{ClientID: "mobile", ClientType: gatehouse.ClientPublic,
			GrantTypes: []string{gatehouse.GrantAuthorizationCode}, RedirectURIs: []string{"https://app.example/cb"}}
		app, plain, err := c.Create(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		want := gatehouse.Application{ID: 100, ClientID: "mobile", ClientType: gatehouse.ClientPublic,
			GrantTypes: spec.GrantTypes, RedirectURIs: spec.RedirectURIs, Created: t0, Updated: t0}
		if plain != "" || !reflect.DeepEqual(app, want) || !reflect.DeepEqual(st.newApps, []gatehouse.Application{want}) {
			t.Fatalf("secret %q, stored %+v; want none and %+v", plain, st.newApps, want)
		}
	})
	t.Run("device, no redirect URI needed", func(t *testing.T) {
		st := newStore()
		c := oauth.NewClients(st, hasher, oauth.DefaultConfig(), func() time.Time { return t0 }, nil, nil)
		spec := oauth.ApplicationSpec{ClientID: "tv", ClientType: gatehouse.ClientPublic, GrantTypes: []string{gatehouse.GrantDeviceCode}}
		app, _, err := c.Create(context.Background(), spec)
		if err != nil || !app.Allows(gatehouse.GrantDeviceCode) || !app.AllowsRefresh() {
			t.Fatalf("%+v, %v", app, err)
		}
	})
}

// TestClientsCreateClientIDTooLong: Provider.Application treats a
// client_id over gatehouse.MaxClientID characters as unknown without asking
// the store, so Create must not register one: such a client would be stored
// yet refused as invalid_client by every endpoint.
func TestClientsCreateClientIDTooLong(t *testing.T) {
	long := strings.Repeat("c", 256)
	st := newStore()
	c := oauth.NewClients(st, hasher, oauth.DefaultConfig(), func() time.Time { return t0 }, nil, nil)
	_, _, err := c.Create(context.Background(), oauth.ApplicationSpec{ClientID: long, GrantTypes: []string{gatehouse.GrantPassword}})
	if gatehouse.ErrorCode(err) != gatehouse.EINVALID || len(st.newApps) != 0 {
		// Show the consequence: the stored client is unknown to the provider.
		if len(st.newApps) == 1 {
			st.apps[long] = st.newApps[0]
		}
		p, perr := oauth.New(oauth.Deps{Store: st, Secrets: hasher, Now: func() time.Time { return t0 }})
		if perr != nil {
			t.Fatal(perr)
		}
		app, aerr := p.Application(context.Background(), long)
		t.Fatalf("Create err = %v (stored %d); the provider then finds %+v, %v", err, len(st.newApps), app, aerr)
	}
}
