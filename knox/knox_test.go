package knox_test

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/knox"
)

const token = "3f9c2a7be1d04c58a6e2f0b19d7c8e4a5b6f1029384756abcdef0123456789ab"

// The digests were computed with Python's hashlib and binascii, by each
// knox release line's formula (knox/crypto.py): 5.x
// hash_func(token.encode()).hexdigest(); 4.2 the hash of
// binascii.unhexlify(token); 3.0 to 4.1 the same followed by
// binascii.unhexlify(salt).
func TestDigestKnownAnswers(t *testing.T) {
	for _, tc := range []struct {
		name        string
		version     int
		hash        string
		token, salt string
		want        string
	}{
		{"knox5 sha512", knox.Version5, "hashlib.sha512", token, "",
			"1c0cf5e3ec4044f02737854905f0f53c0d7bbde95b8f323aad342685b1b5dbaeadd04c412e613de78cb93a1c9bf0ce9983c3cf638b6e5d68683b285add87c6f5"},
		{"knox5 prefix", knox.Version5, "sha512", "gh_" + token, "",
			"3d481794f4765271ed89db5116b4c78791cdf03f193e2a60ca2a5b39eb37a212b0741dfab4a36d1394c14812548e40944df1e37288d1e9e42700d3806e28d8f0"},
		{"knox4.2 sha512", knox.Version4, "cryptography.hazmat.primitives.hashes.SHA512", token, "",
			"8179b7ebd85e657f19e79427ed0eaa65fef73a929b11f89582400fe771b11fad6c2a4892ef81955b13584dba9b1c06912040a0417efefe2aef2ef8f81c514ebb"},
		{"knox4.1 salted", knox.Version4, "SHA512", token, "0011223344556677",
			"11c41f4cdac7a3cc7997a9be21e714094d9ad9e54f8e53aaa6e24037a8288cb9f03ff4aae0206dc31d540de826cd99baf42ddaf1aa5e7d0a82b197f68ee4d331"},
		{"knox5 sha3_512", knox.Version5, "hashlib.sha3_512", token, "",
			"854e67f406cff55b43fa2159795a38c95942b4063fc95ee56ccef9bb70f9e855fe3d0cccccee1970ac93d8e2880d8a4a8f6a30b5344ac70c3d3713475c5b766a"},
		{"knox5 blake2b", knox.Version5, "hashlib.blake2b", token, "",
			"dd3c5f449eb406293de3d7650769b63ba56a75b90a82a6a0030c2e7a6dab23e8e23d2131658f1619e20f10ee0eaa4ab3329b5910e764e0296ee062b715a073d4"},
		{"knox5 md5", knox.Version5, "hashlib.md5", token, "", "511b3d79be311e569f9f6aa957a284f4"},
		{"knox4 sha256", knox.Version4, "cryptography.hazmat.primitives.hashes.SHA256", token, "",
			"7b4248fb397491227deac11fb38b6e86ff8f4ba1c516864b065de5098d041bad"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := knox.DefaultConfig()
			c.Version, c.Hash = tc.version, tc.hash
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			got, ok := c.Digest(tc.token, tc.salt)
			if !ok || got != tc.want {
				t.Fatalf("Digest = %q, %v; want %q", got, ok, tc.want)
			}
			if c.DigestLength() != len(tc.want) {
				t.Fatalf("DigestLength = %d, want %d", c.DigestLength(), len(tc.want))
			}
			if !c.Matches(tc.token, tc.want, tc.salt) {
				t.Fatal("Matches refused the token")
			}
			if c.Matches(tc.token[:len(tc.token)-2]+"00", tc.want, tc.salt) {
				t.Fatal("Matches accepted another token")
			}
		})
	}
}

// Knox 4 unhexlifies the token: one that is not an even count of hex
// characters cannot be hashed (knox answers "Invalid token."); knox 5
// hashes any text but has no salted rows.
func TestDigestRefusals(t *testing.T) {
	v4 := knox.DefaultConfig()
	v4.Version = knox.Version4
	for _, tok := range []string{"abc", "zz" + token, "gh_" + token} {
		if _, ok := v4.Digest(tok, ""); ok {
			t.Errorf("knox 4 hashed %q", tok)
		}
	}
	if _, ok := v4.Digest(token, "xyz"); ok {
		t.Error("knox 4 hashed with a salt that is not hex")
	}
	v5 := knox.DefaultConfig()
	if _, ok := v5.Digest(token, "0011223344556677"); ok {
		t.Error("knox 5 hashed with a salt")
	}
	if _, ok := v5.Digest("not hex at all", ""); !ok {
		t.Error("knox 5 refused a token that is not hex")
	}
}

func TestKeyAndShape(t *testing.T) {
	v5 := knox.DefaultConfig()
	if got := v5.Key(token); got != token[:15] {
		t.Errorf("knox 5 key %q", got)
	}
	v4 := knox.DefaultConfig()
	v4.Version = knox.Version4
	if got := v4.Key(token); got != token[:8] {
		t.Errorf("knox 4 key %q", got)
	}
	if got := v5.Key("short"); got != "short" {
		t.Errorf("short token key %q", got)
	}
	pre := knox.DefaultConfig()
	pre.Prefix = "gh_"
	for _, tc := range []struct {
		c    knox.Config
		tok  string
		fits bool
	}{
		{v5, token, true},
		{v5, token[:40], false}, // a DRF key's length
		{v5, token[:63], false},
		{v5, "3F" + token[2:], false},
		{v5, "gh_" + token, true}, // knox never checks the prefix
		{v5, "0123456789_" + token, false},
		{v5, "g h" + token, false},
		{pre, "gh_" + token, true},
		{pre, token, true}, // made before TOKEN_PREFIX was set
		{pre, "gh_" + token[:62] + "zz", false},
	} {
		if got := tc.c.Fits(tc.tok); got != tc.fits {
			t.Errorf("Fits(%q) with prefix %q = %v", tc.tok, tc.c.Prefix, got)
		}
	}
	odd := knox.DefaultConfig()
	odd.Length = 41 // knox makes 20 bytes: 40 characters
	if !odd.Fits(token[:40]) || odd.Fits(token[:39]) {
		t.Error("an odd AUTH_TOKEN_CHARACTER_LENGTH is not rounded down")
	}
}

func TestValidate(t *testing.T) {
	ok := knox.DefaultConfig()
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*knox.Config){
		"version":          func(c *knox.Config) { c.Version = 3 },
		"hash":             func(c *knox.Config) { c.Hash = "hashlib.shake_256" },
		"long prefix":      func(c *knox.Config) { c.Prefix = "abcdefghijk" },
		"prefix on knox 4": func(c *knox.Config) { c.Version, c.Prefix = knox.Version4, "gh_" },
		"space in prefix":  func(c *knox.Config) { c.Prefix = "a b" },
		"length":           func(c *knox.Config) { c.Length = 0 },
		"refresh no ttl":   func(c *knox.Config) { c.AutoRefresh, c.TTL = true, 0 },
	} {
		c := knox.DefaultConfig()
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Expired is knox's `expiry < timezone.now()`: still good at its expiry.
func TestExpired(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if knox.Expired(nil, now) || knox.Expired(&now, now) {
		t.Fatal("expired at its expiry, or without one")
	}
	before := now.Add(-time.Microsecond)
	if !knox.Expired(&before, now) {
		t.Fatal("not expired after its expiry")
	}
}

// Renewal is knox's renew_token: TTL from now, at most MaxTTL from
// creation, written only when it moves by more than MinRefreshInterval.
func TestRenewal(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	created := now.Add(-time.Hour)
	c := knox.DefaultConfig()
	exp := now.Add(time.Hour)
	if _, write := c.Renewal(created, &exp, now); write {
		t.Fatal("renewed without AutoRefresh")
	}
	c.AutoRefresh = true
	if _, write := c.Renewal(created, nil, now); write {
		t.Fatal("renewed a token without expiry")
	}
	next, write := c.Renewal(created, &exp, now)
	if !write || !next.Equal(now.Add(10*time.Hour)) {
		t.Fatalf("Renewal = %v, %v", next, write)
	}
	recent := now.Add(10*time.Hour - time.Minute)
	if _, write := c.Renewal(created, &recent, now); write {
		t.Fatal("written although it moves by exactly MinRefreshInterval")
	}
	recent = recent.Add(-time.Second)
	if _, write := c.Renewal(created, &recent, now); !write {
		t.Fatal("not written although it moves by more than MinRefreshInterval")
	}
	c.MaxTTL = 3 * time.Hour
	next, write = c.Renewal(created, &exp, now)
	if !write || !next.Equal(created.Add(3*time.Hour)) {
		t.Fatalf("Renewal with MaxTTL = %v, %v", next, write)
	}
	late := created.Add(3 * time.Hour)
	if _, write := c.Renewal(created, &late, now); write {
		t.Fatal("renewed past MaxTTL")
	}
}

func TestValidDigestAndSalt(t *testing.T) {
	for s, want := range map[string]bool{
		"ab": true, "": false, "abc": false, "AB": false, "zz": false,
		string(make([]byte, 130)): false,
	} {
		if knox.ValidDigest(s) != want {
			t.Errorf("ValidDigest(%q) != %v", s, want)
		}
	}
	if !knox.ValidSalt("0011223344556677") || knox.ValidSalt("00112233") || knox.ValidSalt("001122334455667g") {
		t.Error("ValidSalt")
	}
}
