package oauth

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"
)

// CleanupStore is the storage Cleaner needs.
type CleanupStore interface {
	DeleteExpiredOAuth(ctx context.Context, now, keepRevokedUntil time.Time, batch int) (int64, error)
	DeleteExpiredRefresh(ctx context.Context, now time.Time, limit int) (int64, error)
	DeleteExpiredDeviceGrants(ctx context.Context, now time.Time, batch int) (int64, error)
}

// Cleaner removes expired and long-revoked OAuth rows, and expired
// simplejwt refresh records (simplejwt's flushexpiredtokens), and runs the
// steps other packages add (Also).
type Cleaner struct {
	store CleanupStore
	cfg   Config
	now   func() time.Time
	log   *slog.Logger
	also  []cleanupStep

	mu    sync.Mutex
	stats CleanupStats
}

// CleanupStats is what Run has done since it started, read by monitoring
// (package metrics).
type CleanupStats struct {
	Passes   uint64           // passes finished
	Failures uint64           // steps that failed (logged as a warning)
	Removed  map[string]int64 // rows removed by step: "oauth", "jwt", then the names given to Also
	// LastRemoved is how many rows the last pass removed: the backlog
	// that built up over one CleanupInterval; LastDuration is how long it
	// took and LastPass when it ended.
	LastRemoved  int64
	LastDuration time.Duration
	LastPass     time.Time
}

// Stats returns a copy of Run's counts.
func (c *Cleaner) Stats() CleanupStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stats
	st.Removed = maps.Clone(st.Removed)
	return st
}

// count adds one step's outcome to the stats.
func (c *Cleaner) count(ctx context.Context, step string, n int64, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stats.Removed == nil {
		c.stats.Removed = map[string]int64{}
	}
	c.stats.Removed[step] += n
	c.stats.LastRemoved += n
	if err != nil && ctx.Err() == nil { // not the stop
		c.stats.Failures++
	}
}

// A CleanupStep removes up to batch rows that are no longer needed as of
// now and returns how many it removed.
type CleanupStep func(ctx context.Context, now time.Time, batch int) (int64, error)

type cleanupStep struct {
	name string
	step CleanupStep
}

// Also adds step to every pass of Run, after the Cleaner's own, run batch
// by batch like them (the audit log's retention: audit.Recorder.Prune).
// name labels its failures in the log. Call it before Run.
func (c *Cleaner) Also(name string, step CleanupStep) *Cleaner {
	c.also = append(c.also, cleanupStep{name, step})
	return c
}

// NewCleaner returns a Cleaner; cfg's KeepRevoked, CleanupBatch and
// CleanupInterval apply. now nil means time.Now.
func NewCleaner(store CleanupStore, cfg Config, now func() time.Time, log *slog.Logger) *Cleaner {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Cleaner{store: store, cfg: cfg.WithDefaults(), now: now, log: log}
}

// Run cleans every CleanupInterval, in small batches with a pause between
// them so that no statement holds a lock for long, until ctx ends. With no
// interval it returns at once.
func (c *Cleaner) Run(ctx context.Context) {
	if c.cfg.CleanupInterval <= 0 {
		return
	}
	t := time.NewTicker(c.cfg.CleanupInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			start := c.now()
			c.mu.Lock()
			c.stats.LastRemoved = 0
			c.mu.Unlock()
			n, err := c.ClearTokens(ctx)
			c.count(ctx, "oauth", n, err)
			if err != nil && ctx.Err() == nil {
				c.log.Warn("oauth cleanup", "err", err)
			}
			n, err = c.clearExpiredRefreshRecords(ctx)
			c.count(ctx, "jwt", n, err)
			if err != nil && ctx.Err() == nil {
				c.log.Warn("jwt cleanup", "err", err)
			}
			for _, a := range c.also {
				n, err := c.runStep(ctx, a.step)
				c.count(ctx, a.name, n, err)
				if err != nil && ctx.Err() == nil {
					c.log.Warn(a.name+" cleanup", "err", err)
				}
			}
			c.mu.Lock()
			c.stats.Passes++
			c.stats.LastPass = c.now()
			c.stats.LastDuration = c.stats.LastPass.Sub(start)
			c.mu.Unlock()
		}
	}
}

// ClearTokens deletes expired access tokens and codes, and refresh tokens
// expired or revoked longer ago than the replay window, then expired
// device authorizations, batch by batch, until none is left or ctx ends
// (DOT's cleartokens). It returns the number of rows removed.
func (c *Cleaner) ClearTokens(ctx context.Context) (int64, error) {
	n, err := inBatches(ctx, func() (int64, error) {
		sctx, cancel := context.WithTimeout(ctx, batchTimeout)
		defer cancel()
		now := c.now()
		return c.store.DeleteExpiredOAuth(sctx, now, now.Add(-c.cfg.KeepRevoked), c.cfg.CleanupBatch)
	})
	if err != nil {
		return n, err
	}
	d, err := inBatches(ctx, func() (int64, error) {
		sctx, cancel := context.WithTimeout(ctx, batchTimeout)
		defer cancel()
		return c.store.DeleteExpiredDeviceGrants(sctx, c.now(), c.cfg.CleanupBatch)
	})
	return n + d, err
}

// batchTimeout bounds one cleanup statement: a frozen database fails the
// pass (retried at the next tick) instead of holding it for the outage.
const batchTimeout = 30 * time.Second

// clearExpiredRefreshRecords deletes JWT refresh records past their expiry
// (an expired refresh token is refused whatever its record says).
func (c *Cleaner) clearExpiredRefreshRecords(ctx context.Context) (int64, error) {
	return inBatches(ctx, func() (int64, error) {
		sctx, cancel := context.WithTimeout(ctx, batchTimeout)
		defer cancel()
		return c.store.DeleteExpiredRefresh(sctx, c.now(), c.cfg.CleanupBatch)
	})
}

// runStep runs step batch by batch until it removes nothing.
func (c *Cleaner) runStep(ctx context.Context, step CleanupStep) (int64, error) {
	return inBatches(ctx, func() (int64, error) {
		sctx, cancel := context.WithTimeout(ctx, batchTimeout)
		defer cancel()
		return step(sctx, c.now(), c.cfg.CleanupBatch)
	})
}

// minCleanupPause is the least pause between two cleanup batches.
const minCleanupPause = 10 * time.Millisecond

// inBatches calls step until it removes nothing, fails, or ctx ends, and returns the rows removed. After each batch it pauses as long
// as the batch took (at least minCleanupPause), so that the cleanup never
// takes more than half of one CPU or of the database's write lock from the
// requests: with a fixed 10 ms pause, deleting 1M rows on SQLite doubled the
// p99 of concurrent introspections (docs/performance.md).
func inBatches(ctx context.Context, step func() (int64, error)) (int64, error) {
	var total int64
	for {
		t0 := time.Now()
		n, err := step()
		total += n
		if err != nil || n == 0 {
			return total, err
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(max(time.Since(t0), minCleanupPause)):
		}
	}
}
