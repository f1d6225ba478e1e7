package oauth

import (
	"regexp"
	"strings"
	"testing"
)

var verifierShape = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// FuzzVerifier checks the PKCE checks against RFC 7636 4.1 and 4.2: a
// verifier is 43 to 128 unreserved characters, and the S256 challenge of
// any string is 43 of them, so it always passes the authorization
// request's code_challenge check.
func FuzzVerifier(f *testing.F) {
	for _, s := range []string{"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", strings.Repeat("a", 42), strings.Repeat("a", 43),
		strings.Repeat("~", 128), strings.Repeat("a", 129), strings.Repeat("a", 42) + "é", strings.Repeat("a", 42) + "\x00",
		strings.Repeat("a", 42) + "+", strings.Repeat("a", 42) + "=", strings.Repeat("a", 42) + "/", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if validVerifier(v) != verifierShape.MatchString(v) {
			t.Fatalf("validVerifier(%q) = %v", v, validVerifier(v))
		}
		if c := S256(v); len(c) != 43 || !validVerifier(c) {
			t.Fatalf("S256(%q) = %q, not a valid challenge", v, c)
		}
	})
}
