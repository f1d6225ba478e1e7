package accounts

import (
	"context"
	"runtime"
	"sync/atomic"

	"github.com/gatehouse-auth/gatehouse"
)

// hashSlots bounds the password hashes computed at once to the number of
// CPUs. Hashing is CPU-bound, so more at once answers no sooner, while each
// argon2id hash holds its memory (19 MiB by default) until it ends: with
// 16 concurrent logins the server's peak RSS was 570 MB
// (docs/performance.md); bounded, it is cores × that.
type hashSlots struct {
	slots   chan struct{}
	waiting atomic.Int32 // callers of do blocked for a slot

	maxWaiting int32 // callers of do allowed to wait (0: any); more are refused

	// largest is the most memory one hash has been announced to need
	// (need); grew, when set, is called each time it rises.
	largest atomic.Int64
	grew    func(bytes int64)
}

// HashConcurrency is how many password hashes a Service computes at once.
func HashConcurrency() int { return runtime.GOMAXPROCS(0) }

func newHashSlots(grew func(int64), maxWaiting int) *hashSlots {
	if maxWaiting <= 0 {
		maxWaiting = HashConcurrency() * 32
	}
	return &hashSlots{slots: make(chan struct{}, HashConcurrency()), grew: grew, maxWaiting: int32(maxWaiting)}
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

// do runs f in a slot, waiting for one if all are taken. It gives up and
// returns ctx's error, without running f, when ctx ends first: a request
// whose client has gone does not spend a hash that nobody will read.
func (h *hashSlots) do(ctx context.Context, f func()) error {
	select {
	case h.slots <- struct{}{}:
	default:
		if n := h.waiting.Add(1); h.maxWaiting > 0 && n > h.maxWaiting {
			h.waiting.Add(-1)
			return errHashQueueFull
		}
		select {
		case h.slots <- struct{}{}:
			h.waiting.Add(-1)
		case <-ctx.Done():
			h.waiting.Add(-1)
			return ctx.Err()
		}
	}
	defer func() { <-h.slots }()
	f()
	return nil
}

// idle runs f in a slot only when a slot is free and nobody waits for one,
// and reports whether it ran. It is for work that can be put off, such as
// the rehash of a password stored with an older algorithm: when logins
// queue for the CPUs, a second hash in the request would cut their rate by
// the cost of that hash (a third for PBKDF2 → argon2id), so the upgrade
// waits for a later, quieter login instead.
func (h *hashSlots) idle(f func()) bool {
	if h.waiting.Load() > 0 {
		return false
	}
	select {
	case h.slots <- struct{}{}:
	default:
		return false
	}
	defer func() { <-h.slots }()
	f()
	return true
}
