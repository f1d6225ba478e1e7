package simplejwt_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/jwt"
	"github.com/gatehouse-auth/gatehouse/simplejwt"
)

// listerFunc is a PermissionLister that calls itself.
type listerFunc func(ctx context.Context, u gatehouse.User) (gatehouse.UserPermissions, error)

func (f listerFunc) Permissions(ctx context.Context, u gatehouse.User) (gatehouse.UserPermissions, error) {
	return f(ctx, u)
}

func payload(t *testing.T, tok string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The groups and permissions claims are in access tokens only when named,
// read afresh at each refresh; unnamed (the default), no token carries
// them and nothing is asked for them.
func TestAccessTokenPermissionClaims(t *testing.T) {
	held := gatehouse.UserPermissions{Groups: []string{"editors"}, Permissions: []string{"auth.add_user"}}
	var listErr error
	calls := 0
	lister := listerFunc(func(_ context.Context, u gatehouse.User) (gatehouse.UserPermissions, error) {
		calls++
		if u.ID != alice.ID {
			t.Errorf("listed user %d", u.ID)
		}
		return held, listErr
	})
	build := func(opt simplejwt.Options, perms simplejwt.PermissionLister) *env {
		e := newEnv(t, opt)
		e.svc = simplejwt.New(simplejwt.Deps{Store: e.store, Codec: e.codec, Users: e.users, Options: opt, Now: e.clk.now, Permissions: perms})
		return e
	}
	ctx := context.Background()

	e := build(simplejwt.Options{RotateRefreshTokens: true}, lister)
	refresh, access := e.obtain(t)
	again, _, err := e.svc.Refresh(ctx, refresh)
	if err != nil || calls != 0 || strings.Contains(payload(t, access), "groups") || strings.Contains(payload(t, again), "groups") {
		t.Fatalf("off: %d lister calls, %v; access %s", calls, err, payload(t, access))
	}

	e = build(simplejwt.Options{GroupsClaim: "groups", PermissionsClaim: "perms"}, lister)
	refresh, access = e.obtain(t)
	if p := payload(t, access); calls != 1 || !strings.HasSuffix(p, `"user_id":42,"groups":["editors"],"perms":["auth.add_user"]}`) {
		t.Fatalf("access %s after %d calls", p, calls)
	}
	if p := payload(t, refresh); strings.Contains(p, "groups") {
		t.Fatalf("refresh %s", p)
	}
	held = gatehouse.UserPermissions{Groups: []string{"editors", "Zürich"}}
	access, _, err = e.svc.Refresh(ctx, refresh)
	if p := payload(t, access); err != nil || !strings.HasSuffix(p, `"user_id":42,"groups":["editors","Z\u00fcrich"],"perms":[]}`) {
		t.Fatalf("refreshed access %s, %v", p, err)
	}
	if _, err := e.codec.Parse(access); err != nil {
		t.Fatalf("an access token with the claims does not parse: %v", err)
	}

	listErr = errors.New("down")
	if _, _, err := e.svc.Obtain(ctx, &alice); !errors.Is(err, listErr) {
		t.Fatalf("a lister error: %v", err)
	}

	e = build(simplejwt.Options{PermissionsClaim: "perms"}, nil)
	_, access = e.obtain(t)
	if p := payload(t, access); !strings.HasSuffix(p, `"user_id":42,"perms":[]}`) {
		t.Fatalf("without a lister: %s", p)
	}
}

// A refresh token a Django project's serializer gave claims of its own
// (token["tenant"] = ...) hands them on as simplejwt's
// RefreshToken.access_token copies them: into the new access token, in
// their order, and into the rotated refresh token; a claim gatehouse
// computes (the groups claim) carries its current value instead of the
// refresh token's.
func TestRefreshCopiesProjectClaims(t *testing.T) {
	held := gatehouse.UserPermissions{Groups: []string{"editors"}}
	lister := listerFunc(func(context.Context, gatehouse.User) (gatehouse.UserPermissions, error) { return held, nil })
	opt := simplejwt.Options{RotateRefreshTokens: true, BlacklistAfterRotation: true, GroupsClaim: "groups"}
	e := newEnv(t, opt)
	e.svc = simplejwt.New(simplejwt.Deps{Store: e.store, Codec: e.codec, Users: e.users, Options: opt, Now: e.clk.now, Permissions: lister})
	refresh, _, err := e.codec.Mint(jwt.Refresh, alice.ID, e.clk.now(),
		jwt.Claim{Name: "tenant", Value: map[string]any{"id": 3}}, jwt.Claim{Name: "groups", Value: []string{"stale"}},
		jwt.Claim{Name: "name", Value: "Zoë"})
	if err != nil {
		t.Fatal(err)
	}
	access, rotated, err := e.svc.Refresh(context.Background(), refresh)
	if err != nil {
		t.Fatal(err)
	}
	want := `"user_id":42,"tenant":{"id":3},"groups":["editors"],"name":"Zo\u00eb"}`
	if p := payload(t, access); !strings.HasSuffix(p, want) {
		t.Fatalf("access %s, want the end %s", p, want)
	}
	// The rotated token names the record it is kept in (the first
	// token's), then the copied claims.
	rc := e.parse(t, refresh)
	if p := payload(t, rotated); !strings.HasSuffix(p, `"user_id":42,"gatehouse_record":"`+rc.JTI+`","tenant":{"id":3},"groups":["stale"],"name":"Zo\u00eb"}`) {
		t.Fatalf("rotated refresh %s", p)
	}
	// The rotated token hands them on again.
	access, _, err = e.svc.Refresh(context.Background(), rotated)
	if err != nil || !strings.HasSuffix(payload(t, access), want) {
		t.Fatalf("second refresh: %v %s", err, payload(t, access))
	}
}
