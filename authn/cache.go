package authn

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// cache keeps recent token and user lookups for a short TTL so that
// authenticating a request does not hit the database every time. Entries
// are dropped at once when this replica changes the user or the token;
// other replicas see the change within the TTL.
type cache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.RWMutex
	entries map[string]entry
	// peak is the most entries the map has held since it was made: a Go
	// map keeps the memory of its largest size after its entries are
	// deleted, so sweep makes a new one when far fewer are left.
	peak int
	// sweeping: a sweep is scheduled (at most one at a time; none while
	// the cache is empty).
	sweeping bool
	// afterFunc schedules sweep (time.AfterFunc; tests replace it).
	afterFunc func(time.Duration, func())

	hits, misses atomic.Uint64 // lookups answered from the cache or not (CacheStats)
}

type entry struct {
	user    gatehouse.User
	tokenID int64
	scope   string
	appID   int64
	client  string
	issued  time.Time
	expires time.Time // of the entry, not of the token
	tokExp  *time.Time
	// clientOnly: an OAuth token issued to a client alone
	// (client_credentials); user is zero.
	clientOnly bool
	// knoxDigest names a knox token's row, for its renewal.
	knoxDigest string
}

func newCache(ttl time.Duration, now func() time.Time) *cache {
	return &cache{ttl: ttl, now: now, entries: map[string]entry{},
		afterFunc: func(d time.Duration, f func()) { time.AfterFunc(d, f) }}
}

const maxCacheEntries = 100_000

func (c *cache) get(key string) (entry, bool) {
	if c.ttl <= 0 {
		return entry{}, false
	}
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if !ok || !c.now().Before(e.expires) {
		c.misses.Add(1)
		return entry{}, false
	}
	c.hits.Add(1)
	return e, true
}

func (c *cache) put(key string, e entry) {
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
			c.entries, c.peak = map[string]entry{}, 0
		}
	}
	c.entries[key] = e
	c.peak = max(c.peak, len(c.entries))
	if !c.sweeping {
		c.sweeping = true
		c.afterFunc(c.sweepEvery(), c.sweep)
	}
	c.mu.Unlock()
}

// sweepEvery is how often expired entries are dropped while there are
// entries: each TTL, at least a second apart.
func (c *cache) sweepEvery() time.Duration { return max(c.ttl, time.Second) }

// sweep drops the expired entries, and gives the map's memory back when
// at most a quarter of its peak is left (a new map with the live entries).
// Without it, expired entries stayed until the cache next filled up: after
// a burst of distinct tokens a replica kept up to maxCacheEntries of them
// (about 45 MiB) for as long as its load went elsewhere, heap that counts
// against the soft memory limit the password hashes need
// (cmd/gatehouse/memlimit.go). It runs again each sweepEvery while entries
// remain.
func (c *cache) sweep() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for k, v := range c.entries {
		if !now.Before(v.expires) {
			delete(c.entries, k)
		}
	}
	if n := len(c.entries); n <= c.peak/4 {
		m := make(map[string]entry, n)
		for k, v := range c.entries {
			m[k] = v
		}
		c.entries, c.peak = m, n
	}
	if len(c.entries) == 0 {
		c.sweeping = false
		return
	}
	c.afterFunc(c.sweepEvery(), c.sweep)
}

// dropUser forgets every entry of the user.
func (c *cache) dropUser(id int64) {
	c.mu.Lock()
	for k, v := range c.entries {
		if v.user.ID == id {
			delete(c.entries, k)
		}
	}
	c.mu.Unlock()
}

// drop forgets one key.
func (c *cache) drop(key string) {
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
}

// CacheStats is a snapshot of an Authenticator's lookup cache, read by
// monitoring (package metrics).
type CacheStats struct {
	// Hits and Misses count the lookups answered from the cache and those
	// that went to the database, since start; both stay 0 with the cache
	// off (CacheTTL 0).
	Hits, Misses uint64
	Entries      int // entries held now, expired ones not yet dropped included
}

// CacheStats reports the lookup cache's use.
func (a *Authenticator) CacheStats() CacheStats {
	c := a.cache
	c.mu.RLock()
	n := len(c.entries)
	c.mu.RUnlock()
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Entries: n}
}
