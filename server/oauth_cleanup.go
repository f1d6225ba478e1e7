package server

import (
	"context"
	"time"
)

// cleanupLoop removes expired and long-revoked OAuth rows, and expired
// JWT refresh records (simplejwt's flushexpiredtokens), in the background,
// in small batches with a pause between them so that no statement holds a
// lock for long; it stops when the server closes.
func (s *Server) cleanupLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.OAuth.CleanupInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if _, err := s.ClearTokens(context.Background(), s.stop); err != nil {
				s.log.Warn("oauth cleanup", "err", err)
			}
			if _, err := s.clearExpiredRefreshRecords(context.Background(), s.stop); err != nil {
				s.log.Warn("jwt cleanup", "err", err)
			}
		}
	}
}

// ClearTokens deletes expired access tokens and codes, and refresh tokens
// expired or revoked longer ago than the replay window, batch by batch,
// until none is left or stop is closed (DOT's cleartokens). It returns the
// number of rows removed.
func (s *Server) ClearTokens(ctx context.Context, stop <-chan struct{}) (int64, error) {
	var total int64
	for {
		now := s.now()
		n, err := s.store.DeleteExpiredOAuth(ctx, now, now.Add(-s.cfg.OAuth.KeepRevoked), s.cfg.OAuth.CleanupBatch)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
		select {
		case <-stop:
			return total, nil
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// clearExpiredRefreshRecords deletes JWT refresh records past their expiry
// (an expired refresh token is refused whatever its record says), batch by
// batch, until none is left or stop is closed.
func (s *Server) clearExpiredRefreshRecords(ctx context.Context, stop <-chan struct{}) (int64, error) {
	var total int64
	for {
		n, err := s.store.DeleteExpiredRefresh(ctx, s.now(), s.cfg.OAuth.CleanupBatch)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
		select {
		case <-stop:
			return total, nil
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
