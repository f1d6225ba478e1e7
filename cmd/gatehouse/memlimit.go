package main

import (
	"errors"
	"fmt"
	"math"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"

	"github.com/gatehouse-auth/gatehouse/accounts"
)

// memoryLimitBase is the room the server's soft memory limit leaves for
// everything but the password hashes running: the runtime's own memory,
// a hash finished but not yet collected, and up to baseLive of live heap
// besides the hashes. In the argon2id login cases of the benchmark that
// heap was 2-6 MiB after a collection (heap profiles of the server).
const memoryLimitBase = 64 << 20

// baseLive is the live heap besides running hashes that memoryLimitBase
// has room for; room for what is live beyond it is added to the limit
// (memoryLimit.hashing).
const baseLive = 8 << 20

// memoryLimit keeps the Go runtime's soft memory limit at memoryLimitBase
// plus room for the password hashes that run at once, plus the live heap
// besides them beyond baseLive.
//
// Without a limit the collector lets the heap grow to twice what was live
// at the last collection. During argon2id logins what is live is mostly
// the hashes running (19 MiB each by default), each of which is garbage
// a few milliseconds later, so the heap kept two to three times the memory
// of the hashes it was running, and peak RSS on 2 cores reached 156 MB
// where the hashes themselves needed 38 MiB. With the limit the collector
// runs earlier instead; a collection costs little here because argon2's
// memory holds no pointers.
//
// The limit follows the largest hash seen (server.Deps.HashMemory): a
// stored Django argon2 hash at 100 MiB raises it before it is verified,
// so a limit sized for new hashes never makes the collector run
// continuously under hashes it did not foresee.
//
// It follows the rest of the live heap too. A fixed limit that leaves
// little room beyond the hashes fails as soon as something else holds
// memory: with 20 MB more live (statement texts the store kept, fixed
// since; an authentication cache near its bound of 100,000 entries holds
// about 45 MiB) the heap sat at the limit, the runtime gave the freed
// hashes' pages back to the kernel and each new hash faulted its 19 MiB
// in again: page faults and clearing memory took 40 % of the server's CPU
// and the PostgreSQL later logins ran at 0.37-0.43 of hash-bound
// (docs/performance.md, run 11). So when hashes start, the limit is set
// from the heap live at the last collection, if no hash ran during it:
// room for what was live beyond baseLive, times the heap's growth under
// the collector's target (growth). A collection while hashes run cannot
// tell their memory from the rest, and raising the limit from it
// (assuming every slot's hash was live) let the queued requests of the
// benchmark's login wave raise it too: peak RSS 148-152 MB where it had
// been 125-137 MB.
//
// The limit is soft: while a collection runs, the hashes that start
// allocate on top of it, and the process's RSS adds what is not Go's heap
// (the binary, SQLite's page caches). With room for one hash more than
// run at once (121 MiB on 2 cores) the peak RSS of the benchmark's login
// wave was 141-157 MB in focused runs and 152-170 MB in full ones, over
// its 150 MB budget; without that hash (102 MiB) 130-137 MB in focused
// runs, at login rates within the runs' noise. Lower still costs logins:
// at 96 MiB the runtime gave the freed hashes' pages back to the kernel
// and the next hash faulted them in again, 8-18 % fewer logins a second.
type memoryLimit struct {
	base  int64
	slots int64
	set   func(int64) int64 // debug.SetMemoryLimit
	gc    func(int) int     // debug.SetGCPercent; nil: the target is left alone (GOGC is set)
	// heap reads the heap live at the last collection and the number of
	// collections so far (liveHeap); nil: the limit does not follow it.
	heap func() (live int64, cycles uint64)

	mu       sync.Mutex
	perHash  int64
	extra    int64  // room for live heap beyond baseLive, a multiple of extraStep
	running  bool   // hashes run (hashing); then the collector's target is gcPercentHashing unless gc is nil
	idleFrom uint64 // collections when the last hash ended
	prevGC   int    // the target before it was lowered
}

// extraStep rounds memoryLimit.extra up, so that the limit is not set
// again for every small change of the live heap.
const extraStep = 4 << 20

// gcPercentHashing is the collector's target (GOGC) while password hashes
// run. At the default of 100 the heap goal with two argon2id hashes live
// (40 MB) reached the memory limit (98 MB goal, 102 MiB limit): the
// runtime then gave freed hashes' pages back to the kernel to stay under
// the limit, and each new hash faulted its 19 MiB in again (perf of the
// benchmark's later-login case: page faults 9 % and clearing memory 10 %
// of the server's CPU, 55-60 logins/s against 85 hash-bound). At 50 the
// goal (79 MB) stays below the limit: 67-71 logins/s, and the login
// wave's peak RSS no higher (docs/performance.md, tenth round). Between
// hashes the default target comes back: collecting twice as often cost
// the /api/me/ handler in-process 10-30 %.
const gcPercentHashing = 50

// gcPercentServing is the collector's target (GOGC) while no password
// hash runs. The live heap of a serving process is small (a few MiB
// besides the caches), so at the runtime's default of 100 the collector
// ran every few MiB allocated: a tenth of the server's CPU in the OAuth
// refresh case on PostgreSQL, and in-process the /api/me/ handler with a
// JWT took 10.5-12.5 µs at 100, 8.4-10.1 at 200 and 7.3-7.5 at 400
// (docs/performance.md, sixteenth round). The soft memory limit bounds
// the heap whatever the target: with much live, the collector runs as the
// heap nears the limit instead.
const gcPercentServing = 400

func newMemoryLimit(perHash int64, set func(int64) int64, gc func(int) int, heap func() (int64, uint64)) *memoryLimit {
	return &memoryLimit{base: memoryLimitBase, slots: int64(accounts.HashConcurrency()), set: set, gc: gc, heap: heap, perHash: perHash}
}

// liveHeap reads the runtime's live heap after the last collection and
// its count of collections.
func liveHeap() (live int64, cycles uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		live = int64(s[0].Value.Uint64())
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		cycles = s[1].Value.Uint64()
	}
	return live, cycles
}

// hashing lowers the collector's target while password hashes run and
// restores it when none does (accounts.Deps.HashesRunning, whose calls
// alternate), and sets the limit's room for the rest of the live heap
// when hashes start.
func (m *memoryLimit) hashing(running bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if running == m.running {
		return
	}
	m.running = running
	switch {
	case m.gc == nil:
	case running:
		m.prevGC = m.gc(gcPercentHashing)
	default:
		m.gc(m.prevGC)
	}
	if m.heap == nil {
		return
	}
	live, cycles := m.heap()
	if !running {
		m.idleFrom = cycles
		return
	}
	if cycles > m.idleFrom { // the last collection saw no hash running
		m.setExtra(m.growth(live - baseLive))
	}
}

// growth is the room n bytes live take under the collector's target while
// hashing: the heap goal is that much above what was live, and the limit
// has to stay above the goal, or the runtime gives the freed hashes' pages
// back to the kernel (BenchmarkHashesBesideLiveHeap, 40 MiB live besides
// the hashes: 37-42 hashes/s and 1,470-1,710 page faults a hash with
// room for the 40 MiB alone, 64-78/s and 108-124 with room for 1.5 times
// it, 62-86/s and 170-220 with no limit). With GOGC set, which is not
// read back, the default target of 100 is assumed.
func (m *memoryLimit) growth(n int64) int64 {
	if m.gc == nil {
		return 2 * n
	}
	return n * (100 + gcPercentHashing) / 100
}

// setExtra sets extra from n bytes, rounded up to extraStep, and the limit
// with it when that changes it. m.mu is held.
func (m *memoryLimit) setExtra(n int64) {
	n = (max(n, 0) + extraStep - 1) / extraStep * extraStep
	if n != m.extra {
		m.extra = n
		m.set(m.bytes())
	}
}

func (m *memoryLimit) bytes() int64 { return m.base + m.slots*m.perHash + m.extra }

// fit raises the limit so that one hash of n bytes more than run at once
// fits; it never lowers it.
func (m *memoryLimit) fit(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n > m.perHash {
		m.perHash = n
		m.set(m.bytes())
	}
}

// applyMemoryLimit sets the process's soft memory limit for serve from the
// memory-limit setting and returns what undoes it. "auto" (the default)
// leaves a limit given in GOMEMLIMIT alone and otherwise keeps
// memoryLimit's, with the collector's target at gcPercentServing and
// lowered to gcPercentHashing while hashes run, unless GOGC is set; "off"
// sets none; a size sets exactly that. set is debug.SetMemoryLimit, gc
// debug.SetGCPercent and heap liveHeap.
func (e *env) applyMemoryLimit(set func(int64) int64, gc func(int) int, heap func() (int64, uint64)) (undo func(), err error) {
	auto, n, err := parseMemoryLimit(e.cfg.MemoryLimit)
	if err != nil {
		return nil, fmt.Errorf("GATEHOUSE_MEMORY_LIMIT: %w", err)
	}
	prev := set(-1) // a negative value reads the limit without changing it
	undo = func() { set(prev) }
	switch {
	case auto && e.getenv("GOMEMLIMIT") != "":
		e.log.Info("memory limit", "bytes", prev, "from", "GOMEMLIMIT")
	case auto:
		if e.getenv("GOGC") != "" {
			gc = nil
		}
		m := newMemoryLimit(int64(e.cfg.Argon2Memory)<<10, set, gc, heap)
		set(m.bytes())
		prevGC := 0
		if gc != nil {
			prevGC = gc(gcPercentServing)
		}
		e.hashMemory, e.hashesRunning = m.fit, m.hashing
		undo = func() {
			m.hashing(false)
			set(prev)
			if gc != nil {
				gc(prevGC)
			}
		}
		e.log.Info("memory limit", "bytes", m.bytes(), "from", "auto")
	case n == 0:
		set(math.MaxInt64)
		e.log.Info("memory limit", "bytes", "none", "from", "memory-limit")
	default:
		set(n)
		e.log.Info("memory limit", "bytes", n, "from", "memory-limit")
	}
	return undo, nil
}

// parseMemoryLimit reads the memory-limit setting: "auto", "off", or a
// size written as for GOMEMLIMIT: a whole number of bytes with an optional
// B, KiB, MiB, GiB or TiB suffix. "off" and 0 both mean no limit.
func parseMemoryLimit(s string) (auto bool, bytes int64, err error) {
	switch s {
	case "auto":
		return true, 0, nil
	case "off":
		return false, 0, nil
	}
	num, mult := s, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = v, u.mult
			break
		}
	}
	v, perr := strconv.ParseInt(num, 10, 64)
	if perr != nil || v < 0 || num == "" || num[0] == '+' || v > math.MaxInt64/mult {
		return false, 0, errors.New(`want "auto", "off" or a size such as 512MiB`)
	}
	return false, v * mult, nil
}
