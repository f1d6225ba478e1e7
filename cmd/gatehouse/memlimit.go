package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/gatehouse-auth/gatehouse/accounts"
)

// memoryLimitBase is the room the server's soft memory limit leaves for
// everything but password hashes: connections, request buffers and the auth
// cache, which holds about 45 MiB at its bound of 100,000 entries (measured
// with users of typical field lengths). In the argon2id login cases of the
// benchmark the heap left after a collection was the running hashes and
// under 1 MiB more.
const memoryLimitBase = 64 << 20

// memoryLimit keeps the Go runtime's soft memory limit at memoryLimitBase
// plus room for the password hashes that run at once.
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
// The limit is soft: while a collection runs, the hashes that start
// allocate on top of it, and the process's RSS adds what is not Go's heap
// (the binary, SQLite's page caches). With room for one hash more than
// run at once (121 MiB on 2 cores) the peak RSS of the benchmark's login
// wave was 141-157 MB in focused runs and 152-170 MB in full ones, over
// its 150 MB budget; without that hash (102 MiB) 130-137 MB in focused
// runs, at login rates within the runs' noise. Lower still costs logins:
// at 96 MiB the runtime gave the freed hashes' pages back to the kernel
// and the next hash faulted them in again, 8-18 % fewer logins a second.
// Where the auth cache is near its bound the collector runs about once a
// hash during logins; argon2's memory holds no pointers, so a collection
// marks only the rest of the heap.
type memoryLimit struct {
	base  int64
	slots int64
	set   func(int64) int64 // debug.SetMemoryLimit
	gc    func(int) int     // debug.SetGCPercent; nil: the target is left alone (GOGC is set)

	mu      sync.Mutex
	perHash int64
	lowered bool // the collector's target is gcPercentHashing
	prevGC  int  // the target before it was lowered
}

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

func newMemoryLimit(perHash int64, set func(int64) int64, gc func(int) int) *memoryLimit {
	return &memoryLimit{base: memoryLimitBase, slots: int64(accounts.HashConcurrency()), set: set, gc: gc, perHash: perHash}
}

// hashing lowers the collector's target while password hashes run and
// restores it when none does (accounts.Deps.HashesRunning, whose calls
// alternate).
func (m *memoryLimit) hashing(running bool) {
	if m.gc == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case running && !m.lowered:
		m.prevGC, m.lowered = m.gc(gcPercentHashing), true
	case !running && m.lowered:
		m.gc(m.prevGC)
		m.lowered = false
	}
}

func (m *memoryLimit) bytes() int64 { return m.base + m.slots*m.perHash }

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
// memoryLimit's, with the collector's target lowered while hashes run
// unless GOGC is set; "off" sets none; a size sets exactly that. set is
// debug.SetMemoryLimit and gc debug.SetGCPercent.
func (e *env) applyMemoryLimit(set func(int64) int64, gc func(int) int) (undo func(), err error) {
	auto, n, err := parseMemoryLimit(e.cfg.MemoryLimit)
	if err != nil {
		return nil, fmt.Errorf("memory-limit: %w", err)
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
		m := newMemoryLimit(int64(e.cfg.Argon2Memory)<<10, set, gc)
		set(m.bytes())
		e.hashMemory, e.hashesRunning = m.fit, m.hashing
		undo = func() { m.hashing(false); set(prev) }
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
