package password

import (
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
)

// Limits on parameters read from stored hashes. Each is far above anything
// Django or OWASP configure, and low enough that one verification finishes
// in seconds and within 1 GiB. A stored hash beyond them is treated as
// malformed.
const (
	maxPBKDF2Iterations = 10_000_000
	maxArgon2Memory     = 1 << 20 // KiB, i.e. 1 GiB
	maxArgon2Work       = 1 << 22 // Memory (KiB) * Time: 1 GiB at t=4, 19 MiB at t=215
	maxArgon2Bytes      = 1024    // salt and tag length
	maxBcryptCost       = 16      // 16x Django's default of 12
	maxScryptMemory     = 1 << 30 // bytes, 128*N*r
	maxScryptWork       = 1 << 32 // 128*N*r*p
	maxSaltLen          = 1024    // pbkdf2 and scrypt salt strings
)

// errMalformed is the single parse failure; callers only need to know that
// a hash is unusable, and the reason must not reach users.
var errMalformed = errors.New("password: malformed or unsupported hash")

// stored is a parsed hash.
type stored interface {
	algorithm() string
	// verify reports whether password matches, comparing in constant time.
	verify(password string) bool
	// mustUpdate reports whether a fresh hash by h should replace it when
	// it is already of h's algorithm (Django's must_update): its
	// parameters differ from h's.
	mustUpdate(h *Hasher) bool
	// memoryCost is what verify allocates, in bytes, for the memory-hard
	// algorithms; 0 for the others.
	memoryCost() int64
}

// parse decodes a Django-format hash, checking every field and bounding
// every cost parameter. It never panics.
func parse(encoded string) (stored, error) {
	switch Algorithm(encoded) {
	case "pbkdf2_sha256":
		return parsePBKDF2(encoded, "pbkdf2_sha256", sha256.New, sha256.Size)
	case "pbkdf2_sha1":
		return parsePBKDF2(encoded, "pbkdf2_sha1", sha1.New, sha1.Size)
	case "argon2":
		return parseArgon2(encoded)
	case "bcrypt_sha256":
		return parseBcrypt(encoded, true)
	case "bcrypt":
		return parseBcrypt(encoded, false)
	case "scrypt":
		return parseScrypt(encoded)
	case "sha1":
		return parseLegacy(encoded, "sha1", sha1.New)
	case "md5":
		return parseLegacy(encoded, "md5", md5.New)
	case "unsalted_md5":
		return parseLegacy("md5$$"+strings.TrimPrefix(encoded, "md5$$"), "unsalted_md5", md5.New)
	case "unsalted_sha1":
		return parseLegacy(encoded, "unsalted_sha1", sha1.New)
	}
	return nil, errMalformed
}

// legacyHash is one of Django's old salted digests, "sha1$<salt>$<hex>" or
// "md5$<salt>$<hex>" of salt+password (SHA1PasswordHasher,
// MD5PasswordHasher), or the same with an empty salt (the unsalted
// hashers, "sha1$$<hex>", "md5$$<hex>", or a bare 32-digit MD5). Django 3.2
// verifies them when they are listed in PASSWORD_HASHERS; gatehouse
// verifies them so that imported users can log in, and replaces them at
// the first login.
type legacyHash struct {
	name    string
	newHash func() hash.Hash
	salt    string
	digest  []byte
}

func parseLegacy(encoded, name string, newHash func() hash.Hash) (stored, error) {
	f := strings.Split(encoded, "$")
	if len(f) != 3 || len(f[1]) > maxSaltLen || strings.ContainsAny(f[1], "$") {
		return nil, errMalformed
	}
	d, err := hex.DecodeString(f[2])
	if err != nil || len(d) != newHash().Size() || strings.ToLower(f[2]) != f[2] {
		return nil, errMalformed
	}
	return legacyHash{name: name, newHash: newHash, salt: f[1], digest: d}, nil
}

func (l legacyHash) algorithm() string { return l.name }

func (l legacyHash) verify(password string) bool {
	h := l.newHash()
	h.Write([]byte(l.salt))
	h.Write([]byte(password))
	return subtle.ConstantTimeCompare(h.Sum(nil), l.digest) == 1
}

func (legacyHash) mustUpdate(*Hasher) bool { return true }

func (legacyHash) memoryCost() int64 { return 0 }

// pbkdf2Hash is a parsed "pbkdf2_sha256$<iterations>$<salt>$<b64 key>".
type pbkdf2Hash struct {
	name       string
	newHash    func() hash.Hash
	iterations int
	salt       string
	key        []byte
}

func parsePBKDF2(encoded, name string, newHash func() hash.Hash, keyLen int) (stored, error) {
	f := strings.Split(encoded, "$")
	if len(f) != 4 {
		return nil, errMalformed
	}
	iter, ok := parseDecimal(f[1], 1, maxPBKDF2Iterations)
	if !ok || !saltOK(f[2]) {
		return nil, errMalformed
	}
	key, ok := decodeBase64(base64.StdEncoding, f[3])
	if !ok || len(key) != keyLen {
		return nil, errMalformed
	}
	return pbkdf2Hash{name: name, newHash: newHash, iterations: int(iter), salt: f[2], key: key}, nil
}

func (p pbkdf2Hash) algorithm() string { return p.name }

func (p pbkdf2Hash) verify(password string) bool {
	got, err := pbkdf2.Key(p.newHash, password, []byte(p.salt), p.iterations, len(p.key))
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(got, p.key) == 1
}

// mustUpdate follows Django's PBKDF2PasswordHasher: another iteration
// count, or a salt of less than 128 bits (22 characters), is replaced.
func (p pbkdf2Hash) mustUpdate(h *Hasher) bool {
	return p.iterations != h.pbkdf2Iterations || len(p.salt) < saltChars
}

func (pbkdf2Hash) memoryCost() int64 { return 0 }

func parseArgon2(encoded string) (stored, error) {
	// Django writes "argon2" followed by argon2's own encoding, which
	// begins with "$": argon2$argon2id$v=19$m=..,t=..,p=..$salt$tag.
	// The older form without "v=" is argon2 version 1.0 (0x10), which
	// golang.org/x/crypto/argon2 cannot compute, so it is rejected.
	f := strings.Split(encoded, "$")
	if len(f) != 6 || f[2] != "v=19" {
		return nil, errMalformed
	}
	a := argon2Hash{variant: f[1]}
	if a.variant != "argon2id" && a.variant != "argon2i" {
		return nil, errMalformed
	}
	ps := strings.Split(f[3], ",")
	if len(ps) != 3 {
		return nil, errMalformed
	}
	m, okM := parseField(ps[0], "m=", 1, maxArgon2Memory)
	t, okT := parseField(ps[1], "t=", 1, maxArgon2Work)
	p, okP := parseField(ps[2], "p=", 1, 255)
	if !okM || !okT || !okP {
		return nil, errMalformed
	}
	a.memory, a.time, a.threads = uint32(m), uint32(t), uint8(p)
	if a.memory < 8*uint32(a.threads) || !argon2CostOK(a.memory, a.time) {
		return nil, errMalformed
	}
	var okS, okK bool
	a.salt, okS = decodeBase64(base64.RawStdEncoding, f[4])
	a.key, okK = decodeBase64(base64.RawStdEncoding, f[5])
	// Bounds from the argon2 reference: salt >= 8 bytes, tag >= 4 bytes.
	if !okS || !okK || len(a.salt) < 8 || len(a.salt) > maxArgon2Bytes || len(a.key) < 4 || len(a.key) > maxArgon2Bytes {
		return nil, errMalformed
	}
	return a, nil
}

func (a argon2Hash) memoryCost() int64 { return int64(a.memory) << 10 }

func argon2CostOK(memory, time uint32) bool {
	return memory <= maxArgon2Memory && uint64(memory)*uint64(time) <= maxArgon2Work
}

// bcryptHash is a parsed "bcrypt_sha256$$2b$12$..." or "bcrypt$$2b$12$...";
// the part after the first "$" is a standard 60-character bcrypt string.
type bcryptHash struct {
	sha256 bool
	data   []byte
}

const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func parseBcrypt(encoded string, sha bool) (stored, error) {
	_, data, _ := strings.Cut(encoded, "$")
	// $2b$12$ + 22 salt characters + 31 hash characters.
	if len(data) != 60 || data[0] != '$' || data[1] != '2' || data[3] != '$' || data[6] != '$' {
		return nil, errMalformed
	}
	// 2a, 2b and 2y compute the same hash for the inputs Django passes.
	if data[2] != 'a' && data[2] != 'b' && data[2] != 'y' {
		return nil, errMalformed
	}
	cost, ok := parseDecimalPadded(data[4:6])
	if !ok || cost < bcrypt.MinCost || cost > maxBcryptCost {
		return nil, errMalformed
	}
	for i := 7; i < len(data); i++ {
		if strings.IndexByte(bcryptAlphabet, data[i]) < 0 {
			return nil, errMalformed
		}
	}
	// The last salt character carries 2 bits of the 16-byte salt and 4
	// zero bits; a non-zero tail would be a second spelling of one salt.
	if strings.IndexByte(bcryptAlphabet, data[7+21])%16 != 0 {
		return nil, errMalformed
	}
	return bcryptHash{sha256: sha, data: []byte(data)}, nil
}

func (b bcryptHash) algorithm() string {
	if b.sha256 {
		return "bcrypt_sha256"
	}
	return "bcrypt"
}

func (b bcryptHash) verify(password string) bool {
	pw := []byte(password)
	if b.sha256 {
		// Django hashes first so long passwords are not truncated.
		sum := sha256.Sum256(pw)
		pw = []byte(hex.EncodeToString(sum[:]))
	} else if len(pw) > 72 {
		// bcrypt reads at most 72 bytes; Python's bcrypt, which wrote
		// these hashes for Django, silently ignored the rest.
		pw = pw[:72]
	}
	return bcrypt.CompareHashAndPassword(b.data, pw) == nil
}

// mustUpdate follows Django's BCryptSHA256PasswordHasher: another cost is
// replaced.
func (b bcryptHash) mustUpdate(h *Hasher) bool {
	cost, _ := parseDecimalPadded(string(b.data[4:6]))
	return cost != h.bcryptRounds
}

func (bcryptHash) memoryCost() int64 { return 0 }

// scryptHash is a parsed Django 4+ "scrypt$<N>$<salt>$<r>$<p>$<b64 key>".
type scryptHash struct {
	n, r, p int
	salt    string
	key     []byte
}

func parseScrypt(encoded string) (stored, error) {
	f := strings.Split(encoded, "$")
	if len(f) != 6 || !saltOK(f[2]) {
		return nil, errMalformed
	}
	n, okN := parseDecimal(f[1], 2, maxScryptMemory/128)
	r, okR := parseDecimal(f[3], 1, maxScryptMemory/128)
	p, okP := parseDecimal(f[4], 1, maxScryptWork)
	if !okN || !okR || !okP || n&(n-1) != 0 {
		return nil, errMalformed
	}
	// No product overflows: n, r <= 2^23 keep 128*n*r below 2^53, and
	// once that is at most 2^30, p <= 2^32 keeps the next below 2^62.
	if 128*n*r > maxScryptMemory || 128*n*r*p > maxScryptWork {
		return nil, errMalformed
	}
	key, ok := decodeBase64(base64.StdEncoding, f[5])
	if !ok || len(key) != 64 {
		return nil, errMalformed
	}
	return scryptHash{n: int(n), r: int(r), p: int(p), salt: f[2], key: key}, nil
}

func (s scryptHash) algorithm() string { return "scrypt" }

func (s scryptHash) verify(password string) bool {
	got, err := scrypt.Key([]byte(password), []byte(s.salt), s.n, s.r, s.p, len(s.key))
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(got, s.key) == 1
}

func (s scryptHash) mustUpdate(*Hasher) bool { return true }

// memoryCost is scrypt's V (128·N·r bytes) and its p blocks of 128·r bytes.
func (s scryptHash) memoryCost() int64 { return 128 * int64(s.r) * (int64(s.n) + int64(s.p)) }

// parseDecimal parses s as Django's "%d" would have written a number in
// [lo, hi]: ASCII digits only, no sign, no leading zero. Django compares
// whole re-encoded strings, so any other spelling never verified there.
func parseDecimal(s string, lo, hi uint64) (uint64, bool) {
	if s == "" || len(s) > 19 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if v < lo || v > hi {
		return 0, false
	}
	return v, true
}

// parseDecimalPadded parses bcrypt's two-digit, zero-padded cost.
func parseDecimalPadded(s string) (int, bool) {
	if len(s) != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

// parseField parses "<prefix><decimal>" as in argon2's "m=19456".
func parseField(s, prefix string, lo, hi uint64) (uint64, bool) {
	rest, found := strings.CutPrefix(s, prefix)
	if !found {
		return 0, false
	}
	return parseDecimal(rest, lo, hi)
}

// saltOK checks a pbkdf2 or scrypt salt: Django requires it non-empty and
// free of "$" (the split already guarantees the latter).
func saltOK(s string) bool {
	return s != "" && len(s) <= maxSaltLen
}

// decodeBase64 decodes s strictly: canonical padding bits, and no CR or LF,
// which encoding/base64 would otherwise skip, so each key has exactly one
// accepted spelling, as in Django's string comparison.
func decodeBase64(enc *base64.Encoding, s string) ([]byte, bool) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, false
	}
	b, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, false
	}
	return b, true
}
