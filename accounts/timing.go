package accounts

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// failFloor keeps a failed login's answer from telling what it failed on.
// Hash verifications cost different times: an unknown user costs the dummy
// argon2id hash (18 ms here), a user still on an imported Django PBKDF2
// hash twice that, an unusable password nothing. Every failed check is
// therefore held until the floor: the slowest verification seen lately.
// The hold is a sleep outside the hash slots, so it costs a goroutine, not
// a CPU.
//
// The floor rises at once to a slower verification and sinks by 1/256 of
// the difference per faster one, so that one slow outlier (a pause) does
// not hold failures long, while a class of hashes seen now and then keeps
// it up. Until a class has been verified once its time is unknown: the
// first failed login of a user on a slower hash than any seen before
// shows through, once.
type failFloor struct {
	ns atomic.Int64
}

// maxFloor bounds the hold, whatever was measured.
const maxFloor = 2 * time.Second

// observe records the duration of one verification.
func (f *failFloor) observe(d time.Duration) {
	if d > maxFloor {
		d = maxFloor
	}
	for {
		cur := f.ns.Load()
		next := int64(d)
		if next < cur {
			next = cur - (cur-next)/256
		}
		if next == cur || f.ns.CompareAndSwap(cur, next) {
			return
		}
	}
}

// hold sleeps until the floor is reached by a check whose verification
// took work; it returns early if ctx ends.
func (f *failFloor) hold(ctx context.Context, work time.Duration) {
	rest := time.Duration(f.ns.Load()) - work
	if rest <= 0 {
		return
	}
	t := time.NewTimer(rest)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// suspects remembers the sources whose password checks failed lately, in
// this process: their next checks queue behind everyone else's for a
// hash slot (hashSlots' second class), so that a flood of failing logins
// slows itself and not the users outside it.
type suspects struct {
	mu sync.Mutex
	m  map[netip.Addr]time.Time
}

// suspectFor is how long a failed check marks its source.
const suspectFor = 15 * time.Minute

func (s *suspects) mark(a netip.Addr, now time.Time) {
	if !a.IsValid() {
		return
	}
	a = sourceKey(a)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil || len(s.m) >= 100_000 {
		s.m = map[netip.Addr]time.Time{} // bounded; forgetting only lets some back to the first class
	}
	s.m[a] = now
}

func (s *suspects) is(a netip.Addr, now time.Time) bool {
	if !a.IsValid() {
		return false
	}
	a = sourceKey(a)
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.m[a]
	return ok && now.Sub(t) < suspectFor
}

// sourceKey is a as one source: IPv6 addresses by their /64.
func sourceKey(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}
