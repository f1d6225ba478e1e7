package oauth

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// Stats counts Run's passes, the rows each step removed, the last pass's
// rows (the backlog of one interval) and the steps that failed.
func TestCleanerStats(t *testing.T) {
	var oauthLeft, refreshLeft atomic.Int64
	oauthLeft.Store(5)
	refreshLeft.Store(2)
	take := func(left *atomic.Int64, batch int) int64 {
		n := min(left.Load(), int64(batch))
		left.Add(-n)
		return n
	}
	st := &cleanupStore{
		oauth:   func(_, _ time.Time, batch int) (int64, error) { return take(&oauthLeft, batch), nil },
		refresh: func(_ time.Time, limit int) (int64, error) { return take(&refreshLeft, limit), nil },
	}
	cfg := DefaultConfig()
	cfg.CleanupBatch, cfg.CleanupInterval = 3, 20*time.Millisecond
	c := NewCleaner(st, cfg, nil, nil).Also("broken", func(context.Context, time.Time, int) (int64, error) {
		return 0, errors.New("no table")
	})
	if s := c.Stats(); s.Passes != 0 || len(s.Removed) != 0 || !s.LastPass.IsZero() {
		t.Fatalf("before Run: %+v", s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for c.Stats().Passes < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	s := c.Stats()
	if s.Passes < 2 || s.Removed["oauth"] != 5 || s.Removed["jwt"] != 2 || s.Removed["broken"] != 0 ||
		s.Failures < 2 || s.LastRemoved != 0 || s.LastPass.IsZero() {
		t.Errorf("stats %+v", s)
	}
}
