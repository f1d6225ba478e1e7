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

// The WAL stays bounded under sustained writes: past 16 MiB it is emptied,
// so a small database does not need tens of megabytes of headroom (a 5 MB
// database filled a 50 MiB volume, issue 13).
func TestSQLiteWALIsBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s := openSQLiteAt(t, path)
	if _, err := s.DB().ExecContext(ctx, "CREATE TABLE ballast (b BLOB)"); err != nil {
		t.Fatal(err)
	}
	blob := make([]byte, 256<<10)
	largest := int64(0)
	start := time.Now()
	// About 48 MiB of writes over a couple of seconds, as a burst of
	// issuances would write.
	for i := 0; i < 192; i++ {
		if _, err := s.DB().ExecContext(ctx, "INSERT INTO ballast (b) VALUES (?)", blob); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > largest {
			largest = fi.Size()
		}
		time.Sleep(10 * time.Millisecond)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		fi, err := os.Stat(path + "-wal")
		if err != nil || fi.Size() <= 16<<20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("WAL still %d bytes 5 s after the writes", fi.Size())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The bound holds during the writes too, with room for the writes
	// between two looks of the checkpointer and the backstop.
	if largest > 40<<20 {
		t.Fatalf("the WAL reached %d bytes during %v of writes", largest, time.Since(start))
	}
}
