package authn

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Expired entries are dropped each TTL while the cache holds any, the
// map's memory is given back once most of it is gone, and no sweep stays
// scheduled for an empty cache.
func TestCacheSweepsExpiredEntries(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := newCache(5*time.Second, func() time.Time { return now })
	var pending []func()
	var delays []time.Duration
	c.afterFunc = func(d time.Duration, f func()) { delays, pending = append(delays, d), append(pending, f) }
	runSweep := func() {
		t.Helper()
		if len(pending) != 1 {
			t.Fatalf("%d sweeps scheduled, want 1", len(pending))
		}
		f := pending[0]
		pending = nil
		f()
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}

	before := heap()
	scope := strings.Repeat("s", 200)
	for i := range 50_000 {
		c.put(fmt.Sprintf("old-%d", i), entry{scope: scope[:i%200]})
	}
	filled := heap()
	if len(pending) != 1 || delays[0] != 5*time.Second {
		t.Fatalf("after the puts: %d sweeps scheduled (delays %v), want one in 5s", len(pending), delays)
	}
	now = now.Add(6 * time.Second)
	for i := range 10 {
		c.put(fmt.Sprintf("new-%d", i), entry{})
	}
	runSweep()
	if n := len(c.entries); n != 10 {
		t.Fatalf("%d entries after the sweep, want the 10 live ones", n)
	}
	if _, ok := c.get("new-3"); !ok {
		t.Fatal("a live entry was dropped")
	}
	// Deleting the entries alone keeps about a tenth of the filled map's
	// memory here; a new map keeps what its 10 entries need.
	if after := heap(); after > before+(filled-before)/20 {
		t.Fatalf("heap %d MB before, %d MB filled, %d MB after the sweep: the map's memory was kept", before>>20, filled>>20, after>>20)
	}
	now = now.Add(6 * time.Second)
	runSweep() // rescheduled while entries remained
	if len(c.entries) != 0 || len(pending) != 0 || c.sweeping {
		t.Fatalf("empty cache: %d entries, %d sweeps pending, sweeping %v", len(c.entries), len(pending), c.sweeping)
	}
	c.put("again", entry{})
	if len(pending) != 1 {
		t.Fatal("a put into the empty cache scheduled no sweep")
	}
}
