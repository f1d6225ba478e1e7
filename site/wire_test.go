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
