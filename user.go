// Package gatehouse holds the domain of the gatehouse authentication server:
// users and the rules their fields obey, independent of HTTP and SQL.
package gatehouse

import (
	"errors"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// User mirrors the fields of Django's auth_user, plus AuthEpoch: tokens whose
// issue time is before it are no longer accepted (set on password change and
// deactivation).
type User struct {
	ID          int64
	Username    string
	Email       string
	FirstName   string
	LastName    string
	Password    string // a Django-format hash, or an unusable "!..." marker
	IsActive    bool
	IsStaff     bool
	IsSuperuser bool
	DateJoined  time.Time
	LastLogin   *time.Time
	AuthEpoch   int64 // unix seconds
}

// Storage errors shared by every backend.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// Field limits of Django's auth_user.
const (
	MaxUsername = 150
	MaxName     = 150
	MaxEmail    = 254
	MaxPassword = 128
)

// Messages of Django's validators, as clients see them.
const (
	MsgRequired        = "This field is required."
	MsgBlank           = "This field may not be blank."
	MsgNull            = "This field may not be null."
	MsgUsernameTaken   = "A user with that username already exists."
	MsgInvalidUsername = "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."
	MsgInvalidEmail    = "Enter a valid email address."
)

// MsgMaxLength is DRF's message for a string longer than n characters.
func MsgMaxLength(n int) string {
	return "Ensure this field has no more than " + itoa(n) + " characters."
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// ValidUsername reports whether s has only Unicode letters, digits and
// @ . + - _, as Django's UnicodeUsernameValidator accepts.
func ValidUsername(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("@.+-_", r) {
			continue
		}
		return false
	}
	return true
}

// ValidEmail reports whether s is an address Django's EmailValidator would
// accept closely enough: one @, a non-empty local part without spaces and a
// domain with a dot (or a literal), no display name.
func ValidEmail(s string) bool {
	if len(s) > MaxEmail || strings.ContainsAny(s, " \t\r\n<>\"(),;:\\[]") && !strings.HasSuffix(s, "]") {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if strings.Contains(local, "..") || strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") {
		return false
	}
	if domain == "localhost" {
		return true
	}
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		return len(domain) > 2
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return false
		}
		for _, r := range l {
			if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	if utf8.RuneCountInString(tld) < 2 {
		return false
	}
	_, err := mail.ParseAddress(s)
	return err == nil
}

// Length counts characters as Django does (code points, not bytes).
func Length(s string) int { return utf8.RuneCountInString(s) }
