package server_test

import (
	"context"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
)

// grantAlice gives alice the group editors (auth.add_user) and
// auth.view_group of her own, and returns her.
func (e *env) grantAlice() gatehouse.User {
	e.t.Helper()
	ctx := context.Background()
	alice, err := e.store.UserByUsername(ctx, "alice")
	if err != nil {
		e.t.Fatal(err)
	}
	add := gatehouse.Permission{Name: "Can add user", Codename: "add_user", AppLabel: "auth", Model: "user"}
	view := gatehouse.Permission{Name: "Can view group", Codename: "view_group", AppLabel: "auth", Model: "group"}
	for _, p := range []*gatehouse.Permission{&add, &view} {
		if err := e.store.CreatePermission(ctx, p); err != nil {
			e.t.Fatal(err)
		}
	}
	g := gatehouse.Group{Name: "editors", Permissions: []int64{add.ID}}
	if err := e.store.CreateGroup(ctx, &g); err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.SetUserGroups(ctx, alice.ID, []int64{g.ID}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.SetUserPermissions(ctx, alice.ID, []int64{view.ID}); err != nil {
		e.t.Fatal(err)
	}
	return alice
}

// With oauth-introspect-permissions, /o/introspect/ adds the user's groups
// and permissions after DOT's members; without it (the default) the body
// is DOT's exactly.
func TestIntrospectPermissions(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run("setting "+strconv.FormatBool(on), func(t *testing.T) {
			each(t, func(c *config) { c.OAuth.IntrospectPermissions = on }, func(t *testing.T, e *env) {
				a := e.setupOAuth()
				e.grantAlice()
				p := e.password(a)
				r := e.do("POST", "/o/introspect/", url.Values{"token": {p.Access}}, "Authorization", basic("conf-client", a.confSecret))
				exp := strconv.FormatInt(int64(r.json(t)["exp"].(float64)), 10)
				iat := strconv.FormatInt(int64(r.json(t)["iat"].(float64)), 10)
				want := `{"active": true, "scope": "read write groups", "exp": ` + exp + `, "client_id": "conf-client", "username": "alice", "token_type": "Bearer", "iat": ` + iat + `, "sub": "` + r.json(t)["sub"].(string) + `"}`
				if on {
					want = strings.TrimSuffix(want, "}") + `, "groups": ["editors"], "permissions": ["auth.add_user","auth.view_group"]}`
				}
				expect(t, r, 200, want)
				// A client_credentials token has no user, and so no such members.
				cc := e.tokens(url.Values{"grant_type": {"client_credentials"}}, "Authorization", basic("cc-client", a.ccSecret))
				r = e.do("POST", "/o/introspect/", url.Values{"token": {cc.Access}}, "Authorization", basic("cc-client", a.ccSecret))
				if expect(t, r, 200, ""); strings.Contains(string(r.body), `"groups":`) {
					t.Fatalf("client_credentials token: %s", r.body)
				}
				// A user in no group with no permission: empty lists.
				e.user("bob", "bobpass")
				bob := e.tokens(url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {"bobpass"},
					"client_id": {"conf-client"}, "client_secret": {a.confSecret}})
				r = e.do("POST", "/o/introspect/", url.Values{"token": {bob.Access}}, "Authorization", basic("conf-client", a.confSecret))
				if got := strings.Contains(string(r.body), `, "groups": [], "permissions": []}`); got != on {
					t.Fatalf("bob: %s", r.body)
				}
			})
		})
	}
}

// With the claims named, simplejwt access tokens carry the groups and
// permissions, and such a token authenticates /api/me/ as any other.
func TestJWTPermissionClaims(t *testing.T) {
	eachWith(t, func(w *wiring) { w.JWT.Options.GroupsClaim, w.JWT.Options.PermissionsClaim = "groups", "permissions" }, func(t *testing.T, e *env) {
		e.user("alice", "alicepass")
		e.grantAlice()
		r := e.do("POST", "/access-token/", map[string]string{"username": "alice", "password": "alicepass"})
		expect(t, r, 200, "")
		m := r.json(t)
		access, refresh := m["access"].(string), m["refresh"].(string)
		claims, _ := base64.RawURLEncoding.DecodeString(strings.Split(access, ".")[1])
		if !strings.HasSuffix(string(claims), `,"groups":["editors"],"permissions":["auth.add_user","auth.view_group"]}`) {
			t.Fatalf("access token claims %s", claims)
		}
		if claims, _ := base64.RawURLEncoding.DecodeString(strings.Split(refresh, ".")[1]); strings.Contains(string(claims), "groups") {
			t.Fatalf("refresh token claims %s", claims)
		}
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Bearer "+access), 200, "")
		r = e.do("POST", "/access-token/refresh/", map[string]string{"refresh": refresh})
		expect(t, r, 200, "")
		access = r.json(t)["access"].(string)
		if claims, _ := base64.RawURLEncoding.DecodeString(strings.Split(access, ".")[1]); !strings.Contains(string(claims), `"groups":["editors"]`) {
			t.Fatalf("refreshed access token claims %s", claims)
		}
		expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Bearer "+access), 200, "")
	})
}
