package site

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// An existing secret file is used trimmed; one that other users can read
// is used too, with a warning naming it and its mode.
func TestSecretFileExisting(t *testing.T) {
	const key = "an-operator-chosen-secret-0123456789"
	for _, tc := range []struct {
		name    string
		content string
		mode    fs.FileMode
		warn    string // "" when nothing is logged
	}{
		{name: "private", content: key + "\n", mode: 0o600},
		{name: "padded", content: "  \t" + key + " \r\n\n", mode: 0o400},
		{name: "exactly 16", content: key[:16], mode: 0o600},
		{name: "group readable", content: key + "\n", mode: 0o640, warn: `"mode":"0640"`},
		{name: "world readable", content: key + "\n", mode: 0o644, warn: `"mode":"0644"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "gatehouse.db.secret")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer // slog handlers write whole lines under a lock
			got, _, err := loadOrCreateSecretFile(path, slog.New(slog.NewJSONHandler(&logs, nil)))
			if err != nil || got != strings.TrimSpace(tc.content) {
				t.Fatalf("got %q, %v", got, err)
			}
			switch {
			case tc.warn == "" && logs.String() != "":
				t.Errorf("logged %q", logs.String())
			case tc.warn != "" && (!strings.Contains(logs.String(), tc.warn) || !strings.Contains(logs.String(), path)):
				t.Errorf("logged %q, want the file and %s", logs.String(), tc.warn)
			}
			if strings.Contains(logs.String(), got) {
				t.Errorf("the secret was logged: %q", logs.String())
			}
		})
	}
}

// Processes starting together on a fresh database agree on one secret:
// exactly one generates it, the others read its file, and no temporary
// file is left behind.
func TestSecretFileConcurrentFirstStart(t *testing.T) {
	const starts = 8
	for round := range 10 {
		dir := t.TempDir()
		path := filepath.Join(dir, "gatehouse.db.secret")
		var logs bytes.Buffer // slog handlers write whole lines under a lock
		log := slog.New(slog.NewJSONHandler(&logs, nil))
		keys := make([]string, starts)
		errs := make([]error, starts)
		begin := make(chan struct{})
		var wg sync.WaitGroup
		for i := range starts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-begin
				keys[i], _, errs[i] = loadOrCreateSecretFile(path, log)
			}()
		}
		close(begin)
		wg.Wait()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.TrimSpace(string(b))
		for i := range starts {
			if errs[i] != nil || keys[i] != want {
				t.Fatalf("round %d, start %d: err %v, same key as the file: %v", round, i, errs[i], keys[i] == want)
			}
		}
		if n := strings.Count(logs.String(), "generated one"); n != 1 {
			t.Fatalf("round %d: %d starts say they generated the secret", round, n)
		}
		if entries, err := os.ReadDir(dir); err != nil || len(entries) != 1 {
			t.Fatalf("round %d: the directory holds %v (%v), want the secret file alone", round, entries, err)
		}
	}
}

// A start whose SQLite database does not open leaves no secret file
// behind: neither beside a file that is no database nor beside a
// directory. A secret file that was there before stays.
func TestSecretFileNotLeftBesideUnopenedDatabase(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte("not a database at all, but long enough to be read as a header\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dir, "folder.db")
	if err := os.Mkdir(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{junk, folder} {
		c := DefaultConfig()
		c.DatabaseURL = path
		_, err := OpenServices(t.Context(), c, Options{})
		if err == nil {
			t.Fatalf("%s opened", path)
		}
		if _, err := os.Stat(path + ".secret"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: the generated secret file stayed (%v)", path, err)
		}
	}
	// An operator's secret file is never removed.
	const key = "an-operator-chosen-secret-0123456789"
	if err := os.WriteFile(junk+".secret", []byte(key), 0o600); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.DatabaseURL = junk
	if _, err := OpenServices(t.Context(), c, Options{}); err == nil {
		t.Fatal("junk opened")
	}
	if b, err := os.ReadFile(junk + ".secret"); err != nil || string(b) != key {
		t.Fatalf("the operator's secret file: %q %v", b, err)
	}
}
