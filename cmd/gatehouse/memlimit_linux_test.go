package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/accounts"

	"golang.org/x/crypto/argon2"
)

// BenchmarkHashesBesideLiveHeap runs argon2id hashes (gatehouse's default
// parameters) on every hash slot at once while 40 MiB besides them stays
// live, under serve's automatic memory limit with and without following
// the live heap, and with no limit ("none", the collector's default
// target), and reports the hashes a second and the page faults a hash
// takes. Without following, the heap sits at the limit and the runtime
// hands each finished hash's pages back to the kernel.
//
//	go test -run '^$' -bench HashesBesideLiveHeap -benchtime 200x ./cmd/gatehouse
func BenchmarkHashesBesideLiveHeap(b *testing.B) {
	const memory = 19456 // KiB
	for _, c := range []struct {
		name    string
		limited bool                   // serve's automatic limit; else none, and the collector's default target
		heap    func() (int64, uint64) // the limit follows the live heap
	}{{"none", false, nil}, {"fixed", true, nil}, {"following", true, liveHeap}} {
		b.Run(c.name, func(b *testing.B) {
			ballast := make([][]byte, 40)
			for i := range ballast {
				ballast[i] = make([]byte, 1<<20)
				ballast[i][0] = byte(i)
			}
			prevLimit := debug.SetMemoryLimit(math.MaxInt64)
			defer debug.SetMemoryLimit(prevLimit)
			var m *memoryLimit
			if c.limited {
				m = newMemoryLimit(memory<<10, debug.SetMemoryLimit, debug.SetGCPercent, c.heap)
				debug.SetMemoryLimit(m.bytes())
			}
			runtime.GC() // a collection with no hash running: what following measures
			if m != nil {
				m.hashing(true)
				defer m.hashing(false)
			}
			slots := accounts.HashConcurrency()
			var wg sync.WaitGroup
			var faults0, faults1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &faults0)
			b.ResetTimer()
			start := time.Now()
			for s := range slots {
				wg.Go(func() {
					for i := s; i < b.N; i += slots {
						argon2.IDKey([]byte("password"), []byte("saltsaltsaltsalt"), 2, memory, 1, 32)
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			syscall.Getrusage(syscall.RUSAGE_SELF, &faults1)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "hashes/s")
			b.ReportMetric(float64(faults1.Minflt-faults0.Minflt)/float64(b.N), "faults/hash")
			if m != nil {
				b.ReportMetric(float64(m.bytes())/(1<<20), "limit-MiB")
			}
			runtime.KeepAlive(ballast)
		})
	}
}
