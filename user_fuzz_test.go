package gatehouse

import (
	"net/netip"
	"strings"
	"testing"
	"unicode"
)

// FuzzValidEmail checks what an accepted address can hold, as Django's
// EmailValidator would have it: at most 254 bytes, no control character,
// space or angle bracket anywhere, a local part of atoms, and a domain
// that is localhost, dotted labels, or a bracketed IP address.
func FuzzValidEmail(f *testing.F) {
	for _, s := range []string{"alice@example.com", "user00@example.com", "admin@localhost", "a@[127.0.0.1]", "a@[::1]",
		"a@[IPv6:::1]", "x\r\n@[evil]", "<script>@[x]", "a b@[1.2.3.4]", "\"a b\"@example.com", "not-an-email",
		"a..b@example.com", "é@exämple.com", "a@b.c", "a@-b.com", "a\x00@example.com", "a@example.com\n", "\xff@example.com",
		strings.Repeat("a", 250) + "@b.co", "a@[]", "@example.com", "a@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidEmail(s) {
			return
		}
		if len(s) > MaxEmail || !ValidText(s) {
			t.Fatalf("%q accepted: too long or not text", s)
		}
		if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) || r == '<' || r == '>' }) {
			t.Fatalf("%q accepted with a control, space or angle bracket", s)
		}
		at := strings.LastIndexByte(s, '@')
		local, domain := s[:at], s[at+1:]
		if local == "" || strings.ContainsAny(local, "\"(),:;<>@[\\]") {
			t.Fatalf("%q accepted with local part %q", s, local)
		}
		if strings.HasPrefix(domain, "[") {
			if _, err := netip.ParseAddr(strings.TrimSuffix(domain[1:], "]")); err != nil || !strings.HasSuffix(domain, "]") {
				t.Fatalf("%q accepted with domain literal %q, not an IP address", s, domain)
			}
			return
		}
		if domain != "localhost" && (!strings.Contains(domain, ".") || strings.ContainsAny(domain, "[]:\\\"")) {
			t.Fatalf("%q accepted with domain %q", s, domain)
		}
	})
}
