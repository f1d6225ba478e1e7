package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/pressly/goose/v3/lock"
)

// migrationLockWait bounds how long a replica waits for another one's
// migrations before giving up.
const migrationLockWait = 5 * time.Minute

// blockingLocker serialises the migrations of replicas that start together
// on one PostgreSQL with a session advisory lock, as goose's own locker
// does and under the same lock id (so replicas of an older release still
// take turns with this one), but it waits in pg_advisory_lock instead of
// retrying pg_try_advisory_lock every 5 seconds: the replicas that lose the
// race start as soon as the winner is done, not up to 5 s later (issue 13).
type blockingLocker struct {
	id  int64
	log *slog.Logger
}

var _ lock.SessionLocker = blockingLocker{}

func (l blockingLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, migrationLockWait)
	defer cancel()
	var got bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", l.id).Scan(&got); err != nil {
		return fmt.Errorf("store: taking the migration lock: %w", err)
	}
	if got {
		return nil
	}
	// Said before the wait, so that a replica waiting up to
	// migrationLockWait does not look hung with an empty log.
	l.log.Info("waiting for another replica's migrations (PostgreSQL advisory lock)", "lock_id", l.id, "gives_up_after", migrationLockWait.String())
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", l.id); err != nil {
		return fmt.Errorf("store: waiting for another replica's migrations: %w", err)
	}
	return nil
}

func (l blockingLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	var unlocked bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_advisory_unlock($1)", l.id).Scan(&unlocked); err != nil {
		return err
	}
	if !unlocked {
		return fmt.Errorf("store: the migration lock %d was not held", l.id)
	}
	return nil
}
