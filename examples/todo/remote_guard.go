//go:build guardremote

package main

import (
	"log/slog"

	"github.com/gatehouse-auth/gatehouse/guard"
)

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
