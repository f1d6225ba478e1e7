package gatehouse_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

func TestMayBeOAuthAccessToken(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	at := enc(`{"alg":"RS256","kid":"k1","typ":"at+jwt"}`) + "." + enc(`{"sub":"1"}`) + ".sig"
	simple := enc(`{"alg":"HS256","typ":"JWT"}`) + "." + enc(`{"token_type":"access"}`) + ".sig"
	for tok, want := range map[string]bool{
		"abcdefABCDEF0123456789abcdef01": true,
		strings.Repeat("a", 255):         true,
		strings.Repeat("a", 256):         false,
		at:                               true,
		simple:                           false,
		"not base64!." + enc("{}") + ".": false,
		at + strings.Repeat("a", 8192):   false,
		enc(`{"typ":"at+jwt"}`):          true, // no dot: an opaque value of that shape; the database decides
		".":                              false,
	} {
		if got := gatehouse.MayBeOAuthAccessToken(tok); got != want {
			t.Errorf("%.40q: %v, want %v", tok, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { gatehouse.MayBeOAuthAccessToken(simple) }); n != 0 {
		t.Fatalf("%v allocations for a simplejwt token", n)
	}
}
