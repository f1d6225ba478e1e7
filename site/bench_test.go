package site_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/gatehouse-auth/gatehouse/accounts"
	"github.com/gatehouse-auth/gatehouse/guard"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/site"
)

// BenchmarkAuthenticator is the in-process authenticator's cost per
// request for each credential kind, with gatehouse's lookup cache warm (as
// on a busy route): what an embedding program pays instead of a network
// hop. The principal's permissions are not loaded.
func BenchmarkAuthenticator(b *testing.B) {
	ctx := context.Background()
	c := site.DefaultConfig()
	c.DatabaseURL = b.TempDir() + "/gatehouse.db"
	c.SecretKey = "site-bench-secret-0123456789abcdef"
	c.Argon2Memory, c.Argon2Time = 1024, 1
	s, err := site.Open(ctx, c, site.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Accounts.Create(ctx, accounts.NewUser{Username: "alice", Password: "correct-horse-battery-9"}); err != nil {
		b.Fatal(err)
	}
	key, err := s.Accounts.IssueToken(ctx, "alice", "bench", 0)
	if err != nil {
		b.Fatal(err)
	}
	u, err := s.Store.UserByUsername(ctx, "alice")
	if err != nil {
		b.Fatal(err)
	}
	_, access, _, _, err := s.JWT.Pair(u.ID)
	if err != nil {
		b.Fatal(err)
	}
	_, secret, err := s.Clients.Create(ctx, oauth.ApplicationSpec{ClientID: "bench", GrantTypes: []string{"password"}})
	if err != nil {
		b.Fatal(err)
	}
	tok, err := s.OAuth.Token(ctx, oauth.TokenRequest{Params: url.Values{"grant_type": {"password"}, "username": {"alice"},
		"password": {"correct-horse-battery-9"}, "scope": {"read write"}}, Client: oauth.ClientCredentials{ClientID: "bench", ClientSecret: secret, SecretSent: true}})
	if err != nil {
		b.Fatal(err)
	}
	a := s.Authenticator()
	for _, bc := range []struct{ name, authorization string }{
		{"DRF key", "Token " + key},
		{"simplejwt HS256", "Bearer " + access},
		{"OAuth", "Bearer " + tok.AccessToken},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/todos/", nil)
			r.Header.Set("Authorization", bc.authorization)
			if p, err := a.Authenticate(r); err != nil || p == nil || p.Kind == guard.KindSession {
				b.Fatal(p, err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Authenticate(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
