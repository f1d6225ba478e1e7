package server

import "runtime"

// hashSlots bounds the password hashes computed at once to the number of
// CPUs. Hashing is CPU-bound, so more at once answers no sooner, while each
// argon2id hash holds its memory (19 MiB by default) until it ends: with
// 16 concurrent logins the server's peak RSS was 570 MB
// (docs/performance.md); bounded, it is cores × that.
type hashSlots chan struct{}

func newHashSlots() hashSlots { return make(hashSlots, runtime.GOMAXPROCS(0)) }

// do runs f in a slot, waiting for one if all are taken.
func (h hashSlots) do(f func()) {
	h <- struct{}{}
	defer func() { <-h }()
	f()
}
