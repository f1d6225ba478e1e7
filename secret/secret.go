// Package secret derives keys from the server secret, hashes bearer
// credentials for storage and lookup, seals values that must be shown again,
// and generates random tokens.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"time"
)

// Hash returns the lookup hash of a bearer credential (SHA-256). Credentials
// are random and long, so a fast hash is enough: a copy of the database
// yields no usable credential.
func Hash(credential string) []byte {
	sum := sha256.Sum256([]byte(credential))
	return sum[:]
}

// OAuth access and refresh tokens are stored under a key that begins with
// the token's first KeyPrefix characters in clear, followed by the
// token's SHA-256 (TokenKey), and gatehouse makes those first characters
// the issue time (OrderedAlnum). Every new token's key then lands at the
// end of the token tables' unique index instead of on a random page: a
// group of new tokens dirties one or two index pages instead of one page
// each, which on SQLite was most of the WAL written per token
// (docs/performance.md, ninth round). The same reason gave simplejwt's
// jti its time-ordered UUID version 7.
//
// What the prefix gives away: for a token gatehouse issued, its issue time
// to the millisecond, which the row stores anyway; for a token imported
// from Django (30 random characters), 6 of them, leaving 24 unknown
// characters (143 bits) behind a SHA-256 of the whole token.
const KeyPrefix = 6

// prefixSpan is how many milliseconds the prefix counts before it wraps
// (62^6, about 657 days): after a wrap new keys land at the index's start,
// as local as at its end.
const prefixSpan = 62 * 62 * 62 * 62 * 62 * 62

// ordered is the alphanumeric alphabet in byte order, so that prefixes
// sort as the times they encode.
const ordered = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// OrderedAlnum returns n characters from [A-Za-z0-9]: KeyPrefix characters
// that encode t's Unix millisecond (modulo prefixSpan) so that tokens
// issued later sort after, then n-KeyPrefix random ones. n must leave at
// least 22 random characters (128 bits); a DOT-shaped token of 30 keeps 24
// (143 bits).
func OrderedAlnum(r io.Reader, n int, t time.Time) (string, error) {
	if n-KeyPrefix < 22 {
		return "", errors.New("secret: an ordered token needs at least 28 characters")
	}
	rest, err := Alnum(r, n-KeyPrefix)
	if err != nil {
		return "", err
	}
	b := make([]byte, KeyPrefix, n)
	v := uint64(t.UnixMilli()) % prefixSpan // before 1970 too: a uint64 conversion wraps like the span
	for i := KeyPrefix - 1; i >= 0; i-- {
		b[i] = ordered[v%62]
		v /= 62
	}
	return string(append(b, rest...)), nil
}

// TokenKey returns the lookup key of an OAuth access or refresh token:
// its first KeyPrefix characters (all of a shorter one), then its
// SHA-256.
func TokenKey(token string) []byte {
	p := min(KeyPrefix, len(token))
	sum := sha256.Sum256([]byte(token))
	key := make([]byte, 0, p+sha256.Size)
	return append(append(key, token[:p]...), sum[:]...)
}

// KeyDigest returns the SHA-256 part of a TokenKey, which is also the key
// under which gatehouse stored tokens before TokenKey (a store looks a key
// up under it when the key itself is not found). A 32-byte key is
// returned as it is.
func KeyDigest(key []byte) []byte {
	if len(key) <= sha256.Size {
		return key
	}
	return key[len(key)-sha256.Size:]
}

// Equal compares two byte strings in constant time.
func Equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// Box seals small values (such as a DRF key that must be returned again on
// every login) with AES-256-GCM under a key derived from the server secret.
// A sealed value is useless without the server secret.
type Box struct{ aead cipher.AEAD }

// NewBox derives the box key from the server secret.
func NewBox(serverSecret string) (*Box, error) {
	if serverSecret == "" {
		return nil, errors.New("secret: empty server secret")
	}
	block, err := aes.NewCipher(derive(serverSecret, "gatehouse/box/v1"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plain; the result carries its nonce.
func (b *Box) Seal(plain []byte) ([]byte, error) {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		return nil, err
	}
	return b.aead.Seal(nonce, nonce, plain, nil), nil
}

// Open decrypts a value made by Seal with the same server secret.
func (b *Box) Open(sealed []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("secret: sealed value too short")
	}
	return b.aead.Open(nil, sealed[:n], sealed[n:], nil)
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// Alnum returns n random characters from [A-Za-z0-9], the alphabet of DOT's
// access tokens, refresh tokens and codes. Unbiased (rejection sampling).
func Alnum(r io.Reader, n int) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2+8)
	for len(out) < n {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		for _, c := range buf {
			if c < 248 { // 248 = 4*62: keeps the distribution uniform
				out = append(out, alnum[c%62])
				if len(out) == n {
					break
				}
			}
		}
	}
	return string(out), nil
}

// Hex returns 2n lowercase hex characters from n random bytes (a DRF key is Hex(r, 20)).
func Hex(r io.Reader, n int) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// UUID4 returns a random UUID (version 4, RFC 9562) from r (nil:
// crypto/rand) in the dashed lower-case form Python's str(uuid4()) gives.
func UUID4(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // the RFC's variant
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// Fingerprint is a short, non-reversible label of a credential for logs and
// listings: the first 8 hex characters of its hash.
func Fingerprint(credential string) string {
	return hex.EncodeToString(Hash(credential)[:4])
}

// CheckValue is a value stored to tell later whether the same server
// secret is in use: an HMAC of a fixed label under it, from which neither
// the secret nor the keys derived from it can be computed.
func CheckValue(serverSecret string) []byte { return derive(serverSecret, "gatehouse/secret-check/v1") }

// derive is a key for one purpose, named by label, from the server
// secret: an HMAC-SHA256 of the label under it.
func derive(serverSecret, label string) []byte {
	m := hmac.New(sha256.New, []byte(serverSecret))
	m.Write([]byte(label))
	return m.Sum(nil)
}
