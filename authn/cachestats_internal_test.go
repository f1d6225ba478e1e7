package authn

import (
	"testing"
	"time"
)

// CacheStats counts the lookups the cache answered and those it could
// not (absent or expired), and the entries held; with the cache off it
// counts nothing.
func TestCacheStats(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	a := &Authenticator{cache: newCache(5*time.Second, func() time.Time { return now })}
	a.cache.get("t:x")
	a.cache.put("t:x", entry{})
	a.cache.get("t:x")
	a.cache.get("t:x")
	now = now.Add(5 * time.Second)
	a.cache.get("t:x") // expired
	if st := a.CacheStats(); st != (CacheStats{Hits: 2, Misses: 2, Entries: 1}) {
		t.Errorf("stats %+v", st)
	}
	off := &Authenticator{cache: newCache(0, time.Now)}
	off.cache.put("t:x", entry{})
	off.cache.get("t:x")
	if st := off.CacheStats(); st != (CacheStats{}) {
		t.Errorf("cache off: %+v", st)
	}
}
