// Package password hashes and checks user passwords in the formats Django
// stores in auth_user.password, and applies Django's default password
// validators.
//
// New hashes are argon2id in Django's "argon2$argon2id$v=19$..." form, so a
// database shared with a Django deployment stays readable by both. Verify
// accepts every format Django's stock hashers write that has a modern use:
// pbkdf2_sha256, pbkdf2_sha1, argon2 (argon2id and argon2i, version 19),
// bcrypt_sha256, bcrypt and scrypt. Anything else, including Django's
// unusable "!..." marker, never verifies.
//
// Parameters read from stored hashes are bounded (see the limits in
// formats.go) so a corrupt or hostile row cannot make a login hang or
// exhaust memory.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id parameters for new hashes. Memory is in KiB.
type Params struct {
	Memory  uint32
	Time    uint32
	Threads uint8
}

// DefaultParams returns the OWASP minimum for argon2id: 19 MiB, 2 passes, 1 lane.
func DefaultParams() Params { return Params{Memory: 19456, Time: 2, Threads: 1} }

// Validate reports why p cannot be used for new hashes: Time and Threads must
// be at least 1, Memory at least 8 KiB per thread (argon2's minimum), and
// the cost must stay within the limits Verify enforces on stored hashes, so
// that every hash a Hasher writes can be verified again.
func (p Params) Validate() error {
	switch {
	case p.Time < 1:
		return errors.New("password: argon2 Time must be at least 1")
	case p.Threads < 1:
		return errors.New("password: argon2 Threads must be at least 1")
	case p.Memory < 8*uint32(p.Threads):
		return fmt.Errorf("password: argon2 Memory must be at least %d KiB for %d threads", 8*uint32(p.Threads), p.Threads)
	case !argon2CostOK(p.Memory, p.Time):
		return fmt.Errorf("password: argon2 cost above limit (Memory <= %d KiB, Memory*Time <= %d)", maxArgon2Memory, maxArgon2Work)
	}
	return nil
}

// Lengths of what Hash writes. The salt copies Django's get_random_string
// salt (22 letters and digits, about 131 bits), so Django's own
// must_update_salt check accepts hashes written here; the tag length is
// argon2-cffi's current default and RFC 9106's recommendation.
const (
	saltChars    = 22
	argon2KeyLen = 32
)

// Hasher hashes passwords as Django's first PASSWORD_HASHERS entry does
// (argon2id by default) and verifies Django-format hashes of the
// algorithms it is configured to accept. It is safe for concurrent use.
// The zero value is not usable: build one with New or NewHasher.
type Hasher struct {
	algorithm        string // of new hashes: argon2, pbkdf2_sha256 or bcrypt_sha256
	accept           map[string]bool
	params           Params
	pbkdf2Iterations int
	bcryptRounds     int
	random           io.Reader
	dummy            func() stored
}

// New returns a Hasher writing argon2id hashes with p, verifying every
// format this package reads, and drawing salts from random; a nil random
// means crypto/rand.Reader. New panics if p.Validate reports an error:
// parameters are configuration, fixed before the server starts.
func New(p Params, random io.Reader) *Hasher {
	h, err := NewHasher(Config{Argon2: p}, random)
	if err != nil {
		panic(err)
	}
	return h
}

// Hash returns a hash of password by h's algorithm, in the exact form
// Django's hasher of that algorithm writes:
//
//	argon2$argon2id$v=19$m=19456,t=2,p=1$<salt>$<tag>
//	pbkdf2_sha256$600000$<salt>$<b64 key>
//	bcrypt_sha256$$2b$12$<salt and hash>
//
// The salts of argon2 and pbkdf2 are 22 letters and digits from h's random
// source; bcrypt draws its salt from crypto/rand. The only error is a
// failure to read the random source.
func (h *Hasher) Hash(password string) (string, error) {
	if h.algorithm == AlgBcryptSHA256 {
		return hashBcryptSHA256(password, h.bcryptRounds)
	}
	salt, err := randomString(h.random, saltChars)
	if err != nil {
		return "", fmt.Errorf("password: reading salt: %w", err)
	}
	if h.algorithm == AlgPBKDF2SHA256 {
		return hashPBKDF2SHA256(password, salt, h.pbkdf2Iterations)
	}
	a := argon2Hash{
		variant: "argon2id",
		memory:  h.params.Memory,
		time:    h.params.Time,
		threads: h.params.Threads,
		salt:    []byte(salt),
	}
	a.key = a.derive(password, argon2KeyLen)
	return a.String(), nil
}

// Verify reports whether password matches the Django-format hash encoded,
// and, when it does, whether the caller should replace encoded with a fresh
// h.Hash(password). It follows Django's check_password: a hash whose
// algorithm h does not accept (Config.Algorithms) never verifies, and
// needsRehash is true when the hash is of another algorithm than h writes,
// or of h's algorithm with other parameters (argon2: memory, passes, lanes,
// or a salt or tag shorter than 16 bytes; pbkdf2_sha256: iterations, or a
// salt shorter than 22 characters; bcrypt_sha256: cost). It is always false
// when ok is false.
//
// Unknown, malformed and unusable hashes, and hashes whose parameters exceed
// this package's limits, return (false, false). Verify never panics; the
// final comparison is constant-time.
func (h *Hasher) Verify(password, encoded string) (ok, needsRehash bool) {
	s, err := parse(encoded)
	if err != nil || !h.accepts(s.algorithm()) {
		return false, false
	}
	if !s.verify(password) {
		return false, false
	}
	return true, s.algorithm() != h.algorithm || s.mustUpdate(h)
}

// Verifiable reports whether Verify computes a hash to check a password
// against encoded: a well-formed hash, within this package's limits, of an
// algorithm h accepts. Verify refuses every other value at once, so the time
// it takes on them says nothing about what checking that algorithm costs.
func (h *Hasher) Verifiable(encoded string) bool {
	s, err := parse(encoded)
	return err == nil && h.accepts(s.algorithm())
}

// Memory is the memory, in bytes, that verifying a password against encoded
// allocates: the argon2 or scrypt memory cost, 0 for the other algorithms
// and for hashes Verify would reject unread.
func Memory(encoded string) int64 {
	s, err := parse(encoded)
	if err != nil {
		return 0
	}
	return s.memoryCost()
}

// Dummy performs one verification of password at the cost of a hash h
// writes, and discards the result. Call it when a login names an unknown
// user, so the response takes as long as a wrong password for a user whose
// hash h wrote. (Users still on older, slower hashes take longer until they
// are rehashed.)
func (h *Hasher) Dummy(password string) {
	h.dummy().verify(password)
}

// Algorithm is the Django algorithm name of the hashes h writes.
func (h *Hasher) Algorithm() string { return h.algorithm }

// Unusable returns a password value that never verifies, in Django's form
// for make_password(None): "!" followed by 40 random letters and digits.
// The randomness only keeps such values distinct. random nil means
// crypto/rand.Reader; if random fails, crypto/rand.Reader is used instead.
func Unusable(random io.Reader) string {
	if random == nil {
		random = rand.Reader
	}
	s, err := randomString(random, 40)
	if err != nil {
		// crypto/rand never fails (Go 1.24+), so this cannot loop or fail.
		s, _ = randomString(rand.Reader, 40)
	}
	return unusablePrefix + s
}

// IsUsable reports whether encoded is a well-formed hash that Verify can
// check: false for "", for Django's unusable "!..." values, for unknown
// formats and for hashes whose parameters exceed this package's limits.
// Unlike Django's is_password_usable, it does not treat unknown formats as
// usable, because this package could never verify them.
func IsUsable(encoded string) bool {
	_, err := parse(encoded)
	return err == nil
}

// Algorithm returns the Django algorithm name of encoded ("pbkdf2_sha256",
// "pbkdf2_sha1", "argon2", "bcrypt_sha256", "bcrypt", "scrypt", or the
// legacy "sha1", "md5", "unsalted_sha1" and "unsalted_md5"), or "" when it
// is none of those
// (Django's crypt$ among them: its DES crypt is not verified). It looks
// only at the prefix (and a bare 32-digit hex MD5); IsUsable checks the
// rest.
func Algorithm(encoded string) string {
	name, rest, found := strings.Cut(encoded, "$")
	if !found {
		if len(encoded) == 32 && strings.Trim(encoded, "0123456789abcdef") == "" {
			return "unsalted_md5" // Django's UnsaltedMD5PasswordHasher writes the bare digest
		}
		return ""
	}
	switch name {
	case "pbkdf2_sha256", "pbkdf2_sha1", "argon2", "bcrypt_sha256", "bcrypt", "scrypt", "sha1", "md5":
		// Django's salted SHA1 and MD5 hashers refuse an empty salt, so
		// "sha1$$" and "md5$$" are the unsalted ones (identify_hasher).
		if (name == "md5" || name == "sha1") && strings.HasPrefix(rest, "$") {
			return "unsalted_" + name
		}
		return name
	}
	return ""
}

const unusablePrefix = "!"

// randomChars is Django's RANDOM_STRING_CHARS.
const randomChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomString returns n characters drawn uniformly from randomChars.
func randomString(random io.Reader, n int) (string, error) {
	// Bytes at or above 248 (= 4*62) are rejected so that b%62 is uniform.
	const limit = 256 - 256%len(randomChars)
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4+4)
	for len(out) < n {
		if _, err := io.ReadFull(random, buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, randomChars[int(b)%len(randomChars)])
			}
		}
	}
	return string(out), nil
}

// argon2Hash is a parsed "argon2$argon2id$v=19$m=..,t=..,p=..$salt$tag".
type argon2Hash struct {
	variant string // "argon2id" or "argon2i"
	memory  uint32 // KiB
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

func (a argon2Hash) algorithm() string { return "argon2" }

func (a argon2Hash) derive(password string, keyLen uint32) []byte {
	if a.variant == "argon2i" {
		return argon2.Key([]byte(password), a.salt, a.time, a.memory, a.threads, keyLen)
	}
	return argon2.IDKey([]byte(password), a.salt, a.time, a.memory, a.threads, keyLen)
}

func (a argon2Hash) verify(password string) bool {
	got := a.derive(password, uint32(len(a.key)))
	return subtle.ConstantTimeCompare(got, a.key) == 1
}

// mustUpdate is true for any parameters other than h's, stronger ones too, as
// Django's Argon2PasswordHasher.must_update: a hash imported with 100 MiB
// of memory would otherwise cost 100 MiB at every login.
func (a argon2Hash) mustUpdate(h *Hasher) bool {
	p := h.params
	return a.variant != "argon2id" ||
		a.memory != p.Memory ||
		a.time != p.Time ||
		a.threads != p.Threads ||
		len(a.salt) < 16 ||
		len(a.key) < 16
}

// String returns a in Django's encoding.
func (a argon2Hash) String() string {
	var b strings.Builder
	b.WriteString("argon2$")
	b.WriteString(a.variant)
	b.WriteString("$v=19$m=")
	b.WriteString(strconv.FormatUint(uint64(a.memory), 10))
	b.WriteString(",t=")
	b.WriteString(strconv.FormatUint(uint64(a.time), 10))
	b.WriteString(",p=")
	b.WriteString(strconv.FormatUint(uint64(a.threads), 10))
	b.WriteByte('$')
	b.WriteString(base64.RawStdEncoding.EncodeToString(a.salt))
	b.WriteByte('$')
	b.WriteString(base64.RawStdEncoding.EncodeToString(a.key))
	return b.String()
}
