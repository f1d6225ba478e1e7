package store_test

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/store"
)

// Close waits for the statements being prepared in the background (the
// first use of a query inside a transaction starts one): a preparation
// still running after Close held a connection, and on SQLite opened or
// removed the database's files in a directory its owner was deleting
// ("directory not empty", seen once in the conformance tests).
func TestCloseWaitsForPreparations(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.db")
	s := testdb.OpenURL(t, path)
	var done atomic.Bool
	store.SetPrepareHook(s, func() {
		time.Sleep(200 * time.Millisecond)
		done.Store(true)
	})
	// A revocation reads its token in a transaction: the read's first use
	// starts its preparation for the pool.
	if _, found, err := s.RevokeRefreshToken(t.Context(), secret.Hash("none"), 0, time.Now()); err != nil || found {
		t.Fatalf("revoking an unknown token: %v %v", found, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !done.Load() {
		t.Fatal("Close returned while a statement was being prepared")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "gatehouse.db" {
			t.Errorf("left beside the database after Close: %s", e.Name())
		}
	}
}
