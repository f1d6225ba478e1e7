package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// cleanupStore is a hand-written double of CleanupStore: each call is
// recorded and answered by a function field.
type cleanupStore struct {
	mu      sync.Mutex
	calls   []string
	oauth   func(now, keep time.Time, batch int) (int64, error)
	refresh func(now time.Time, limit int) (int64, error)
	device  func(now time.Time, batch int) (int64, error) // nil: none to delete
}

func (f *cleanupStore) DeleteExpiredDeviceGrants(_ context.Context, now time.Time, batch int) (int64, error) {
	if f.device == nil {
		return 0, nil
	}
	f.mu.Lock()
	f.calls = append(f.calls, "device")
	f.mu.Unlock()
	return f.device(now, batch)
}

func (f *cleanupStore) DeleteExpiredOAuth(_ context.Context, now, keep time.Time, batch int) (int64, error) {
	f.mu.Lock()
	f.calls = append(f.calls, "oauth")
	f.mu.Unlock()
	return f.oauth(now, keep, batch)
}

func (f *cleanupStore) DeleteExpiredRefresh(_ context.Context, now time.Time, limit int) (int64, error) {
	f.mu.Lock()
	f.calls = append(f.calls, "refresh")
	f.mu.Unlock()
	return f.refresh(now, limit)
}

func TestClearTokensRunsBatchesUntilNoneLeft(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	left := int64(7)
	st := &cleanupStore{oauth: func(n, keep time.Time, batch int) (int64, error) {
		if !n.Equal(now) || !keep.Equal(now.Add(-30*24*time.Hour)) || batch != 3 {
			t.Errorf("DeleteExpiredOAuth(%v, %v, %d)", n, keep, batch)
		}
		d := min(left, int64(batch))
		left -= d
		return d, nil
	}}
	cfg := DefaultConfig()
	cfg.CleanupBatch = 3
	got, err := NewCleaner(st, cfg, func() time.Time { return now }, nil).ClearTokens(context.Background())
	if err != nil || got != 7 || len(st.calls) != 4 {
		t.Fatalf("removed %d, err %v, calls %v", got, err, st.calls)
	}
}

func TestClearTokensStopsAtAnError(t *testing.T) {
	boom := errors.New("boom")
	st := &cleanupStore{oauth: func(time.Time, time.Time, int) (int64, error) { return 2, boom }}
	got, err := NewCleaner(st, DefaultConfig(), nil, nil).ClearTokens(context.Background())
	if !errors.Is(err, boom) || got != 2 || len(st.calls) != 1 {
		t.Fatalf("removed %d, err %v, calls %v", got, err, st.calls)
	}
}

// Run cleans OAuth rows and JWT records at each tick and returns when its
// context ends, even in the middle of a long cleanup.
func TestRunStopsWithItsContext(t *testing.T) {
	ran := make(chan string, 100)
	st := &cleanupStore{
		oauth:   func(time.Time, time.Time, int) (int64, error) { ran <- "oauth"; return 1, nil }, // never done
		refresh: func(time.Time, int) (int64, error) { ran <- "refresh"; return 0, nil },
	}
	cfg := DefaultConfig()
	cfg.CleanupInterval = time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { NewCleaner(st, cfg, nil, nil).Run(ctx); close(done) }()
	if got := <-ran; got != "oauth" {
		t.Fatalf("first call %q", got)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
}

func TestRunWithoutIntervalReturns(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CleanupInterval = 0
	NewCleaner(&cleanupStore{}, cfg, nil, nil).Run(context.Background()) // would block forever otherwise
}

// A step added with Also runs at every tick after the Cleaner's own, batch
// by batch with the configured batch size and the Cleaner's clock, until it
// removes nothing; a failing step is logged under its name and the next
// tick runs it again.
func TestRunRunsAddedSteps(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	st := &cleanupStore{
		oauth:   func(time.Time, time.Time, int) (int64, error) { return 0, nil },
		refresh: func(time.Time, int) (int64, error) { return 0, nil },
	}
	cfg := DefaultConfig()
	cfg.CleanupInterval = time.Millisecond
	cfg.CleanupBatch = 4
	var mu sync.Mutex
	var seen []int64
	left := int64(10)
	calls := 0
	passes := make(chan struct{}, 100)
	step := func(_ context.Context, n time.Time, batch int) (int64, error) {
		mu.Lock()
		defer mu.Unlock()
		if !n.Equal(now) || batch != 4 {
			t.Errorf("step(%v, %d)", n, batch)
		}
		calls++
		if calls == 1 {
			return 0, errors.New("table on fire")
		}
		d := min(left, int64(batch))
		left -= d
		seen = append(seen, d)
		if d == 0 {
			passes <- struct{}{}
		}
		return d, nil
	}
	var logs syncWriter
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	c := NewCleaner(st, cfg, func() time.Time { return now }, slog.New(slog.NewTextHandler(&logs, nil))).Also("audit retention", step)
	go func() { c.Run(ctx); close(done) }()
	<-passes
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(seen[:4]) != "[4 4 2 0]" {
		t.Errorf("batches %v, want [4 4 2 0]", seen)
	}
	if !strings.Contains(logs.String(), `msg="audit retention cleanup" err="table on fire"`) {
		t.Errorf("the failure was not logged: %s", logs.String())
	}
}

type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// ClearTokens also removes expired device authorizations, batch by batch,
// after the tokens, and counts them in its total.
func TestClearTokensRemovesExpiredDeviceGrants(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	left := int64(5)
	st := &cleanupStore{
		oauth: func(time.Time, time.Time, int) (int64, error) { return 0, nil },
		device: func(n time.Time, batch int) (int64, error) {
			if !n.Equal(now) || batch != 2 {
				t.Errorf("DeleteExpiredDeviceGrants(%v, %d)", n, batch)
			}
			d := min(left, int64(batch))
			left -= d
			return d, nil
		},
	}
	cfg := DefaultConfig()
	cfg.CleanupBatch = 2
	got, err := NewCleaner(st, cfg, func() time.Time { return now }, nil).ClearTokens(context.Background())
	if err != nil || got != 5 || strings.Join(st.calls, " ") != "oauth device device device device" {
		t.Fatalf("removed %d, err %v, calls %v", got, err, st.calls)
	}
}
