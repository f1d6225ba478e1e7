package secret

import (
	"bytes"
	"crypto/sha256"
	"regexp"
	"strings"
	"testing"
	"time"
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

func TestOrderedTokensSortByIssueTime(t *testing.T) {
	start := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	var prev string
	seen := map[string]bool{}
	for i := range 3000 {
		at := start.Add(time.Duration(i) * 7 * time.Millisecond / 3) // several tokens in some milliseconds
		tok, err := OrderedAlnum(nil, 30, at)
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != 30 || strings.Trim(tok, alnum) != "" {
			t.Fatalf("token %q: not 30 characters of [A-Za-z0-9]", tok)
		}
		if seen[tok] {
			t.Fatalf("token %q issued twice", tok)
		}
		seen[tok] = true
		if p := tok[:KeyPrefix]; prev != "" && p < prev[:KeyPrefix] {
			t.Fatalf("token at %v has prefix %q, before the previous one's %q", at, p, prev[:KeyPrefix])
		}
		prev = tok
	}
	// The same millisecond gives the same prefix; the next one a greater
	// one; the rest stays random.
	a, _ := OrderedAlnum(nil, 30, start)
	b, _ := OrderedAlnum(nil, 30, start.Add(999*time.Microsecond))
	c, _ := OrderedAlnum(nil, 30, start.Add(time.Millisecond))
	if a[:KeyPrefix] != b[:KeyPrefix] || c[:KeyPrefix] <= a[:KeyPrefix] || a[KeyPrefix:] == b[KeyPrefix:] {
		t.Fatalf("prefixes %q %q %q", a, b, c)
	}
	// The keys sort as the tokens: the index's new entries are at its end.
	if bytes.Compare(TokenKey(a), TokenKey(c)) >= 0 {
		t.Fatal("a later token's key sorts first")
	}
	// The span wraps after 62^6 ms and starts again at 000000.
	w, _ := OrderedAlnum(nil, 30, time.UnixMilli(prefixSpan))
	if w[:KeyPrefix] != "000000" {
		t.Fatalf("wrapped prefix %q", w[:KeyPrefix])
	}
	last, _ := OrderedAlnum(nil, 30, time.UnixMilli(prefixSpan-1))
	if last[:KeyPrefix] != "zzzzzz" {
		t.Fatalf("last prefix %q", last[:KeyPrefix])
	}
	if _, err := OrderedAlnum(nil, 27, start); err == nil {
		t.Fatal("a token with 21 random characters was made")
	}
	if _, err := OrderedAlnum(strings.NewReader("short"), 30, start); err == nil {
		t.Fatal("a failing random source gave a token")
	}
}

func TestTokenKey(t *testing.T) {
	tok := "Abc123" + strings.Repeat("x", 24)
	k := TokenKey(tok)
	sum := sha256.Sum256([]byte(tok))
	if string(k[:KeyPrefix]) != "Abc123" || !bytes.Equal(k[KeyPrefix:], sum[:]) || len(k) != KeyPrefix+32 {
		t.Fatalf("key %x", k)
	}
	if !bytes.Equal(KeyDigest(k), sum[:]) || !bytes.Equal(KeyDigest(sum[:]), sum[:]) || !bytes.Equal(KeyDigest(Hash(tok)), Hash(tok)) {
		t.Fatal("KeyDigest is not the SHA-256 part")
	}
	// A token shorter than the prefix is all prefix, and keys of
	// different tokens never meet.
	if s := TokenKey("ab"); string(s[:2]) != "ab" || len(s) != 34 {
		t.Fatalf("short key %x", s)
	}
	if bytes.Equal(TokenKey("abcdef1"), TokenKey("abcdef2")) {
		t.Fatal("two tokens share a key")
	}
}

// UUID4 gives version-4 UUIDs in Python's str(uuid4()) form, from the
// reader given, and its error.
func TestUUID4(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		u, err := UUID4(nil)
		if err != nil || !re.MatchString(u) || seen[u] {
			t.Fatalf("UUID4 = %q, %v", u, err)
		}
		seen[u] = true
	}
	if u, err := UUID4(bytes.NewReader(bytes.Repeat([]byte{0xff}, 16))); err != nil || u != "ffffffff-ffff-4fff-bfff-ffffffffffff" {
		t.Fatalf("all ones: %q, %v", u, err)
	}
	if _, err := UUID4(bytes.NewReader(make([]byte, 15))); err == nil {
		t.Fatal("a short reader gave a UUID")
	}
}
