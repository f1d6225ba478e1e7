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
// (hashFirst) if any, else of the second. Logins from sources with a
// recent failure are second (suspects, timing.go), so that a flood of
// failing logins (unknown users from a botnet, a password sprayer) queues
// behind itself and not in front of the users who are not part of it.
// The second class is held back twice over:
//
//   - it never holds the last free slot (when there are two or more),
//     which is kept for the first, so a user outside the flood finds a
//     slot free at once (issue 14);
//   - its hashes share a budget of CPU time, laterShare of the slots'
//     (a token bucket refilled at slots × laterShare nanoseconds of
//     hashing per nanosecond, holding at most laterBurst): past it, its
//     callers wait for the budget even with slots free. Without it a
//     flood kept one slot of two hashing without pause, and the other
//     users' requests (not hashes, so never queued here) ran 40 % slower
//     (issue 20). The budget is charged the hash's wall time, which is
//     at least its CPU time, but at most chargeCap times the shortest
//     full computation of its kind (algorithm) in this process: on
//     a loaded machine wall time stretches far past the CPU's, and one
//     slow legacy hash (a Django bcrypt_sha256 check, 250 ms alone) put
//     the budget so deep in debt that the next check from a suspect
//     source waited past the request timeout. (Thread CPU time cannot be
//     charged instead: x/crypto's argon2 hashes on goroutines of its own.)
type hashSlots struct {
	mu      sync.Mutex
	slots   int          // slots in all
	free    int          // slots not taken
	reserve int          // free slots the second class may not take
	queues  [2][]*waiter // by class; a slot is handed to queues[0] first

	// The second class's budget (laterRate 0: none). laterCredit is the
	// hashing time it may start now, in nanoseconds (negative: in debt),
	// as of laterAt; laterEst is what a hash is charged as it starts (the
	// last one's time), corrected when it ends; laterTimer is set while
	// a caller waits for the budget alone.
	laterRate   float64
	laterBurst  float64
	laterCredit float64
	laterAt     time.Time
	laterEst    time.Duration
	laterTimer  bool

	// fastest is, by kind of hash, the shortest time a whole hash of that
	// kind took (learn): what bounds a hash's charge (chargeCap). At most
	// maxKinds kinds are kept; a hash of another kind is charged its time.
	fastest map[string]time.Duration

	waiting    atomic.Int32 // callers of do blocked for a slot
	maxWaiting int          // callers of each class allowed to wait (0: any); more are refused

	// largest is the most memory one hash has been announced to need
	// (need); grew, when set, is called each time it rises.
	largest atomic.Int64
	grew    func(bytes int64)

	// running, when set, is told when the first hash starts while none
	// runs (true) and when the last running one ends (false); busy is
	// what it was last told. Called with h.mu held, so the calls
	// alternate.
	running func(bool)
	busy    bool

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

// laterShare is the part of the hash slots' time the second class may
// use, and laterBurst how long it may hash at once from a full budget,
// per slot. On 2 CPUs and argon2id at Django's parameters (18-25 ms a
// hash here) that is some 4-5 checks a second for every suspect source
// together, with a burst of about 5: a flood is slowed to that, and a
// person on a suspect source waits at most a few seconds.
const (
	laterShare = 0.05
	laterBurst = 50 * time.Millisecond
)

// laterMaxWait bounds the second class's debt to what its budget earns
// in that time, so that a person on a suspect source (one typo) waits at
// most that long for the budget whatever a hash costs: a project's
// legacy hashes can take a second each (Django 3.2's argon2, 100 MiB and
// 8 lanes), and one such check put the budget ten seconds in debt, so
// that the next logins from suspect sources waited past the request
// timeout (503) with the CPUs idle. Past a flood of such hashes the
// second class may then take up to a hash every laterMaxWait; floods of
// unknown users hash gatehouse's own dummy hash, far cheaper.
const laterMaxWait = 2 * time.Second

// chargeCap bounds a hash's charge to the second class's budget, in
// multiples of the shortest time a hash of its kind took; maxKinds bounds
// the kinds remembered (algorithms: a handful).
const (
	chargeCap = 2
	maxKinds  = 32
)

// waiter is a caller of do blocked for a slot; ready receives the slot,
// and charged is what was taken from the second class's budget for it.
type waiter struct {
	ready   chan struct{}
	charged time.Duration
}

// HashConcurrency is how many password hashes a Service computes at once.
func HashConcurrency() int { return runtime.GOMAXPROCS(0) }

func newHashSlots(grew func(int64), running func(bool), maxWaiting int) *hashSlots {
	n := HashConcurrency()
	if maxWaiting <= 0 {
		maxWaiting = n * 32
	}
	h := &hashSlots{slots: n, free: n, grew: grew, running: running, maxWaiting: maxWaiting}
	if h.free > 1 {
		h.reserve = 1
	}
	h.budget(laterShare*float64(n), float64(n)*float64(laterBurst))
	return h
}

// budget sets the second class's budget: rate nanoseconds of hashing
// earned per nanosecond, at most burst nanoseconds held; it starts full.
func (h *hashSlots) budget(rate, burst float64) {
	h.laterRate, h.laterBurst, h.laterCredit, h.laterAt = rate, burst, burst, time.Now()
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

// do runs f, a hash of kind, in a slot of class hashFirst; see doAs.
func (h *hashSlots) do(ctx context.Context, kind string, f func() (whole bool)) error {
	return h.doAs(ctx, hashFirst, kind, f)
}

// doAs runs f, a hash of kind (its algorithm), in a slot, waiting in class
// for one if all are taken. It gives up and returns ctx's error, without
// running f, when ctx ends first: a request whose client has gone does not
// spend a hash that nobody will read. f reports whether it computed a
// whole hash (a new hash, the dummy hash, a check that matched), whose
// time the slots learn from (chargeCap); a check that failed did not: a
// malformed stored hash fails at once, and would make its kind's checks
// look free.
func (h *hashSlots) doAs(ctx context.Context, class int, kind string, f func() (whole bool)) error {
	charged, err := h.acquire(ctx, class)
	if err != nil {
		return err
	}
	start := time.Now()
	whole := false
	defer func() { h.release(class, kind, whole, charged, time.Since(start)) }()
	whole = f()
	return nil
}

// acquire takes a slot for class, waiting if need be, and returns what
// was charged to the second class's budget for it.
func (h *hashSlots) acquire(ctx context.Context, class int) (time.Duration, error) {
	h.mu.Lock()
	if (class == hashFirst && h.free > 0 && len(h.queues[0]) == 0) ||
		(class == hashLater && h.free > h.reserve && len(h.queues[0])+len(h.queues[1]) == 0 && h.laterMayRun(time.Now())) {
		h.free--
		charged := h.charge(class)
		h.tell()
		h.mu.Unlock()
		h.acquired.Add(1)
		return charged, nil
	}
	// Each class has its own limit, so that a flood queued in the second
	// cannot fill the queue the first class waits in.
	if h.maxWaiting > 0 && len(h.queues[class]) >= h.maxWaiting {
		h.mu.Unlock()
		h.refused.Add(1)
		return 0, errHashQueueFull
	}
	h.waiting.Add(1)
	start := time.Now()
	w := &waiter{ready: make(chan struct{}, 1)}
	h.queues[class] = append(h.queues[class], w)
	h.dispatch(start) // the budget alone may be what it waits for: set its timer
	h.mu.Unlock()
	select {
	case <-w.ready:
		h.waiting.Add(-1)
		h.acquired.Add(1)
		h.waitNanos.Add(int64(time.Since(start)))
		return w.charged, nil
	case <-ctx.Done():
	}
	h.mu.Lock()
	q := h.queues[class]
	for i, x := range q {
		if x == w {
			h.queues[class] = append(q[:i:i], q[i+1:]...)
			h.mu.Unlock()
			h.waiting.Add(-1)
			return 0, ctx.Err()
		}
	}
	h.mu.Unlock()
	// Handed a slot as ctx ended: pass it on, and the budget back.
	<-w.ready
	h.waiting.Add(-1)
	h.release(class, "", false, w.charged, 0)
	return 0, ctx.Err()
}

// release frees a slot of class that was charged charged and hashed for
// worked (a hash of kind, whole or not; 0 when none ran), and hands free
// slots to the waiters that may have them.
func (h *hashSlots) release(class int, kind string, whole bool, charged, worked time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	if whole {
		h.learn(kind, worked)
	}
	cost := h.cost(kind, worked)
	if class == hashLater && h.laterRate > 0 {
		h.refill(now)
		h.laterCredit += float64(charged - cost)
		h.floorDebt()
		if cost > 0 {
			h.laterEst = cost
		}
	}
	h.free++
	h.dispatch(now)
}

// cost is what a hash of kind that took worked is charged: worked, at most
// chargeCap times the shortest full computation of kind learnt. h.mu is
// held.
func (h *hashSlots) cost(kind string, worked time.Duration) time.Duration {
	if f, ok := h.fastest[kind]; ok && worked > chargeCap*f {
		return chargeCap * f
	}
	return max(worked, 0)
}

// learn records that a whole hash of kind took d. h.mu is held.
func (h *hashSlots) learn(kind string, d time.Duration) {
	if d <= 0 {
		return
	}
	f, ok := h.fastest[kind]
	switch {
	case ok && d >= f:
	case !ok && len(h.fastest) >= maxKinds:
	default:
		if h.fastest == nil {
			h.fastest = map[string]time.Duration{}
		}
		h.fastest[kind] = d
	}
}

// dispatch hands free slots to waiters: the first class's, then the
// second's while a slot beyond the reserve is free and its budget allows;
// when only the budget holds the second class back, a timer dispatches
// again once it has refilled. h.mu is held.
func (h *hashSlots) dispatch(now time.Time) {
	defer h.tell()
	for h.free > 0 {
		class := hashFirst
		if len(h.queues[hashFirst]) == 0 {
			if len(h.queues[hashLater]) == 0 || h.free <= h.reserve {
				return
			}
			if !h.laterMayRun(now) {
				h.wakeForBudget()
				return
			}
			class = hashLater
		}
		q := h.queues[class]
		w := q[0]
		q[0] = nil
		h.queues[class] = q[1:]
		h.free--
		w.charged = h.charge(class)
		w.ready <- struct{}{}
	}
}

// tell passes on to running whether any slot is taken, if that changed
// since it was last told. h.mu is held.
func (h *hashSlots) tell() {
	if busy := h.free < h.slots; busy != h.busy {
		h.busy = busy
		if h.running != nil {
			h.running(busy)
		}
	}
}

// laterMayRun reports whether the second class's budget lets a hash start
// now (it is not in debt). h.mu is held.
func (h *hashSlots) laterMayRun(now time.Time) bool {
	if h.laterRate == 0 {
		return true
	}
	h.refill(now)
	return h.laterCredit >= 0
}

func (h *hashSlots) refill(now time.Time) {
	if d := now.Sub(h.laterAt); d > 0 {
		h.laterCredit = min(h.laterBurst, h.laterCredit+h.laterRate*float64(d))
		h.laterAt = now
	}
}

// charge takes a hash's expected time from the second class's budget as
// it starts. h.mu is held.
func (h *hashSlots) charge(class int) time.Duration {
	if class != hashLater || h.laterRate == 0 {
		return 0
	}
	h.laterCredit -= float64(h.laterEst)
	h.floorDebt()
	return h.laterEst
}

// floorDebt keeps the second class's debt within laterMaxWait of its
// earnings. h.mu is held.
func (h *hashSlots) floorDebt() {
	h.laterCredit = max(h.laterCredit, -h.laterRate*float64(laterMaxWait))
}

// wakeForBudget dispatches again once the second class's budget is out of
// debt. h.mu is held.
func (h *hashSlots) wakeForBudget() {
	if h.laterTimer {
		return
	}
	h.laterTimer = true
	wait := time.Duration(-h.laterCredit/h.laterRate) + time.Millisecond
	time.AfterFunc(wait, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.laterTimer = false
		h.dispatch(time.Now())
	})
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
	h.tell()
	h.mu.Unlock()
	defer h.release(hashFirst, "", false, 0, 0)
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
