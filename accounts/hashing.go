package accounts

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// hashSlots bounds the password hashes computed at once to the number of
// CPUs. Hashing is CPU-bound, so more at once answers no sooner, while each
// argon2id hash holds its memory (19 MiB by default) until it ends: with
// 16 concurrent logins the server's peak RSS was 570 MB
// (docs/performance.md); bounded, it is cores × that.
//
// Callers are served in two classes, each first come first served: a
// freed slot goes to the longest-waiting caller of the first class
// (hashFirst) if any, else of the second; and the second class never
// holds the last free slot (when there are two or more), which is kept
// for the first. Logins from sources without recent failures are first,
// so that a flood of failing logins (unknown users from a botnet, a
// password sprayer) queues behind itself and not in front of the users
// who are not part of it, who find a slot free at once (issue 14).
type hashSlots struct {
	mu      sync.Mutex
	slots   int          // slots in all
	free    int          // slots not taken
	reserve int          // free slots the second class may not take
	queues  [2][]*waiter // by class; a slot is handed to queues[0] first

	waiting    atomic.Int32 // callers of do blocked for a slot
	maxWaiting int32        // callers of do allowed to wait (0: any); more are refused

	// largest is the most memory one hash has been announced to need
	// (need); grew, when set, is called each time it rises.
	largest atomic.Int64
	grew    func(bytes int64)

	// For HashStats: slots handed out by acquire, the nanoseconds their
	// callers waited for them, and callers refused with errHashQueueFull.
	acquired  atomic.Uint64
	waitNanos atomic.Int64
	refused   atomic.Uint64
}

// Classes of hashSlots callers.
const (
	hashFirst = 0 // served before any hashLater
	hashLater = 1
)

// waiter is a caller of do blocked for a slot; ready receives the slot.
type waiter struct{ ready chan struct{} }

// HashConcurrency is how many password hashes a Service computes at once.
func HashConcurrency() int { return runtime.GOMAXPROCS(0) }

func newHashSlots(grew func(int64), maxWaiting int) *hashSlots {
	if maxWaiting <= 0 {
		maxWaiting = HashConcurrency() * 32
	}
	h := &hashSlots{slots: HashConcurrency(), free: HashConcurrency(), grew: grew, maxWaiting: int32(maxWaiting)}
	if h.free > 1 {
		h.reserve = 1
	}
	return h
}

// errHashQueueFull refuses a hash at once when more callers already wait
// for a slot than can be served before their requests time out: in a wave
// of 2,500 logins, 833 clients waited 30-45 s only to have their connection
// closed while the server kept hashing for them (issue 13).
var errHashQueueFull = gatehouse.Errorf(gatehouse.EUNAVAILABLE, "too many password checks waiting")

// need announces that a hash about to run allocates bytes (password.Memory),
// so that the process's memory limit can make room for HashConcurrency of
// them before they run (cmd/gatehouse's memory limit). Only a rise past the
// largest so far is passed on.
func (h *hashSlots) need(bytes int64) {
	for {
		cur := h.largest.Load()
		if bytes <= cur {
			return
		}
		if h.largest.CompareAndSwap(cur, bytes) {
			break
		}
	}
	if h.grew != nil {
		h.grew(bytes)
	}
}

// do runs f in a slot of class hashFirst; see doAs.
func (h *hashSlots) do(ctx context.Context, f func()) error { return h.doAs(ctx, hashFirst, f) }

// doAs runs f in a slot, waiting in class for one if all are taken. It
// gives up and returns ctx's error, without running f, when ctx ends
// first: a request whose client has gone does not spend a hash that
// nobody will read.
func (h *hashSlots) doAs(ctx context.Context, class int, f func()) error {
	if err := h.acquire(ctx, class); err != nil {
		return err
	}
	defer h.release()
	f()
	return nil
}

func (h *hashSlots) acquire(ctx context.Context, class int) error {
	h.mu.Lock()
	if (class == hashFirst && h.free > 0 && len(h.queues[0]) == 0) ||
		(class == hashLater && h.free > h.reserve && len(h.queues[0])+len(h.queues[1]) == 0) {
		h.free--
		h.mu.Unlock()
		h.acquired.Add(1)
		return nil
	}
	if n := h.waiting.Add(1); h.maxWaiting > 0 && n > h.maxWaiting {
		h.waiting.Add(-1)
		h.mu.Unlock()
		h.refused.Add(1)
		return errHashQueueFull
	}
	start := time.Now()
	w := &waiter{ready: make(chan struct{}, 1)}
	h.queues[class] = append(h.queues[class], w)
	h.mu.Unlock()
	select {
	case <-w.ready:
		h.waiting.Add(-1)
		h.acquired.Add(1)
		h.waitNanos.Add(int64(time.Since(start)))
		return nil
	case <-ctx.Done():
	}
	h.mu.Lock()
	q := h.queues[class]
	for i, x := range q {
		if x == w {
			h.queues[class] = append(q[:i:i], q[i+1:]...)
			h.mu.Unlock()
			h.waiting.Add(-1)
			return ctx.Err()
		}
	}
	h.mu.Unlock()
	// Handed a slot as ctx ended: pass it on.
	<-w.ready
	h.waiting.Add(-1)
	h.release()
	return ctx.Err()
}

// release hands the slot to the next waiter, or frees it.
func (h *hashSlots) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.queues {
		q := h.queues[c]
		if len(q) == 0 || (c == hashLater && h.free < h.reserve) {
			continue
		}
		w := q[0]
		q[0] = nil
		h.queues[c] = q[1:]
		w.ready <- struct{}{}
		return
	}
	h.free++
}

// idle runs f in a slot only when a slot is free and nobody waits for one,
// and reports whether it ran. It is for work that can be put off, such as
// the rehash of a password stored with an older algorithm: when logins
// queue for the CPUs, a second hash in the request would cut their rate by
// the cost of that hash (a third for PBKDF2 → argon2id), so the upgrade
// waits for a later, quieter login instead.
func (h *hashSlots) idle(f func()) bool {
	h.mu.Lock()
	if h.free == 0 || len(h.queues[0])+len(h.queues[1]) > 0 {
		h.mu.Unlock()
		return false
	}
	h.free--
	h.mu.Unlock()
	defer h.release()
	f()
	return true
}

// HashStats is a snapshot of a Service's password-hash slots, read by
// monitoring (package metrics).
type HashStats struct {
	Slots   int // hashes computed at once at most (HashConcurrency)
	InUse   int // slots taken now
	Waiting int // callers waiting for a slot now
	// Hashes counts the slots handed to logins, sign-ups and password
	// changes since start (the deferred rehash aside); Waited is the time
	// their callers spent waiting for them, in total.
	Hashes uint64
	Waited time.Duration
	// Refused counts the callers refused at once because too many waited
	// already (answered 503).
	Refused uint64
}

// HashStats reports the password-hash slots' use. It takes the slots'
// lock briefly and is safe to call at any time.
func (s *Service) HashStats() HashStats {
	h := s.hashing
	h.mu.Lock()
	st := HashStats{Slots: h.slots, InUse: h.slots - h.free, Waiting: len(h.queues[0]) + len(h.queues[1])}
	h.mu.Unlock()
	st.Hashes, st.Waited, st.Refused = h.acquired.Load(), time.Duration(h.waitNanos.Load()), h.refused.Load()
	return st
}
