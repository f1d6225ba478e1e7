package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/oidctest"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/oidc"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// oauthBench is a server on one backend with alice and two clients: svc
// (client-credentials, resource server) and conf-client (password). Load
// tests against a running server are in bench/ (docs/performance.md).
type oauthBench struct {
	env        *env
	url        string
	c          *http.Client
	svcAuth    string
	confSecret string
}

func newOAuthBench(b *testing.B, backend string) *oauthBench {
	return newOAuthBenchWith(b, backend, nil, nil)
}

// newOAuthBenchWith is newOAuthBench with the server's configuration and
// dependencies adjusted (buildWith).
func newOAuthBenchWith(b *testing.B, backend string, mutate func(*config), deps func(*wiring)) *oauthBench {
	b.Helper()
	e := buildWith(b, backend, mutate, deps)
	hs := e.http
	ctx := context.Background()
	h, _ := password.New(fastParams, nil).Hash("alicepass")
	if err := e.accounts.Insert(ctx, &gatehouse.User{Username: "alice", Password: h, IsActive: true, DateJoined: time.Now()}); err != nil {
		b.Fatal(err)
	}
	_, svc, err := e.clients.Create(ctx, oauth.ApplicationSpec{ClientID: "svc", GrantTypes: []string{"client-credentials"}, ResourceServer: true})
	if err != nil {
		b.Fatal(err)
	}
	_, conf, err := e.clients.Create(ctx, oauth.ApplicationSpec{ClientID: "conf-client", GrantTypes: []string{"password"}})
	if err != nil {
		b.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	b.Cleanup(tr.CloseIdleConnections)
	return &oauthBench{env: e, url: hs.URL, c: &http.Client{Transport: tr}, svcAuth: basic("svc", svc), confSecret: conf}
}

// do sends a request and returns the status and body.
func (o *oauthBench) do(method, path string, form url.Values, headers ...string) (int, []byte, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, o.url+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := o.c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

func (o *oauthBench) token(b *testing.B, form url.Values, headers ...string) string {
	status, body, err := o.do("POST", "/o/token/", form, headers...)
	if err != nil || status != 200 {
		b.Fatalf("token: %d %s %v", status, body, err)
	}
	var p tokenPair
	json.Unmarshal(body, &p)
	return p.Access
}

// parallel runs req in parallel b.N times, failing on any other status than 200.
func parallel(b *testing.B, req func() (int, []byte, error)) {
	b.ReportAllocs()
	// 8 goroutines per CPU: 16 on this project's 2 cores, as many as the
	// load benchmark's connections (go run ./bench), so that concurrent
	// requests overlap as they do under that load.
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if s, body, err := req(); err != nil || s != 200 {
				b.Errorf("status %d %s %v", s, body, err)
				return
			}
		}
	})
}

// BenchmarkOAuthClientCredentials: client authentication, token generation
// and one insert per request.
func BenchmarkOAuthClientCredentials(b *testing.B) {
	for _, backend := range testdb.Backends() {
		b.Run(backend, func(b *testing.B) {
			o := newOAuthBench(b, backend)
			form := url.Values{"grant_type": {"client_credentials"}}
			parallel(b, func() (int, []byte, error) { return o.do("POST", "/o/token/", form, "Authorization", o.svcAuth) })
		})
	}
}

// BenchmarkOAuthIntrospect: client authentication and one token lookup.
func BenchmarkOAuthIntrospect(b *testing.B) {
	for _, backend := range testdb.Backends() {
		b.Run(backend, func(b *testing.B) {
			o := newOAuthBench(b, backend)
			tok := o.token(b, url.Values{"grant_type": {"client_credentials"}}, "Authorization", o.svcAuth)
			form := url.Values{"token": {tok}}
			parallel(b, func() (int, []byte, error) { return o.do("POST", "/o/introspect/", form, "Authorization", o.svcAuth) })
		})
	}
}

// BenchmarkOAuthBearerMe: GET /api/me/ with an OAuth access token (its
// lookup is cached for the auth cache TTL).
func BenchmarkOAuthBearerMe(b *testing.B) {
	for _, backend := range testdb.Backends() {
		b.Run(backend, func(b *testing.B) {
			o := newOAuthBench(b, backend)
			tok := o.token(b, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alicepass"},
				"client_id": {"conf-client"}, "client_secret": {o.confSecret}})
			parallel(b, func() (int, []byte, error) { return o.do("GET", "/api/me/", nil, "Authorization", "Bearer "+tok) })
		})
	}
}

// BenchmarkOAuthRefresh: a refresh_token grant with rotation, each
// goroutine following its own chain (the new refresh token is the next
// request's): the read, the revocation, the access token's deletion and
// the new pair, in one transaction shared with the concurrent rotations.
func BenchmarkOAuthRefresh(b *testing.B) {
	for _, backend := range testdb.Backends() {
		b.Run(backend, func(b *testing.B) {
			o := newOAuthBench(b, backend)
			refreshChains(b, o, "conf-client", o.confSecret)
		})
	}
}

// BenchmarkOAuthRefreshJWT: BenchmarkOAuthRefresh for a client whose
// access tokens are RFC 9068 JWTs, signed (RS256) by the rotation's issue
// callback, which runs in the rotation writer's transaction.
func BenchmarkOAuthRefreshJWT(b *testing.B) {
	for _, backend := range testdb.Backends() {
		b.Run(backend, func(b *testing.B) {
			signer := oidctest.New(b)
			o := newOAuthBenchWith(b, backend, func(c *config) { c.Issuer, c.OAuth.Issuer = testIssuer, testIssuer },
				func(w *wiring) { w.OAuth.AccessTokens = signer })
			_, sec, err := o.env.clients.Create(context.Background(), oauth.ApplicationSpec{ClientID: "jwt-client",
				GrantTypes: []string{"password"}, TokenFormat: gatehouse.TokenFormatJWT})
			if err != nil {
				b.Fatal(err)
			}
			refreshChains(b, o, "jwt-client", sec)
		})
	}
}

// refreshChains logs in and rotates refresh tokens, one chain per
// goroutine, as the client with that secret.
func refreshChains(b *testing.B, o *oauthBench, clientID, secret string) {
	login := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alicepass"},
		"client_id": {clientID}, "client_secret": {secret}}
	chained(b, func(refresh string) (string, error) {
		form := login
		if refresh != "" {
			form = url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh},
				"client_id": {clientID}, "client_secret": {secret}}
		}
		s, body, err := o.do("POST", "/o/token/", form)
		var p tokenPair
		if err != nil || s != 200 || json.Unmarshal(body, &p) != nil || p.Refresh == "" {
			return "", fmt.Errorf("status %d %s %v", s, body, err)
		}
		return p.Refresh, nil
	})
}

// chained runs step b.N times in parallel as parallel does, each goroutine
// following its own chain of refresh tokens: step gets the chain's last
// one ("" at first, for a login) and returns the next.
func chained(b *testing.B, step func(refresh string) (string, error)) {
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		refresh := ""
		for pb.Next() {
			next, err := step(refresh)
			if err != nil {
				b.Error(err)
				return
			}
			refresh = next
		}
	})
}

// BenchmarkOIDCCodeExchange: an authorization code issued with PKCE and
// the scope openid redeemed by a confidential client: the grant's
// transaction (the code marked used, the token pair stored) and an
// id_token signed with the server's signing key. The codes are stored
// ahead through the store, one per op.
func BenchmarkOIDCCodeExchange(b *testing.B) { codeExchange(b, gatehouse.TokenFormatOpaque) }

// BenchmarkOIDCCodeExchangeJWT: BenchmarkOIDCCodeExchange for a client
// whose access tokens are RFC 9068 JWTs (a second RS256 signature per
// exchange, made before the redemption's transaction).
func BenchmarkOIDCCodeExchangeJWT(b *testing.B) { codeExchange(b, gatehouse.TokenFormatJWT) }

func codeExchange(b *testing.B, format string) {
	for _, backend := range testdb.Backends() {
		b.Run(backend, func(b *testing.B) {
			// An OpenID provider signing with one in-memory RSA key (RS256,
			// the default algorithm of the database's signing keys).
			signer := oidctest.New(b)
			o := newOAuthBenchWith(b, backend, func(c *config) { c.Issuer, c.OAuth.Issuer = testIssuer, testIssuer }, func(w *wiring) {
				p, err := oidc.New(oidc.Deps{Config: oidc.Config{Issuer: testIssuer}, Signer: signer, Now: w.Server.Now})
				if err != nil {
					b.Fatal(err)
				}
				w.OAuth.IDTokens, w.Server.OIDC = p, p
				w.OAuth.AccessTokens = signer
			})
			e := o.env
			ctx := context.Background()
			const redirect = "https://rp.example/cb"
			_, sec, err := e.clients.Create(ctx, oauth.ApplicationSpec{ClientID: "rp", GrantTypes: []string{"authorization-code"},
				RedirectURIs: []string{redirect}, TokenFormat: format})
			if err != nil {
				b.Fatal(err)
			}
			app, err := e.store.Application(ctx, "rp")
			if err != nil {
				b.Fatal(err)
			}
			alice, err := e.store.UserByUsername(ctx, "alice")
			if err != nil {
				b.Fatal(err)
			}
			const verifier = "bench-verifier-0123456789-0123456789-0123456789"
			sum := sha256.Sum256([]byte(verifier))
			challenge := base64.RawURLEncoding.EncodeToString(sum[:])
			now := time.Now()
			codes := make(chan string, b.N)
			for i := 0; i < b.N; i++ {
				code := fmt.Sprintf("code-%d", i)
				g := gatehouse.Grant{CodeHash: secret.Hash(code), ApplicationID: app.ID, UserID: alice.ID, RedirectURI: redirect,
					Scope: "openid profile email", CodeChallenge: challenge, CodeChallengeMethod: "S256", Created: now, Expires: now.Add(time.Hour), AuthTime: &now}
				if err := e.store.CreateGrant(ctx, &g); err != nil {
					b.Fatal(err)
				}
				codes <- code
			}
			close(codes)
			auth := basic("rp", sec)
			parallel(b, func() (int, []byte, error) {
				form := url.Values{"grant_type": {"authorization_code"}, "code": {<-codes}, "redirect_uri": {redirect}, "code_verifier": {verifier}}
				s, body, err := o.do("POST", "/o/token/", form, "Authorization", auth)
				if s == 200 && !strings.Contains(string(body), `"id_token"`) {
					return 0, body, fmt.Errorf("no id_token")
				}
				var tok struct {
					Access string `json:"access_token"`
				}
				if s == 200 && (json.Unmarshal(body, &tok) != nil || (strings.Count(tok.Access, ".") == 2) != (format == gatehouse.TokenFormatJWT)) {
					return 0, body, fmt.Errorf("access token %q of a %q client", tok.Access, format)
				}
				return s, body, err
			})
		})
	}
}

// BenchmarkJWTRefresh: simplejwt's refresh with rotation and blacklisting,
// each goroutine following its own chain: the old token blacklisted, its
// family read and the new one recorded, in a transaction shared with the
// concurrent rotations.
func BenchmarkJWTRefresh(b *testing.B) {
	for _, backend := range testdb.Backends() {
		b.Run(backend, func(b *testing.B) {
			o := newOAuthBenchWith(b, backend, nil, func(w *wiring) {
				w.JWT.Options.RotateRefreshTokens, w.JWT.Options.BlacklistAfterRotation = true, true
			})
			chained(b, func(refresh string) (string, error) {
				path, req := "/access-token/", `{"username":"alice","password":"alicepass"}`
				if refresh != "" {
					path, req = "/access-token/refresh/", `{"refresh":"`+refresh+`"}`
				}
				s, body, err := o.doJSON(path, req)
				var p struct{ Refresh string }
				if err != nil || s != 200 || json.Unmarshal(body, &p) != nil || p.Refresh == "" {
					return "", fmt.Errorf("status %d %s %v", s, body, err)
				}
				return p.Refresh, nil
			})
		})
	}
}

// doJSON posts a JSON body and returns the status and body.
func (o *oauthBench) doJSON(path, body string) (int, []byte, error) {
	res, err := o.c.Post(o.url+path, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}
