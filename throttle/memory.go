package throttle

import (
	"context"
	"hash/maphash"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// Memory is a gatehouse.ThrottleStore in this process's memory, for a
// single node (SQLite): nothing to share, so no database write per
// counted request. It holds at most MaxKeys live counters; past that,
// expired ones are dropped first, then arbitrary ones, so that a flood of
// new keys (random usernames) costs bounded memory and at worst forgets
// some counts.
type Memory struct {
	seed   maphash.Seed
	shards [64]memShard
}

// MemoryMaxKeys bounds the counters a Memory holds (about 100 bytes each).
const MemoryMaxKeys = 1 << 20

type memShard struct {
	mu sync.Mutex
	m  map[string]memCell
}

type memCell struct {
	n       int64
	at      int64 // µs: last added, or a bucket's theoretical arrival time
	expires int64 // µs
}

var _ gatehouse.ThrottleStore = (*Memory)(nil)

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	m := &Memory{seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].m = map[string]memCell{}
	}
	return m
}

func (m *Memory) shard(key string) *memShard {
	return &m.shards[maphash.String(m.seed, key)%uint64(len(m.shards))]
}

// room makes space for one more key in sh (locked), now in µs.
func (sh *memShard) room(now int64) {
	limit := MemoryMaxKeys / len(Memory{}.shards)
	if len(sh.m) < limit {
		return
	}
	for k, c := range sh.m {
		if c.expires <= now {
			delete(sh.m, k)
		}
	}
	for k := range sh.m {
		if len(sh.m) < limit {
			break
		}
		delete(sh.m, k)
	}
}

func (m *Memory) ThrottleTake(_ context.Context, key string, now time.Time, interval time.Duration, burst int) (time.Duration, error) {
	sh := m.shard(key)
	t := now.UnixMicro()
	iv := interval.Microseconds()
	if iv < 1 {
		iv = 1
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	c, ok := sh.m[key]
	tat := t
	if ok && c.at > t {
		tat = c.at
	}
	tat += iv
	if tat-t > iv*int64(burst) {
		return time.Duration(tat-iv*int64(burst)-t) * time.Microsecond, nil
	}
	if !ok {
		sh.room(t)
	}
	sh.m[key] = memCell{at: tat, expires: tat}
	return 0, nil
}

func (m *Memory) ThrottleAdd(_ context.Context, key string, now time.Time, ttl time.Duration) (int64, error) {
	sh := m.shard(key)
	t := now.UnixMicro()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	c, ok := sh.m[key]
	if !ok || c.expires <= t {
		c.n = 0
		if !ok {
			sh.room(t)
		}
	}
	c.n++
	c.at, c.expires = t, t+ttl.Microseconds()
	sh.m[key] = c
	return c.n, nil
}

func (m *Memory) ThrottleGet(_ context.Context, now time.Time, keys ...string) ([]gatehouse.Counter, error) {
	t := now.UnixMicro()
	out := make([]gatehouse.Counter, len(keys))
	for i, k := range keys {
		sh := m.shard(k)
		sh.mu.Lock()
		c, ok := sh.m[k]
		sh.mu.Unlock()
		if ok && c.expires > t {
			out[i] = gatehouse.Counter{N: c.n, At: time.UnixMicro(c.at)}
		}
	}
	return out, nil
}

func (m *Memory) ThrottleDelete(_ context.Context, key string) error {
	sh := m.shard(key)
	sh.mu.Lock()
	delete(sh.m, key)
	sh.mu.Unlock()
	return nil
}

func (m *Memory) DeleteExpiredThrottle(_ context.Context, now time.Time, batch int) (int64, error) {
	t := now.UnixMicro()
	var n int64
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		for k, c := range sh.m {
			if n >= int64(batch) {
				break
			}
			if c.expires <= t {
				delete(sh.m, k)
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n, nil
}

// ThrottleScan counts the live counters under prefix and returns up to
// limit of them.
func (m *Memory) ThrottleScan(_ context.Context, now time.Time, prefix string, limit int) (int64, map[string]int64, error) {
	t := now.UnixMicro()
	var total int64
	out := map[string]int64{}
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		for k, c := range sh.m {
			if c.expires > t && strings.HasPrefix(k, prefix) {
				total++
				if len(out) < limit {
					out[k] = c.n
				}
			}
		}
		sh.mu.Unlock()
	}
	return total, out, nil
}
