// Package smallfile reads the files an operator names in gatehouse's
// settings (the configuration file, secret and key files, the
// forward-auth policy, a common-password list) with a bound: a path
// mistaken for such a file (/dev/zero, a disk image, a log) is refused
// with a message naming it, instead of reading until memory runs out.
package smallfile

import (
	"fmt"
	"io"
	"os"
)

// Limits for the files gatehouse reads whole.
const (
	// Text is for configuration, secret, key and policy files.
	Text = 1 << 20
	// List is for a common-password list (Django's holds 20,000 lines,
	// about 200 KB).
	List = 64 << 20
)

// Read reads the file at path, at most max bytes; a longer file is an
// error naming the path and the bound.
//
// The file is opened without blocking (openFlags): a FIFO nobody writes to
// reads as empty instead of waiting for ever (found by a bad-input pass: a
// start that SIGTERM could not stop), while one a writer fills (a shell's
// process substitution) reads to its end.
func Read(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, openFlags, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadFrom(path, f, max)
}

// ReadFrom is Read of an opened file (name for the message).
func ReadFrom(name string, r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes: not the file this setting names", name, max)
	}
	return b, nil
}
