package server

import (
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// authCache keeps recent token and user lookups for a short TTL so that
// authenticating a request does not hit the database every time. Entries
// are dropped at once when this replica changes the user or the token;
// other replicas see the change within the TTL.
type authCache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.RWMutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	user    gatehouse.User
	tokenID int64
	scope   string
	appID   int64
	expires time.Time // of the entry, not of the token
	tokExp  *time.Time
}

func newAuthCache(ttl time.Duration, now func() time.Time) *authCache {
	return &authCache{ttl: ttl, now: now, entries: map[string]cacheEntry{}}
}

const maxCacheEntries = 100_000

func (c *authCache) get(key string) (cacheEntry, bool) {
	if c.ttl <= 0 {
		return cacheEntry{}, false
	}
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if !ok || !c.now().Before(e.expires) {
		return cacheEntry{}, false
	}
	return e, true
}

func (c *authCache) put(key string, e cacheEntry) {
	if c.ttl <= 0 {
		return
	}
	e.expires = c.now().Add(c.ttl)
	c.mu.Lock()
	if len(c.entries) >= maxCacheEntries {
		now := c.now()
		for k, v := range c.entries {
			if !now.Before(v.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxCacheEntries {
			c.entries = map[string]cacheEntry{}
		}
	}
	c.entries[key] = e
	c.mu.Unlock()
}

// dropUser forgets every entry of the user.
func (c *authCache) dropUser(id int64) {
	c.mu.Lock()
	for k, v := range c.entries {
		if v.user.ID == id {
			delete(c.entries, k)
		}
	}
	c.mu.Unlock()
}

// drop forgets one key.
func (c *authCache) drop(key string) {
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
}

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
