package smallfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("12345"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := Read(p, 5); err != nil || string(b) != "12345" {
		t.Fatalf("at the bound: %q %v", b, err)
	}
	if _, err := Read(p, 4); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "larger than 4 bytes") {
		t.Fatalf("past the bound: %v", err)
	}
	if _, err := Read(filepath.Join(dir, "missing"), 5); !os.IsNotExist(err) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		if _, err := Read("/dev/zero", Text); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Fatalf("/dev/zero: %v", err)
		}
	}
}
