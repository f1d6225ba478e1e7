package main

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gatehouse-auth/gatehouse/guard"
)

// remoteConfig is how the separate service reaches gatehouse.
type remoteConfig struct {
	// URL is gatehouse's base URL (its JWKS and /o/introspect/ below it).
	URL string
	// ClientID and ClientSecret are of an application created with
	// gatehouse applications create --resource-server: introspection
	// answers such a client about every kind of token.
	ClientID, ClientSecret string
	// HMACKey is gatehouse's simplejwt signing key when its tokens are
	// HS256 (the default); "" when gatehouse signs with a private key and
	// publishes the public one in its JWKS.
	HMACKey string
}

// separate is the API as a service of its own, authenticating with
// gatehouse at cfg.URL.
func separate(cfg remoteConfig, log *slog.Logger) (http.Handler, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("TODO_CLIENT_ID and TODO_CLIENT_SECRET are required with -gatehouse (an application created with --resource-server)")
	}
	a, err := remote(cfg, log)
	if err != nil {
		return nil, err
	}
	return routes(guard.New(a, guard.WithLogger(log)), &todos{}), nil
}

// remote is guard's Remote authenticator for cfg: simplejwt tokens
// verified with gatehouse's JWKS (or its HMAC key), opaque tokens
// introspected with a cache.
func remote(cfg remoteConfig, log *slog.Logger) (guard.Authenticator, error) {
	c := guard.Config{BaseURL: cfg.URL, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Log: log}
	if cfg.HMACKey != "" {
		c.HMACKey = []byte(cfg.HMACKey)
	}
	return guard.NewRemote(c)
}
