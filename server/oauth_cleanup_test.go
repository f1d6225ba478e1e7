package server_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// testServerSecret keys what the harness's server keys under the server
// secret: client secrets and refresh tokens' selectors.
const testServerSecret = "test-server-secret-0123456789"

// testSelectors keys split refresh tokens as the harness's provider does.
var testSelectors = secret.NewSelectors(testServerSecret)

// The OAuth cleaner that serve runs beside the server removes expired
// tokens in the background (it stopping is tested in package oauth).
func TestOAuthBackgroundCleanup(t *testing.T) {
	each(t, func(c *config) {
		c.OAuth.CleanupInterval = 10 * time.Millisecond
		c.OAuth.CleanupBatch = 1
	}, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		var tokens []tokenPair
		for i := 0; i < 3; i++ {
			tokens = append(tokens, e.password(a))
		}
		e.clock.advance(36001 * time.Second)
		deadline := time.Now().Add(5 * time.Second)
		for _, p := range tokens {
			for {
				_, err := e.store.AccessTokenByHash(context.Background(), secret.TokenKey(p.Access))
				if errors.Is(err, gatehouse.ErrNotFound) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("expired token not removed: %v", err)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		// Refresh tokens never expire by default: they stay.
		if _, err := e.store.RefreshTokenByHash(context.Background(), testSelectors.RefreshKey(tokens[0].Refresh)); err != nil {
			t.Fatalf("refresh token removed: %v", err)
		}
	})
}
