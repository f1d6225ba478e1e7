package accounts

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/memstore"
	"github.com/gatehouse-auth/gatehouse/password"
)

// idle runs only with a free slot and nobody queued; do always runs.
func TestHashSlotsIdle(t *testing.T) {
	h := &hashSlots{free: 2}
	ran := 0
	if !h.idle(func() { ran++ }) || ran != 1 {
		t.Fatal("idle did not run with every slot free")
	}

	release := make(chan struct{})
	started := make(chan struct{}, 3)
	for i := 0; i < 2; i++ {
		go h.do(context.Background(), "", plain(func() { started <- struct{}{}; <-release }))
	}
	<-started
	<-started
	if h.idle(func() { ran++ }) {
		t.Fatal("idle ran with every slot taken")
	}

	// A caller whose context ends while it waits gives up without running.
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error)
	go func() { gaveUp <- h.do(ctx, "", plain(func() { ran += 100 })) }()
	for h.waiting.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-gaveUp; err != context.Canceled || h.waiting.Load() != 0 {
		t.Fatalf("cancelled wait: %v, waiting %d", err, h.waiting.Load())
	}

	// A third caller queues; once a slot frees it takes it, and while it
	// waited idle must not have jumped ahead of it.
	queued := make(chan struct{})
	go h.do(context.Background(), "", plain(func() { close(queued); <-release }))
	for h.waiting.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if h.idle(func() { ran++ }) {
		t.Fatal("idle ran while a caller waited for a slot")
	}
	close(release)
	<-queued
	for h.taken() > 0 {
		time.Sleep(time.Millisecond)
	}
	if h.waiting.Load() != 0 || !h.idle(func() { ran++ }) || ran != 2 {
		t.Fatalf("after the queue drained: waiting %d, ran %d", h.waiting.Load(), ran)
	}
}

// Past maxWaiting callers waiting, do refuses at once with EUNAVAILABLE
// instead of queueing a caller who would time out first.
func TestHashSlotsRefuseWhenTheQueueIsFull(t *testing.T) {
	h := newHashSlots(nil, nil, 2)
	h.free = 1
	release := make(chan struct{})
	started := make(chan struct{})
	go h.do(context.Background(), "", plain(func() { close(started); <-release }))
	<-started
	done := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() { done <- h.do(context.Background(), "", plain(func() {})) }()
	}
	for h.waiting.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	err := h.do(context.Background(), "", plain(func() { t.Error("ran past a full queue") }))
	if gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE || time.Since(start) > 100*time.Millisecond {
		t.Fatalf("third waiter: %v after %v", err, time.Since(start))
	}
	if h.waiting.Load() != 2 {
		t.Fatalf("waiting %d after a refusal", h.waiting.Load())
	}
	close(release)
	for i := 0; i < 2; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// taken is how many of 2 slots are taken.
func (h *hashSlots) taken() int { return 2 - h.freeNow() }

func (h *hashSlots) freeNow() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.free
}

// A freed slot goes to the first class before the second, each in order of
// arrival, whatever the order they queued in.
func TestHashSlotsServeTheFirstClassFirst(t *testing.T) {
	h := &hashSlots{free: 1}
	release := make(chan struct{})
	started := make(chan struct{})
	go h.do(context.Background(), "", plain(func() { close(started); <-release }))
	<-started
	var mu sync.Mutex
	var order []string
	done := make(chan struct{}, 4)
	enqueue := func(name string, class int) {
		n := h.waiting.Load()
		go func() {
			h.doAs(context.Background(), class, "", plain(func() { mu.Lock(); order = append(order, name); mu.Unlock() }))
			done <- struct{}{}
		}()
		for h.waiting.Load() == n {
			time.Sleep(time.Millisecond)
		}
	}
	enqueue("flood-1", hashLater)
	enqueue("flood-2", hashLater)
	enqueue("user-1", hashFirst)
	enqueue("user-2", hashFirst)
	close(release)
	for i := 0; i < 4; i++ {
		<-done
	}
	if got := strings.Join(order, ","); got != "user-1,user-2,flood-1,flood-2" {
		t.Fatalf("served %s", got)
	}
	if h.freeNow() != 1 || h.waiting.Load() != 0 {
		t.Fatalf("free %d waiting %d", h.freeNow(), h.waiting.Load())
	}
}

// A caller that gives up while queued leaves the queue; one handed a slot
// as it gives up passes the slot on.
func TestHashSlotsCancelWhileQueued(t *testing.T) {
	h := &hashSlots{free: 1}
	release := make(chan struct{})
	started := make(chan struct{})
	go h.do(context.Background(), "", plain(func() { close(started); <-release }))
	<-started
	for i := 0; i < 50; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error)
		go func() { errc <- h.doAs(ctx, i%2, "", plain(func() {})) }()
		for h.waiting.Load() == 0 {
			time.Sleep(time.Microsecond)
		}
		cancel()
		if err := <-errc; err != context.Canceled {
			t.Fatalf("cancelled: %v", err)
		}
	}
	close(release)
	for h.freeNow() != 1 {
		time.Sleep(time.Millisecond)
	}
	ran := false
	if err := h.do(context.Background(), "", plain(func() { ran = true })); err != nil || !ran {
		t.Fatalf("after the cancellations: %v", err)
	}
	h.mu.Lock()
	queued := len(h.queues[0]) + len(h.queues[1])
	h.mu.Unlock()
	if queued != 0 || h.waiting.Load() != 0 {
		t.Fatal("a cancelled waiter stayed queued")
	}
}

// With two slots or more, the second class leaves the last free slot to
// the first: a flood in the second class never makes a first-class caller
// wait.
func TestHashSlotsKeepASlotForTheFirstClass(t *testing.T) {
	h := &hashSlots{free: 2, reserve: 1}
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	go h.doAs(context.Background(), hashLater, "", plain(func() { started <- struct{}{}; <-release }))
	<-started
	queued := make(chan struct{})
	go func() {
		h.doAs(context.Background(), hashLater, "", plain(func() {}))
		close(queued)
	}()
	for h.waiting.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ran := false
	done := make(chan struct{})
	go func() { h.do(context.Background(), "", plain(func() { ran = true })); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a first-class caller waited behind the second class with a slot free")
	}
	if !ran {
		t.Fatal("did not run")
	}
	select {
	case <-queued:
		t.Fatal("the second class took the reserved slot")
	default:
	}
	close(release)
	<-queued
	if h.freeNow() != 2 {
		t.Fatalf("free %d after all", h.freeNow())
	}
}

// The second class hashes within its budget of time even with slots free;
// a waiter held by the budget alone is woken when it refills, and the
// first class is never held by it.
func TestHashSlotsSecondClassBudget(t *testing.T) {
	h := &hashSlots{slots: 4, free: 4, reserve: 1}
	const rate = 0.1 // 100 ms of hashing a second
	h.budget(rate, float64(20*time.Millisecond))
	const hash = 10 * time.Millisecond
	var mu sync.Mutex
	var worked time.Duration
	stop := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < 6; i++ { // a flood: each caller hashes again as soon as it is served
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				h.doAs(context.Background(), hashLater, "sleep", plain(func() {
					time.Sleep(hash)
					mu.Lock()
					worked += hash
					mu.Unlock()
				}))
			}
		}()
	}
	// Meanwhile the first class finds a slot at once, every time.
	for i := 0; i < 20; i++ {
		t0 := time.Now()
		if err := h.do(context.Background(), "", plain(func() {})); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(t0); d > 50*time.Millisecond {
			t.Fatalf("a first-class caller waited %v during the flood", d)
		}
		time.Sleep(40 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	elapsed := time.Since(start)
	mu.Lock()
	got := worked
	mu.Unlock()
	// What the budget allows: its burst, what it earned, and the hashes
	// under way when it ran out (one per free slot beyond the reserve).
	allowed := 20*time.Millisecond + time.Duration(rate*float64(elapsed)) + 3*hash
	if got > allowed {
		t.Fatalf("the second class hashed %v in %v; its budget allows %v", got, elapsed, allowed)
	}
	// It was served, not starved: at least half of what it earned.
	if got < time.Duration(rate*float64(elapsed)/2) {
		t.Fatalf("the second class hashed only %v in %v", got, elapsed)
	}
	if h.freeNow() != 4 || h.waiting.Load() != 0 {
		t.Fatalf("free %d waiting %d after the flood", h.freeNow(), h.waiting.Load())
	}
}

// A second-class caller held by the budget gives up when its context ends,
// leaving the queue; the next one is still woken by the budget's refill.
func TestHashSlotsBudgetWaitCancelled(t *testing.T) {
	h := &hashSlots{slots: 2, free: 2, reserve: 1}
	h.budget(0.5, 0)
	h.laterCredit = -float64(100 * time.Millisecond) // 200 ms of debt
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := h.doAs(ctx, hashLater, "", plain(func() { t.Error("ran in debt") })); err != context.DeadlineExceeded {
		t.Fatalf("held by the budget: %v", err)
	}
	h.mu.Lock()
	queued := len(h.queues[hashLater])
	h.mu.Unlock()
	if queued != 0 || h.waiting.Load() != 0 {
		t.Fatal("a cancelled waiter stayed queued")
	}
	t0 := time.Now()
	ran := false
	if err := h.doAs(context.Background(), hashLater, "", plain(func() { ran = true })); err != nil || !ran {
		t.Fatalf("after the debt: %v", err)
	}
	if d := time.Since(t0); d < 100*time.Millisecond || d > 5*time.Second {
		t.Fatalf("served after %v; the debt lasted about 180 ms more", d)
	}
}

// A flood queued in the second class does not count against the first
// class's queue: the first still waits where the second is refused.
func TestHashSlotsQueuesLimitedPerClass(t *testing.T) {
	h := &hashSlots{slots: 1, free: 1, maxWaiting: 2}
	release := make(chan struct{})
	started := make(chan struct{})
	go h.do(context.Background(), "", plain(func() { close(started); <-release }))
	<-started
	done := make(chan error, 4)
	for i := 0; i < 2; i++ {
		go func() { done <- h.doAs(context.Background(), hashLater, "", plain(func() {})) }()
	}
	for h.waiting.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	if err := h.doAs(context.Background(), hashLater, "", plain(func() {})); gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE {
		t.Fatalf("a third second-class waiter: %v", err)
	}
	go func() { done <- h.do(context.Background(), "", plain(func() {})) }()
	for h.waiting.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	for i := 0; i < 3; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// A hash is charged at most chargeCap times the shortest full computation
// of its kind learnt: a check that a loaded machine stretched does not put
// the second class's budget in debt by its wall time.
func TestHashSlotsChargeCappedByKind(t *testing.T) {
	h := &hashSlots{slots: 2, free: 2}
	ms := time.Millisecond
	if got := h.cost("argon2", 100*ms); got != 100*ms {
		t.Fatalf("before any is learnt: charged %v, want its time", got)
	}
	h.learn("argon2", 5*ms)
	for _, c := range []struct {
		learn        time.Duration // learnt first (0: nothing)
		kind         string
		worked, want time.Duration
	}{
		{0, "argon2", 4 * ms, 4 * ms},        // under the cap: its time
		{0, "argon2", 100 * ms, 10 * ms},     // stretched: twice the shortest
		{3 * ms, "argon2", 100 * ms, 6 * ms}, // a new shortest moves the cap
		{9 * ms, "argon2", 100 * ms, 6 * ms}, // a longer one does not
		{0, "bcrypt", 100 * ms, 100 * ms},    // another kind, its own
		{0, "argon2", 0, 0},                  // no hash ran
	} {
		h.learn("argon2", c.learn)
		if got := h.cost(c.kind, c.worked); got != c.want {
			t.Fatalf("cost(%s, %v) = %v, want %v", c.kind, c.worked, got, c.want)
		}
	}
	for i := len(h.fastest); i < maxKinds; i++ {
		h.learn(fmt.Sprint("kind", i), ms)
	}
	h.learn("one too many", ms)
	if got := h.cost("one too many", 100*ms); got != 100*ms || len(h.fastest) != maxKinds {
		t.Fatalf("a kind past maxKinds: cost %v, %d kinds kept", got, len(h.fastest))
	}

	// Through the slots: a whole hash of 1 ms teaches the kind; a
	// second-class hash of it that took 50 ms then costs the budget about
	// 2 ms, not 50, and teaches nothing (it reported no whole hash).
	h = &hashSlots{slots: 2, free: 2, reserve: 1}
	h.budget(1e-9, float64(100*ms)) // starts full; refills too slowly to matter
	for _, f := range []func() bool{
		func() bool { time.Sleep(ms); return true },
		plain(func() { time.Sleep(50 * ms) }),
	} {
		if err := h.doAs(context.Background(), hashLater, "argon2", f); err != nil {
			t.Fatal(err)
		}
	}
	h.mu.Lock()
	credit, fastest := time.Duration(h.laterCredit), h.fastest["argon2"]
	h.mu.Unlock()
	if fastest < ms || fastest > 20*ms {
		t.Fatalf("learnt %v from a whole hash of 1 ms", fastest)
	}
	if credit < 100*ms-3*fastest-ms {
		t.Fatalf("budget left %v of 100 ms after a %v hash and a 50 ms one charged twice that", credit, fastest)
	}
}

// Logins teach the hash slots what a whole hash of a kind costs from the
// dummy hash and from checks that matched, never from a check that failed:
// a malformed stored hash fails at once and would make its kind's checks
// (a flood's among them) look free to the second class's budget.
func TestLoginsLearnWholeHashesOnly(t *testing.T) {
	mem := memstore.New()
	hasher := password.New(password.Params{Memory: 64, Time: 1, Threads: 1}, nil)
	s := New(Deps{Store: mem, Hasher: hasher})
	ctx := context.Background()
	good, err := hasher.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	kind := password.Algorithm(good)
	for _, u := range []gatehouse.User{
		{Username: "broken", Password: kind + "$argon2id$v=19$m=64,t=1,p=1$bm90$bm90", IsActive: true},
		{Username: "alice", Password: good, IsActive: true},
	} {
		if err := mem.CreateUser(ctx, &u, nil); err != nil {
			t.Fatal(err)
		}
	}
	learnt := func() (time.Duration, bool) {
		s.hashing.mu.Lock()
		defer s.hashing.mu.Unlock()
		d, ok := s.hashing.fastest[kind]
		return d, ok
	}
	if _, ok, err := s.CheckPassword(ctx, gatehouse.LoginDRFToken, "broken", "anything"); ok || err != nil {
		t.Fatalf("a malformed hash: %v %v", ok, err)
	}
	if d, ok := learnt(); ok {
		t.Fatalf("a failed check was learnt from: %v", d)
	}
	if _, ok, err := s.CheckPassword(ctx, gatehouse.LoginDRFToken, "alice", "correct horse"); !ok || err != nil {
		t.Fatalf("a match: %v %v", ok, err)
	}
	if d, ok := learnt(); !ok || d <= 0 {
		t.Fatal("a matching check was not learnt from")
	}
	s.hashing.mu.Lock()
	delete(s.hashing.fastest, kind)
	s.hashing.mu.Unlock()
	if _, ok, err := s.CheckPassword(ctx, gatehouse.LoginDRFToken, "nobody", "anything"); ok || err != nil {
		t.Fatalf("an unknown user: %v %v", ok, err)
	}
	if d, ok := learnt(); !ok || d <= 0 {
		t.Fatal("the dummy hash was not learnt from")
	}
}

// The failed-login floor learns a kind's time from checks that compute a
// hash, a wrong password's included, never from a stored value refused
// unread: failing logins of a user whose hash of the slowest kind is
// malformed would otherwise pull the floor down to the faster kinds', and
// a wrong password for a well-formed one would show through.
func TestFloorLearnsComputedChecksOnly(t *testing.T) {
	mem := memstore.New()
	hasher := password.New(password.Params{Memory: 64, Time: 1, Threads: 1}, nil)
	s := New(Deps{Store: mem, Hasher: hasher})
	ctx := context.Background()
	// Django's PBKDF2 at 260,000 iterations: the slowest kind here.
	const slow = "pbkdf2_sha256$260000$pc41zxZhbaGbksjZDvLtj3$1UCj9gFcVWx0yA62BBUHvfcXj+KShmMPseAyMxvJljk="
	for _, u := range []gatehouse.User{
		{Username: "legacy", Password: slow, IsActive: true},
		{Username: "broken", Password: "pbkdf2_sha256$260000$salt$bm90", IsActive: true},
	} {
		if err := mem.CreateUser(ctx, &u, nil); err != nil {
			t.Fatal(err)
		}
	}
	fail := func(username string) {
		t.Helper()
		if _, ok, err := s.CheckPassword(ctx, gatehouse.LoginDRFToken, username, "wrong"); ok || err != nil {
			t.Fatalf("%s: %v %v", username, ok, err)
		}
	}
	learnt := func() (timing, bool) {
		s.floor.mu.Lock()
		defer s.floor.mu.Unlock()
		k, ok := s.floor.kinds[password.AlgPBKDF2SHA256]
		if !ok {
			return timing{}, false
		}
		return *k, true
	}
	fail("broken")
	if k, ok := learnt(); ok {
		t.Fatalf("a hash refused unread was learnt from: %+v", k)
	}
	fail("legacy")
	before, ok := learnt()
	if !ok || before.mean <= 0 {
		t.Fatal("a wrong password against a PBKDF2 hash was not learnt from")
	}
	for range 20 {
		fail("broken")
	}
	if after, _ := learnt(); after != before {
		t.Fatalf("malformed hashes moved the PBKDF2 floor from %+v to %+v", before, after)
	}
}

// plain is f as a hash that reports no whole computation (nothing learnt).
func plain(f func()) func() bool { return func() bool { f(); return false } }

// running hears when hashing starts and stops, whichever way a slot is
// taken (at once, from the queue, idle) or given back (release, a waiter
// whose context ended), and only then: a slot handed from one hash to
// the next is no change.
func TestHashSlotsTellWhetherHashesRun(t *testing.T) {
	var mu sync.Mutex
	var told []bool
	h := newHashSlots(nil, func(b bool) { mu.Lock(); told = append(told, b); mu.Unlock() }, 0)
	h.slots, h.free = 2, 2
	want := func(step string, w ...bool) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if fmt.Sprint(told) != fmt.Sprint(w) {
			t.Fatalf("%s: told %v, want %v", step, told, w)
		}
		told = nil
	}
	release := make(chan struct{})
	started := make(chan struct{}, 4)
	done := make(chan error, 4)
	hold := func() { started <- struct{}{}; <-release }
	for i := 0; i < 2; i++ {
		go func() { done <- h.do(context.Background(), "", plain(hold)) }()
		<-started
	}
	want("two hashes started", true)
	go func() { done <- h.do(context.Background(), "", plain(hold)) }()
	for h.waiting.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	release <- struct{}{} // the first ends: its slot goes to the waiter
	<-started
	<-done
	want("a slot handed on")
	release <- struct{}{}
	release <- struct{}{}
	<-done
	<-done
	want("the last hash ended", false)

	if !h.idle(func() {}) {
		t.Fatal("idle did not run")
	}
	want("idle", true, false)

	// A waiter whose context ends as it is handed a slot passes it on.
	h.slots, h.free = 1, 1
	go func() { done <- h.do(context.Background(), "", plain(hold)) }()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- h.do(ctx, "", plain(hold)) }()
	for h.waiting.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a cancelled waiter ran")
	}
	release <- struct{}{}
	<-done
	want("one hash, one waiter gone", true, false)
}

// One expensive second-class hash (a project's legacy argon2, a second
// or more) does not hold the next suspect caller past laterMaxWait: the
// budget's debt is floored at what it earns in that time. Before, a
// 1.6 s check at a budget of 0.1 s a second held the next one 14 s, past
// the request timeout, with the CPUs idle. Here a 300 ms hash at 0.05 s
// a second would hold the next caller 6 s.
func TestHashSlotsDebtBounded(t *testing.T) {
	h := &hashSlots{slots: 2, free: 2, reserve: 1}
	const rate = 0.05
	h.budget(rate, float64(10*time.Millisecond))
	if err := h.doAs(context.Background(), hashLater, "slow", plain(func() { time.Sleep(300 * time.Millisecond) })); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.doAs(ctx, hashLater, "slow", plain(func() {})); err != nil {
		t.Fatalf("the next suspect caller: %v after %v", err, time.Since(start))
	}
	if d := time.Since(start); d > laterMaxWait+500*time.Millisecond {
		t.Fatalf("the next suspect caller waited %v", d)
	}
}
