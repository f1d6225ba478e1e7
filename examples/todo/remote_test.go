package main

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/site"
)

// remoteWorld runs gatehouse as a server of its own and the API as a
// separate service asking it: simplejwt tokens verified with the shared
// HMAC key, the rest by introspection as a resource server.
func remoteWorld(t *testing.T, backend string) *world {
	t.Helper()
	ctx := context.Background()
	cfg := testConfig(t, backend)
	s, err := site.Open(ctx, cfg, site.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	// The permission is gatehouse's to hold; an administrator loads it
	// (here as the embedded program registers it).
	if err := addPermission(ctx, s); err != nil {
		t.Fatal(err)
	}
	gh := httptest.NewServer(s.Handler())
	t.Cleanup(gh.Close)
	_, secret, err := s.Clients.Create(ctx, oauth.ApplicationSpec{ClientID: "todo-api", GrantTypes: []string{"client-credentials"}, ResourceServer: true})
	if err != nil {
		t.Fatal(err)
	}
	h, err := separate(remoteConfig{URL: gh.URL, ClientID: "todo-api", ClientSecret: secret, HMACKey: cfg.JWTSigningKey}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(h)
	t.Cleanup(api.Close)
	return &world{t: t, site: s, auth: gh.URL, api: api.URL}
}

// Separate: the same requests answer the same through guard's Remote.
func TestRemote(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) { scenario(t, remoteWorld(t, backend)) })
	}
}
