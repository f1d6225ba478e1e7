package oauth_test

import (
	"context"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
)

// A native app's private-use scheme (RFC 8252 7.1) is redirected to only
// when ALLOWED_REDIRECT_URI_SCHEMES lists it, as DOT refuses the redirect
// otherwise; the refusal is shown to the user, never redirected.
func TestRedirectSchemes(t *testing.T) {
	native := gatehouse.Application{ID: 4, ClientID: "native", ClientType: gatehouse.ClientPublic,
		GrantTypes: []string{gatehouse.GrantAuthorizationCode}, RedirectURIs: []string{"com.example.app:/cb"}}
	params := url.Values{"client_id": {"native"}, "response_type": {"code"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	for _, tc := range []struct {
		schemes []string
		ok      bool
	}{{nil, false}, {[]string{"https", "com.example.app"}, true}, {[]string{"https"}, false}} {
		p, err := oauth.New(oauth.Deps{Store: newStore(native), Secrets: hasher, Config: oauth.Config{RedirectSchemes: tc.schemes}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.ParseAuthorize(context.Background(), params)
		if tc.ok && (err != nil || got.RedirectURI != "com.example.app:/cb") {
			t.Errorf("%v: %+v, %v", tc.schemes, got, err)
		}
		if !tc.ok && (got != nil || !reflect.DeepEqual(err, oauth.ErrInvalidRequest("Redirect URI scheme is not allowed."))) {
			t.Errorf("%v: %+v, %v; want the refusal shown to the user", tc.schemes, got, err)
		}
	}
	// Registration takes the listed schemes only; http(s) needs a host.
	c := oauth.NewClients(newStore(), hasher, oauth.Config{RedirectSchemes: []string{"https", "com.example.app"}}, nil, nil, nil)
	spec := oauth.ApplicationSpec{ClientType: gatehouse.ClientPublic, GrantTypes: []string{gatehouse.GrantAuthorizationCode}}
	for uri, ok := range map[string]bool{"com.example.app:/cb": true, "https://client.example/cb": true,
		"http://client.example/cb": false, "https:/cb": false, "com.example.app:/cb#x": false} {
		spec.RedirectURIs = []string{uri}
		_, _, err := c.Create(context.Background(), spec)
		if ok != (err == nil) || (err != nil && !strings.Contains(err.Error(), "one of https, com.example.app")) {
			t.Errorf("%s: %v", uri, err)
		}
	}
}

// DEFAULT_SCOPES are granted when a request names none and the
// application has no default scopes of its own; nil grants every scope.
func TestDefaultScopes(t *testing.T) {
	params := url.Values{"client_id": {"conf"}, "response_type": {"code"}, "redirect_uri": {"https://client.example/cb"}}
	for _, tc := range []struct{ defaults, want []string }{
		{nil, []string{"read", "write", "groups"}},
		{[]string{"read"}, []string{"read"}},
	} {
		e := newEnv(t, oauth.Config{DefaultScopes: tc.defaults})
		got, err := e.p.ParseAuthorize(context.Background(), params)
		if err != nil || !slices.Equal(got.Scope, tc.want) {
			t.Errorf("DefaultScopes %v: %v, %v", tc.defaults, got, err)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	for _, tc := range []struct {
		cfg  oauth.Config
		want string
	}{
		{oauth.Config{DefaultScopes: []string{"admin"}}, `default scope "admin" is not among the scopes (read write groups)`},
		{oauth.Config{RedirectSchemes: []string{"HTTPS"}}, `redirect URI scheme "HTTPS"`},
		{oauth.Config{RedirectSchemes: []string{"1app"}}, `redirect URI scheme "1app"`},
		{oauth.Config{RedirectSchemes: []string{"https", "javascript"}}, "would run script"},
	} {
		if _, err := oauth.New(oauth.Deps{Config: tc.cfg}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
