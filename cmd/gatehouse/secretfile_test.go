package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runWithin runs a gatehouse command through run and fails the test if it
// has not returned after limit (a secret file once sent secretKey into
// endless recursion).
func runWithin(t *testing.T, limit time.Duration, args []string, env map[string]string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, getenvFrom(env), strings.NewReader(""), &bytes.Buffer{}, &stderr)
	}()
	select {
	case err := <-done:
		return stderr.String(), err
	case <-time.After(limit):
		t.Fatalf("%v did not return within %v", args[1:], limit)
		return "", nil
	}
}

// secretEnv is the environment of a command on an SQLite database with no
// GATEHOUSE_SECRET_KEY, logging warnings.
func secretEnv(db string) map[string]string {
	return map[string]string{"GATEHOUSE_DATABASE_URL": db, "GATEHOUSE_LOG_LEVEL": "warn"}
}

// A secret file that exists but cannot serve as the secret stops the
// command at once with an error that names the file and the way out, and
// the file stays as it was: the data sealed under the lost secret may
// still be recovered from a backup of it.
func TestSecretFileRefused(t *testing.T) {
	for _, tc := range []struct {
		name     string
		content  string
		mode     fs.FileMode
		dir      bool
		link     string // a symbolic link to this target
		needUser bool   // root reads any file
		want     string
	}{
		{name: "empty", content: "", mode: 0o600, want: "is empty"},
		{name: "whitespace only", content: " \n\t  \r\n", mode: 0o600, want: "is empty"},
		{name: "too short", content: "abcde\n", mode: 0o600, want: "holds 5 characters, fewer than the 16"},
		{name: "directory", dir: true, mode: 0o700 | fs.ModeDir, want: "is a directory"},
		{name: "dangling symlink", link: "gone.secret", mode: 0o777 | fs.ModeSymlink, want: "dangling symbolic link"},
		{name: "unreadable", content: "0123456789abcdef0123456789abcdef\n", mode: 0o000, needUser: true, want: "permission denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needUser && os.Geteuid() == 0 {
				t.Skip("root can read a mode 000 file")
			}
			db := filepath.Join(t.TempDir(), "gatehouse.db")
			path := db + ".secret"
			switch {
			case tc.dir:
				if err := os.Mkdir(path, 0o700); err != nil {
					t.Fatal(err)
				}
			case tc.link != "":
				if err := os.Symlink(tc.link, path); err != nil {
					t.Fatal(err)
				}
			default:
				if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tc.mode); err != nil {
					t.Fatal(err)
				}
			}
			stderr, err := runWithin(t, 5*time.Second, []string{"gatehouse", "migrate"}, secretEnv(db))
			if err == nil {
				t.Fatalf("migrate accepted the secret file\n%s", stderr)
			}
			for _, s := range []string{path, tc.want, "GATEHOUSE_SECRET_KEY"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			info, serr := os.Lstat(path)
			if serr != nil || info.Mode() != tc.mode {
				t.Fatalf("secret file changed: %v %v, want mode %v", info.Mode(), serr, tc.mode)
			}
			if tc.dir || tc.link != "" {
				return
			}
			os.Chmod(path, 0o600) // to read back the unreadable one
			if b, _ := os.ReadFile(path); string(b) != tc.content {
				t.Errorf("secret file now holds %q, want %q", b, tc.content)
			}
		})
	}
}

// Without GATEHOUSE_SECRET_KEY the first command generates the secret file
// (mode 0600, warning once, the key never logged) and later ones use it.
func TestSecretFileGenerated(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "gatehouse.db")
	path := db + ".secret"
	stderr, err := runWithin(t, 20*time.Second, []string{"gatehouse", "migrate"}, secretEnv(db))
	if err != nil {
		t.Fatalf("first migrate: %v\n%s", err, stderr)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode() != 0o600 {
		t.Fatalf("secret file: %v %v, want mode 0600", info, err)
	}
	b, _ := os.ReadFile(path)
	key := strings.TrimSpace(string(b))
	if len(key) < 32 {
		t.Fatalf("generated secret has %d characters", len(key))
	}
	if !strings.Contains(stderr, "generated one") || !strings.Contains(stderr, path) || strings.Contains(stderr, key) {
		t.Fatalf("first start logged %q", stderr)
	}
	stderr, err = runWithin(t, 20*time.Second, []string{"gatehouse", "migrate"}, secretEnv(db))
	if err != nil {
		t.Fatalf("second migrate: %v\n%s", err, stderr)
	}
	if again, _ := os.ReadFile(path); string(again) != string(b) {
		t.Fatal("second start changed the secret file")
	}
	if strings.Contains(stderr, "generated") || strings.Contains(stderr, key) {
		t.Fatalf("second start logged %q", stderr)
	}
	assertNoTempFiles(t, dir)
}

// assertNoTempFiles fails unless dir holds only the database, its SQLite
// companions and the secret file.
func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch name := e.Name(); name {
		case "gatehouse.db", "gatehouse.db-wal", "gatehouse.db-shm", "gatehouse.db-journal", "gatehouse.db.secret":
		default:
			t.Errorf("left behind: %s", name)
		}
	}
}
