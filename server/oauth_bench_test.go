package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/password"
)

// oauthBench is a server on one backend with alice and two clients: svc
// (client-credentials, resource server) and conf-client (password). Load
// tests against a running server are in bench/ (docs/performance.md).
type oauthBench struct {
	url        string
	c          *http.Client
	svcAuth    string
	confSecret string
}

func newOAuthBench(b *testing.B, backend string) *oauthBench {
	b.Helper()
	e := build(b, backend, nil)
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
	return &oauthBench{url: hs.URL, c: &http.Client{Transport: tr}, svcAuth: basic("svc", svc), confSecret: conf}
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
			login := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alicepass"},
				"client_id": {"conf-client"}, "client_secret": {o.confSecret}}
			b.ReportAllocs()
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				refresh := ""
				for pb.Next() {
					form := login
					if refresh != "" {
						form = url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh},
							"client_id": {"conf-client"}, "client_secret": {o.confSecret}}
					}
					s, body, err := o.do("POST", "/o/token/", form)
					var p tokenPair
					if err != nil || s != 200 || json.Unmarshal(body, &p) != nil || p.Refresh == "" {
						b.Errorf("status %d %s %v", s, body, err)
						return
					}
					refresh = p.Refresh
				}
			})
		})
	}
}
