package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// RunThrottleTests runs the tests of gatehouse.ThrottleStore, each on a
// new, empty store from newStore.
func RunThrottleTests(t *testing.T, newStore func(t *testing.T) gatehouse.ThrottleStore) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, gatehouse.ThrottleStore)
	}{
		{"ThrottleTakeBurstThenRate", testThrottleTakeBurstThenRate},
		{"ThrottleTakeConcurrent", testThrottleTakeConcurrent},
		{"ThrottleAddGetExpire", testThrottleAddGetExpire},
		{"ThrottleDeleteExpired", testThrottleDeleteExpired},
		{"ThrottleScan", testThrottleScan},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

var throttleT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// A bucket of burst 3, one per second: 3 at once, the 4th waits a second
// (and is not counted), then one per second; other keys are apart.
func testThrottleTakeBurstThenRate(t *testing.T, s gatehouse.ThrottleStore) {
	ctx := t.Context()
	take := func(key string, at time.Time) time.Duration {
		t.Helper()
		w, err := s.ThrottleTake(ctx, key, at, time.Second, 3)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	for i := 0; i < 3; i++ {
		if w := take("k", throttleT0); w != 0 {
			t.Fatalf("take %d: wait %v, want 0", i+1, w)
		}
	}
	for i := 0; i < 3; i++ { // refusals do not push the wait further
		if w := take("k", throttleT0); w != time.Second {
			t.Fatalf("4th take: wait %v, want 1s", w)
		}
	}
	if w := take("other", throttleT0); w != 0 {
		t.Fatalf("another key: wait %v", w)
	}
	if w := take("k", throttleT0.Add(400*time.Millisecond)); w != 600*time.Millisecond {
		t.Fatalf("after 0.4 s: wait %v, want 600ms", w)
	}
	if w := take("k", throttleT0.Add(time.Second)); w != 0 {
		t.Fatalf("after 1 s: wait %v, want 0", w)
	}
	if w := take("k", throttleT0.Add(time.Second)); w != time.Second {
		t.Fatalf("again at 1 s: wait %v, want 1s", w)
	}
	// Idle long enough, the whole burst is back.
	later := throttleT0.Add(time.Hour)
	for i := 0; i < 3; i++ {
		if w := take("k", later); w != 0 {
			t.Fatalf("after an hour, take %d: wait %v", i+1, w)
		}
	}
}

// Concurrent takes never let more than the burst through.
func testThrottleTakeConcurrent(t *testing.T, s gatehouse.ThrottleStore) {
	var ok atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := s.ThrottleTake(t.Context(), "shared", throttleT0, time.Minute, 10)
			if err != nil {
				errs <- err
				return
			}
			if w == 0 {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if ok.Load() != 10 {
		t.Fatalf("%d takes let through, want exactly the burst of 10", ok.Load())
	}
}

// Counters count, remember when they were last added to, read as zero
// once expired or deleted, and start again at 1 after expiry.
func testThrottleAddGetExpire(t *testing.T, s gatehouse.ThrottleStore) {
	ctx := t.Context()
	for i := 1; i <= 3; i++ {
		n, err := s.ThrottleAdd(ctx, "c", throttleT0.Add(time.Duration(i)*time.Second), time.Minute)
		if err != nil || n != int64(i) {
			t.Fatalf("add %d: %d, %v", i, n, err)
		}
	}
	cs, err := s.ThrottleGet(ctx, throttleT0.Add(10*time.Second), "missing", "c", "missing2")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 3 || cs[0].N != 0 || cs[2].N != 0 || cs[1].N != 3 || !cs[1].At.Equal(throttleT0.Add(3*time.Second)) {
		t.Fatalf("get: %+v", cs)
	}
	// Expired (a minute after the last add): reads as zero, restarts at 1.
	after := throttleT0.Add(3*time.Second + time.Minute)
	if cs, _ := s.ThrottleGet(ctx, after, "c"); cs[0].N != 0 {
		t.Fatalf("expired counter reads %d", cs[0].N)
	}
	if n, err := s.ThrottleAdd(ctx, "c", after, time.Minute); err != nil || n != 1 {
		t.Fatalf("add after expiry: %d, %v", n, err)
	}
	if err := s.ThrottleDelete(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if cs, _ := s.ThrottleGet(ctx, after, "c"); cs[0].N != 0 {
		t.Fatalf("deleted counter reads %d", cs[0].N)
	}
	if err := s.ThrottleDelete(ctx, "never"); err != nil {
		t.Fatalf("deleting an absent counter: %v", err)
	}
	// Keys are opaque: unicode, long, with separators.
	long := "fs|user|ünïcødé名前|2001:db8::/64"
	if n, err := s.ThrottleAdd(ctx, long, throttleT0, time.Minute); err != nil || n != 1 {
		t.Fatalf("unicode key: %d, %v", n, err)
	}
}

// The cleanup deletes expired rows only, in batches.
func testThrottleDeleteExpired(t *testing.T, s gatehouse.ThrottleStore) {
	ctx := t.Context()
	for i, key := range []string{"a", "b", "c"} {
		if _, err := s.ThrottleAdd(ctx, key, throttleT0, time.Duration(i+1)*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ThrottleTake(ctx, "bucket", throttleT0, time.Minute, 5); err != nil {
		t.Fatal(err)
	}
	at := throttleT0.Add(2*time.Minute + time.Second) // a, b and the bucket expired
	got, err := s.DeleteExpiredThrottle(ctx, at, 2)
	if err != nil || got != 2 {
		t.Fatalf("first batch: %d, %v", got, err)
	}
	got, err = s.DeleteExpiredThrottle(ctx, at, 2)
	if err != nil || got != 1 {
		t.Fatalf("second batch: %d, %v", got, err)
	}
	if got, _ := s.DeleteExpiredThrottle(ctx, at, 2); got != 0 {
		t.Fatalf("third batch: %d", got)
	}
	if cs, _ := s.ThrottleGet(ctx, at, "c"); cs[0].N != 1 {
		t.Fatalf("the live counter: %+v", cs)
	}
}

// ThrottleScan counts the live counters under a prefix (a "%" or "_" in
// it is no wildcard) and returns up to limit of them.
func testThrottleScan(t *testing.T, s gatehouse.ThrottleStore) {
	ctx := t.Context()
	for _, k := range []string{"fa|login|alice|1", "fa|login|alice|2", "fa|login|bob|2", "fs|login|alice|1.2.3.4", "f%|x", "fb|y"} {
		if _, err := s.ThrottleAdd(ctx, k, throttleT0, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ThrottleAdd(ctx, "fa|login|alice|2", throttleT0, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ThrottleAdd(ctx, "fa|login|old|1", throttleT0.Add(-time.Hour), time.Minute); err != nil {
		t.Fatal(err)
	}
	total, _, err := s.ThrottleScan(ctx, throttleT0, "", 0)
	if err != nil || total != 6 {
		t.Fatalf("every live counter: %d %v, want 6", total, err)
	}
	n, got, err := s.ThrottleScan(ctx, throttleT0, "fa|", 10)
	want := map[string]int64{"fa|login|alice|1": 1, "fa|login|alice|2": 2, "fa|login|bob|2": 1}
	if err != nil || n != 3 || len(got) != 3 || got["fa|login|alice|2"] != 2 || got["fa|login|bob|2"] != 1 || got["fa|login|alice|1"] != 1 {
		t.Fatalf("fa| counters: %d %v %v, want %v", n, got, err, want)
	}
	if n, got, _ := s.ThrottleScan(ctx, throttleT0, "fa|", 2); n != 3 || len(got) != 2 {
		t.Fatalf("limit 2: %d %v", n, got)
	}
	if n, _, _ := s.ThrottleScan(ctx, throttleT0, "f%", 10); n != 1 {
		t.Fatalf("f%% matched %d counters, want 1 (no wildcard)", n)
	}
}
