package password

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

func mustHasher(t *testing.T, c Config) *Hasher {
	t.Helper()
	if c.Argon2 == (Params{}) {
		c.Argon2 = testParams
	}
	h, err := NewHasher(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// The first algorithm of PASSWORD_HASHERS writes new hashes, in Django's
// form, and they verify without a rehash; a hash of another accepted
// algorithm verifies and asks to be replaced, as Django's check_password
// does when the preferred hasher changed.
func TestFirstHasherWritesNewHashes(t *testing.T) {
	argon, err := New(testParams, nil).Hash(pw1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		c     Config
		shape string
	}{
		{Config{Algorithms: []string{AlgPBKDF2SHA256, AlgArgon2}}, `^pbkdf2_sha256\$600000\$[A-Za-z0-9]{22}\$[A-Za-z0-9+/]{43}=$`},
		{Config{Algorithms: []string{AlgPBKDF2SHA256, AlgArgon2}, PBKDF2Iterations: 700_000}, `^pbkdf2_sha256\$700000\$`},
		{Config{Algorithms: []string{AlgBcryptSHA256, AlgArgon2}, BcryptRounds: 10}, `^bcrypt_sha256\$\$2b\$10\$[./A-Za-z0-9]{53}$`},
		{Config{Algorithms: []string{AlgArgon2, AlgPBKDF2SHA256}}, `^argon2\$argon2id\$v=19\$m=64,t=1,p=1\$`},
	} {
		h := mustHasher(t, tc.c)
		enc, err := h.Hash(pw1)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(tc.shape).MatchString(enc) {
			t.Errorf("%v wrote %q, want %s", tc.c.Algorithms, enc, tc.shape)
		}
		if ok, rehash := h.Verify(pw1, enc); !ok || rehash {
			t.Errorf("%v: own hash: ok %v rehash %v", tc.c.Algorithms, ok, rehash)
		}
		if ok, _ := h.Verify(pw2, enc); ok {
			t.Errorf("%v: a wrong password verified", tc.c.Algorithms)
		}
		ok, rehash := h.Verify(pw1, argon)
		if want := tc.c.Algorithms[0] != AlgArgon2; !ok || rehash != want {
			t.Errorf("%v: argon2 hash: ok %v rehash %v, want rehash %v", tc.c.Algorithms, ok, rehash, want)
		}
	}
}

// A pbkdf2_sha256 or bcrypt_sha256 hash of the preferred algorithm with
// another cost is replaced at login, as Django's must_update replaces it;
// so is a pbkdf2 salt of under 128 bits (Django 3.2's must_update_salt).
func TestOtherCostIsRehashed(t *testing.T) {
	h := mustHasher(t, Config{Algorithms: []string{AlgPBKDF2SHA256}})
	for _, tc := range []struct {
		salt   string
		iter   int
		rehash bool
	}{{"abcdefghijklmnopqrstuv", MinPBKDF2Iterations, false}, {"abcdefghijklmnopqrstuv", 260000, true},
		{"abcdefghijklmnopqrstuv", 1_000_000, true}, {"shortsalt", MinPBKDF2Iterations, true}} {
		enc, _ := hashPBKDF2SHA256(pw1, tc.salt, tc.iter)
		if ok, rehash := h.Verify(pw1, enc); !ok || rehash != tc.rehash {
			t.Errorf("%s: ok %v rehash %v, want %v", enc, ok, rehash, tc.rehash)
		}
	}
	b := mustHasher(t, Config{Algorithms: []string{AlgBcryptSHA256}, BcryptRounds: 11})
	for rounds, want := range map[int]bool{11: false, 10: true} {
		enc, _ := hashBcryptSHA256(pw1, rounds)
		if ok, rehash := b.Verify(pw1, enc); !ok || rehash != want {
			t.Errorf("bcrypt cost %d under 11: ok %v rehash %v", rounds, ok, rehash)
		}
	}
}

// pbkdf2_sha256 by Django's formula, computed with Python's
// hashlib.pbkdf2_hmac("sha256", b"correct horse", b"saltsaltsaltsaltsalt22", 600000).
func TestPBKDF2KnownAnswer(t *testing.T) {
	got, err := hashPBKDF2SHA256("correct horse", "saltsaltsaltsaltsalt22", 600000)
	want := "pbkdf2_sha256$600000$saltsaltsaltsaltsalt22$Vd1E1nxcig2jkLKdY9DasgpjK40idupw5Zd7PXuZtaE="
	if err != nil || got != want {
		t.Errorf("got %q (%v), want %q", got, err, want)
	}
}

// Only the algorithms listed verify, as Django refuses a hash whose hasher
// is not in PASSWORD_HASHERS: a project that dropped MD5 does not start
// accepting its old MD5 rows here.
func TestUnlistedAlgorithmsDoNotVerify(t *testing.T) {
	legacy := "md5$seasalt$3ba6ec36b18f825433b3d33dae1d994b" // "legacy pass"
	all := New(testParams, nil)
	if ok, _ := all.Verify("legacy pass", legacy); !ok {
		t.Fatal("the default accepts every format")
	}
	h := mustHasher(t, Config{Algorithms: []string{AlgArgon2, AlgPBKDF2SHA256}})
	if ok, rehash := h.Verify("legacy pass", legacy); ok || rehash {
		t.Errorf("an md5 hash verified without md5 in the list")
	}
	h = mustHasher(t, Config{Algorithms: []string{AlgArgon2, AlgMD5}})
	if ok, rehash := h.Verify("legacy pass", legacy); !ok || !rehash {
		t.Errorf("listed md5: ok %v rehash %v", ok, rehash)
	}
	// unsalted_sha1 is its own entry, as Django's UnsaltedSHA1PasswordHasher.
	unsalted := "sha1$$d7ab6c87552b3cab20b80b2046310eb9da40ac01"
	if ok, _ := mustHasher(t, Config{Algorithms: []string{AlgArgon2, AlgSHA1}}).Verify("legacy pass", unsalted); ok {
		t.Error("unsalted sha1 verified under sha1")
	}
	if ok, _ := mustHasher(t, Config{Algorithms: []string{AlgArgon2, AlgUnsaltedSHA1}}).Verify("legacy pass", unsalted); !ok {
		t.Error("unsalted sha1 refused under unsalted_sha1")
	}
}

func TestHasherConfigRefusals(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{Algorithms: []string{"md5"}}, "cannot be md5"},
		{Config{Algorithms: []string{"bcrypt", "argon2"}}, "cannot be bcrypt"},
		{Config{Algorithms: []string{"argon2", "crypt"}}, `unknown hasher algorithm "crypt"`},
		{Config{Algorithms: []string{"argon2", "argon2"}}, "listed twice"},
		{Config{PBKDF2Iterations: 260000}, "iterations must be between 600000"},
		{Config{BcryptRounds: 9}, "rounds must be between 10"},
		{Config{BcryptRounds: 17}, "rounds must be between 10 and 16"},
	} {
		tc.c.Argon2 = testParams
		if _, err := NewHasher(tc.c, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.c, err, tc.want)
		}
	}
}

// Django itself accepts the pbkdf2_sha256 and bcrypt_sha256 hashes written
// here, and does not ask to replace them under the same costs.
func TestDjangoAcceptsPBKDF2AndBcrypt(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Python")
	}
	py, err := exec.LookPath("/usr/bin/python3")
	if err != nil {
		t.Skip("no /usr/bin/python3")
	}
	if err := exec.CommandContext(t.Context(), py, "-c", "import django, bcrypt").Run(); err != nil {
		t.Skip("Python lacks django or bcrypt")
	}
	const script = `
import sys
from django.conf import settings
settings.configure(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher", "django.contrib.auth.hashers.BCryptSHA256PasswordHasher"])
from django.contrib.auth.hashers import check_password, get_hasher
get_hasher("pbkdf2_sha256").iterations = 600000
get_hasher("bcrypt_sha256").rounds = 10
pw = sys.argv[1]
for enc in sys.argv[2:]:
    print(check_password(pw, enc), check_password(pw + "x", enc), get_hasher(enc.split("$")[0]).must_update(enc))
`
	p := mustHasher(t, Config{Algorithms: []string{AlgPBKDF2SHA256}})
	b := mustHasher(t, Config{Algorithms: []string{AlgBcryptSHA256}, BcryptRounds: 10})
	e1, _ := p.Hash(pw2)
	e2, _ := b.Hash(pw2)
	out, err := exec.CommandContext(t.Context(), py, "-c", script, pw2, e1, e2).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "True False False\nTrue False False" {
		t.Errorf("Django check_password(right), check_password(wrong), must_update:\n%s", got)
	}
}
