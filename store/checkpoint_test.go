package store_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/store"
)

// SQLite's own checkpoint is pushed far off (it would run inside a commit,
// holding up the writers queued behind it); the store's goroutine copies
// the WAL back into the database file instead, with no help from SQLite.
func TestSQLiteCheckpointsInBackground(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s := openSQLiteAt(t, path)
	app := newApp(t, s, "cc")
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	// One commit at a time, each writing its own WAL frames, until the WAL
	// passes the threshold with room to spare.
	now := time.Now()
	for i := 0; size(path+"-wal") < 2<<20; i++ {
		at := &gatehouse.AccessToken{Hash: secret.Hash(fmt.Sprint("ckpt", i)), ApplicationID: app.ID, Created: now, Expires: now.Add(time.Hour)}
		if err := s.CreateTokens(ctx, at, nil, nil); err != nil {
			t.Fatal(err)
		}
		if i > 100000 {
			t.Fatal("the WAL does not grow")
		}
	}
	before := size(path)
	deadline := time.Now().Add(5 * time.Second)
	for size(path) <= before {
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes 5 s after the WAL reached %d bytes: nothing checkpointed", before, size(path+"-wal"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The WAL file keeps its size once grown; a store with no new writes
	// does not checkpoint it again and again.
	time.Sleep(300 * time.Millisecond) // a tick that may still see the last writes
	n := store.Checkpoints(s)
	time.Sleep(1 * time.Second) // five ticks
	if m := store.Checkpoints(s); m != n {
		t.Errorf("%d checkpoints in 1 s with no writes (WAL file %d bytes)", m-n, size(path+"-wal"))
	}
}
