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
					if string(secret.Hash(raw)) == string(hash) {
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
