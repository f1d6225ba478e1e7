package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// SQLite's automatic checkpoint runs inside the commit that crosses its
// threshold, on the one connection that holds the write lock: every writer
// queued behind it waits while pages are copied from the WAL into the
// database file. Under client_credentials load that copy was 13 % of the
// server's CPU, all of it on the serial write path (docs/performance.md).
// gatehouse checkpoints from its own goroutine instead, beside the writers
// (a PASSIVE checkpoint takes no write lock), and keeps SQLite's automatic
// checkpoint only as a backstop should this goroutine fall behind.
//
// The WAL file never shrinks by itself: SQLite reuses it from its start.
// Without a bound it grew to about 70 MB under sustained writes, and filled
// a 50 MiB volume holding a 5 MB database (issue 13). So once it is past
// walLimit the goroutine runs a TRUNCATE checkpoint, which waits for the
// writers a moment and empties the file, and journal_size_limit makes
// every reset of the WAL cut it back to walLimit as well. A deployment
// needs the database's size plus about walLimit plus one write
// transaction of free disk (docs/operations.md).
const (
	checkpointEvery   = 200 * time.Millisecond
	checkpointOver    = 1 << 20  // bytes of WAL worth copying back
	walLimit          = 16 << 20 // bytes of WAL past which it is emptied
	autocheckpointMax = 8192     // WAL frames (about 32 MiB of 4 KiB pages and their headers): the backstop
)

type checkpointer struct {
	stop, done chan struct{}
	runs       atomic.Int64 // checkpoints run (for tests)
}

// startCheckpointer copies the WAL at path into the database whenever it
// has been written to since the last look and is past checkpointOver,
// looking every checkpointEvery. (SQLite reuses the WAL file from its start
// without shrinking it, so its size alone says nothing once it has grown:
// an idle server checkpoints nothing.)
func (s *Store) startCheckpointer(wal string) *checkpointer {
	c := &checkpointer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		var seen time.Time // the WAL's modification time at the last checkpoint
		existed := false
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
			}
			fi, err := os.Stat(wal)
			if errors.Is(err, os.ErrNotExist) {
				// While connections are open SQLite keeps the WAL and its
				// index (-shm) side by side; an index without its WAL, or a
				// WAL seen before and gone, was deleted behind its back.
				if _, serr := os.Stat(strings.TrimSuffix(wal, "-wal") + "-shm"); serr == nil || existed {
					s.walDeleted(wal)
					return
				}
			}
			existed = existed || err == nil
			if err != nil || fi.Size() < checkpointOver || fi.ModTime().Equal(seen) {
				continue
			}
			mode := "PASSIVE"
			if fi.Size() > walLimit {
				mode = "TRUNCATE"
			}
			// A failure is retried at the next tick (seen stays as it was);
			// frames a PASSIVE checkpoint could not copy because a reader
			// still used them wait for the next write, or for the backstop
			// and the checkpoint SQLite runs when the store closes.
			cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if mode == "TRUNCATE" {
				// It keeps new writers out until it is done: they wait at
				// the write gate, and go on the moment it ends, instead of
				// in SQLite's busy handler's sleeps (a p99 of 60 ms).
				err = s.writes.enter(cctx)
				if err == nil {
					_, err = s.db.ExecContext(cctx, "PRAGMA wal_checkpoint("+mode+")")
					s.writes.leave()
				}
			} else {
				_, err = s.db.ExecContext(cctx, "PRAGMA wal_checkpoint("+mode+")")
			}
			cancel()
			if err == nil {
				seen = fi.ModTime()
				c.runs.Add(1)
			}
		}
	}()
	return c
}

// walDeleted handles a WAL file removed under the running store (an
// operator cleaning "temporary" files, a script). The connections still
// write to the removed file, so a crash would lose every commit since: a
// fault pass lost 356 device tokens and revived 217 rotated-away access
// tokens that way (issue 13). gatehouse copies what the removed WAL holds
// into the database file at once, through the connections that still have
// it open, then refuses writes (503) and reports not ready until it is
// restarted, which makes SQLite create a new WAL.
func (s *Store) walDeleted(wal string) {
	err := fmt.Errorf("the SQLite WAL %s was deleted while gatehouse ran; restart gatehouse (its writes so far are in the database file)", wal)
	cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, cerr := s.db.ExecContext(cctx, "PRAGMA wal_checkpoint(TRUNCATE)"); cerr != nil {
		err = fmt.Errorf("the SQLite WAL %s was deleted while gatehouse ran and copying it back failed (%v); restart gatehouse and check the database", wal, cerr)
	}
	s.fail(err)
}

func (c *checkpointer) close() {
	close(c.stop)
	<-c.done
}
