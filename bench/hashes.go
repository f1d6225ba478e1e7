package main

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"fmt"
	"runtime"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// hashLimit is the most logins per second this machine can answer when
// each costs one password hash: cores divided by the time of one hash,
// measured in this process in the same run.
type hashLimit struct {
	name    string
	perHash time.Duration
	rps     float64
	f       func() // one hash
}

// measureParallel runs n hashes on each of NumCPU goroutines at once and
// returns the hashes per second: what the machine gives when every core
// hashes, which the hash-bound limit (cores ÷ one hash alone) assumes is
// linear. Each goroutine first runs two hashes untimed and the clock
// starts when all have: the first hashes at once after a sequential
// phase grow the process's heap and fault its new pages in (argon2id
// allocates 19 MiB a hash), which cost about 65 ms here, half the rate of
// a run of 3 hashes a core timed from cold.
func measureParallel(n int, f func()) float64 {
	cores := runtime.NumCPU()
	var warm, wg sync.WaitGroup
	start := make(chan struct{})
	warm.Add(cores)
	wg.Add(cores)
	for range cores {
		go func() {
			defer wg.Done()
			f()
			f()
			warm.Done()
			<-start
			for range n {
				f()
			}
		}()
	}
	warm.Wait()
	t0 := time.Now()
	close(start)
	wg.Wait()
	return float64(cores*n) / time.Since(t0).Seconds()
}

// yardName names a login case's yardstick, h as hashPaired returns it,
// with what every core hashing at once reaches in this process (n/2
// hashes each), which the limit (cores ÷ one hash alone) assumes is
// linear: the row shows both, in case a machine's cores do not scale.
func (h hashLimit) yardName(n int) string {
	return fmt.Sprintf("hash-bound %s (%.1f/s, timed between rounds; all cores hashing at once in-process: %.1f/s)",
		h.name, h.rps, measureParallel(max(n/2, 1), h.f))
}

// measureHash times n sequential runs of f and returns the median.
func measureHash(name string, n int, f func()) hashLimit {
	f() // warm
	ts := make([]time.Duration, n)
	for i := range ts {
		t0 := time.Now()
		f()
		ts[i] = time.Since(t0)
	}
	sortDurations(ts)
	d := ts[n/2]
	return hashLimit{name: name, perHash: d, rps: float64(runtime.NumCPU()) / d.Seconds(), f: f}
}

// pbkdf2Limit is the hash-bound limit of Django's pbkdf2_sha256 at 260,000
// iterations (the fixture's hashes).
func pbkdf2Limit(n int) hashLimit {
	return measureHash("PBKDF2-SHA256 260000", n, func() {
		pbkdf2.Key(sha256.New, "user00pass", []byte("d3NNvuT8pLcBQbZK27KC0h"), 260000, 32)
	})
}

// argon2Limit is the hash-bound limit of gatehouse's own argon2id hashes at
// its default parameters (19456 KiB, 2 passes, 1 thread), which a
// password is rehashed to on a successful login with no hashes queued.
func argon2Limit(n int) hashLimit {
	return measureHash("argon2id m=19456 t=2 p=1", n, func() {
		argon2.IDKey([]byte("alicepass"), []byte("0123456789abcdef"), 2, 19456, 1, 32)
	})
}
