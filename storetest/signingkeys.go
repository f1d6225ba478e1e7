package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// signingKey is a key of the schedule given, with stand-in key material.
func signingKey(kid string, created, from time.Time, until, published *time.Time) gatehouse.SigningKey {
	return gatehouse.SigningKey{KID: kid, Algorithm: "ES256", PublicKey: []byte(`{"kid":"` + kid + `"}`),
		Sealed: []byte("sealed-" + kid), Created: created, SignsFrom: from, SignsUntil: until, PublishedUntil: published}
}

func ptr(t time.Time) *time.Time { return &t }

func create(keys ...gatehouse.SigningKey) func([]gatehouse.SigningKey) (gatehouse.SigningKeyChange, error) {
	return func([]gatehouse.SigningKey) (gatehouse.SigningKeyChange, error) {
		return gatehouse.SigningKeyChange{Create: keys}, nil
	}
}

func checkKeys(t *testing.T, s gatehouse.SigningKeyStore, want ...gatehouse.SigningKey) {
	t.Helper()
	got, err := s.SigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d keys, want %d: %+v", len(got), len(want), got)
	}
	eqTime := func(a, b *time.Time) bool { return (a == nil) == (b == nil) && (a == nil || a.Equal(micro(*b))) }
	for i, w := range want {
		g := got[i]
		if g.KID != w.KID || g.Algorithm != w.Algorithm || string(g.PublicKey) != string(w.PublicKey) || string(g.Sealed) != string(w.Sealed) ||
			!g.Created.Equal(micro(w.Created)) || !g.SignsFrom.Equal(micro(w.SignsFrom)) ||
			!eqTime(g.SignsUntil, w.SignsUntil) || !eqTime(g.PublishedUntil, w.PublishedUntil) {
			t.Errorf("key %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

// Keys come back as stored, to the microsecond, ordered by schedule (not
// by insertion), and fn sees them in that order.
func testSigningKeyRoundTrip(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	checkKeys(t, s)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	a := signingKey("a", t0, t0, ptr(t0.Add(time.Hour)), ptr(t0.Add(3*time.Hour)))
	b := signingKey("b", t0.Add(time.Minute), t0.Add(time.Hour), nil, nil)
	b.Algorithm = "RS256"
	if err := s.UpdateSigningKeys(ctx, create(b, a)); err != nil {
		t.Fatal(err)
	}
	checkKeys(t, s, a, b)
	var seen []string
	err := s.UpdateSigningKeys(ctx, func(keys []gatehouse.SigningKey) (gatehouse.SigningKeyChange, error) {
		for _, k := range keys {
			seen = append(seen, k.KID)
		}
		return gatehouse.SigningKeyChange{}, nil
	})
	if err != nil || fmt.Sprint(seen) != "[a b]" {
		t.Fatalf("fn saw %v (%v)", seen, err)
	}
}

// An update rewrites the schedule only; a failing part of a change (a
// taken kid, a missing kid, fn's error) leaves everything as it was.
func testSigningKeyUpdate(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := signingKey("a", t0, t0, nil, nil)
	if err := s.UpdateSigningKeys(ctx, create(a)); err != nil {
		t.Fatal(err)
	}
	changed := a
	changed.SignsFrom = t0.Add(-time.Minute)
	changed.SignsUntil, changed.PublishedUntil = ptr(t0.Add(time.Hour)), ptr(t0.Add(2*time.Hour))
	changed.Algorithm, changed.PublicKey, changed.Sealed = "EdDSA", []byte("other"), []byte("other")
	if err := s.UpdateSigningKeys(ctx, func([]gatehouse.SigningKey) (gatehouse.SigningKeyChange, error) {
		return gatehouse.SigningKeyChange{Update: []gatehouse.SigningKey{changed}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	want := a
	want.SignsFrom, want.SignsUntil, want.PublishedUntil = changed.SignsFrom, changed.SignsUntil, changed.PublishedUntil
	checkKeys(t, s, want)

	b := signingKey("b", t0, t0.Add(time.Hour), nil, nil)
	if err := s.UpdateSigningKeys(ctx, create(b, signingKey("a", t0, t0, nil, nil))); !errors.Is(err, gatehouse.ErrConflict) {
		t.Errorf("a taken kid: %v, want ErrConflict", err)
	}
	if err := s.UpdateSigningKeys(ctx, func([]gatehouse.SigningKey) (gatehouse.SigningKeyChange, error) {
		return gatehouse.SigningKeyChange{Create: []gatehouse.SigningKey{b}, Update: []gatehouse.SigningKey{signingKey("missing", t0, t0, nil, nil)}}, nil
	}); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Errorf("a missing kid: %v, want ErrNotFound", err)
	}
	refused := errors.New("refused")
	if err := s.UpdateSigningKeys(ctx, func([]gatehouse.SigningKey) (gatehouse.SigningKeyChange, error) {
		return gatehouse.SigningKeyChange{Create: []gatehouse.SigningKey{b}}, refused
	}); err != refused {
		t.Errorf("fn's error came back as %v", err)
	}
	checkKeys(t, s, want)
}

// Keys published until now or earlier are deleted, in batches; the others,
// and those not scheduled to end, stay.
func testSigningKeyDeleteExpired(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	gone1 := signingKey("gone1", t0, t0, ptr(t0), ptr(t0.Add(time.Hour)))
	gone2 := signingKey("gone2", t0, t0.Add(time.Second), ptr(t0), ptr(t0.Add(2*time.Hour)))
	kept := signingKey("kept", t0, t0.Add(2*time.Second), ptr(t0), ptr(t0.Add(2*time.Hour+time.Microsecond)))
	open := signingKey("open", t0, t0.Add(3*time.Second), nil, nil)
	if err := s.UpdateSigningKeys(ctx, create(gone1, gone2, kept, open)); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(2 * time.Hour)
	if n, err := s.DeleteExpiredSigningKeys(ctx, now, 1); err != nil || n != 1 {
		t.Fatalf("first batch: %d, %v", n, err)
	}
	checkKeys(t, s, gone2, kept, open) // the earliest end first
	if n, err := s.DeleteExpiredSigningKeys(ctx, now, 10); err != nil || n != 1 {
		t.Fatalf("second batch: %d, %v", n, err)
	}
	if n, err := s.DeleteExpiredSigningKeys(ctx, now, 10); err != nil || n != 0 {
		t.Fatalf("third batch: %d, %v", n, err)
	}
	checkKeys(t, s, kept, open)
}

// UpdateSigningKeys excludes the others: of goroutines that each add a key
// when they find none, exactly one adds it; goroutines that each move a
// key's time by one second from what they read lose no move.
func testSigningKeyConcurrentUpdates(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const n = 8
	var wg sync.WaitGroup
	var empty atomic.Int32
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			errs <- s.UpdateSigningKeys(ctx, func(keys []gatehouse.SigningKey) (gatehouse.SigningKeyChange, error) {
				if len(keys) > 0 {
					return gatehouse.SigningKeyChange{}, nil
				}
				// Wait (a while) for every other goroutine to have read
				// too: without the exclusion, all of them find no key.
				empty.Add(1)
				for deadline := time.Now().Add(300 * time.Millisecond); empty.Load() < n && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
				}
				return gatehouse.SigningKeyChange{Create: []gatehouse.SigningKey{signingKey(fmt.Sprint("k", i), t0, t0, nil, nil)}}, nil
			})
		})
	}
	wg.Wait()
	keys, err := s.SigningKeys(ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("%d keys after %d first starts at once (%v): %+v", len(keys), n, err, keys)
	}
	for range n {
		wg.Go(func() {
			errs <- s.UpdateSigningKeys(ctx, func(keys []gatehouse.SigningKey) (gatehouse.SigningKeyChange, error) {
				k := keys[0]
				k.SignsFrom = k.SignsFrom.Add(time.Second)
				return gatehouse.SigningKeyChange{Update: []gatehouse.SigningKey{k}}, nil
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	keys, err = s.SigningKeys(ctx)
	if err != nil || !keys[0].SignsFrom.Equal(t0.Add(n*time.Second)) {
		t.Fatalf("signs_from %v after %d moves of 1s from %v (%v)", keys[0].SignsFrom, n, t0, err)
	}
}
