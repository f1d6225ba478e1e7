package secret

import (
	"bytes"
	"strings"
	"testing"
)

func TestBoxRoundTripAndKeySeparation(t *testing.T) {
	a, _ := NewBox("server-secret-a-0123456789")
	b, _ := NewBox("server-secret-b-0123456789")
	sealed, err := a.Seal([]byte("40hexkey"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("40hexkey")) {
		t.Fatal("sealed value contains the plain text")
	}
	if got, err := a.Open(sealed); err != nil || string(got) != "40hexkey" {
		t.Fatalf("Open: %q %v", got, err)
	}
	if _, err := b.Open(sealed); err == nil {
		t.Fatal("another server secret opened the value")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := a.Open(sealed); err == nil {
		t.Fatal("a tampered value opened")
	}
	if _, err := a.Open([]byte("short")); err == nil {
		t.Fatal("a short value opened")
	}
	if _, err := NewBox(""); err == nil {
		t.Fatal("empty secret accepted")
	}
}

func TestRandomTokens(t *testing.T) {
	seen := map[string]bool{}
	counts := map[rune]int{}
	for i := 0; i < 2000; i++ {
		s, err := Alnum(nil, 30)
		if err != nil || len(s) != 30 || strings.Trim(s, alnum) != "" {
			t.Fatalf("Alnum: %q %v", s, err)
		}
		if seen[s] {
			t.Fatal("repeated token")
		}
		seen[s] = true
		for _, r := range s {
			counts[r]++
		}
	}
	// 60,000 characters over 62 symbols: each about 968; a biased generator
	// (c % 62 over 256 values) would give the first 8 symbols ~25% more.
	for r, n := range counts {
		if n < 800 || n > 1150 {
			t.Fatalf("symbol %q appeared %d times", r, n)
		}
	}
	h, err := Hex(nil, 20)
	if err != nil || len(h) != 40 || strings.Trim(h, "0123456789abcdef") != "" {
		t.Fatalf("Hex: %q %v", h, err)
	}
	if len(Hash("x")) != 32 || !Equal(Hash("x"), Hash("x")) || Equal(Hash("x"), Hash("y")) {
		t.Fatal("Hash/Equal")
	}
	if len(Fingerprint("abc")) != 8 {
		t.Fatal("Fingerprint length")
	}
}
