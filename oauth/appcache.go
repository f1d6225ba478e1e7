package oauth

import (
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// appCache keeps applications found by client_id for the auth cache TTL:
// client authentication runs on every token, introspection and revocation
// request, and its lookup was the largest database cost of a
// client_credentials issuance after the insert (docs/performance.md). An
// application changed or deleted elsewhere (the CLI, another replica) is
// seen within the TTL, as revoked tokens are. Unknown client_ids are not
// kept, so the map holds at most the registered applications.
type appCache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.RWMutex
	entries map[string]appEntry
}

type appEntry struct {
	app     gatehouse.Application
	expires time.Time
}

func newAppCache(ttl time.Duration, now func() time.Time) *appCache {
	return &appCache{ttl: ttl, now: now, entries: map[string]appEntry{}}
}

func (c *appCache) get(clientID string) (gatehouse.Application, bool) {
	if c.ttl <= 0 {
		return gatehouse.Application{}, false
	}
	c.mu.RLock()
	e, ok := c.entries[clientID]
	c.mu.RUnlock()
	if !ok || !c.now().Before(e.expires) {
		return gatehouse.Application{}, false
	}
	return e.app, true
}

func (c *appCache) put(a gatehouse.Application) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	c.entries[a.ClientID] = appEntry{app: a, expires: c.now().Add(c.ttl)}
	c.mu.Unlock()
}

// forget drops clientID's application and reports whether it was cached.
func (c *appCache) forget(clientID string) bool {
	c.mu.Lock()
	_, ok := c.entries[clientID]
	delete(c.entries, clientID)
	c.mu.Unlock()
	return ok
}

// drop forgets clientID's application, after this replica changed it.
func (c *appCache) drop(clientID string) {
	c.mu.Lock()
	delete(c.entries, clientID)
	c.mu.Unlock()
}
