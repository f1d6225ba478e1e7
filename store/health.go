package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// probeEvery is how long a readiness result is reused: /readyz is public,
// and each probe is a write.
const probeEvery = time.Second

// health keeps what makes the store unable to serve: a fault found by its
// own goroutines (the SQLite WAL deleted), and the last write probe.
type health struct {
	mu        sync.Mutex
	fault     error
	probedAt  time.Time
	probeErr  error
	probeOnce sync.Mutex // one probe at a time
}

// Ready reports whether the store can serve reads and writes now: nil, or
// why not. It writes one row (at most once a second; the result is reused
// in between), so a database that answers but cannot take a write (a full
// disk, a read-only file or filesystem) is not ready, and neither is a
// store that found a fault it cannot repair while running.
func (s *Store) Ready(ctx context.Context) (err error) {
	defer s.classified(&err)
	if err := s.faulted(); err != nil {
		return err
	}
	s.health.probeOnce.Lock()
	defer s.health.probeOnce.Unlock()
	s.health.mu.Lock()
	if time.Since(s.health.probedAt) < probeEvery {
		err := s.health.probeErr
		s.health.mu.Unlock()
		return err
	}
	s.health.mu.Unlock()
	err = s.writes.enter(ctx)
	if err == nil {
		_, err = s.db.ExecContext(ctx, s.q(`INSERT INTO health_probe (id, at) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET at = excluded.at`), micros(s.now()))
		s.writes.leave()
	}
	if err != nil {
		err = fmt.Errorf("store: cannot write: %w", err)
	}
	s.health.mu.Lock()
	s.health.probedAt, s.health.probeErr = time.Now(), err
	s.health.mu.Unlock()
	return err
}

// faulted returns the fault that makes the store refuse writes, or nil.
func (s *Store) faulted() error {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	return s.health.fault
}

// fail records a fault: from now on writes are refused with it (as
// EUNAVAILABLE, so clients are told to retry, on another replica or after
// a restart) and the store is not ready.
func (s *Store) fail(err error) {
	s.health.mu.Lock()
	first := s.health.fault == nil
	if first {
		s.health.fault = &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "the database needs attention; see the server log", Err: err}
	}
	s.health.mu.Unlock()
	if first {
		s.log.Error("store: refusing writes until restart", "err", err)
	}
}

// checkWritable refuses to start on a SQLite database that cannot be
// written: the directory (SQLite creates the WAL and its index there) and
// the files that exist. The error names the path.
func checkWritable(path string) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".gatehouse-write-check-*")
	if err != nil {
		return fmt.Errorf("store: the directory %s of the SQLite database is not writable (SQLite keeps its WAL beside the database): %w", dir, err)
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("store: the SQLite file %s is not writable: %w", p, err)
		}
		f.Close()
	}
	return nil
}
