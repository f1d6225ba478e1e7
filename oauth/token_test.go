package oauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/secret"
)

var (
	confForm    = oauth.ClientCredentials{ClientID: "conf", ClientSecret: confSecret, SecretSent: true}
	machineForm = oauth.ClientCredentials{ClientID: "machine", ClientSecret: machineSecret, SecretSent: true}
	pubForm     = oauth.ClientCredentials{ClientID: "pub"}
)

// tokenValue is the shape of DOT's access and refresh tokens.
var tokenValue = regexp.MustCompile(`^[A-Za-z0-9]{30}$`)

func ptr[T any](v T) *T { return &v }

func TestTokenRefusals(t *testing.T) {
	// passwordParams is a valid password grant with some parameters
	// replaced; dup repeats one.
	passwordParams := func(set ...string) url.Values {
		v := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"correct horse"}}
		for i := 0; i < len(set); i += 2 {
			v.Set(set[i], set[i+1])
		}
		return v
	}
	dup := func(name string, values ...string) url.Values {
		v := passwordParams()
		v[name] = append(v[name], values...)
		return v
	}
	tests := []struct {
		name   string
		params url.Values
		client oauth.ClientCredentials
		want   error
		// clientChecked says whether the client was looked up: the grant
		// type and duplicates are checked before, as oauthlib does.
		clientChecked bool
		// passwordChecked says whether the password was tried.
		passwordChecked bool
	}{
		{name: "missing grant_type", params: url.Values{}, client: confForm, want: oauth.ErrUnsupportedGrantType},
		{name: "unsupported grant_type", params: url.Values{"grant_type": {"implicit"}}, client: confForm,
			want: oauth.ErrUnsupportedGrantType},
		{name: "duplicate username", params: dup("username", "bob"), client: confForm,
			want: oauth.ErrInvalidRequest("Duplicate username parameter.")},
		{name: "duplicate scope", params: dup("scope", "read", "write"), client: confForm,
			want: oauth.ErrInvalidRequest("Duplicate scope parameter.")},
		{name: "duplicate grant_type", params: dup("grant_type", "password"), client: confForm,
			want: oauth.ErrInvalidRequest("Duplicate grant_type parameter.")},
		{name: "bad client", params: passwordParams(), client: oauth.ClientCredentials{ClientID: "conf"},
			want: oauth.ErrInvalidClient, clientChecked: true},
		{name: "missing password", params: url.Values{"grant_type": {"password"}, "username": {"alice"}}, client: confForm,
			want: oauth.ErrInvalidRequest("Request is missing password parameter."), clientChecked: true},
		{name: "password grant not allowed", params: passwordParams(), client: machineForm,
			want: oauth.ErrUnauthorizedClient, clientChecked: true},
		// DOT never gives a public client client_credentials, even when
		// its grant types say so: the grant requires a client secret
		// (invalid_client, 401, as the Django reference answers).
		{name: "client_credentials for a public client", params: url.Values{"grant_type": {"client_credentials"}},
			client: pubForm, want: oauth.ErrInvalidClient, clientChecked: true},
		{name: "a blank scope", params: passwordParams("scope", " "), client: confForm,
			want: oauth.ErrInvalidScope, clientChecked: true, passwordChecked: true},
		{name: "two spaces between scopes", params: passwordParams("scope", "read  write"), client: confForm,
			want: oauth.ErrInvalidScope, clientChecked: true, passwordChecked: true},
		{name: "a tab between scopes", params: passwordParams("scope", "read\twrite"), client: confForm,
			want: oauth.ErrInvalidScope, clientChecked: true, passwordChecked: true},
		{name: "bad credentials", params: passwordParams("password", "wrong"), client: confForm,
			want:          &oauth.Error{Code: "invalid_grant", Description: "Invalid credentials given.", Status: 400},
			clientChecked: true, passwordChecked: true},
		{name: "unknown scope", params: passwordParams("scope", "read admin"), client: confForm,
			want: oauth.ErrInvalidScope, clientChecked: true, passwordChecked: true},
		{name: "refresh_token missing", params: url.Values{"grant_type": {"refresh_token"}}, client: confForm,
			want: oauth.ErrInvalidRequest("Missing refresh token parameter."), clientChecked: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, oauth.Config{})
			resp, err := e.p.Token(context.Background(), oauth.TokenRequest{Params: tc.params, Client: tc.client})
			if resp != nil || !reflect.DeepEqual(err, tc.want) {
				t.Fatalf("got %+v, %#v; want %#v", resp, err, tc.want)
			}
			if got := e.store.lookups > 0; got != tc.clientChecked {
				t.Fatalf("client looked up: %v, want %v", got, tc.clientChecked)
			}
			if got := len(e.pw.calls) > 0; got != tc.passwordChecked {
				t.Fatalf("password checked: %v (%v), want %v", got, e.pw.calls, tc.passwordChecked)
			}
			if len(e.store.tokens) != 0 {
				t.Fatalf("tokens stored on refusal: %+v", e.store.tokens)
			}
		})
	}
}

func TestPasswordGrant(t *testing.T) {
	tests := []struct {
		name      string
		cfg       oauth.Config
		scope     []string // the scope parameter, absent when nil
		defaults  []string // the application's default scopes
		wantScope string
		// wantRefreshExp and wantFamilyExp are the deadlines stored.
		wantRefreshExp, wantFamilyExp *time.Time
	}{
		{name: "default scope", wantScope: "read write groups"},
		{name: "scope parameter padded", scope: []string{" read "}, wantScope: "read"},
		{name: "application defaults", defaults: []string{"read"}, wantScope: "read"},
		// Requested scopes keep the client's order, without duplicates.
		{name: "requested scope", scope: []string{"groups read groups"}, wantScope: "groups read"},
		{name: "refresh and family lifetimes",
			cfg:       oauth.Config{AccessTokenLifetime: time.Hour, RefreshTokenLifetime: 24 * time.Hour, RefreshFamilyLifetime: 30 * 24 * time.Hour},
			wantScope: "read write groups", wantRefreshExp: ptr(t0.Add(24 * time.Hour)), wantFamilyExp: ptr(t0.Add(30 * 24 * time.Hour))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.cfg)
			app := confidential()
			app.DefaultScopes = tc.defaults
			e.store.apps["conf"] = app
			params := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"correct horse"}}
			if tc.scope != nil {
				params["scope"] = tc.scope
			}
			resp, err := e.p.Token(context.Background(), oauth.TokenRequest{Params: params, Client: confForm})
			if err != nil {
				t.Fatal(err)
			}
			lifetime := e.p.Config().AccessTokenLifetime
			if !tokenValue.MatchString(resp.AccessToken) || !tokenValue.MatchString(resp.RefreshToken) ||
				resp.AccessToken == resp.RefreshToken {
				t.Fatalf("token values %q, %q", resp.AccessToken, resp.RefreshToken)
			}
			wantResp := oauth.TokenResponse{AccessToken: resp.AccessToken, RefreshToken: resp.RefreshToken,
				Scope: tc.wantScope, ExpiresIn: lifetime, UserID: 42, Family: e.store.tokens[0].at.Family}
			if *resp != wantResp {
				t.Fatalf("response = %+v, want %+v", *resp, wantResp)
			}
			if len(e.store.tokens) != 1 {
				t.Fatalf("CreateTokens called %d times, want 1", len(e.store.tokens))
			}
			c := e.store.tokens[0]
			if c.at == nil || c.rt == nil {
				t.Fatalf("stored %+v", c)
			}
			// Only hashes are stored, and both tokens share one family.
			wantAT := gatehouse.AccessToken{Hash: secret.TokenKey(resp.AccessToken), UserID: ptr(int64(42)), ApplicationID: 1,
				Scope: tc.wantScope, Family: c.at.Family, Created: t0, Expires: t0.Add(lifetime)}
			wantRT := gatehouse.RefreshToken{Hash: selectors.Key(resp.RefreshToken), Secret: secret.Hash(resp.RefreshToken), UserID: ptr(int64(42)), ApplicationID: 1,
				Scope: tc.wantScope, Family: c.at.Family, Created: t0, Expires: tc.wantRefreshExp, AuthTime: &t0}
			if !reflect.DeepEqual(*c.at, wantAT) || !reflect.DeepEqual(*c.rt, wantRT) || !reflect.DeepEqual(c.familyExpires, tc.wantFamilyExp) {
				t.Fatalf("stored\n%+v\n%+v\n%v\nwant\n%+v\n%+v\n%v", *c.at, *c.rt, c.familyExpires, wantAT, wantRT, tc.wantFamilyExp)
			}
			if !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(c.at.Family) {
				t.Fatalf("family %q, want 24 hex digits", c.at.Family)
			}
			// Both tokens begin with the issue time (secret.OrderedAlnum),
			// so that their keys are stored at the end of the index.
			same, _ := secret.OrderedAlnum(nil, 30, t0)
			if p := same[:secret.KeyPrefix]; resp.AccessToken[:secret.KeyPrefix] != p || resp.RefreshToken[:secret.KeyPrefix] != p ||
				resp.AccessToken[secret.KeyPrefix:] == resp.RefreshToken[secret.KeyPrefix:] {
				t.Fatalf("tokens %q and %q, want both to begin with %q, then differ", resp.AccessToken, resp.RefreshToken, p)
			}
			if want := []string{"alice:correct horse"}; !reflect.DeepEqual(e.pw.calls, want) {
				t.Fatalf("CheckPassword calls %v, want %v", e.pw.calls, want)
			}
		})
	}
}

// TestPasswordGrantDefaultLifetime pins DOT's default: ten hours.
func TestPasswordGrantDefaultLifetime(t *testing.T) {
	e := newEnv(t, oauth.Config{})
	params := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"correct horse"}}
	resp, err := e.p.Token(context.Background(), oauth.TokenRequest{Params: params, Client: confForm})
	if err != nil {
		t.Fatal(err)
	}
	if resp.ExpiresIn != 36000*time.Second || !e.store.tokens[0].at.Expires.Equal(t0.Add(36000*time.Second)) {
		t.Fatalf("ExpiresIn %v, stored expiry %v", resp.ExpiresIn, e.store.tokens[0].at.Expires)
	}
}

func TestClientCredentialsGrant(t *testing.T) {
	e := newEnv(t, oauth.Config{RefreshTokenLifetime: time.Hour, RefreshFamilyLifetime: time.Hour})
	resp, err := e.p.Token(context.Background(), oauth.TokenRequest{
		Params: url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}, Client: machineForm})
	if err != nil {
		t.Fatal(err)
	}
	// No refresh token and no user: the client acts for itself.
	want := oauth.TokenResponse{AccessToken: resp.AccessToken, Scope: "read", ExpiresIn: 36000 * time.Second, Family: e.store.tokens[0].at.Family}
	if *resp != want || !tokenValue.MatchString(resp.AccessToken) {
		t.Fatalf("response = %+v, want %+v", *resp, want)
	}
	if len(e.store.tokens) != 1 {
		t.Fatalf("CreateTokens called %d times", len(e.store.tokens))
	}
	c := e.store.tokens[0]
	wantAT := gatehouse.AccessToken{Hash: secret.TokenKey(resp.AccessToken), ApplicationID: 3, Scope: "read",
		Family: c.at.Family, Created: t0, Expires: t0.Add(36000 * time.Second)}
	if !reflect.DeepEqual(*c.at, wantAT) || c.rt != nil || c.familyExpires != nil {
		t.Fatalf("stored %+v, %+v, %v; want %+v, nil, nil", *c.at, c.rt, c.familyExpires, wantAT)
	}
}

func TestRefreshGrant(t *testing.T) {
	const oldValue = "OldRefreshTokenValue0123456789"
	uid := int64(42)
	moved := alice
	moved.AuthEpoch = t0.Add(-time.Minute)
	old := gatehouse.RefreshToken{ID: 5, Hash: selectors.Key(oldValue), UserID: &uid, ApplicationID: 1, Scope: "read write", Family: "fam1", Created: t0.Add(-time.Hour)}
	revokedHash := secret.Hash("the old access token")
	var issued *created // the pair issue built, in the current case

	// rotate plays the store's part: hand issue the old token, store its
	// pair, and report the old access token revoked.
	rotateIn := func(u *gatehouse.User, inPlace bool) func([]byte, int64, time.Time, time.Duration,
		func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error)) (gatehouse.RevokedAccess, error) {
		return func(_ []byte, _ int64, _ time.Time, _ time.Duration,
			issue func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error)) (gatehouse.RevokedAccess, error) {
			at, rt, err := issue(gatehouse.RefreshRotation{Old: old, User: u, InPlace: inPlace})
			if err != nil {
				return nil, err
			}
			issued = &created{at: at, rt: rt}
			return gatehouse.RevokedAccess{revokedHash}, nil
		}
	}
	rotate := func(u *gatehouse.User) func([]byte, int64, time.Time, time.Duration,
		func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error)) (gatehouse.RevokedAccess, error) {
		return rotateIn(u, false)
	}
	reusedErr := fmt.Errorf("family fam1: %w", gatehouse.ErrTokenReused)
	tests := []struct {
		name   string
		scope  string
		rotate func([]byte, int64, time.Time, time.Duration,
			func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error)) (gatehouse.RevokedAccess, error)
		wantScope  string
		wantCode   string
		wantReused bool
		wantForget bool
		inPlace    bool // the new token keeps the old one's selector
	}{
		{name: "rotated", rotate: rotate(&alice), wantScope: "read write", wantForget: true},
		{name: "rotated in place", rotate: rotateIn(&alice, true), wantScope: "read write", wantForget: true, inPlace: true},
		{name: "narrower scope in place", scope: "write", rotate: rotateIn(&alice, true), wantScope: "write", wantForget: true, inPlace: true},
		{name: "narrower scope", scope: "write", rotate: rotate(&alice), wantScope: "write", wantForget: true},
		{name: "wider scope", scope: "read groups", rotate: rotate(&alice), wantCode: "invalid_scope"},
		{name: "user gone", rotate: rotate(nil), wantCode: "invalid_grant"},
		{name: "issued before the epoch", rotate: rotate(&moved), wantCode: "invalid_grant"},
		{name: "unknown token",
			rotate: func([]byte, int64, time.Time, time.Duration,
				func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error)) (gatehouse.RevokedAccess, error) {
				return nil, gatehouse.ErrInvalidGrant
			},
			wantCode: "invalid_grant"},
		// A replay: the store revoked the family (and says which access
		// tokens went, which must leave the caches too).
		{name: "reused",
			rotate: func([]byte, int64, time.Time, time.Duration,
				func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error)) (gatehouse.RevokedAccess, error) {
				return gatehouse.RevokedAccess{revokedHash}, reusedErr
			},
			wantCode: "invalid_grant", wantReused: true, wantForget: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, oauth.Config{RefreshGracePeriod: 2 * time.Second})
			issued = nil
			var gotHash []byte
			var gotApp int64
			var gotNow time.Time
			var gotGrace time.Duration
			e.store.rotateRefreshToken = func(h []byte, appID int64, now time.Time, grace time.Duration,
				issue func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error)) (gatehouse.RevokedAccess, error) {
				gotHash, gotApp, gotNow, gotGrace = h, appID, now, grace
				return tc.rotate(h, appID, now, grace, issue)
			}
			params := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {oldValue}}
			if tc.scope != "" {
				params.Set("scope", tc.scope)
			}
			resp, err := e.p.Token(context.Background(), oauth.TokenRequest{Params: params, Client: confForm})

			if !reflect.DeepEqual(gotHash, selectors.RefreshKey(oldValue)) || gotApp != 1 || !gotNow.Equal(t0) || gotGrace != 2*time.Second {
				t.Fatalf("RotateRefreshToken(%x, %d, %v, %v)", gotHash, gotApp, gotNow, gotGrace)
			}
			var wantForgotten [][]byte
			if tc.wantForget {
				wantForgotten = [][]byte{revokedHash}
			}
			if !reflect.DeepEqual(e.forgotten, wantForgotten) {
				t.Fatalf("forgotten %x, want %x", e.forgotten, wantForgotten)
			}
			if tc.wantCode != "" {
				var oe *oauth.Error
				if resp != nil || !errors.As(err, &oe) || oe.Code != tc.wantCode || oe.Status != 400 || oe.Description != "" {
					t.Fatalf("got %+v, %#v; want %s", resp, err, tc.wantCode)
				}
				// The HTTP layer logs a replay; the client sees a plain
				// invalid_grant either way.
				if got := errors.Is(err, gatehouse.ErrTokenReused); got != tc.wantReused {
					t.Fatalf("errors.Is(err, ErrTokenReused) = %v, want %v", got, tc.wantReused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := oauth.TokenResponse{AccessToken: resp.AccessToken, RefreshToken: resp.RefreshToken, Scope: tc.wantScope,
				ExpiresIn: 36000 * time.Second, UserID: 42, Family: "fam1"}
			if *resp != want || !tokenValue.MatchString(resp.AccessToken) || !tokenValue.MatchString(resp.RefreshToken) {
				t.Fatalf("response = %+v, want %+v", *resp, want)
			}
			// The new pair keeps the old token's user; the store moves
			// it into the old family, so Family is not compared.
			wantAT := gatehouse.AccessToken{Hash: secret.TokenKey(resp.AccessToken), UserID: &uid, ApplicationID: 1,
				Scope: tc.wantScope, Family: issued.at.Family, Created: t0, Expires: t0.Add(36000 * time.Second)}
			wantRT := gatehouse.RefreshToken{Hash: selectors.Key(resp.RefreshToken), Secret: secret.Hash(resp.RefreshToken), UserID: &uid, ApplicationID: 1,
				Scope: tc.wantScope, Family: issued.at.Family, Created: t0}
			if !reflect.DeepEqual(*issued.at, wantAT) || !reflect.DeepEqual(*issued.rt, wantRT) {
				t.Fatalf("issued\n%+v\n%+v\nwant\n%+v\n%+v", *issued.at, *issued.rt, wantAT, wantRT)
			}
			// Without a scope asked for, the pair was made ahead, and
			// issue returned exactly it: a store may have written it
			// before calling issue. A narrower scope is the token's
			// to check: none is made ahead.
			if a := e.store.ahead; (a != nil) != (tc.scope == "") || (a != nil && tc.inPlace && !a.Matches(&old, issued.at, issued.rt)) {
				t.Fatalf("made ahead %+v, issued %+v %+v (scope asked: %q)", a, *issued.at, *issued.rt, tc.scope)
			}
			// In place, the new token is the old one's selector and a
			// new verifier; otherwise a new token altogether.
			sel := secret.SelectorLen
			if same := resp.RefreshToken[:sel] == oldValue[:sel]; same != tc.inPlace || resp.RefreshToken[sel:] == oldValue[sel:] {
				t.Fatalf("new refresh token %q from %q (in place: %v)", resp.RefreshToken, oldValue, tc.inPlace)
			}
		})
	}
}

// TestRefreshGrantOversizedToken: no stored token is longer than 255
// characters, so such a value is refused without a transaction.
func TestRefreshGrantOversizedToken(t *testing.T) {
	e := newEnv(t, oauth.Config{})
	long := make([]byte, 256)
	for i := range long {
		long[i] = 'a'
	}
	resp, err := e.p.Token(context.Background(), oauth.TokenRequest{
		Params: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {string(long)}}, Client: confForm})
	if resp != nil || err != oauth.ErrInvalidGrant {
		t.Fatalf("got %+v, %v; want ErrInvalidGrant", resp, err)
	}
}

// The admin scope goes only to the clients Config.AdminClients names, and
// only when asked for: another client asking gets invalid_scope, and no
// default (the application's, DEFAULT_SCOPES, every configured scope)
// includes it, even when an operator configured a scope of that name.
func TestAdminScope(t *testing.T) {
	scopes := append(gatehouse.DefaultScopes(), gatehouse.Scope{Name: "admin", Description: "Administer"})
	for _, tc := range []struct {
		name      string
		cfg       oauth.Config
		client    oauth.ClientCredentials
		params    url.Values
		defaults  []string // the application's default scopes
		wantScope string   // "" when refused with invalid_scope
	}{
		{name: "admin client asks", cfg: oauth.Config{AdminClients: []string{"machine"}}, client: machineForm,
			params: url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}}, wantScope: "admin"},
		{name: "admin client asks for admin and read", cfg: oauth.Config{AdminClients: []string{"machine"}}, client: machineForm,
			params: url.Values{"grant_type": {"client_credentials"}, "scope": {"read admin"}}, wantScope: "read admin"},
		{name: "other client asks", cfg: oauth.Config{AdminClients: []string{"conf"}}, client: machineForm,
			params: url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}}},
		{name: "no admin clients, admin configured as a scope", cfg: oauth.Config{Scopes: scopes}, client: machineForm,
			params: url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}}},
		{name: "password grant of another client", cfg: oauth.Config{AdminClients: []string{"machine"}}, client: confForm,
			params: url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"correct horse"}, "scope": {"read admin"}}},
		{name: "password grant of an admin client", cfg: oauth.Config{AdminClients: []string{"conf"}}, client: confForm,
			params: url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"correct horse"}, "scope": {"admin"}}, wantScope: "admin"},
		{name: "every configured scope by default", cfg: oauth.Config{Scopes: scopes, AdminClients: []string{"machine"}}, client: machineForm,
			params: url.Values{"grant_type": {"client_credentials"}}, wantScope: "read write groups"},
		{name: "application defaults", cfg: oauth.Config{Scopes: scopes, AdminClients: []string{"machine"}}, client: machineForm,
			params: url.Values{"grant_type": {"client_credentials"}}, defaults: []string{"read", "admin"}, wantScope: "read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.cfg)
			if tc.defaults != nil {
				app := e.store.apps[tc.client.ClientID]
				app.DefaultScopes = tc.defaults
				e.store.apps[tc.client.ClientID] = app
			}
			resp, err := e.p.Token(context.Background(), oauth.TokenRequest{Params: tc.params, Client: tc.client})
			if tc.wantScope == "" {
				if resp != nil || !reflect.DeepEqual(err, oauth.ErrInvalidScope) || len(e.store.tokens) != 0 {
					t.Fatalf("got %+v, %v, %d tokens stored; want invalid_scope and none", resp, err, len(e.store.tokens))
				}
				return
			}
			if err != nil || resp.Scope != tc.wantScope {
				t.Fatalf("got %+v, %v; want scope %q", resp, err, tc.wantScope)
			}
		})
	}
	if err := (oauth.Config{DefaultScopes: []string{"admin"}, Scopes: scopes}).Check(); err == nil {
		t.Fatal("a DEFAULT_SCOPES with admin was accepted")
	}
}
