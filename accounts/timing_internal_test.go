package accounts

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// The floor is the slowest kind's mean plus twice its deviation, whatever
// kind the check at hand was; a hold sleeps the rest of it.
func TestFailFloor(t *testing.T) {
	var f failFloor
	if f.floor() != 0 {
		t.Fatal("a floor before any verification")
	}
	for i := 0; i < 50; i++ {
		f.observe("argon2", 10*time.Millisecond)
		f.observe("pbkdf2_sha256", 40*time.Millisecond)
	}
	if fl := f.floor(); fl < 40*time.Millisecond || fl > 45*time.Millisecond {
		t.Fatalf("floor %v, want about the slow kind's 40 ms", fl)
	}
	start := time.Now()
	f.hold(context.Background(), 10*time.Millisecond)
	if d := time.Since(start); d < 29*time.Millisecond {
		t.Fatalf("a 10 ms check held only %v more", d)
	}
	start = time.Now()
	f.hold(context.Background(), time.Second)
	if d := time.Since(start); d > 20*time.Millisecond {
		t.Fatalf("a check slower than the floor was held %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start = time.Now()
	f.hold(ctx, 0)
	if d := time.Since(start); d > 20*time.Millisecond {
		t.Fatalf("held %v past its context", d)
	}
	// One outlier moves the floor a little, not to the outlier.
	f.observe("argon2", 2*time.Second)
	if fl := f.floor(); fl > 400*time.Millisecond {
		t.Fatalf("one 2 s outlier raised the floor to %v", fl)
	}
}

// A failed check marks its source (an IPv6 /64 as one) for a while.
func TestSuspects(t *testing.T) {
	var s suspects
	now := time.Now()
	a := netip.MustParseAddr("2001:db8:1:2::5")
	s.mark(a, now)
	if !s.is(netip.MustParseAddr("2001:db8:1:2::99"), now) || s.is(netip.MustParseAddr("2001:db8:1:3::5"), now) {
		t.Fatal("/64 grouping")
	}
	if s.is(a, now.Add(suspectFor)) {
		t.Fatal("still suspect after suspectFor")
	}
	s.mark(netip.Addr{}, now)
	if s.is(netip.Addr{}, now) {
		t.Fatal("an unknown source is never suspect")
	}
}
