package store_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/store"
)

func TestReadyWrites(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		if err := s.Ready(ctx); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := s.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM health_probe").Scan(&n); err != nil || n != 1 {
			t.Fatalf("probe rows %d, %v", n, err)
		}
	})
}

// waitNotReady polls Ready until it fails, for at most five seconds.
func waitNotReady(t *testing.T, s *store.Store) error {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := s.Ready(ctx); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			t.Fatal("still ready 5 s after the fault")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A WAL deleted under the running store: what was committed is copied into
// the database file at once (a crash now loses nothing), writes are refused
// as unavailable and the store is not ready, until a restart.
func TestSQLiteWALDeleted(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.db")
	s := openSQLiteAt(t, path)
	u := newUser(t, s, "alice")
	for i := 0; i < 50; i++ {
		if err := s.CreateToken(ctx, &gatehouse.Token{UserID: u.ID, Hash: secret.Hash(fmt.Sprint("device", i)), Name: "d"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Fatalf("no WAL to delete: %v", err)
	}
	if err := os.Remove(path + "-wal"); err != nil {
		t.Fatal(err)
	}
	err := waitNotReady(t, s)
	if !strings.Contains(err.Error(), path+"-wal") || gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE {
		t.Fatalf("not ready with %v", err)
	}
	if err := s.CreateToken(ctx, &gatehouse.Token{UserID: u.ID, Hash: secret.Hash("after"), Name: "d"}); gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE {
		t.Fatalf("a write after the WAL was deleted: %v", err)
	}
	// What a crash would leave: the database file alone.
	crashed := filepath.Join(t.TempDir(), "crashed.db")
	copyFile(t, path, crashed)
	c := openSQLiteAt(t, crashed)
	for i := 0; i < 50; i++ {
		if _, _, err := c.TokenByHash(ctx, secret.Hash(fmt.Sprint("device", i))); err != nil {
			t.Fatalf("token %d lost: %v", i, err)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
}

// mountTmpfs mounts a small tmpfs at a new directory, for the disk faults
// that need root to provoke when the test runs as root (permissions do not
// stop root); it skips the test where mounting is not allowed.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small filesystem")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// A database on a read-only filesystem, or one whose directory or file
// cannot be written, is refused at start with the path in the message.
func TestSQLiteReadOnlyAtStart(t *testing.T) {
	var dir string
	if os.Geteuid() == 0 {
		dir = mountTmpfs(t, "4m")
	} else {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, "gatehouse.db")
	s := openSQLiteAt(t, path)
	s.Close()
	if os.Geteuid() == 0 {
		if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
			t.Skipf("cannot remount read-only: %v %s", err, out)
		}
	} else {
		os.Chmod(path, 0o400)
		os.Chmod(dir, 0o500)
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
	}
	_, err := store.Open(ctx, path)
	if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "not writable") {
		t.Fatalf("opening a read-only database: %v", err)
	}
}

// A full disk: the store is not ready (it answers reads but cannot take a
// write), writes fail with an error, and once space is back it is ready.
func TestSQLiteFullDiskIsNotReady(t *testing.T) {
	dir := mountTmpfs(t, "3m")
	path := filepath.Join(dir, "gatehouse.db")
	s := openSQLiteAt(t, path)
	u := newUser(t, s, "alice")
	if err := s.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	f.Close()
	time.Sleep(1100 * time.Millisecond) // past the reuse of the last result
	// Writes enough to need new pages.
	var werr error
	for i := 0; i < 200 && werr == nil; i++ {
		werr = s.CreateToken(ctx, &gatehouse.Token{UserID: u.ID, Hash: secret.Hash(fmt.Sprint("full", i)), Name: strings.Repeat("x", 100)})
	}
	if gatehouse.ErrorCode(werr) != gatehouse.EUNAVAILABLE {
		t.Fatalf("a write on a full disk: %v, want an EUNAVAILABLE error (503, not 500)", werr)
	}
	if err := waitNotReady(t, s); !strings.Contains(err.Error(), "cannot write") {
		t.Fatalf("not ready with %v", err)
	}
	if _, err := s.User(ctx, u.ID); err != nil {
		t.Fatalf("reads stop on a full disk: %v", err)
	}
	os.Remove(filler)
	time.Sleep(1100 * time.Millisecond)
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("not ready once space is back: %v", err)
	}
}

// A database file gatehouse creates is readable by its owner only (it
// holds password hashes and sealed keys); its WAL and index follow.
func TestSQLiteFilesAreCreatedPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s := openSQLiteAt(t, path)
	newUser(t, s, "alice")
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
}
