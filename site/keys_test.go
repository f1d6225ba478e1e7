package site_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/site"
)

// The signing key settings reach the keys manager: its algorithm, its
// publish-ahead, and a key that stopped signing stays published for the
// OAuth access token lifetime plus an hour.
func TestSigningKeysWired(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			c := testConfig(t, backend)
			c.SigningKeyAlgorithm = "ES256"
			c.SigningKeyPublishAhead = 10 * time.Minute
			c.OAuthAccessTokenLifetime = 2 * time.Hour
			a, err := site.OpenServices(ctx, c, site.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			tok, err := a.Keys.Sign(ctx, "JWT", map[string]string{"sub": "1"})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := a.Keys.Verify(ctx, tok); err != nil {
				t.Fatal(err)
			}
			if algs := a.Keys.Algorithms(); len(algs) != 1 || algs[0] != "ES256" {
				t.Errorf("algorithms %v", algs)
			}
			next, err := a.Keys.Rotate(ctx)
			if err != nil {
				t.Fatal(err)
			}
			list, err := a.Keys.List(ctx)
			if err != nil || len(list) != 2 {
				t.Fatalf("%+v %v", list, err)
			}
			old := list[0]
			if got := next.SignsFrom.Sub(next.Created); got != 10*time.Minute {
				t.Errorf("published %v ahead", got)
			}
			if old.PublishedUntil == nil || old.PublishedUntil.Sub(next.SignsFrom) != 3*time.Hour {
				t.Errorf("the old key is published until %v, the new one signs from %v", old.PublishedUntil, next.SignsFrom)
			}
			// A second open (another command, another replica) uses the same keys.
			b, err := site.OpenServices(ctx, c, site.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if _, _, err := b.Keys.Verify(ctx, tok); err != nil {
				t.Error(err)
			}
			if again, _ := b.Keys.List(ctx); len(again) != 2 {
				t.Errorf("the second open made keys: %+v", again)
			}
		})
	}
}

// Bad signing key settings are refused, naming the variable, before any
// key is made.
func TestSigningKeySettingsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*site.Config)
		want string
	}{
		{"algorithm", func(c *site.Config) { c.SigningKeyAlgorithm = "HS256" }, `GATEHOUSE_SIGNING_KEY_ALGORITHM must be one of RS256, ES256, EdDSA, not "HS256"`},
		{"publish-ahead", func(c *site.Config) { c.SigningKeyPublishAhead = 5 * time.Minute }, "GATEHOUSE_SIGNING_KEY_PUBLISH_AHEAD must be at least 6m0s"},
		{"rotation", func(c *site.Config) { c.SigningKeyRotation = 30 * time.Minute }, "GATEHOUSE_SIGNING_KEY_ROTATION (30m0s) must be 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig(t, "sqlite")
			tc.set(&c)
			s, err := site.Open(context.Background(), c, site.Options{})
			if err == nil || s != nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, %v; want %s", s, err, tc.want)
			}
			st := testdb.OpenURL(t, c.DatabaseURL)
			if keys, err := st.SigningKeys(context.Background()); err != nil || len(keys) != 0 {
				t.Errorf("keys after a refusal: %d %v", len(keys), err)
			}
		})
	}
	// 0 turns scheduled rotation off.
	c := testConfig(t, "sqlite")
	c.SigningKeyRotation = 0
	a, err := site.OpenServices(context.Background(), c, site.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if keys, _ := a.Keys.List(context.Background()); len(keys) != 1 || keys[0].Algorithm != "RS256" ||
		gatehouse.SigningKeyState(keys, keys[0], time.Now()) != gatehouse.KeyCurrent {
		t.Errorf("keys %+v", keys)
	}
}
