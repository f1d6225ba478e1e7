package throttle

import (
	"context"
	"log/slog"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// Sweep deletes expired counters from store every interval, in batches,
// until ctx ends. Counters past their expiry already read as absent; this
// only frees their room.
func Sweep(ctx context.Context, store gatehouse.ThrottleStore, interval time.Duration, log *slog.Logger) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for {
			n, err := store.DeleteExpiredThrottle(ctx, time.Now(), 1000)
			if err != nil {
				if ctx.Err() == nil {
					log.Warn("removing expired throttle counters", "err", err)
				}
				break
			}
			if n < 1000 {
				break
			}
		}
	}
}
