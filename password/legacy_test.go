package password_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/password"
)

// Django 3.2's legacy hashers (SHA1, MD5, and their unsalted forms), as
// Django writes them (computed with Python's hashlib by Django's formula):
// the right password verifies and asks for a rehash, others do not.
func TestVerifyLegacyDjangoHashes(t *testing.T) {
	h := password.New(password.DefaultParams(), nil)
	for _, c := range []struct{ encoded, algorithm string }{
		{"sha1$seasalt$a69177e0b2021d4da5ecfce22e7ffa5fd4d26feb", "sha1"},
		{"md5$seasalt$3ba6ec36b18f825433b3d33dae1d994b", "md5"},
		{"sha1$$d7ab6c87552b3cab20b80b2046310eb9da40ac01", "unsalted_sha1"},
		{"74d22f7c666150d2364e43dfcc00f395", "unsalted_md5"},
		{"md5$$74d22f7c666150d2364e43dfcc00f395", "unsalted_md5"},
	} {
		if got := password.Algorithm(c.encoded); got != c.algorithm {
			t.Errorf("Algorithm(%s) = %q, want %q", c.encoded, got, c.algorithm)
		}
		if ok, rehash := h.Verify("legacy pass", c.encoded); !ok || !rehash {
			t.Errorf("%s: ok %v rehash %v", c.encoded, ok, rehash)
		}
		if ok, _ := h.Verify("legacy pass ", c.encoded); ok {
			t.Errorf("%s: a wrong password verified", c.encoded)
		}
	}
	for _, bad := range []string{"sha1$seasalt$A69177E0B2021D4DA5ECFCE22E7FFA5FD4D26FEB", "sha1$seasalt$a691", "md5$a$b$3ba6ec36b18f825433b3d33dae1d994b",
		"74d22f7c666150d2364e43dfcc00f39", "74D22F7C666150D2364E43DFCC00F395", "crypt$$abN0u0a9E.mXQ", "sha1$seasalt$zz9177e0b2021d4da5ecfce22e7ffa5fd4d26feb"} {
		if ok, _ := h.Verify("legacy pass", bad); ok {
			t.Errorf("%q verified", bad)
		}
	}
}

// An argon2 hash with parameters other than the hasher's, stronger ones
// too, is replaced at the next login, as Django's must_update does; one with
// the hasher's own parameters is not.
func TestArgon2OtherParametersAreRehashed(t *testing.T) {
	base := password.Params{Memory: 1024, Time: 2, Threads: 1}
	h := password.New(base, nil)
	for _, p := range []password.Params{{Memory: 2048, Time: 2, Threads: 1}, {Memory: 1024, Time: 3, Threads: 1},
		{Memory: 1024, Time: 2, Threads: 2}, {Memory: 512, Time: 2, Threads: 1}} {
		enc, err := password.New(p, nil).Hash("pw-123456")
		if err != nil {
			t.Fatal(err)
		}
		if ok, rehash := h.Verify("pw-123456", enc); !ok || !rehash {
			t.Errorf("%+v under %+v: ok %v rehash %v", p, base, ok, rehash)
		}
	}
	enc, _ := h.Hash("pw-123456")
	if ok, rehash := h.Verify("pw-123456", enc); !ok || rehash {
		t.Errorf("the hasher's own parameters: ok %v rehash %v", ok, rehash)
	}
}
