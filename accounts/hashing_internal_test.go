package accounts

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// idle runs only with a free slot and nobody queued; do always runs.
func TestHashSlotsIdle(t *testing.T) {
	h := &hashSlots{slots: make(chan struct{}, 2)}
	ran := 0
	if !h.idle(func() { ran++ }) || ran != 1 {
		t.Fatal("idle did not run with every slot free")
	}

	release := make(chan struct{})
	started := make(chan struct{}, 3)
	for i := 0; i < 2; i++ {
		go h.do(context.Background(), func() { started <- struct{}{}; <-release })
	}
	<-started
	<-started
	if h.idle(func() { ran++ }) {
		t.Fatal("idle ran with every slot taken")
	}

	// A caller whose context ends while it waits gives up without running.
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error)
	go func() { gaveUp <- h.do(ctx, func() { ran += 100 }) }()
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
	go h.do(context.Background(), func() { close(queued); <-release })
	for h.waiting.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if h.idle(func() { ran++ }) {
		t.Fatal("idle ran while a caller waited for a slot")
	}
	close(release)
	<-queued
	for len(h.slots) > 0 {
		time.Sleep(time.Millisecond)
	}
	if h.waiting.Load() != 0 || !h.idle(func() { ran++ }) || ran != 2 {
		t.Fatalf("after the queue drained: waiting %d, ran %d", h.waiting.Load(), ran)
	}
}

// Past maxWaiting callers waiting, do refuses at once with EUNAVAILABLE
// instead of queueing a caller who would time out first.
func TestHashSlotsRefuseWhenTheQueueIsFull(t *testing.T) {
	h := newHashSlots(nil, 2)
	h.slots = make(chan struct{}, 1)
	release := make(chan struct{})
	started := make(chan struct{})
	go h.do(context.Background(), func() { close(started); <-release })
	<-started
	done := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() { done <- h.do(context.Background(), func() {}) }()
	}
	for h.waiting.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	err := h.do(context.Background(), func() { t.Error("ran past a full queue") })
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
