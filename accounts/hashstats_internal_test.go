package accounts

import (
	"context"
	"testing"
	"time"
)

// HashStats reports the slots taken, the callers waiting, the hashes run
// with the time their callers waited, and the callers refused.
func TestHashStats(t *testing.T) {
	h := &hashSlots{slots: 1, free: 1, maxWaiting: 1}
	s := &Service{hashing: h}
	if st := s.HashStats(); st != (HashStats{Slots: 1}) {
		t.Fatalf("idle: %+v", st)
	}
	release, started := make(chan struct{}), make(chan struct{})
	go h.do(context.Background(), "", plain(func() { close(started); <-release }))
	<-started
	second := make(chan error)
	go func() { second <- h.do(context.Background(), "", plain(func() {})) }()
	for h.waiting.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if err := h.do(context.Background(), "", plain(func() {})); err != errHashQueueFull {
		t.Fatalf("a third caller past maxWaiting: %v", err)
	}
	if st := s.HashStats(); st.InUse != 1 || st.Waiting != 1 || st.Hashes != 1 || st.Refused != 1 || st.Waited != 0 {
		t.Fatalf("busy: %+v", st)
	}
	time.Sleep(5 * time.Millisecond)
	close(release)
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	st := s.HashStats()
	if st.InUse != 0 || st.Waiting != 0 || st.Hashes != 2 || st.Refused != 1 || st.Waited < 5*time.Millisecond {
		t.Fatalf("after: %+v", st)
	}
}
