package throttle_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/throttle"
)

func TestParseRate(t *testing.T) {
	for in, want := range map[string]throttle.Rate{
		"100/day": {100, 24 * time.Hour}, "10/min": {10, time.Minute}, "5/s": {5, time.Second}, "5/second": {5, time.Second},
		"1/h": {1, time.Hour}, "3/HOUR": {3, time.Hour}, " 7 / m ": {7, time.Minute}, "5/15m": {5, 15 * time.Minute},
		"none": {}, "": {}, "NONE": {},
	} {
		got, err := throttle.ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"10", "10/", "/min", "0/min", "-1/min", "x/min", "10/week", "10/0s", "10/-5m", "99999999999/s", "10/\x00"} {
		if r, err := throttle.ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) = %v, want an error", bad, r)
		}
	}
}

func TestParseRates(t *testing.T) {
	rs, err := throttle.ParseRates("anon=100/day, login=5/min,custom=2/s", throttle.DefaultRates())
	if err != nil {
		t.Fatal(err)
	}
	if rs["anon"] != (throttle.Rate{100, 24 * time.Hour}) || rs["login"] != (throttle.Rate{5, time.Minute}) ||
		rs["custom"] != (throttle.Rate{2, time.Second}) || rs["sign_up"] != throttle.DefaultRates()["sign_up"] {
		t.Fatalf("%v", rs)
	}
	if back, err := throttle.ParseRates(rs.String(), nil); err != nil || back.String() != rs.String() {
		t.Fatalf("round trip: %v %v", back, err)
	}
	if rs, _ := throttle.ParseRates("login=none", throttle.DefaultRates()); !rs["login"].Off() {
		t.Fatal("login=none left a rate")
	}
	for _, bad := range []string{"login", "=5/min", "login=5/week", "login=fast"} {
		if _, err := throttle.ParseRates(bad, nil); err == nil {
			t.Errorf("ParseRates(%q): no error", bad)
		}
	}
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock                   { return &clock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)} }
func waitOf(t *testing.T, err error) time.Duration {
	t.Helper()
	if gatehouse.ErrorCode(err) != gatehouse.ETHROTTLED {
		t.Fatalf("want ETHROTTLED, got %v", err)
	}
	return gatehouse.WaitOf(err)
}

// A scope's rate: N at once, then the wait DRF would announce; scopes and
// identities are counted apart; a scope without a rate is never refused.
func TestLimiter(t *testing.T) {
	c := newClock()
	l := throttle.NewLimiter(throttle.NewMemory(), throttle.Rates{"login": {3, time.Minute}}, c.now)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := l.Allow(ctx, "login", "198.51.100.1"); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	err := l.Allow(ctx, "login", "198.51.100.1")
	if w := waitOf(t, err); w != 20*time.Second || throttle.Seconds(w) != 20 {
		t.Fatalf("wait %v", w)
	}
	if err := l.Allow(ctx, "login", "198.51.100.2"); err != nil {
		t.Fatalf("another address: %v", err)
	}
	for i := 0; i < 100; i++ {
		if err := l.Allow(ctx, "anon", "198.51.100.1"); err != nil {
			t.Fatalf("a scope without a rate: %v", err)
		}
	}
	if l.Enabled("anon") || !l.Enabled("login") {
		t.Fatal("Enabled")
	}
	c.advance(20 * time.Second)
	if err := l.Allow(ctx, "login", "198.51.100.1"); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
	if throttle.Seconds(1500*time.Millisecond) != 2 || throttle.Seconds(0) != 1 {
		t.Fatal("Seconds rounds up, at least 1")
	}
}

var (
	attacker = netip.MustParseAddr("203.0.113.66")
	owner    = netip.MustParseAddr("198.51.100.7")
)

func guard(c *clock) *throttle.Guard {
	return throttle.NewGuard(throttle.NewMemory(), throttle.GuardConfig{}, c.now)
}

func fail(t *testing.T, g *throttle.Guard, account string, src netip.Addr) {
	t.Helper()
	failKind(t, g, throttle.KindUser, account, src)
}

func failKind(t *testing.T, g *throttle.Guard, kind, account string, src netip.Addr) {
	t.Helper()
	a, err := g.Begin(context.Background(), kind, account, src)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	if err := a.Failed(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// One source: 5 free failures, then 1 s, 2 s, 4 s... up to 15 min; other
// sources and other accounts are not slowed; a success clears it.
func TestGuardBackOffPerSource(t *testing.T) {
	c := newClock()
	g := guard(c)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		fail(t, g, "alice", attacker)
	}
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		_, err := g.Begin(ctx, throttle.KindUser, "alice", attacker)
		if w := waitOf(t, err); w != want {
			t.Fatalf("after %d failures: wait %v, want %v", 5+i, w, want)
		}
		if gatehouse.ErrorReason(err) != gatehouse.ReasonRate {
			t.Fatalf("reason %q", gatehouse.ErrorReason(err))
		}
		c.advance(want)
		fail(t, g, "alice", attacker)
	}
	for i := 0; i < 30; i++ { // the back-off tops out at 15 minutes
		c.advance(16 * time.Minute)
		fail(t, g, "bob", attacker)
	}
	c.advance(15*time.Minute - time.Second)
	if _, err := g.Begin(ctx, throttle.KindUser, "bob", attacker); waitOf(t, err) != time.Second {
		t.Fatalf("the longest back-off is 15 min: %v", err)
	}
	if _, err := g.Begin(ctx, throttle.KindUser, "alice", owner); err != nil {
		t.Fatalf("the owner's source is not slowed by the attacker's failures: %v", err)
	}
	if _, err := g.Begin(ctx, throttle.KindClient, "alice", attacker); err != nil {
		t.Fatalf("a client named alice is another account: %v", err)
	}
	c.advance(time.Hour)
	a, err := g.Begin(ctx, throttle.KindUser, "alice", attacker)
	if err != nil {
		t.Fatal(err)
	}
	a.Succeeded(ctx)
	for i := 0; i < 5; i++ {
		fail(t, g, "alice", attacker) // free again after the success
	}
}

// Many sources together: 100 failures an hour lock the account, to sources
// without a success for it, for at most an hour and a sixth; the owner's known source
// still gets in.
func TestGuardAccountLockSparesKnownSources(t *testing.T) {
	c := newClock()
	g := guard(c)
	ctx := context.Background()
	a, err := g.Begin(ctx, throttle.KindUser, "alice", owner)
	if err != nil {
		t.Fatal(err)
	}
	a.Succeeded(ctx) // the owner logged in from here before
	c.advance(time.Minute)
	for i := 0; i < 100; i++ { // a botnet: each address fails once
		fail(t, g, "alice", netip.AddrFrom4([4]byte{10, 0, byte(i / 250), byte(i % 250)}))
	}
	newcomer := netip.MustParseAddr("192.0.2.200")
	_, err = g.Begin(ctx, throttle.KindUser, "alice", newcomer)
	w := waitOf(t, err)
	if gatehouse.ErrorReason(err) != gatehouse.ReasonLocked || w <= 0 || w > 70*time.Minute {
		t.Fatalf("a new source after 100 failures: %v (wait %v)", err, w)
	}
	if _, err := g.Begin(ctx, throttle.KindUser, "alice", owner); err != nil {
		t.Fatalf("the owner's known source is let through: %v", err)
	}
	if _, err := g.Begin(ctx, throttle.KindUser, "carol", newcomer); err != nil {
		t.Fatalf("another account: %v", err)
	}
	c.advance(w)
	if _, err := g.Begin(ctx, throttle.KindUser, "alice", newcomer); err != nil {
		t.Fatalf("after the announced wait (%v): %v", w, err)
	}
	c.advance(time.Hour)
	if _, err := g.Begin(ctx, throttle.KindUser, "alice", newcomer); err != nil {
		t.Fatalf("an hour later: %v", err)
	}
}

// ASVS 2.2.1: however the attempts are spread, no more than 100 failures
// reach an account from unknown sources in any hour.
func TestGuardAtMost100FailuresPerHour(t *testing.T) {
	c := newClock()
	g := guard(c)
	ctx := context.Background()
	var times []time.Time
	for i := 0; i < 20000; i++ {
		src := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		a, err := g.Begin(ctx, throttle.KindUser, "alice", src)
		if err == nil {
			a.Failed(ctx)
			times = append(times, c.now())
		}
		c.advance(7 * time.Second) // 20000 tries over ~39 hours
	}
	for i := range times {
		j := i
		for j < len(times) && times[j].Sub(times[i]) < time.Hour {
			j++
		}
		if j-i > 100 {
			t.Fatalf("%d failures in the hour from %v", j-i, times[i])
		}
	}
	if len(times) < 39*75 {
		t.Fatalf("only %d attempts let through in 39 hours: the lock is stricter than it needs to be", len(times))
	}
}

// Names that no store could key (NUL, invalid UTF-8, kilobytes) are
// tracked like any other, and an invalid source counts as one source.
func TestGuardOddNames(t *testing.T) {
	c := newClock()
	g := guard(c)
	for _, name := range []string{"a\x00b", "\xff\xfe", string(make([]byte, 5000))} {
		for i := 0; i < 5; i++ {
			fail(t, g, name, netip.Addr{})
		}
		if _, err := g.Begin(context.Background(), throttle.KindUser, name, netip.Addr{}); waitOf(t, err) != time.Second {
			t.Fatalf("%q: %v", name, err)
		}
	}
}

// An IPv6 /64 is one source.
func TestSourceOf(t *testing.T) {
	for in, want := range map[string]string{"203.0.113.5": "203.0.113.5", "::ffff:203.0.113.5": "203.0.113.5",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64", "2001:db8:1:2::9": "2001:db8:1:2::/64"} {
		if got := throttle.SourceOf(netip.MustParseAddr(in)); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
	if throttle.SourceOf(netip.Addr{}) != "-" {
		t.Error("invalid")
	}
}

// With LocalHint a process reads the store only for accounts it saw fail
// lately; the limits hold once it has.
func TestGuardLocalHint(t *testing.T) {
	c := newClock()
	store := &countingStore{ThrottleStore: throttle.NewMemory()}
	g := throttle.NewGuard(store, throttle.GuardConfig{LocalHint: true}, c.now)
	ctx := context.Background()
	for i := 0; i < 50; i++ {
		a, err := g.Begin(ctx, throttle.KindClient, "app", owner)
		if err != nil {
			t.Fatal(err)
		}
		a.Succeeded(ctx)
	}
	if store.reads != 0 || store.writes != 1 {
		t.Fatalf("50 clean authentications: %d reads, %d writes; want 0 and 1 (the known source, once)", store.reads, store.writes)
	}
	for i := 0; i < 5; i++ {
		failKind(t, g, throttle.KindClient, "app", attacker)
	}
	if _, err := g.Begin(ctx, throttle.KindClient, "app", attacker); waitOf(t, err) != time.Second {
		t.Fatal("the back-off holds once failures are seen")
	}
}

type countingStore struct {
	gatehouse.ThrottleStore
	reads, writes int
}

func (s *countingStore) ThrottleGet(ctx context.Context, now time.Time, keys ...string) ([]gatehouse.Counter, error) {
	s.reads++
	return s.ThrottleStore.ThrottleGet(ctx, now, keys...)
}

func (s *countingStore) ThrottleAdd(ctx context.Context, key string, now time.Time, ttl time.Duration) (int64, error) {
	s.writes++
	return s.ThrottleStore.ThrottleAdd(ctx, key, now, ttl)
}

// ThrottleStats counts the live counters, the accounts with failures and
// those locked now; once the window has passed, none.
func TestGuardThrottleStats(t *testing.T) {
	c := newClock()
	g := throttle.NewGuard(throttle.NewMemory(), throttle.GuardConfig{AccountFailures: 3, FreeFailures: 100}, c.now)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		fail(t, g, "alice", netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)}))
	}
	fail(t, g, "bob", attacker)
	st, err := g.ThrottleStats(ctx, c.now())
	if err != nil {
		t.Fatal(err)
	}
	if st.FailingAccounts != 2 || st.HeldAccounts != 1 || st.Counters < 2 {
		t.Fatalf("stats %+v: want 2 failing accounts, alice held", st)
	}
	if _, err := g.Begin(ctx, throttle.KindUser, "alice", owner); gatehouse.ErrorReason(err) != gatehouse.ReasonLocked {
		t.Fatalf("alice is counted as held but Begin says %v", err)
	}
	c.advance(throttle.DefaultGuardConfig().Window + time.Hour)
	if st, _ := g.ThrottleStats(ctx, c.now()); st.FailingAccounts != 0 || st.HeldAccounts != 0 {
		t.Fatalf("after the window: %+v", st)
	}
}
