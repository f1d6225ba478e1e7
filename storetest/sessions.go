package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// An ended session is reported ended, on every connection, until its
// record is cleaned up after it expired; ending one twice is no error.
func testSessionEnd(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	t0 := time.Now()
	a, b, c := secret.Hash("session-a"), secret.Hash("session-b"), secret.Hash("session-c")
	ended := func(h []byte) bool {
		t.Helper()
		ok, err := s.SessionEnded(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if ended(a) {
		t.Fatal("a session never ended is ended")
	}
	if err := s.EndSession(ctx, a, t0.Add(time.Hour), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.EndSession(ctx, a, t0.Add(time.Hour), t0); err != nil {
		t.Fatalf("ending a session again: %v", err)
	}
	if err := s.EndSession(ctx, b, t0.Add(3*time.Hour), t0); err != nil {
		t.Fatal(err)
	}
	if !ended(a) || !ended(b) || ended(c) {
		t.Fatalf("ended: a %v, b %v, c %v", ended(a), ended(b), ended(c))
	}
	// Two hours later a has expired: the next EndSession removes its record.
	if err := s.EndSession(ctx, c, t0.Add(4*time.Hour), t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ended(a) || !ended(b) || !ended(c) {
		t.Fatalf("after cleanup: a %v, b %v, c %v", ended(a), ended(b), ended(c))
	}
}
