//go:build unix

package smallfile

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A FIFO nobody writes to reads as empty at once instead of blocking for
// ever; one a writer fills (a shell's process substitution) reads to its
// end.
func TestReadFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		b, err := Read(p, Text)
		if err == nil && len(b) != 0 {
			err = fmt.Errorf("read %q", b)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("an unwritten FIFO: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read blocked on a FIFO nobody writes to")
	}
	// With a writer already there, the reader gets what it writes.
	go func() {
		w, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		w.Write([]byte("secret-from-a-pipe"))
		time.Sleep(100 * time.Millisecond)
		w.Close()
	}()
	time.Sleep(50 * time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := Read(p, Text)
		if err == nil && string(b) == "secret-from-a-pipe" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a written FIFO: %q %v", b, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
