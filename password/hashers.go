package password

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// Django's algorithm names, as hashes are prefixed with them and as
// Config.Algorithms lists them.
const (
	AlgArgon2       = "argon2"
	AlgPBKDF2SHA256 = "pbkdf2_sha256"
	AlgPBKDF2SHA1   = "pbkdf2_sha1"
	AlgBcryptSHA256 = "bcrypt_sha256"
	AlgBcrypt       = "bcrypt"
	AlgScrypt       = "scrypt"
	AlgSHA1         = "sha1"
	AlgMD5          = "md5"
	AlgUnsaltedSHA1 = "unsalted_sha1"
	AlgUnsaltedMD5  = "unsalted_md5"
)

// Algorithms returns every algorithm Verify reads, in the order of
// Django's hashers module: the strong ones first, then the legacy digests.
func Algorithms() []string {
	return []string{AlgArgon2, AlgPBKDF2SHA256, AlgPBKDF2SHA1, AlgBcryptSHA256, AlgBcrypt, AlgScrypt,
		AlgSHA1, AlgMD5, AlgUnsaltedSHA1, AlgUnsaltedMD5}
}

// Writable reports whether a Hasher may write new hashes by algorithm: the
// three whose hashes resist offline guessing today without the flaws of
// the others (pbkdf2_sha1's SHA-1, bcrypt's silent truncation at 72
// bytes, the unsalted and single-round digests). scrypt is read but not
// written: Django 3.2 cannot read it.
func Writable(algorithm string) bool {
	return algorithm == AlgArgon2 || algorithm == AlgPBKDF2SHA256 || algorithm == AlgBcryptSHA256
}

// Bounds of the pbkdf2_sha256 and bcrypt_sha256 costs of new hashes.
// MinPBKDF2Iterations is OWASP's figure for PBKDF2-HMAC-SHA256 (Password
// Storage Cheat Sheet, 2023), which Django 4.2 adopted; Django 3.2 wrote
// 260,000. MinBcryptRounds is OWASP's minimum bcrypt cost; Django writes 12.
const (
	MinPBKDF2Iterations     = 600_000
	DefaultPBKDF2Iterations = MinPBKDF2Iterations
	MinBcryptRounds         = 10
	DefaultBcryptRounds     = 12
)

// Config is Django's PASSWORD_HASHERS for a Hasher. The zero value (with
// valid Argon2 parameters) writes argon2id and verifies every format.
type Config struct {
	// Algorithms are the accepted algorithms in order (Django's
	// PASSWORD_HASHERS by algorithm name): the first writes new hashes and
	// must be Writable; a stored hash of an algorithm not listed never
	// verifies, as in Django. Empty means argon2 first and every format
	// in Algorithms() accepted.
	Algorithms []string
	// Argon2 are the parameters of new argon2 hashes.
	Argon2 Params
	// PBKDF2Iterations and BcryptRounds are the costs of new pbkdf2_sha256
	// and bcrypt_sha256 hashes; 0 means the default.
	PBKDF2Iterations int
	BcryptRounds     int
}

// NewHasher returns a Hasher for c, drawing salts from random (nil means
// crypto/rand.Reader). It fails, naming the problem, on an unknown or
// repeated algorithm, a first algorithm that is not Writable, argon2
// parameters that Params.Validate refuses, or a cost outside its bounds.
func NewHasher(c Config, random io.Reader) (*Hasher, error) {
	if err := c.Argon2.Validate(); err != nil {
		return nil, err
	}
	if c.PBKDF2Iterations == 0 {
		c.PBKDF2Iterations = DefaultPBKDF2Iterations
	}
	if c.BcryptRounds == 0 {
		c.BcryptRounds = DefaultBcryptRounds
	}
	if c.PBKDF2Iterations < MinPBKDF2Iterations || c.PBKDF2Iterations > maxPBKDF2Iterations {
		return nil, fmt.Errorf("password: pbkdf2_sha256 iterations must be between %d and %d, not %d", MinPBKDF2Iterations, maxPBKDF2Iterations, c.PBKDF2Iterations)
	}
	if c.BcryptRounds < MinBcryptRounds || c.BcryptRounds > maxBcryptCost {
		return nil, fmt.Errorf("password: bcrypt rounds must be between %d and %d, not %d", MinBcryptRounds, maxBcryptCost, c.BcryptRounds)
	}
	if random == nil {
		random = rand.Reader
	}
	h := &Hasher{algorithm: AlgArgon2, params: c.Argon2, pbkdf2Iterations: c.PBKDF2Iterations, bcryptRounds: c.BcryptRounds, random: random}
	if len(c.Algorithms) > 0 {
		known := Algorithms()
		h.accept = map[string]bool{}
		for _, a := range c.Algorithms {
			if !slices.Contains(known, a) {
				return nil, fmt.Errorf("password: unknown hasher algorithm %q (known: %s)", a, strings.Join(known, ", "))
			}
			if h.accept[a] {
				return nil, fmt.Errorf("password: hasher algorithm %q listed twice", a)
			}
			h.accept[a] = true
		}
		if h.algorithm = c.Algorithms[0]; !Writable(h.algorithm) {
			return nil, fmt.Errorf("password: new hashes cannot be %s; list argon2, pbkdf2_sha256 or bcrypt_sha256 first", h.algorithm)
		}
	}
	h.dummy = sync.OnceValue(h.newDummy)
	return h, nil
}

// accepts reports whether hashes of algorithm may verify.
func (h *Hasher) accepts(algorithm string) bool { return h.accept == nil || h.accept[algorithm] }

// newDummy returns a stored hash with h's algorithm and costs whose
// verification takes as long as that of a hash h writes. Its comparison
// always fails: the all-zero key and the bcrypt hash of a random value
// match no password.
func (h *Hasher) newDummy() stored {
	switch h.algorithm {
	case AlgPBKDF2SHA256:
		return pbkdf2Hash{name: AlgPBKDF2SHA256, newHash: sha256.New, iterations: h.pbkdf2Iterations,
			salt: "gatehousedummysalt0022", key: make([]byte, sha256.Size)}
	case AlgBcryptSHA256:
		var unguessable [32]byte
		rand.Read(unguessable[:])
		enc, err := hashBcryptSHA256(hex.EncodeToString(unguessable[:]), h.bcryptRounds)
		if s, perr := parse(enc); err == nil && perr == nil {
			return s
		}
	}
	return argon2Hash{variant: "argon2id", memory: h.params.Memory, time: h.params.Time, threads: h.params.Threads,
		salt: []byte("gatehouse-dummy-salt22"), key: make([]byte, argon2KeyLen)}
}

// hashPBKDF2SHA256 writes Django's PBKDF2PasswordHasher encoding.
func hashPBKDF2SHA256(password, salt string, iterations int) (string, error) {
	key, err := pbkdf2.Key(sha256.New, password, []byte(salt), iterations, sha256.Size)
	if err != nil {
		return "", fmt.Errorf("password: pbkdf2: %w", err)
	}
	return AlgPBKDF2SHA256 + "$" + strconv.Itoa(iterations) + "$" + salt + "$" + base64.StdEncoding.EncodeToString(key), nil
}

// hashBcryptSHA256 writes Django's BCryptSHA256PasswordHasher encoding:
// bcrypt of the hex SHA-256 of the password, so that long passwords are
// not truncated, with the "$2b$" prefix Python's bcrypt writes (Go's
// writes "$2a$", the same algorithm for these ASCII inputs).
func hashBcryptSHA256(password string, rounds int) (string, error) {
	sum := sha256.Sum256([]byte(password))
	b, err := bcrypt.GenerateFromPassword([]byte(hex.EncodeToString(sum[:])), rounds)
	if err != nil {
		return "", fmt.Errorf("password: bcrypt: %w", err)
	}
	return AlgBcryptSHA256 + "$$2b" + strings.TrimPrefix(string(b), "$2a"), nil
}
