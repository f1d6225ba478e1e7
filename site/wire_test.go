package site

import (
	"strings"
	"testing"
)

// Distinct names for the groups and permissions claims pass; a name one
// of the renamed standard claims has is refused (the settings are tested
// end to end in cmd/gatehouse's TestPermissionClaimSettings).
func TestPermissionClaims(t *testing.T) {
	if err := permissionClaims("groups", "permissions"); err != nil {
		t.Fatal(err)
	}
	// A claim renamed by USER_ID_CLAIM and the like is taken too.
	if err := permissionClaims("uid", "", "uid", "token_type", "jti"); err == nil || !strings.Contains(err.Error(), `named "uid"`) {
		t.Fatalf("the renamed user id claim as the groups claim: %v", err)
	}
}

// Without an issuer setting, a server on a loopback address publishes
// metadata as http://ADDR (a developer's machine); on any other address
// only the operator knows the public URL, so there is none.
func TestLoopbackIssuer(t *testing.T) {
	for _, tc := range []struct{ addr, prefix, want string }{
		{"127.0.0.1:8000", "", "http://127.0.0.1:8000"},
		{"localhost:8000", "/auth", "http://localhost:8000/auth"},
		{"[::1]:9000", "", "http://[::1]:9000"},
		{"0.0.0.0:8000", "", ""},
		{":8000", "", ""},
		{"10.1.2.3:8000", "", ""},
		{"auth.example.com:443", "", ""},
		{"garbage", "", ""},
		{"127.0.0.1:0", "", ""},
	} {
		if got := loopbackIssuer(tc.addr, tc.prefix); got != tc.want {
			t.Errorf("loopbackIssuer(%q, %q) = %q, want %q", tc.addr, tc.prefix, got, tc.want)
		}
	}
}
