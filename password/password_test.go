package password

import (
	"bytes"
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// Tiny argon2 parameters keep the tests fast; TestDefaultParams covers the
// real ones.
var testParams = Params{Memory: 64, Time: 1, Threads: 1}

const (
	pw1 = "correct horse battery staple"
	pw2 = "pässwörd ✓ 密码"
)

// knownAnswers were produced by Django 3.2.25 (Debian python3-django with
// python3-argon2 21.1.0 and python3-bcrypt 3.2.2) and each checked with
// django.contrib.auth.hashers.check_password. Django 3.2 has no scrypt
// hasher, so the scrypt rows are Python's hashlib.scrypt (dklen=64) written
// in Django 4's "scrypt$N$salt$r$p$hash" layout.
var knownAnswers = []struct {
	password, encoded string
}{
	// The gatehouse fixture user.
	{"adminpass", "pbkdf2_sha256$260000$pc41zxZhbaGbksjZDvLtj3$1UCj9gFcVWx0yA62BBUHvfcXj+KShmMPseAyMxvJljk="},
	{pw1, "pbkdf2_sha256$260000$pT7MbyR0E40gU5G8D7cgG0$w+jd643Fgu5l30vPkPd0s/3G2s3S1gEGQNQOmlfqXIw="},
	{pw2, "pbkdf2_sha256$1000$Ayt94a86YsgZHVPkMOwORU$O8zCLaoA2QxeqA2Dxnnt4/0RgxF5WKtVxQ5nRXvfO6g="},
	{pw1, "pbkdf2_sha1$260000$o7Wy7LeApi3Ento3vRkoUm$uKfS0s4Y4o7GUkSDF5j2J0GDCl4="},
	{pw2, "pbkdf2_sha1$1000$shortsalt$5c5+tLfzvS4ljcXY4avnUid40/8="},
	// Django 3.2's default argon2 parameters: 100 MiB, t=2, p=8, 16-byte tag.
	{pw1, "argon2$argon2id$v=19$m=102400,t=2,p=8$VXJwYkpmZ3V1UU9aOHNJN29pNENsNQ$1bA+tK0bhBbRQ0QojXZt/w"},
	{pw2, "argon2$argon2id$v=19$m=64,t=1,p=2$cllFV3prOWpUME5qTnMxREdaNjd1ag$ZrBPhp7AdaGuvyGUCDpUqg"},
	{pw1, "argon2$argon2i$v=19$m=256,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$V/tlh10sLdT0lBMsF9Aw1afIKFCYCIE1"},
	{pw1, "bcrypt_sha256$$2b$12$L3HHAU9eAW7JMVUiH0inbumAhOzAPPgO278vVGxAHI9HGgG8jfUfe"},
	{pw2, "bcrypt_sha256$$2b$05$jHW9c4b4ex/csZ64jN5e4.lZMkuB./KMosR6e7Bp/BRYAnoX1Z9Nu"},
	{pw1, "bcrypt$$2b$05$NdXf8u7sBNbpthXveAJE6..zL9Jf4lzE/cQxNPj4n3.NkotlpfPKK"},
	{strings.Repeat("x", 72) + "-tail-ignored-by-bcrypt", "bcrypt$$2b$04$NMcxQOfpNgKsriYIbktIX.oGKN5N.7Nr5kt/lLk0.KsKuMFLIEKUS"},
	{pw1, "scrypt$16384$Zn6xYqf4VbW2SvrKdvKUz3$8$1$WJTLcZq0iKieGTYlnjRrlPwJ3A6jAD0gq6tRNTe+1GxbriIjISFKQiWapFHwDVTSFiT4+WYGF6TERdwfwvrO5A=="},
	{pw2, "scrypt$16$abc$2$3$O7+LKQwxmXcAkwj9wrvzTsKL8/ZDMsABDu4JrDuJPDkwVFSRCIY1CuvM9zFdWnFyOEwrD8FiUBM3qmquvVotRA=="},
}

func TestVerifyKnownAnswers(t *testing.T) {
	h := New(testParams, nil)
	for _, tc := range knownAnswers {
		t.Run(tc.encoded[:min(len(tc.encoded), 40)], func(t *testing.T) {
			t.Parallel()
			ok, rehash := h.Verify(tc.password, tc.encoded)
			if !ok {
				t.Fatalf("Verify(%q) = false, want true", tc.password)
			}
			// Only argon2id with exactly testParams may stay (Django's
			// must_update): none of these has them.
			wantRehash := !strings.HasPrefix(tc.encoded, "argon2$argon2id$v=19$m=64,t=1,p=1$")
			if rehash != wantRehash {
				t.Errorf("needsRehash = %v, want %v", rehash, wantRehash)
			}
			if ok, rehash := h.Verify("!"+tc.password, tc.encoded); ok || rehash {
				t.Errorf("Verify(wrong password) = %v, %v; want false, false", ok, rehash)
			}
			if !IsUsable(tc.encoded) {
				t.Errorf("IsUsable = false, want true")
			}
		})
	}
}

// Django's plain bcrypt hasher ignores bytes past the 72nd; verifying must
// agree with what Django accepted (checked with check_password).
func TestVerifyBcryptTruncation(t *testing.T) {
	h := New(testParams, nil)
	const enc = "bcrypt$$2b$04$NMcxQOfpNgKsriYIbktIX.oGKN5N.7Nr5kt/lLk0.KsKuMFLIEKUS"
	if ok, _ := h.Verify(strings.Repeat("x", 72)+"other", enc); !ok {
		t.Error("72-byte prefix match was rejected")
	}
	if ok, _ := h.Verify(strings.Repeat("x", 71), enc); ok {
		t.Error("71-byte prefix verified")
	}
}

// detReader returns the same bytes on every use, so salts are predictable.
func detReader() *bytes.Reader {
	return bytes.NewReader([]byte("gatehouse deterministic test randomness, not secret at all 0123456789"))
}

// The expected strings were computed by argon2-cffi 21.1.0
// (argon2.low_level.hash_secret, Type.ID, hash_len=32) with the salt
// detReader yields, "PJ2NQX31NGMN2N0VRWR12R", prefixed "argon2" as Django
// does.
func TestHashKnownAnswer(t *testing.T) {
	tests := []struct {
		params Params
		want   string
	}{
		{testParams, "argon2$argon2id$v=19$m=64,t=1,p=1$UEoyTlFYMzFOR01OMk4wVlJXUjEyUg$z4ShAcZh7uzggCQAEIZApGQL2SR4zj70XQTFmRXbf/U"},
		{DefaultParams(), "argon2$argon2id$v=19$m=19456,t=2,p=1$UEoyTlFYMzFOR01OMk4wVlJXUjEyUg$CR8+lAW6lrqYpd+uEbMBBlmZdhSWDzC0oVUHc1Lmo2w"},
	}
	for _, tc := range tests {
		got, err := New(tc.params, detReader()).Hash(pw1)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("Hash with %+v =\n %s\nwant\n %s", tc.params, got, tc.want)
		}
	}
}

var hashShape = regexp.MustCompile(`^argon2\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]{30}\$[A-Za-z0-9+/]{43}$`)

func TestHashRoundTrip(t *testing.T) {
	h := New(testParams, nil)
	for _, pw := range []string{"", "a", pw1, pw2, strings.Repeat("long", 100)} {
		enc, err := h.Hash(pw)
		if err != nil {
			t.Fatal(err)
		}
		if m := hashShape.FindStringSubmatch(enc); m == nil || m[1] != "64" || m[2] != "1" || m[3] != "1" {
			t.Errorf("Hash(%q) = %q, not Django's argon2id shape with m=64,t=1,p=1", pw, enc)
		}
		if ok, rehash := h.Verify(pw, enc); !ok || rehash {
			t.Errorf("Verify(own hash of %q) = %v, %v; want true, false", pw, ok, rehash)
		}
		if ok, _ := h.Verify(pw+"x", enc); ok {
			t.Errorf("wrong password verified against hash of %q", pw)
		}
		if Algorithm(enc) != "argon2" || !IsUsable(enc) {
			t.Errorf("Algorithm/IsUsable wrong for %q", enc)
		}
	}
	a, _ := h.Hash(pw1)
	b, _ := h.Hash(pw1)
	if a == b {
		t.Error("two hashes of one password are equal: salt not random")
	}
}

func TestDefaultParams(t *testing.T) {
	if DefaultParams() != (Params{Memory: 19456, Time: 2, Threads: 1}) {
		t.Fatalf("DefaultParams() = %+v", DefaultParams())
	}
	h := New(DefaultParams(), nil)
	enc, err := h.Hash(pw1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "argon2$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("Hash = %q", enc)
	}
	if ok, rehash := h.Verify(pw1, enc); !ok || rehash {
		t.Errorf("Verify = %v, %v; want true, false", ok, rehash)
	}
	h.Dummy(pw1)
}

type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

func TestHashRandomFailure(t *testing.T) {
	if _, err := New(testParams, failReader{}).Hash(pw1); err == nil {
		t.Fatal("Hash with a failing random source returned no error")
	}
}

func TestNeedsRehash(t *testing.T) {
	mk := func(variant string, m, tm uint32, p uint8, saltLen int) string {
		a := argon2Hash{variant: variant, memory: m, time: tm, threads: p, salt: bytes.Repeat([]byte("s"), saltLen)}
		a.key = a.derive(pw1, 32)
		return a.String()
	}
	strong := Params{Memory: 128, Time: 2, Threads: 2}
	h := New(strong, nil)
	tests := []struct {
		name    string
		encoded string
		want    bool
	}{
		{"same params", mk("argon2id", 128, 2, 2, 22), false},
		// Other parameters, stronger too, are replaced as Django's
		// must_update replaces them: an imported 100 MiB hash would cost
		// 100 MiB at every login.
		{"more memory", mk("argon2id", 256, 2, 2, 22), true},
		{"more passes", mk("argon2id", 128, 3, 2, 22), true},
		{"fewer threads", mk("argon2id", 128, 2, 1, 22), true},
		{"more threads", mk("argon2id", 128, 2, 4, 22), true},
		{"16-byte salt", mk("argon2id", 128, 2, 2, 16), false},
		{"less memory", mk("argon2id", 64, 2, 2, 22), true},
		{"fewer passes", mk("argon2id", 128, 1, 2, 22), true},
		{"8-byte salt", mk("argon2id", 128, 2, 2, 8), true},
		{"argon2i", mk("argon2i", 256, 3, 2, 22), true},
		{"pbkdf2 current iterations", "pbkdf2_sha256$260000$pT7MbyR0E40gU5G8D7cgG0$w+jd643Fgu5l30vPkPd0s/3G2s3S1gEGQNQOmlfqXIw=", true},
		{"bcrypt_sha256", "bcrypt_sha256$$2b$05$jHW9c4b4ex/csZ64jN5e4.lZMkuB./KMosR6e7Bp/BRYAnoX1Z9Nu", true},
		{"scrypt", "scrypt$16$abc$2$3$O7+LKQwxmXcAkwj9wrvzTsKL8/ZDMsABDu4JrDuJPDkwVFSRCIY1CuvM9zFdWnFyOEwrD8FiUBM3qmquvVotRA==", true},
	}
	pws := map[string]string{"bcrypt_sha256": pw2, "scrypt": pw2}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pw := pw1
			if p, found := pws[tc.name]; found {
				pw = p
			}
			ok, rehash := h.Verify(pw, tc.encoded)
			if !ok || rehash != tc.want {
				t.Errorf("Verify = %v, %v; want true, %v", ok, rehash, tc.want)
			}
		})
	}
}

// Each of these must be refused by parsing alone, before any key derivation,
// so a corrupt row can neither hang a login nor allocate gigabytes.
var malformed = []string{
	"",
	"$",
	"!",
	"!PJ2NQX31NGMN2N0VRWR12RLG2N12G0JWMXVWN11S",
	"adminpass",
	"unsalted_md5$$0123456789abcdef0123456789abcdef",
	"crypt$$abN/qM.L/H8EQ",
	"PBKDF2_SHA256$260000$pc41zxZhbaGbksjZDvLtj3$1UCj9gFcVWx0yA62BBUHvfcXj+KShmMPseAyMxvJljk=",
	// pbkdf2
	"pbkdf2_sha256",
	"pbkdf2_sha256$",
	"pbkdf2_sha256$260000$pc41zxZhbaGbksjZDvLtj3",
	"pbkdf2_sha256$$pc41zxZhbaGbksjZDvLtj3$1UCj9gFcVWx0yA62BBUHvfcXj+KShmMPseAyMxvJljk=",
	"pbkdf2_sha256$0$pc41zxZhbaGbksjZDvLtj3$1UCj9gFcVWx0yA62BBUHvfcXj+KShmMPseAyMxvJljk=",
	"pbkdf2_sha256$-1$pc41zxZhbaGbksjZDvLtj3$1UCj9gFcVWx0yA62BBUHvfcXj+KShmMPseAyMxvJljk=",
	"pbkdf2_sha256$+260000$pc41zxZhbaGbksjZDvLtj3$1UCj9gFcVWx0yA62BBUHvfcXj+KShmMPseAyMxvJljk=",
	"pbkdf2_sha256$0260000$pc41zxZhbaGbksjZDvLtj3$1UCj9gFcVWx0yA62BBUHvfcXj+KShmMPseAyMxvJljk=",
	"pbkdf2_sha256$260_000$pc41zxZhbaGbksjZDvLtj3$1UCj9gFcVWx0yA62BBUHvfcXj+KShmMPseAyMxvJljk=",
	"pbkdf2_sha256$10000001$pc41zxZhbaGbksjZDvLtj3$1UCj9gFcVWx0yA62BBUHvfcXj+KShmMPseAyMxvJljk=",
	"pbkdf2_sha256$99999999999999999999999$pc41zxZhbaGbksjZDvLtj3$1UCj9gFcVWx0yA62BBUHvfcXj+KShmMPseAyMxvJljk=",
	"pbkdf2_sha256$260000$$1UCj9gFcVWx0yA62BBUHvfcXj+KShmMPseAyMxvJljk=",
	"pbkdf2_sha256$260000$pc41zxZhbaGbksjZDvLtj3$1UCj9gFcVWx0yA62BBUHvfcXj+KShmMPseAyMxvJljk",
	"pbkdf2_sha256$260000$pc41zxZhbaGbksjZDvLtj3$1UCj9gFcVWx0yA62BBUHvfcXj+KShmMPseAyMxvJljl=",
	"pbkdf2_sha256$260000$pc41zxZhbaGbksjZDvLtj3$1UCj9gFcVWx0yA62BBUHvfcXj+KShmMP\nseAyMxvJljk=",
	"pbkdf2_sha256$260000$pc41zxZhbaGbksjZDvLtj3$1UCj9gFcVWx0yA62BBUHvfcXj+KShmMPseAyMxvJljk=$",
	"pbkdf2_sha256$260000$pc41zxZhbaGbksjZDvLtj3$uKfS0s4Y4o7GUkSDF5j2J0GDCl4=",
	"pbkdf2_sha1$260000$o7Wy7LeApi3Ento3vRkoUm$w+jd643Fgu5l30vPkPd0s/3G2s3S1gEGQNQOmlfqXIw=",
	// argon2
	"argon2",
	"argon2$",
	"argon2$argon2id",
	"argon2$argon2id$v=19$m=64,t=1,p=1$UEoyTlFYMzFOR01OMk4wVlJXUjEyUg",
	"argon2$argon2id$m=64,t=1,p=1$UEoyTlFYMzFOR01OMk4wVlJXUjEyUg$z4ShAcZh7uzggCQAEIZApGQL2SR4zj70XQTFmRXbf/U",
	"argon2$argon2id$v=16$m=64,t=1,p=1$UEoyTlFYMzFOR01OMk4wVlJXUjEyUg$z4ShAcZh7uzggCQAEIZApGQL2SR4zj70XQTFmRXbf/U",
	"argon2$argon2d$v=19$m=64,t=1,p=1$UEoyTlFYMzFOR01OMk4wVlJXUjEyUg$z4ShAcZh7uzggCQAEIZApGQL2SR4zj70XQTFmRXbf/U",
	"argon2argon2id$v=19$m=64,t=1,p=1$UEoyTlFYMzFOR01OMk4wVlJXUjEyUg$z4ShAcZh7uzggCQAEIZApGQL2SR4zj70XQTFmRXbf/U",
	"argon2$argon2id$v=19$t=1,m=64,p=1$UEoyTlFYMzFOR01OMk4wVlJXUjEyUg$z4ShAcZh7uzggCQAEIZApGQL2SR4zj70XQTFmRXbf/U",
	"argon2$argon2id$v=19$m=64,t=1$UEoyTlFYMzFOR01OMk4wVlJXUjEyUg$z4ShAcZh7uzggCQAEIZApGQL2SR4zj70XQTFmRXbf/U",
	"argon2$argon2id$v=19$m=64,t=0,p=1$UEoyTlFYMzFOR01OMk4wVlJXUjEyUg$z4ShAcZh7uzggCQAEIZApGQL2SR4zj70XQTFmRXbf/U",
	"argon2$argon2id$v=19$m=64,t=1,p=0$UEoyTlFYMzFOR01OMk4wVlJXUjEyUg$z4ShAcZh7uzggCQAEIZApGQL2SR4zj70XQTFmRXbf/U",
	"argon2$argon2id$v=19$m=64,t=1,p=256$UEoyTlFYMzFOR01OMk4wVlJXUjEyUg$z4ShAcZh7uzggCQAEIZApGQL2SR4zj70XQTFmRXbf/U",
	"argon2$argon2id$v=19$m=7,t=1,p=1$UEoyTlFYMzFOR01OMk4wVlJXUjEyUg$z4ShAcZh7uzggCQAEIZApGQL2SR4zj70XQTFmRXbf/U",
	"argon2$argon2id$v=19$m=64,t=1,p=9$UEoyTlFYMzFOR01OMk4wVlJXUjEyUg$z4ShAcZh7uzggCQAEIZApGQL2SR4zj70XQTFmRXbf/U",
	"argon2$argon2id$v=19$m=1048577,t=1,p=1$UEoyTlFYMzFOR01OMk4wVlJXUjEyUg$z4ShAcZh7uzggCQAEIZApGQL2SR4zj70XQTFmRXbf/U",
	"argon2$argon2id$v=19$m=4294967295,t=1,p=1$UEoyTlFYMzFOR01OMk4wVlJXUjEyUg$z4ShAcZh7uzggCQAEIZApGQL2SR4zj70XQTFmRXbf/U",
	"argon2$argon2id$v=19$m=1048576,t=5,p=1$UEoyTlFYMzFOR01OMk4wVlJXUjEyUg$z4ShAcZh7uzggCQAEIZApGQL2SR4zj70XQTFmRXbf/U",
	"argon2$argon2id$v=19$m=64,t=4294967295,p=1$UEoyTlFYMzFOR01OMk4wVlJXUjEyUg$z4ShAcZh7uzggCQAEIZApGQL2SR4zj70XQTFmRXbf/U",
	"argon2$argon2id$v=19$m=64,t=1,p=1$c2FsdA$z4ShAcZh7uzggCQAEIZApGQL2SR4zj70XQTFmRXbf/U",
	"argon2$argon2id$v=19$m=64,t=1,p=1$UEoyTlFYMzFOR01OMk4wVlJXUjEyUg$YWJj",
	"argon2$argon2id$v=19$m=64,t=1,p=1$UEoyTlFYMzFOR01OMk4wVlJXUjEyUg==$z4ShAcZh7uzggCQAEIZApGQL2SR4zj70XQTFmRXbf/U",
	"argon2$argon2id$v=19$m=64,t=1,p=1$UEoyTlFYMzFOR01OMk4wVlJXUjEyUg$z4ShAcZh7uzggCQAEIZApGQL2SR4zj70XQTFmRXbf/V",
	"argon2$argon2id$v=19$m=64,t=1,p=1$UEoyTlFYMzFOR01OMk4wVlJXUjEyUg$z4ShAcZh7uzggCQAEIZApGQL2SR4zj70XQTFmRXbf/U$",
	"argon2$argon2id$v=19$m=64,t=1,p=1,keyid=x$UEoyTlFYMzFOR01OMk4wVlJXUjEyUg$z4ShAcZh7uzggCQAEIZApGQL2SR4zj70XQTFmRXbf/U",
	// bcrypt
	"bcrypt_sha256$",
	"bcrypt_sha256$$",
	"bcrypt_sha256$$2b$12$",
	"bcrypt_sha256$2b$12$L3HHAU9eAW7JMVUiH0inbumAhOzAPPgO278vVGxAHI9HGgG8jfUfe",
	"bcrypt_sha256$$2b$12$L3HHAU9eAW7JMVUiH0inbumAhOzAPPgO278vVGxAHI9HGgG8jfUf",
	"bcrypt_sha256$$2b$12$L3HHAU9eAW7JMVUiH0inbumAhOzAPPgO278vVGxAHI9HGgG8jfUfee",
	"bcrypt_sha256$$2x$12$L3HHAU9eAW7JMVUiH0inbumAhOzAPPgO278vVGxAHI9HGgG8jfUfe",
	"bcrypt_sha256$$3b$12$L3HHAU9eAW7JMVUiH0inbumAhOzAPPgO278vVGxAHI9HGgG8jfUfe",
	"bcrypt_sha256$$2b$03$L3HHAU9eAW7JMVUiH0inbumAhOzAPPgO278vVGxAHI9HGgG8jfUfe",
	"bcrypt_sha256$$2b$17$L3HHAU9eAW7JMVUiH0inbumAhOzAPPgO278vVGxAHI9HGgG8jfUfe",
	"bcrypt_sha256$$2b$31$L3HHAU9eAW7JMVUiH0inbumAhOzAPPgO278vVGxAHI9HGgG8jfUfe",
	"bcrypt_sha256$$2b$-1$L3HHAU9eAW7JMVUiH0inbumAhOzAPPgO278vVGxAHI9HGgG8jfUfe",
	"bcrypt_sha256$$2b$12$L3HHAU9eAW7JMVUiH0inb!mAhOzAPPgO278vVGxAHI9HGgG8jfUfe",
	"bcrypt_sha256$$2b$12$L3HHAU9eAW7JMVUiH0inbvmAhOzAPPgO278vVGxAHI9HGgG8jfUfe",
	"bcrypt$$2b$05$NdXf8u7sBNbpthXveAJE6..zL9Jf4lzE/cQxNPj4n3.NkotlpfPK",
	// scrypt
	"scrypt$",
	"scrypt$16$abc$2$3",
	"scrypt$16$$2$3$O7+LKQwxmXcAkwj9wrvzTsKL8/ZDMsABDu4JrDuJPDkwVFSRCIY1CuvM9zFdWnFyOEwrD8FiUBM3qmquvVotRA==",
	"scrypt$abc$16$2$3$O7+LKQwxmXcAkwj9wrvzTsKL8/ZDMsABDu4JrDuJPDkwVFSRCIY1CuvM9zFdWnFyOEwrD8FiUBM3qmquvVotRA==",
	"scrypt$15$abc$2$3$O7+LKQwxmXcAkwj9wrvzTsKL8/ZDMsABDu4JrDuJPDkwVFSRCIY1CuvM9zFdWnFyOEwrD8FiUBM3qmquvVotRA==",
	"scrypt$1$abc$2$3$O7+LKQwxmXcAkwj9wrvzTsKL8/ZDMsABDu4JrDuJPDkwVFSRCIY1CuvM9zFdWnFyOEwrD8FiUBM3qmquvVotRA==",
	"scrypt$16$abc$0$3$O7+LKQwxmXcAkwj9wrvzTsKL8/ZDMsABDu4JrDuJPDkwVFSRCIY1CuvM9zFdWnFyOEwrD8FiUBM3qmquvVotRA==",
	"scrypt$16$abc$2$0$O7+LKQwxmXcAkwj9wrvzTsKL8/ZDMsABDu4JrDuJPDkwVFSRCIY1CuvM9zFdWnFyOEwrD8FiUBM3qmquvVotRA==",
	"scrypt$1099511627776$abc$8$1$O7+LKQwxmXcAkwj9wrvzTsKL8/ZDMsABDu4JrDuJPDkwVFSRCIY1CuvM9zFdWnFyOEwrD8FiUBM3qmquvVotRA==",
	"scrypt$1048576$abc$16$1$O7+LKQwxmXcAkwj9wrvzTsKL8/ZDMsABDu4JrDuJPDkwVFSRCIY1CuvM9zFdWnFyOEwrD8FiUBM3qmquvVotRA==",
	"scrypt$16384$abc$8$4294967295$O7+LKQwxmXcAkwj9wrvzTsKL8/ZDMsABDu4JrDuJPDkwVFSRCIY1CuvM9zFdWnFyOEwrD8FiUBM3qmquvVotRA==",
	"scrypt$16$abc$4294967296$1$O7+LKQwxmXcAkwj9wrvzTsKL8/ZDMsABDu4JrDuJPDkwVFSRCIY1CuvM9zFdWnFyOEwrD8FiUBM3qmquvVotRA==",
	"scrypt$16$abc$2$3$O7+LKQwxmXcAkwj9wrvzTsKL8/ZDMsABDu4JrDuJPDkwVFSRCIY1CuvM9zFdWnFyOEwrD8FiUBM3",
	"scrypt$16$abc$2$3$O7+LKQwxmXcAkwj9wrvzTsKL8/ZDMsABDu4JrDuJPDkwVFSRCIY1CuvM9zFdWnFyOEwrD8FiUBM3qmquvVotRA==$",
}

func TestVerifyMalformed(t *testing.T) {
	h := New(testParams, nil)
	for _, enc := range malformed {
		if IsUsable(enc) {
			t.Errorf("IsUsable(%q) = true, want false", enc)
			continue // do not run a possibly huge derivation
		}
		for _, pw := range []string{"", "adminpass", pw1, pw2} {
			if ok, rehash := h.Verify(pw, enc); ok || rehash {
				t.Errorf("Verify(%q, %q) = %v, %v; want false, false", pw, enc, ok, rehash)
			}
		}
	}
}

// Verifiable is true exactly for the hashes Verify computes: known
// answers of every format, not malformed, unusable or over-limit values,
// nor a format the hasher's configuration does not accept.
func TestVerifiable(t *testing.T) {
	h := New(testParams, nil)
	for _, c := range knownAnswers {
		if !h.Verifiable(c.encoded) {
			t.Errorf("Verifiable(%.40q) = false", c.encoded)
		}
	}
	for _, enc := range append(malformed, "!unusable", "",
		"argon2$argon2id$v=19$m=1048577,t=1,p=1$VXJwYkpmZ3V1UU9aOHNJN29pNENsNQ$1bA+tK0bhBbRQ0QojXZt/w") {
		if h.Verifiable(enc) {
			t.Errorf("Verifiable(%.40q) = true", enc)
		}
	}
	only, err := NewHasher(Config{Algorithms: []string{AlgArgon2}, Argon2: testParams}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pbkdf2 := knownAnswers[0].encoded
	if Algorithm(pbkdf2) != AlgPBKDF2SHA256 || only.Verifiable(pbkdf2) || !h.Verifiable(pbkdf2) {
		t.Errorf("a pbkdf2_sha256 hash: Verifiable %v with argon2 alone accepted, %v with every format", only.Verifiable(pbkdf2), h.Verifiable(pbkdf2))
	}
}

func TestAlgorithm(t *testing.T) {
	tests := []struct{ encoded, want string }{
		{"pbkdf2_sha256$260000$s$h", "pbkdf2_sha256"},
		{"pbkdf2_sha1$1$s$h", "pbkdf2_sha1"},
		{"argon2$argon2id$v=19$m=64,t=1,p=1$s$h", "argon2"},
		{"bcrypt_sha256$$2b$12$x", "bcrypt_sha256"},
		{"bcrypt$$2b$12$x", "bcrypt"},
		{"scrypt$16384$s$8$1$h", "scrypt"},
		{"md5$salt$hash", "md5"}, // Django's MD5PasswordHasher (verified as a legacy hash)
		{"crypt$$abN0u0a9E.mXQ", ""},
		{"argon2", ""},
		{"!abc", ""},
		{"", ""},
		{"$", ""},
	}
	for _, tc := range tests {
		if got := Algorithm(tc.encoded); got != tc.want {
			t.Errorf("Algorithm(%q) = %q, want %q", tc.encoded, got, tc.want)
		}
	}
}

func TestUnusable(t *testing.T) {
	if got, want := Unusable(detReader()), "!PJ2NQX31NGMN2N0VRWR12RLG2N12G0JWMXVWN11S"; got != want {
		t.Errorf("Unusable(fixed) = %q, want %q", got, want)
	}
	shape := regexp.MustCompile(`^![A-Za-z0-9]{40}$`)
	a, b := Unusable(nil), Unusable(failReader{})
	for _, u := range []string{a, b} {
		if !shape.MatchString(u) {
			t.Errorf("Unusable = %q, want ! and 40 letters or digits", u)
		}
		if IsUsable(u) || Algorithm(u) != "" {
			t.Errorf("%q reported usable", u)
		}
		if ok, _ := New(testParams, nil).Verify(u[1:], u); ok {
			t.Errorf("unusable value verified")
		}
	}
	if a == b {
		t.Error("two Unusable values are equal")
	}
}

// Bytes of 248 and above must be skipped, or the alphabet's first eight
// characters would be drawn more often.
func TestRandomStringRejectsBias(t *testing.T) {
	in := append(bytes.Repeat([]byte{255, 248}, 50), bytes.Repeat([]byte{62 + 1}, 50)...)
	got, err := randomString(bytes.NewReader(in), 10)
	if err != nil {
		t.Fatal(err)
	}
	if got != "bbbbbbbbbb" {
		t.Errorf("randomString = %q, want only 'b' (byte 63)", got)
	}
}

func TestParamsValidate(t *testing.T) {
	tests := []struct {
		p  Params
		ok bool
	}{
		{DefaultParams(), true},
		{testParams, true},
		{Params{Memory: 1 << 20, Time: 4, Threads: 4}, true},
		{Params{Memory: 64, Time: 0, Threads: 1}, false},
		{Params{Memory: 64, Time: 1, Threads: 0}, false},
		{Params{Memory: 7, Time: 1, Threads: 1}, false},
		{Params{Memory: 64, Time: 1, Threads: 9}, false},
		{Params{Memory: 1<<20 + 1, Time: 1, Threads: 1}, false},
		{Params{Memory: 1 << 20, Time: 5, Threads: 1}, false},
		{Params{}, false},
	}
	for _, tc := range tests {
		if err := tc.p.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v.Validate() = %v, want ok=%v", tc.p, err, tc.ok)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("New with zero Params did not panic")
		}
	}()
	New(Params{}, nil)
}

func TestDummy(t *testing.T) {
	h := New(testParams, nil)
	// The dummy hash must cost what h's own hashes cost.
	d, ok := h.dummy().(argon2Hash)
	if !ok || d.memory != testParams.Memory || d.time != testParams.Time ||
		d.threads != testParams.Threads || d.variant != "argon2id" || len(d.key) != argon2KeyLen {
		t.Errorf("dummy = %+v, want argon2id at %+v", h.dummy(), testParams)
	}
	if _, err := parse(d.String()); err != nil {
		t.Errorf("dummy hash does not parse: %v", err)
	}
	h.Dummy(pw1)
	h.Dummy("")
	// With another first hasher, the dummy costs what its hashes cost.
	for _, c := range []Config{{Algorithms: []string{AlgPBKDF2SHA256}}, {Algorithms: []string{AlgBcryptSHA256}, BcryptRounds: MinBcryptRounds}} {
		c.Argon2 = testParams
		h, err := NewHasher(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		enc, _ := h.Hash(pw1)
		d := h.dummy()
		if d.algorithm() != h.Algorithm() || d.mustUpdate(h) {
			t.Errorf("%s: dummy %s costs other than a new hash %s", h.Algorithm(), d.algorithm(), enc)
		}
		if d.verify(pw1) || d.verify("") {
			t.Errorf("%s: the dummy verified a password", h.Algorithm())
		}
	}
}

// TestDjangoInterop checks that Django itself accepts a hash written here
// and does not ask to rehash it. It runs only where Python with Django and
// argon2-cffi is installed (Debian: python3-django python3-argon2).
func TestDjangoInterop(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Python")
	}
	py, err := exec.LookPath("/usr/bin/python3")
	if err != nil {
		t.Skip("no /usr/bin/python3")
	}
	const script = `
import sys
from django.conf import settings
settings.configure(PASSWORD_HASHERS=["django.contrib.auth.hashers.Argon2PasswordHasher"])
from django.contrib.auth.hashers import check_password, get_hasher
h = get_hasher("argon2")
h.memory_cost, h.time_cost, h.parallelism = 64, 1, 1
pw, enc = sys.argv[1], sys.argv[2]
print(check_password(pw, enc), check_password(pw + "x", enc), h.must_update(enc))
`
	if err := exec.CommandContext(t.Context(), py, "-c", "import django, argon2").Run(); err != nil {
		t.Skip("Python lacks django or argon2-cffi")
	}
	enc, err := New(testParams, nil).Hash(pw2)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), py, "-c", script, pw2, enc).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	// must_update is True only because Django 3.2's argon2-cffi writes
	// 16-byte tags and this package writes 32-byte ones.
	if got := strings.TrimSpace(string(out)); got != "True False True" && got != "True False False" {
		t.Errorf("Django check_password(right), check_password(wrong), must_update = %s", got)
	}
}

// equivalentBcrypt maps the 2a/2y spellings of a bcrypt hash to 2b; they
// name the same computation, so each verifies whenever the others do.
func equivalentBcrypt(enc string) string {
	for _, prefix := range []string{"bcrypt_sha256$$2", "bcrypt$$2"} {
		if rest, found := strings.CutPrefix(enc, prefix); found && rest != "" && (rest[0] == 'a' || rest[0] == 'y') {
			return prefix + "b" + rest[1:]
		}
	}
	return enc
}

// FuzzVerify checks that no input panics and that nothing verifies the
// fixed password except the real hashes of it in the seed corpus (and the
// other spellings of their bcrypt versions).
func FuzzVerify(f *testing.F) {
	genuine := map[string]bool{}
	for _, tc := range knownAnswers {
		if tc.password == pw2 {
			genuine[tc.encoded] = true
		}
	}
	for _, tc := range knownAnswers {
		// Seed with the cheap hashes only: the fuzzer repeats them.
		if !strings.Contains(tc.encoded, "$260000$") && !strings.Contains(tc.encoded, "m=102400") &&
			!strings.Contains(tc.encoded, "$2b$12$") && !strings.Contains(tc.encoded, "scrypt$16384$") {
			f.Add(tc.encoded)
		}
	}
	for _, enc := range malformed {
		f.Add(enc)
	}
	h := New(testParams, nil)
	f.Fuzz(func(t *testing.T, encoded string) {
		ok, rehash := h.Verify(pw2, encoded)
		if ok && !genuine[equivalentBcrypt(encoded)] {
			t.Errorf("Verify(%q, %q) = true for a hash not made from it", pw2, encoded)
		}
		if !ok && rehash {
			t.Errorf("needsRehash without a match for %q", encoded)
		}
		if ok && !IsUsable(encoded) {
			t.Errorf("%q verified but IsUsable is false", encoded)
		}
	})
}

// FuzzParse checks that parsing never panics and agrees with IsUsable and
// Algorithm, and that Hash output always parses.
func FuzzParse(f *testing.F) {
	for _, tc := range knownAnswers {
		f.Add(tc.encoded)
	}
	for _, enc := range malformed {
		f.Add(enc)
	}
	f.Fuzz(func(t *testing.T, encoded string) {
		s, err := parse(encoded)
		if (err == nil) != IsUsable(encoded) {
			t.Fatalf("parse and IsUsable disagree on %q", encoded)
		}
		if err != nil {
			return
		}
		if s.algorithm() != Algorithm(encoded) {
			t.Errorf("parsed algorithm %q, Algorithm %q", s.algorithm(), Algorithm(encoded))
		}
		// argon2 has one canonical spelling: re-encoding must round-trip.
		if a, isArgon2 := s.(argon2Hash); isArgon2 && a.String() != encoded {
			t.Errorf("argon2 %q re-encodes as %q", encoded, a.String())
		}
	})
}

func BenchmarkVerifyPBKDF2_260k(b *testing.B) {
	h := New(DefaultParams(), nil)
	const enc = "pbkdf2_sha256$260000$pc41zxZhbaGbksjZDvLtj3$1UCj9gFcVWx0yA62BBUHvfcXj+KShmMPseAyMxvJljk="
	for b.Loop() {
		if ok, _ := h.Verify("adminpass", enc); !ok {
			b.Fatal("fixture did not verify")
		}
	}
}

func BenchmarkHashArgon2Default(b *testing.B) {
	h := New(DefaultParams(), nil)
	for b.Loop() {
		if _, err := h.Hash(pw1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyArgon2Default(b *testing.B) {
	h := New(DefaultParams(), nil)
	enc, err := h.Hash(pw1)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		h.Verify(pw1, enc)
	}
}

func BenchmarkDummy(b *testing.B) {
	h := New(DefaultParams(), nil)
	for b.Loop() {
		h.Dummy(pw1)
	}
}

func TestMemory(t *testing.T) {
	cases := []struct {
		encoded string
		want    int64
	}{
		{knownAnswers[0].encoded, 0}, // pbkdf2_sha256
		{"argon2$argon2id$v=19$m=102400,t=2,p=8$VXJwYkpmZ3V1UU9aOHNJN29pNENsNQ$1bA+tK0bhBbRQ0QojXZt/w", 100 << 20},
		{"argon2$argon2i$v=19$m=256,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$V/tlh10sLdT0lBMsF9Aw1afIKFCYCIE1", 256 << 10},
		// 128·r·(N+p) = 128·8·(16384+1)
		{"scrypt$16384$Zn6xYqf4VbW2SvrKdvKUz3$8$1$WJTLcZq0iKieGTYlnjRrlPwJ3A6jAD0gq6tRNTe+1GxbriIjISFKQiWapFHwDVTSFiT4+WYGF6TERdwfwvrO5A==", 128 * 8 * 16385},
		{"bcrypt$$2b$05$NdXf8u7sBNbpthXveAJE6..zL9Jf4lzE/cQxNPj4n3.NkotlpfPKK", 0},
		{"argon2$argon2id$v=19$m=1048577,t=1,p=1$VXJwYkpmZ3V1UU9aOHNJN29pNENsNQ$1bA+tK0bhBbRQ0QojXZt/w", 0}, // over the limit: rejected unread
		{"!unusable", 0},
		{"", 0},
	}
	for _, c := range cases {
		if got := Memory(c.encoded); got != c.want {
			t.Errorf("Memory(%.40q) = %d, want %d", c.encoded, got, c.want)
		}
	}
}
