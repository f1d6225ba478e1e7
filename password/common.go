package password

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// commonPasswordsGz is Django's common-passwords.txt.gz, copied unchanged
// from Django 3.2.25 (BSD-3-Clause, Django Software Foundation; list by
// Royce Williams). Provenance and licence: common-passwords.LICENSE.
//
//go:embed common-passwords.txt.gz
var commonPasswordsGz []byte

// commonPasswords is the decompressed list as a set, built on first use and
// never modified afterwards, so it is safe to share between goroutines.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set, err := loadCommon(commonPasswordsGz)
	if err != nil {
		// The list is compiled into the binary and checked by the
		// tests; failing here means the build itself is broken.
		panic("password: embedded common-passwords.txt.gz: " + err.Error())
	}
	return set
})

// loadCommon reads one password a line, stripped as Django strips them.
func loadCommon(gz []byte) (map[string]struct{}, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	set := make(map[string]struct{}, 20000)
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		set[pyStrip(sc.Text())] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return set, zr.Close()
}

// isCommon is Django's CommonPasswordValidator check:
// password.lower().strip() in the list.
func isCommon(password string) bool {
	_, found := commonPasswords()[pyStrip(strings.ToLower(password))]
	return found
}

// CommonList is a list of common passwords that replaces Django's
// (CommonPasswordValidator's password_list_path). It is read once and
// never changed, so it is safe to share.
type CommonList struct{ set map[string]struct{} }

// ReadCommonList reads a list as Django reads password_list_path: gzip or
// plain UTF-8 text, one password a line, each stripped of surrounding
// white space. Passwords are compared lowercased, so the list should be
// lowercase, as Django's is.
func ReadCommonList(r io.Reader) (*CommonList, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		set, err := loadCommon(b)
		if err != nil {
			return nil, fmt.Errorf("reading a gzip list: %w", err)
		}
		return &CommonList{set}, nil
	}
	if !utf8.Valid(b) {
		return nil, errors.New("the list is neither gzip nor UTF-8 text")
	}
	set := map[string]struct{}{}
	for line := range strings.Lines(string(b)) {
		set[pyStrip(line)] = struct{}{}
	}
	return &CommonList{set}, nil
}

// has reports whether password is common: on l, or on Django's list when l
// is nil.
func (l *CommonList) has(password string) bool {
	if l == nil {
		return isCommon(password)
	}
	_, found := l.set[pyStrip(strings.ToLower(password))]
	return found
}

// pyStrip is Python's str.strip(): Go's unicode.IsSpace plus the ASCII
// separators U+001C..U+001F, which Python also counts as whitespace.
func pyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
	})
}
