// Package knox holds the token format of django-rest-knox, so that tokens
// a Django project issued with it keep working: which characters of a token
// its row is found by (token_key), how the stored digest is computed from
// the token in each release line, the shape of a token, and the automatic
// renewal of its expiry. It knows nothing of storage or HTTP.
//
// The facts, and the knox releases they come from, are in
// docs/compatibility.md ("django-rest-knox tokens").
package knox

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"hash"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/blake2s"
)

// Release lines whose tokens differ.
const (
	// Version4 covers django-rest-knox 3.0 to 4.2: the digest hashes the
	// bytes the hex token encodes (followed, up to 4.1, by the bytes of the
	// row's hex salt), and token_key is the token's first 8 characters.
	Version4 = 4
	// Version5 covers django-rest-knox 5.0 and later: the digest hashes the
	// token's text (TOKEN_PREFIX included), and token_key is its first 15
	// characters.
	Version5 = 5
)

// MaxPrefix is knox 5's MAXIMUM_TOKEN_PREFIX_LENGTH; MaxTokenKey the
// longest token_key knox stores (the prefix length plus 15), and MaxDigest
// its DIGEST_LENGTH, the longest hex digest its column holds.
const (
	MaxPrefix   = 10
	MaxTokenKey = 25
	MaxDigest   = 128
)

// Config is what differs between knox projects (their REST_KNOX settings
// and the release they run). The zero value is not usable: start from
// DefaultConfig.
type Config struct {
	// Version is Version4 or Version5.
	Version int
	// Hash names SECURE_HASH_ALGORITHM, as the Django setting does
	// ("hashlib.sha512", "cryptography.hazmat.primitives.hashes.SHA512") or
	// bare ("sha512"); see Hashes.
	Hash string
	// Prefix is TOKEN_PREFIX (knox 5 only), at most MaxPrefix characters.
	Prefix string
	// Length is AUTH_TOKEN_CHARACTER_LENGTH: how many hex characters
	// follow the prefix (knox makes Length/2 random bytes).
	Length int
	// AutoRefresh is AUTO_REFRESH: each use of a token that has an expiry
	// moves it to TTL from now, bounded by MaxTTL from the token's
	// creation (AUTO_REFRESH_MAX_TTL; 0: no bound), and written only when
	// it moves by more than MinRefreshInterval (MIN_REFRESH_INTERVAL).
	AutoRefresh        bool
	TTL                time.Duration
	MaxTTL             time.Duration
	MinRefreshInterval time.Duration
}

// DefaultConfig is knox 5's defaults.
func DefaultConfig() Config {
	return Config{Version: Version5, Hash: "sha512", Length: 64, TTL: 10 * time.Hour, MinRefreshInterval: time.Minute}
}

// hashes maps the bare names of SECURE_HASH_ALGORITHM values to their
// constructors: those of Python's hashlib (knox 5) and of cryptography's
// hashes module (knox 4) whose hex digest fits knox's 128-character column.
var hashes = map[string]func() hash.Hash{
	"md5":        md5.New,
	"sha1":       sha1.New,
	"sha224":     sha256.New224,
	"sha256":     sha256.New,
	"sha384":     sha512.New384,
	"sha512":     sha512.New,
	"sha512_224": sha512.New512_224,
	"sha512_256": sha512.New512_256,
	"sha3_224":   func() hash.Hash { return sha3.New224() },
	"sha3_256":   func() hash.Hash { return sha3.New256() },
	"sha3_384":   func() hash.Hash { return sha3.New384() },
	"sha3_512":   func() hash.Hash { return sha3.New512() },
	"blake2b":    func() hash.Hash { h, _ := blake2b.New512(nil); return h },
	"blake2s":    func() hash.Hash { h, _ := blake2s.New256(nil); return h },
}

// Hashes lists the bare hash names Config.Hash accepts.
func Hashes() []string {
	names := make([]string, 0, len(hashes))
	for n := range hashes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// hashName reduces a SECURE_HASH_ALGORITHM value to its bare name.
func hashName(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		s = s[i+1:]
	}
	return strings.ToLower(s)
}

// Validate reports the first setting that knox would not have allowed or
// that gatehouse cannot honour.
func (c Config) Validate() error {
	if c.Version != Version4 && c.Version != Version5 {
		return fmt.Errorf("knox version must be 4 (django-rest-knox 3.0 to 4.2) or 5 (5.0 and later), not %d", c.Version)
	}
	if _, ok := hashes[hashName(c.Hash)]; !ok {
		return fmt.Errorf("knox hash %q is not one of %s", c.Hash, strings.Join(Hashes(), ", "))
	}
	if len(c.Prefix) > MaxPrefix {
		return fmt.Errorf("knox token prefix %q is longer than knox's %d characters", c.Prefix, MaxPrefix)
	}
	if c.Prefix != "" && c.Version == Version4 {
		return fmt.Errorf("knox token prefix needs knox version 5 (knox 4 had no TOKEN_PREFIX)")
	}
	if strings.ContainsAny(c.Prefix, " \t\r\n\v\f") {
		return fmt.Errorf("knox token prefix %q has white space, which an Authorization header cannot carry", c.Prefix)
	}
	if c.Length < 2 || c.Length > 1024 {
		return fmt.Errorf("knox token length must be between 2 and 1024, not %d", c.Length)
	}
	if c.AutoRefresh && c.TTL <= 0 {
		return fmt.Errorf("knox auto refresh needs a token TTL (knox fails on AUTO_REFRESH with TOKEN_TTL None)")
	}
	return nil
}

// KeyLength is CONSTANTS.TOKEN_KEY_LENGTH of c's release line.
func (c Config) KeyLength() int {
	if c.Version == Version4 {
		return 8
	}
	return 15
}

// Key is the token_key a token's row is stored under: its first
// KeyLength characters (all of a shorter token, as Python's slice).
func (c Config) Key(token string) string {
	if n := c.KeyLength(); len(token) > n {
		return token[:n]
	}
	return token
}

// DigestLength is the length of c's hex digests.
func (c Config) DigestLength() int {
	h, ok := hashes[hashName(c.Hash)]
	if !ok {
		return 0
	}
	return 2 * h().Size()
}

// Fits reports whether token has the shape of the tokens knox makes with
// c: Length lowercase hex characters (rounded down to an even count, as
// knox makes Length/2 bytes), after a TOKEN_PREFIX of up to 10 printable
// characters with knox 5. Any prefix fits, not only c.Prefix: knox looks a
// token up by its first characters and never checks the prefix, so
// tokens made before TOKEN_PREFIX was set or changed keep working.
func (c Config) Fits(token string) bool {
	n := len(token) - c.Length/2*2
	if n < 0 || (c.Version == Version4 && n != 0) || n > MaxPrefix {
		return false
	}
	for i := 0; i < n; i++ {
		if ch := token[i]; ch <= ' ' || ch > '~' {
			return false
		}
	}
	for i := n; i < len(token); i++ {
		if ch := token[i]; !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f') {
			return false
		}
	}
	return true
}

// Digest is the hex digest knox stores for token (salt: the row's salt,
// knox 4.1 and older; "" otherwise). ok is false when knox could not hash
// the token, which it refuses as an invalid token: knox 4 needs an even
// count of hex characters in the token and the salt. A salt given to a
// Version5 config is an error too: no knox 5 row has one.
func (c Config) Digest(token, salt string) (digest string, ok bool) {
	newHash, found := hashes[hashName(c.Hash)]
	if !found {
		return "", false
	}
	h := newHash()
	if c.Version == Version5 {
		if salt != "" {
			return "", false
		}
		h.Write([]byte(token)) // knox 5 hashes the token's UTF-8 text
	} else {
		raw, err := hex.DecodeString(token)
		if err != nil {
			return "", false
		}
		h.Write(raw)
		if salt != "" {
			s, err := hex.DecodeString(salt)
			if err != nil {
				return "", false
			}
			h.Write(s)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), true
}

// Matches reports, in constant time for digests of equal length, whether
// token is the token of the row with that digest and salt.
func (c Config) Matches(token, digest, salt string) bool {
	d, ok := c.Digest(token, salt)
	return ok && subtle.ConstantTimeCompare([]byte(d), []byte(digest)) == 1
}

// Expired reports whether a token with that expiry is expired at now, as
// knox decides it: expiry < now (a token is still good at its expiry).
func Expired(expiry *time.Time, now time.Time) bool {
	return expiry != nil && expiry.Before(now)
}

// Renewal is knox's AUTO_REFRESH for a token created at created whose
// expiry is expiry, used at now: the new expiry, and whether it is to be
// written (it moves by more than MinRefreshInterval). A token without an
// expiry never expires and is never renewed.
func (c Config) Renewal(created time.Time, expiry *time.Time, now time.Time) (time.Time, bool) {
	if !c.AutoRefresh || expiry == nil {
		return time.Time{}, false
	}
	next := now.Add(c.TTL)
	if c.MaxTTL > 0 {
		if limit := created.Add(c.MaxTTL); next.After(limit) {
			next = limit
		}
	}
	return next, next.Sub(*expiry) > c.MinRefreshInterval
}

// ValidDigest reports whether s can be a digest knox stored: lowercase
// hex (hexdigest, hexlify), of an even length up to MaxDigest.
func ValidDigest(s string) bool {
	return s != "" && len(s) <= MaxDigest && len(s)%2 == 0 && isLowerHex(s)
}

// ValidSalt reports whether s can be the salt of a knox 4.1 (or older)
// row: 16 lowercase hex characters.
func ValidSalt(s string) bool { return len(s) == 16 && isLowerHex(s) }

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if ch := s[i]; !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f') {
			return false
		}
	}
	return true
}
