package accounts

import (
	"context"
	"math"
	"net/netip"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/throttle"
)

// failFloor keeps a failed login's answer from telling what it failed on.
// Hash verifications cost different times: an unknown user costs the dummy
// argon2id hash (18 ms here), a user still on an imported Django PBKDF2
// hash twice that, an unusable password nothing. Every failed check is
// therefore held until the floor: a high mark of the slowest kind of
// verification (by algorithm) seen lately, its running mean plus twice
// its running mean deviation (each an exponentially weighted average over
// about the last 16 verifications of that kind), so that the held answers
// fall within the spread of the slowest kind's own. The hold is a sleep
// outside the hash slots: it costs a goroutine, not a CPU.
//
// Until a kind has been verified once its time is unknown: the first
// failed login of a user on a slower kind of hash than any seen before
// shows through, once.
type failFloor struct {
	mu    sync.Mutex
	kinds map[string]*timing
}

type timing struct{ mean, dev float64 } // nanoseconds

// maxFloor bounds the hold, whatever was measured.
const maxFloor = 2 * time.Second

// observe records the duration of one verification of kind (an algorithm).
func (f *failFloor) observe(kind string, d time.Duration) {
	x := float64(min(d, maxFloor))
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.kinds == nil {
		f.kinds = map[string]*timing{}
	}
	t := f.kinds[kind]
	if t == nil {
		f.kinds[kind] = &timing{mean: x, dev: x / 10}
		return
	}
	const alpha = 1.0 / 16
	t.dev += alpha * (math.Abs(x-t.mean) - t.dev)
	t.mean += alpha * (x - t.mean)
}

// floor is the time a failed check is held to.
func (f *failFloor) floor() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var hi float64
	for _, t := range f.kinds {
		hi = math.Max(hi, t.mean+2*t.dev)
	}
	return min(time.Duration(hi), maxFloor)
}

// hold sleeps until the floor is reached by a check whose verification
// took work; it returns early if ctx ends.
func (f *failFloor) hold(ctx context.Context, work time.Duration) {
	rest := f.floor() - work
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
	m  map[string]time.Time // by throttle.SourceOf
}

// suspectFor is how long a failed check marks its source.
const suspectFor = 15 * time.Minute

func (s *suspects) mark(a netip.Addr, now time.Time) {
	if !a.IsValid() {
		return
	}
	k := throttle.SourceOf(a)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil || len(s.m) >= 100_000 {
		s.m = map[string]time.Time{} // bounded; forgetting only lets some back to the first class
	}
	s.m[k] = now
}

func (s *suspects) is(a netip.Addr, now time.Time) bool {
	if !a.IsValid() {
		return false
	}
	k := throttle.SourceOf(a)
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.m[k]
	return ok && now.Sub(t) < suspectFor
}
