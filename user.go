// Package gatehouse holds the domain of the gatehouse authentication server:
// users and the rules their fields obey, independent of HTTP and SQL.
package gatehouse

import (
	"errors"
	"net/mail"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// User mirrors the fields of Django's auth_user, plus AuthEpoch: credentials
// issued before it are no longer accepted (it moves on a password change and
// on deactivation; see Accepts).
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
	AuthEpoch   time.Time // zero: never moved; kept to the microsecond
	// DjangoKey is the Django primary key of a user loaded from a
	// project whose model's key is no integer (a UUID, as str(pk) writes
	// it; "" for every other user): the store keeps it so that Django's
	// simplejwt tokens, whose user_id it is, find the user
	// (UserIDByDjangoKey), and so that the project's own services, whose
	// rows still name their users by it, are told it (introspection's
	// django_pk). It is set by a load only; a User read back carries it.
	DjangoKey string
}

// Accepts reports whether a credential of u issued at issuedAt is still
// good under u's auth epoch: it is when it was issued at or after the epoch.
// This is the one rule every credential obeys (DRF and OAuth tokens, JWTs,
// sessions); whether u is active is a separate check. A credential whose
// issue time is known only to the second must pass the start of its second
// (jwt.Claims.IssuedAt does), so that one minted earlier in the same second
// as a password change is refused.
func (u *User) Accepts(issuedAt time.Time) bool {
	return u.AuthEpoch.IsZero() || !issuedAt.Before(u.AuthEpoch)
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
	// MaxLoginName bounds the name a login looks up: a username, or the
	// e-mail the users of a custom user model log in with (USERNAME_FIELD
	// email, whose EmailField allows 254 characters; fixture.Converter
	// loads them with it as their username).
	MaxLoginName = MaxEmail
)

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
// accept closely enough: a local part of ASCII atoms joined by single dots
// (no quoted strings), and a domain that is localhost, dotted labels of
// letters, digits and hyphens, or an IP address in brackets.
func ValidEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if len(s) > MaxEmail || at <= 0 || at == len(s)-1 || !dotAtom(s[:at]) {
		return false
	}
	domain := s[at+1:]
	if domain == "localhost" {
		return true
	}
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		lit := domain[1 : len(domain)-1]
		_, err := netip.ParseAddr(lit)
		return err == nil && strings.Trim(lit, "0123456789abcdefABCDEF:.") == ""
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

// dotAtom reports whether s is atoms of Django's local-part characters
// joined by single dots.
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || strings.IndexByte("!#$%&'*+/=?^_`{|}~-", c) >= 0) {
			return false
		}
	}
	return true
}

// MsgNullCharacters is the field error for a value with NUL in it, in the
// words of Django's ProhibitNullCharactersValidator.
const MsgNullCharacters = "Null characters are not allowed."

// ValidText reports whether s can be stored and compared as text on every
// backend: valid UTF-8 without NUL characters (PostgreSQL refuses both).
// No username, client id or token can contain anything else, so a lookup
// of such a value finds nothing.
func ValidText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// Length counts characters as Django does (code points, not bytes).
func Length(s string) int { return utf8.RuneCountInString(s) }

// Subject is the user's public identifier where one is owed (OpenID
// Connect's sub, introspection's sub, forward auth's user id header): the
// Django key it was imported
// with (DjangoKey), so that a relying party that knew the user under
// Django OAuth Toolkit, whose sub is str(user.id), a UUID for a model
// keyed by UUIDs, still does; else its id in decimal. A key of digits
// alone is not used: it could spell another user's id.
func (u *User) Subject() string {
	if k := u.WireKey(); k != "" {
		return k
	}
	return strconv.FormatInt(u.ID, 10)
}

// WireKey is the Django key that names the user on the wire in place of
// its id (/api/me/'s and /api/users/' id, simplejwt's user_id, OpenID
// Connect's sub), as the Django project it was imported from named it
// there: its DjangoKey (a UUID, say), unless that is digits alone, which
// could spell another user's id; "" for every other user, named by its id.
func (u *User) WireKey() string {
	if NamesByKey(u.DjangoKey) {
		return u.DjangoKey
	}
	return ""
}

// NamesByKey reports whether a Django key names its user on the wire in
// place of the id (User.WireKey): it is not empty and not digits alone,
// which a reader could take for another user's id.
func NamesByKey(key string) bool { return strings.Trim(key, "0123456789") != "" }

// DjangoUserKey is a Django primary key that is no integer as gatehouse
// keeps and looks it up (User.DjangoKey): a UUID in the dashed lower-case
// form str(uuid) gives, whether written so, as 32 hex digits (SQLite's
// and MySQL's column) or in capitals; any other key as it is.
func DjangoUserKey(s string) string {
	if u, ok := CanonicalUUID(s); ok {
		return u
	}
	return s
}

// CanonicalUUID is s, a UUID as Django serializes one (dashed) or a
// database stores it (32 hex digits), in the dashed lower-case form;
// false when s is neither.
func CanonicalUUID(s string) (string, bool) {
	h := strings.ToLower(strings.ReplaceAll(s, "-", ""))
	if len(h) != 32 || strings.Trim(h, "0123456789abcdef") != "" || (len(s) != 32 && len(s) != 36) {
		return "", false
	}
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], true
}
