package oauth

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// ClientAllowsOrigin reports whether the application with that client_id
// lists origin among its allowed origins (read through the application
// cache); an unknown client lists none.
func (p *Provider) ClientAllowsOrigin(ctx context.Context, clientID, origin string) (bool, error) {
	if origin == "" {
		return false, nil
	}
	app, err := p.Application(ctx, clientID)
	if err != nil || app == nil {
		return false, err
	}
	return app.AllowsOrigin(origin), nil
}

// OriginListed reports whether any application lists origin: a CORS
// preflight names no client, and the public documents (the JWKS, the
// metadata) are for every client. The union of the applications' origins
// is kept for the cache TTL (Deps.CacheTTL; read on every call when 0), so
// an origin added or removed elsewhere is seen within it.
func (p *Provider) OriginListed(ctx context.Context, origin string) (bool, error) {
	if origin == "" || len(origin) > gatehouse.MaxOrigin {
		return false, nil
	}
	set, err := p.origins.get(p.now(), func() (map[string]bool, error) {
		apps, err := p.store.Applications(ctx)
		if err != nil {
			return nil, err
		}
		set := map[string]bool{}
		for _, a := range apps {
			for _, o := range a.AllowedOrigins {
				set[strings.ToLower(o)] = true
			}
		}
		return set, nil
	})
	if err != nil {
		return false, err
	}
	return set[strings.ToLower(origin)], nil
}

// originCache holds the union of every application's allowed origins;
// applications change rarely, and preflights and document requests from
// browsers come often.
type originCache struct {
	ttl time.Duration

	mu      sync.Mutex
	set     map[string]bool
	expires time.Time
}

// get returns the cached set, or the one load reads (kept for the TTL).
// Concurrent misses each read: the set is small and misses rare.
func (c *originCache) get(now time.Time, load func() (map[string]bool, error)) (map[string]bool, error) {
	if c.ttl > 0 {
		c.mu.Lock()
		set, expires := c.set, c.expires
		c.mu.Unlock()
		if set != nil && now.Before(expires) {
			return set, nil
		}
	}
	set, err := load()
	if err != nil || c.ttl <= 0 {
		return set, err
	}
	c.mu.Lock()
	c.set, c.expires = set, now.Add(c.ttl)
	c.mu.Unlock()
	return set, nil
}
