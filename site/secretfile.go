package site

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/smallfile"
	"github.com/gatehouse-auth/gatehouse/store"
)

// minSecretLen is the shortest server secret accepted, from
// GATEHOUSE_SECRET_KEY or from a secret file alike.
const minSecretLen = 16

// secretFileRemedy ends every error about an existing secret file. The
// file is never repaired or replaced automatically: every stored DRF key
// and OAuth client secret depends on the secret it held.
const secretFileRemedy = "restore it from a backup, or set GATEHOUSE_SECRET_KEY to the secret the database was created with; " +
	"deleting it makes a new secret, and every stored DRF token key and OAuth client secret stops working"

// loadOrCreateSecretFile returns the server secret stored at path, with
// surrounding whitespace removed. When no file exists it generates a
// random 64-character key, stores it at path (mode 0600) and logs a
// warning that it did so (created).
//
// Concurrent first starts on one path all return the same key: the file
// appears complete and synced or not at all, an existing file is never
// overwritten, and a process that loses the race reads the winner's file.
//
// A file that exists but cannot be read, is not a regular file, or holds
// fewer than minSecretLen characters is an error naming path, and the file
// is left as it is. A file readable by group or others is used, with a
// warning. Neither errors nor logs ever contain the secret.
func loadOrCreateSecretFile(path string, log *slog.Logger) (key string, created bool, err error) {
	key, err = readSecretFile(path, log)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", false, err
	}
	key = hex.EncodeToString(raw[:])
	created, err = createSecretFile(path, key)
	if err != nil {
		return "", false, err
	}
	if created {
		log.Warn("GATEHOUSE_SECRET_KEY is not set: generated one and stored it beside the database", "file", path)
		return key, true, nil
	}
	// Another process created the file between our read and our link; its
	// file is complete (it was linked whole), so one more read settles it.
	key, err = readSecretFile(path, log)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("secret file %s exists but cannot be opened (a dangling symbolic link, or removed while gatehouse started): %s", path, secretFileRemedy)
	}
	return key, false, err
}

// readSecretFile returns the trimmed secret at path. When the file does not
// exist the error wraps fs.ErrNotExist; every other error explains itself.
func readSecretFile(path string, log *slog.Logger) (string, error) {
	// Stat first: opening a FIFO would block, and reading a directory
	// gives an error that says nothing useful to an operator.
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err != nil {
		return "", unreadableSecretFile(path, err)
	}
	if info.IsDir() {
		return "", fmt.Errorf("secret file %s is a directory: move it away, then restore the secret file from a backup or set GATEHOUSE_SECRET_KEY to the secret the database was created with (for a new, empty database moving it away is enough)", path)
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("secret file %s is not a regular file (%s): %s", path, info.Mode().Type(), secretFileRemedy)
	}
	b, err := smallfile.Read(path, smallfile.Text)
	if err != nil {
		return "", unreadableSecretFile(path, err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		// Refusing would stop a server that works today over a
		// permission an operator may have chosen; say so loudly instead.
		// (Windows reports no meaningful Unix permission bits.)
		log.Warn("the secret file is readable by other users: chmod 600 it", "file", path, "mode", fmt.Sprintf("%04o", perm))
	}
	key := strings.TrimSpace(string(b))
	switch {
	case key == "":
		return "", fmt.Errorf("secret file %s is empty: %s", path, secretFileRemedy)
	case len(key) < minSecretLen:
		return "", fmt.Errorf("secret file %s holds %d characters, fewer than the %d a secret needs (truncated?): %s", path, len(key), minSecretLen, secretFileRemedy)
	}
	return key, nil
}

// unreadableSecretFile explains a failure to stat or read an existing
// secret file.
func unreadableSecretFile(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the path is named below; don't repeat it
	}
	return fmt.Errorf("cannot read secret file %s: %w: run gatehouse as the user that owns it or give that user read access (mode 0600), or set GATEHOUSE_SECRET_KEY to the secret the database was created with", path, err)
}

// createSecretFile stores key at path unless a file is already there. It
// reports created=false, with no error, when another file took path first.
//
// The key is written to a temporary file in the same directory and synced
// before it is hard-linked to path, so path never holds a partial key
// (a crash used to leave it empty) and link's refusal to replace an
// existing name decides a race between processes: rename would let the
// last one win and hand the earlier ones a key nobody keeps.
func createSecretFile(path, key string) (created bool, err error) {
	dir := filepath.Dir(path)                                   // checkDatabaseURL made sure it exists
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*") // mode 0600
	if err != nil {
		return false, fmt.Errorf("create secret file: %w", err)
	}
	// After a successful link the temporary name is a second link to the
	// same file; removing it leaves path alone.
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(key + "\n"); err != nil {
		tmp.Close()
		return false, fmt.Errorf("write secret file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, fmt.Errorf("sync secret file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("write secret file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("create secret file (set GATEHOUSE_SECRET_KEY if this filesystem has no hard links): %w", err)
	}
	if err := syncDir(dir); err != nil {
		return false, fmt.Errorf("sync directory of secret file %s: %w", path, err)
	}
	return true, nil
}

// syncDir makes the entries of dir (a new link) durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for syncing there; NTFS journals names
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

// secretKey returns the server secret: GATEHOUSE_SECRET_KEY when set, else
// for SQLite the secret file beside the database (loadOrCreateSecretFile),
// created on first use. PostgreSQL requires GATEHOUSE_SECRET_KEY: every
// replica needs the same secret.
func (e *env) secretKey() (string, error) {
	if e.cfg.SecretKey != "" {
		return e.cfg.SecretKey, checkSecretKey(e.cfg.SecretKey)
	}
	if isPostgres(e.cfg.DatabaseURL) {
		return "", errors.New("GATEHOUSE_SECRET_KEY is required with PostgreSQL (every replica needs the same one)")
	}
	path := sqlitePath(e.cfg.DatabaseURL) + ".secret"
	key, created, err := loadOrCreateSecretFile(path, e.log)
	if created {
		e.generatedSecret = path
	}
	return key, err
}

// checkSecretKey refuses a configured server secret that is too short, or
// only white space (it seals keys and signs simplejwt tokens: a file of
// blanks is a mistake, not a secret).
func checkSecretKey(key string) error {
	if len(key) < minSecretLen {
		return fmt.Errorf("GATEHOUSE_SECRET_KEY must be at least %d characters", minSecretLen)
	}
	if strings.TrimSpace(key) == "" {
		return errors.New("GATEHOUSE_SECRET_KEY is only white space: set a random secret")
	}
	return nil
}

// dropGeneratedSecret removes the secret file this start generated when
// the database did not open (a file that is no SQLite database, a
// directory, a file it may not write): nothing was stored under that
// secret, and a file left beside such a path would be taken for the
// database's own once the path is right.
func (e *env) dropGeneratedSecret() {
	if e.generatedSecret != "" && os.Remove(e.generatedSecret) == nil {
		e.generatedSecret = ""
	}
}

// secretMismatch explains a failed check of the server secret against the
// database, removing first a secret file this start generated (the
// database is not new, so that file is wrong and would only be in the way).
func (e *env) secretMismatch(err error) error {
	if !errors.Is(err, store.ErrSecretMismatch) {
		return fmt.Errorf("checking the server secret: %w", err)
	}
	if e.generatedSecret != "" {
		if rmErr := os.Remove(e.generatedSecret); rmErr == nil {
			return fmt.Errorf("%w: the secret file %s was missing, so a new secret was generated (and is now removed again). "+
				"Copy the secret file that belongs to this database beside it, or set GATEHOUSE_SECRET_KEY to the secret it was set up with", err, e.generatedSecret)
		}
	}
	return fmt.Errorf("%w: every stored DRF key and OAuth client secret depends on it. Set GATEHOUSE_SECRET_KEY "+
		"(or, with SQLite, the file beside the database) to the secret the database was set up or loaded with; nothing was changed", err)
}

func isPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

func sqlitePath(url string) string {
	return strings.TrimPrefix(strings.TrimPrefix(url, "sqlite://"), "sqlite:")
}
