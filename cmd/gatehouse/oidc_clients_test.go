package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse-auth/gatehouse/internal/npmtest"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// rpRedirect is where the relying parties of these tests are sent back
// to; nothing listens there: the tests read the redirect.
const rpRedirect = "http://127.0.0.1:9/callback"

// relyingParty registers a confidential code-flow client that skips
// consent, with a post-logout URI, and a user alice; it returns the
// client's secret.
func relyingParty(t *testing.T, env map[string]string, clientID string) string {
	t.Helper()
	uenv := map[string]string{"GATEHOUSE_PASSWORD": "correct horse battery"}
	for k, v := range env {
		uenv[k] = v
	}
	if out, err := runCmd(t, uenv, "createuser", "--username", "alice", "--email", "alice@example.com", "--first-name", "Alice", "--last-name", "Liddell"); err != nil &&
		!strings.Contains(out, "already") {
		t.Fatalf("createuser: %v %s", err, out)
	}
	out, err := runCmd(t, env, "createapplication", "--client-id", clientID, "--grant-types", "authorization-code", "--redirect-uris", rpRedirect,
		"--skip-authorization", "--post-logout-redirect-uris", "https://rp.example/bye")
	if err != nil {
		t.Fatalf("createapplication: %v %s", err, out)
	}
	return secretIn(t, out)
}

// eachRelyingParty runs rp against a server on each backend holding the
// relying party clientID registers (relyingParty) and its secret.
func eachRelyingParty(t *testing.T, clientID string, rp func(t *testing.T, env map[string]string, issuer, secret string)) {
	t.Helper()
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			env := baseEnv(testdb.URL(t, backend))
			secret := relyingParty(t, env, clientID)
			issuer, stop := serve(t, env)
			defer stop()
			rp(t, env, issuer, secret)
		})
	}
}

var csrfRE = regexp.MustCompile(`name="csrfmiddlewaretoken" value="([^"]+)"`)

// userAgent is a browser: it logs in on gatehouse's login page and
// follows an authorization URL to the redirect carrying the code.
type userAgent struct {
	t *testing.T
	c *http.Client
}

func newUserAgent(t *testing.T) *userAgent {
	jar, _ := cookiejar.New(nil)
	return &userAgent{t: t, c: &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), rpRedirect) {
			return http.ErrUseLastResponse
		}
		return nil
	}}}
}

func (u *userAgent) login(base, username, password string) {
	u.t.Helper()
	res, err := u.c.Get(base + "/admin/login/")
	if err != nil {
		u.t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfRE.FindSubmatch(page)
	if m == nil {
		u.t.Fatalf("no CSRF token on the login page: %s", page)
	}
	res, err = u.c.PostForm(base+"/admin/login/", url.Values{"csrfmiddlewaretoken": {string(m[1])}, "username": {username}, "password": {password}})
	if err != nil {
		u.t.Fatal(err)
	}
	res.Body.Close()
}

// code follows authURL and returns the code the client is sent back with.
func (u *userAgent) code(authURL, state string) string {
	u.t.Helper()
	res, err := u.c.Get(authURL)
	if err != nil {
		u.t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || loc == nil || loc.Query().Get("state") != state || loc.Query().Get("code") == "" {
		u.t.Fatalf("authorization answered %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

func randomString(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestOIDCGoClients: github.com/coreos/go-oidc and golang.org/x/oauth2
// against `gatehouse serve`, given the issuer URL alone: discovery, the
// code flow with PKCE and a nonce, the id_token verified with the JWKS
// (signature, issuer, audience, expiry, at_hash), userinfo, a refresh
// with a new id_token, then two key rotations after which every token
// still verifies.
func TestOIDCGoClients(t *testing.T) {
	eachRelyingParty(t, "go-rp", func(t *testing.T, env map[string]string, issuer, secret string) {
		ctx := context.Background()

		provider, err := oidc.NewProvider(ctx, issuer) // discovery; checks the issuer it names
		if err != nil {
			t.Fatal(err)
		}
		conf := oauth2.Config{ClientID: "go-rp", ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: rpRedirect,
			Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
		verifier := provider.Verifier(&oidc.Config{ClientID: "go-rp"})

		ua := newUserAgent(t)
		ua.login(issuer, "alice", "correct horse battery")
		state, nonce, pkce := randomString(t), randomString(t), oauth2.GenerateVerifier()
		code := ua.code(conf.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(pkce)), state)
		tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := verifier.Verify(ctx, raw)
		if err != nil {
			t.Fatalf("id_token refused by go-oidc: %v", err)
		}
		if idt.Nonce != nonce {
			t.Fatalf("nonce %q, want %q", idt.Nonce, nonce)
		}
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			t.Fatalf("at_hash: %v", err)
		}
		var claims struct {
			Email, Name       string
			PreferredUsername string `json:"preferred_username"`
			AuthTime          int64  `json:"auth_time"`
		}
		if err := idt.Claims(&claims); err != nil || claims.Email != "alice@example.com" || claims.Name != "Alice Liddell" ||
			claims.PreferredUsername != "alice" || claims.AuthTime == 0 {
			t.Fatalf("claims %+v %v", claims, err)
		}

		info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatal(err)
		}
		if info.Subject != idt.Subject || info.Email != "alice@example.com" {
			t.Fatalf("userinfo %+v, id_token sub %s", info, idt.Subject)
		}

		// A refresh (the access token made to look expired) brings a new id_token.
		old := *tok
		old.Expiry = time.Now().Add(-time.Minute)
		fresh, err := conf.TokenSource(ctx, &old).Token()
		if err != nil {
			t.Fatal(err)
		}
		if fresh.AccessToken == tok.AccessToken {
			t.Fatal("the token source did not refresh")
		}
		idt2, err := verifier.Verify(ctx, fresh.Extra("id_token").(string))
		if err != nil || idt2.Subject != idt.Subject || idt2.Nonce != "" {
			t.Fatalf("refreshed id_token %+v %v", idt2, err)
		}

		// Two rotations: what was signed before still verifies, with the
		// keys go-oidc fetched before and after.
		for i := 0; i < 2; i++ {
			if out, err := runCmd(t, env, "keys", "rotate"); err != nil {
				t.Fatalf("keys rotate: %v %s", err, out)
			}
		}
		after := oidc.NewProvider
		p2, err := after(ctx, issuer)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []*oidc.IDTokenVerifier{verifier, p2.Verifier(&oidc.Config{ClientID: "go-rp"})} {
			for _, r := range []string{raw, fresh.Extra("id_token").(string)} {
				if _, err := v.Verify(ctx, r); err != nil {
					t.Fatalf("after rotating: %v", err)
				}
			}
		}
		// A second replica on the same database publishes the same keys:
		// what the first signed before the rotations verifies there too.
		replica, stopReplica := serve(t, env)
		defer stopReplica()
		onReplica := oidc.NewVerifier(issuer, oidc.NewRemoteKeySet(ctx, replica+"/.well-known/jwks.json"), &oidc.Config{ClientID: "go-rp"})
		for _, r := range []string{raw, fresh.Extra("id_token").(string)} {
			if _, err := onReplica.Verify(ctx, r); err != nil {
				t.Fatalf("on the second replica after rotating: %v", err)
			}
		}
		tok3, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := verifier.Verify(ctx, tok3.Extra("id_token").(string)); err != nil {
			t.Fatalf("an id_token issued after the rotations: %v", err)
		}
		// An RFC 9068 access token, verified by go-oidc's JWKS client
		// alone (no introspection), for an application that asks for them.
		out, err := runCmd(t, env, "createapplication", "--client-id", "jwt-api", "--grant-types", "client-credentials", "--access-token-format", "jwt")
		if err != nil {
			t.Fatalf("createapplication: %v %s", err, out)
		}
		jwtSecret := secretIn(t, out)
		cc := clientcredentials.Config{ClientID: "jwt-api", ClientSecret: jwtSecret, TokenURL: provider.Endpoint().TokenURL}
		at, err := cc.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := provider.Claims(&doc); err != nil || doc.JWKSURI == "" {
			t.Fatalf("jwks_uri: %v", err)
		}
		payload, err := oidc.NewRemoteKeySet(ctx, doc.JWKSURI).VerifySignature(ctx, at.AccessToken)
		if err != nil || !strings.Contains(string(payload), `"client_id":"jwt-api"`) {
			t.Fatalf("JWT access token: %s %v", payload, err)
		}
		if out, err := runCmd(t, env, "createapplication", "--client-id", "x", "--grant-types", "client-credentials", "--access-token-format", "paseto"); err == nil ||
			!strings.Contains(out+err.Error(), "token format") {
			t.Fatalf("a bad token format: %v %s", err, out)
		}

		// An id_token is not an access token.
		req, _ := http.NewRequest("GET", issuer+"/api/me/", nil)
		req.Header.Set("Authorization", "Bearer "+raw)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 401 {
			t.Fatalf("/api/me/ with an id_token: %d", res.StatusCode)
		}
	})
}

// TestOIDCAuthlib runs testdata/authlib_rp.py, a relying party written
// with Authlib (Debian's python3-authlib), against `gatehouse serve`:
// discovery validated by Authlib, the code flow with PKCE and a nonce,
// the id_token validated (CodeIDToken: signature, iss, aud, nonce,
// at_hash), userinfo, refresh, revocation and RP-initiated logout. It
// skips when Authlib is missing, unless GATEHOUSE_TEST_AUTHLIB_REQUIRED=1
// (CI installs it).
func TestOIDCAuthlib(t *testing.T) {
	python := "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import authlib, requests").Run(); err != nil {
		if os.Getenv("GATEHOUSE_TEST_AUTHLIB_REQUIRED") == "1" {
			t.Fatalf("Authlib is required (GATEHOUSE_TEST_AUTHLIB_REQUIRED=1) but %s cannot import it: %v", python, err)
		}
		t.Skip("Authlib is not installed (apt-get install python3-authlib); TestOIDCAuthlib skipped")
	}
	eachRelyingParty(t, "authlib-rp", func(t *testing.T, env map[string]string, issuer, secret string) {
		cmd := exec.Command(python, "testdata/authlib_rp.py", issuer, "authlib-rp", secret, "alice", "correct horse battery", rpRedirect)
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "ok" {
			t.Fatalf("authlib_rp.py: %v\n%s", err, out)
		}
	})
}

// openIDClientVersion is the openid-client release TestOIDCNodeClient
// installs when GATEHOUSE_TEST_OPENID_CLIENT names no installation.
const openIDClientVersion = "6.9.1"

// A relying party written with openid-client, the Node.js library, runs
// the code flow with PKCE against gatehouse and checks every answer
// (testdata/openid_client_rp.mjs). Node.js is /usr/bin/node (or on PATH);
// openid-client is the installation GATEHOUSE_TEST_OPENID_CLIENT names (a
// directory holding node_modules/openid-client), else installed with npm
// into the user's cache directory. Without them the test is skipped, unless
// GATEHOUSE_TEST_NODE_REQUIRED=1 (CI), when it fails.
func TestOIDCNodeClient(t *testing.T) {
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("GATEHOUSE_TEST_NODE_REQUIRED") == "1" {
			t.Fatalf("GATEHOUSE_TEST_NODE_REQUIRED=1 and "+format, args...)
		}
		t.Skipf("skipping the openid-client relying party: "+format, args...)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("Node.js is not installed (apt-get install nodejs npm)")
	}
	dir := os.Getenv("GATEHOUSE_TEST_OPENID_CLIENT")
	if dir == "" {
		if dir, err = npmtest.Install("openid-client", openIDClientVersion); err != nil {
			missing("openid-client is not available (set GATEHOUSE_TEST_OPENID_CLIENT): %v", err)
		}
	}
	// The script imports openid-client as a package: it runs from a
	// directory beside that installation's node_modules.
	run := t.TempDir()
	if err := os.Symlink(filepath.Join(dir, "node_modules"), filepath.Join(run, "node_modules")); err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile("testdata/openid_client_rp.mjs")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(run, "rp.mjs"), script, 0o600); err != nil {
		t.Fatal(err)
	}
	eachRelyingParty(t, "node-rp", func(t *testing.T, env map[string]string, issuer, secret string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, node, filepath.Join(run, "rp.mjs"), issuer, "node-rp", secret, "alice", "correct horse battery", rpRedirect).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "ok" {
			t.Fatalf("openid_client_rp.mjs: %v\n%s", err, out)
		}
	})
}
