package oauth_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// listerFunc is a PermissionLister that calls itself.
type listerFunc func(ctx context.Context, u gatehouse.User) (gatehouse.UserPermissions, error)

func (f listerFunc) Permissions(ctx context.Context, u gatehouse.User) (gatehouse.UserPermissions, error) {
	return f(ctx, u)
}

// Introspection carries the user's groups and permissions only when
// IntrospectPermissions is set, and only then asks for them: off (the
// default, as DOT), an introspection costs what it did.
func TestIntrospectPermissions(t *testing.T) {
	held := gatehouse.UserPermissions{Groups: []string{"editors"}, Permissions: []string{"auth.add_user"}}
	tokens := map[string]gatehouse.AccessTokenInfo{
		"user-token":    {Token: gatehouse.AccessToken{ID: 1, ApplicationID: 1, Scope: "read", Created: t0, Expires: t0.Add(time.Hour)}, User: &alice, ClientID: "conf"},
		"machine-token": {Token: gatehouse.AccessToken{ID: 2, ApplicationID: 1, Scope: "read", Created: t0, Expires: t0.Add(time.Hour)}, ClientID: "conf"},
	}
	for _, tc := range []struct {
		name   string
		on     bool
		token  string
		err    error
		want   *gatehouse.UserPermissions
		listed int
	}{
		{"off", false, "user-token", nil, nil, 0},
		{"on", true, "user-token", nil, &held, 1},
		{"on, a token without a user", true, "machine-token", nil, nil, 0},
		{"on, the lister fails", true, "user-token", errors.New("down"), nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(confidential())
			st.accessTokenByHash = func(hash []byte) (gatehouse.AccessTokenInfo, error) {
				for raw, info := range tokens {
					if string(secret.TokenKey(raw)) == string(hash) {
						return info, nil
					}
				}
				return gatehouse.AccessTokenInfo{}, gatehouse.ErrNotFound
			}
			listed := 0
			p, err := oauth.New(oauth.Deps{Store: st, Secrets: hasher, Config: oauth.Config{IntrospectPermissions: tc.on},
				Now: func() time.Time { return t0 },
				Permissions: listerFunc(func(_ context.Context, u gatehouse.User) (gatehouse.UserPermissions, error) {
					listed++
					if u.ID != alice.ID {
						t.Errorf("listed user %d", u.ID)
					}
					return held, tc.err
				})})
			if err != nil {
				t.Fatal(err)
			}
			res, err := p.Introspect(context.Background(), oauth.IntrospectRequest{Token: tc.token,
				Client: oauth.ClientCredentials{ClientID: "conf", ClientSecret: confSecret, SecretSent: true}})
			if listed != tc.listed {
				t.Fatalf("the lister was called %d times, want %d", listed, tc.listed)
			}
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("error %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || !res.Active || !reflect.DeepEqual(res.Permissions, tc.want) {
				t.Fatalf("Introspect = %+v, %v; want permissions %+v", res, err, tc.want)
			}
		})
	}
}

// lookupFunc is an AccessTokenLookup that calls itself.
type lookupFunc func(ctx context.Context, hash []byte) (gatehouse.AccessTokenInfo, error)

func (f lookupFunc) AccessToken(ctx context.Context, hash []byte) (gatehouse.AccessTokenInfo, error) {
	return f(ctx, hash)
}

// With a Lookup (the authentication cache), introspection reads access
// tokens from it and not from the store; what it answers (a token gone
// from it is inactive) is what the introspection says.
func TestIntrospectThroughLookup(t *testing.T) {
	st := newStore(confidential())
	st.accessTokenByHash = func([]byte) (gatehouse.AccessTokenInfo, error) {
		t.Error("introspection read the store")
		return gatehouse.AccessTokenInfo{}, gatehouse.ErrNotFound
	}
	live := gatehouse.AccessTokenInfo{Token: gatehouse.AccessToken{ID: 1, ApplicationID: 1, Scope: "read", Created: t0, Expires: t0.Add(time.Hour)}, User: &alice, ClientID: "conf"}
	known := map[string]bool{string(secret.TokenKey("live-token")): true}
	lookups := 0
	p, err := oauth.New(oauth.Deps{Store: st, Secrets: hasher, Now: func() time.Time { return t0 },
		Lookup: lookupFunc(func(_ context.Context, hash []byte) (gatehouse.AccessTokenInfo, error) {
			lookups++
			if known[string(hash)] {
				return live, nil
			}
			return gatehouse.AccessTokenInfo{}, gatehouse.ErrNotFound
		})})
	if err != nil {
		t.Fatal(err)
	}
	introspect := func(token string) *oauth.Introspection {
		t.Helper()
		res, err := p.Introspect(context.Background(), oauth.IntrospectRequest{Token: token,
			Client: oauth.ClientCredentials{ClientID: "conf", ClientSecret: confSecret, SecretSent: true}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := introspect("live-token"); !res.Active || res.Scope != "read" || res.Username != alice.Username {
		t.Fatalf("live token: %+v", res)
	}
	known = map[string]bool{} // revoked: gone from the lookup
	if res := introspect("live-token"); res.Active {
		t.Fatalf("a token the lookup no longer has: %+v", res)
	}
	if lookups != 2 {
		t.Fatalf("%d lookups, want 2", lookups)
	}
}
