package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// On SQLite one write of the process runs at a time: a write waits at the
// gate while another holds it, gives up when its context ends (nothing
// written), and goes through once the gate is free. PostgreSQL has none.
func TestSQLiteWriteGate(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "gate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if s.writes == nil {
		t.Fatal("SQLite store without a write gate")
	}
	if err := s.writes.enter(ctx); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = s.exec(short, "INSERT INTO replicas (id, host, version, started, last_seen) VALUES ('r1', 'h', 'v', 1, 1)")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a write while the gate is held: %v, want the context's deadline", err)
	}
	done := make(chan error, 1)
	go func() {
		done <- s.tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO replicas (id, host, version, started, last_seen) VALUES ('r2', 'h', 'v', 1, 1)")
			return err
		})
	}()
	select {
	case err := <-done:
		t.Fatalf("a transaction ran while the gate was held: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	s.writes.leave()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM replicas").Scan(&n); err != nil || n != 1 {
		t.Fatalf("replicas rows: %d %v, want only the transaction's", n, err)
	}
}
