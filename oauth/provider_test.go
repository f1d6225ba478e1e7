package oauth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
)

func TestAuthenticateClient(t *testing.T) {
	errDB := errors.New("database is down")
	tests := []struct {
		name   string
		creds  oauth.ClientCredentials
		appErr error
		want   string // client_id authenticated; "" when refused
		err    error  // exact error when refused
	}{
		{name: "basic, confidential",
			creds: oauth.ClientCredentials{BasicPresent: true, BasicOK: true, BasicID: "conf", BasicSecret: confSecret},
			want:  "conf"},
		// DOT tries the body after a failed Basic header.
		{name: "basic wrong secret, right secret in the form",
			creds: oauth.ClientCredentials{BasicPresent: true, BasicOK: true, BasicID: "conf", BasicSecret: "wrong",
				ClientID: "conf", ClientSecret: confSecret, SecretSent: true},
			want: "conf"},
		{name: "basic wrong secret, nothing in the form",
			creds: oauth.ClientCredentials{BasicPresent: true, BasicOK: true, BasicID: "conf", BasicSecret: "wrong"},
			err:   oauth.ErrInvalidClient},
		{name: "basic, public client with an empty secret",
			creds: oauth.ClientCredentials{BasicPresent: true, BasicOK: true, BasicID: "pub"},
			want:  "pub"},
		// A malformed Basic header demands authentication, which a public
		// client's bare client_id is not.
		{name: "malformed basic, public client_id in the form",
			creds: oauth.ClientCredentials{BasicPresent: true, ClientID: "pub"},
			err:   oauth.ErrInvalidClient},
		{name: "form, confidential", creds: oauth.ClientCredentials{ClientID: "conf", ClientSecret: confSecret, SecretSent: true},
			want: "conf"},
		{name: "form, confidential wrong secret",
			creds: oauth.ClientCredentials{ClientID: "conf", ClientSecret: "wrong", SecretSent: true},
			err:   oauth.ErrInvalidClient},
		{name: "form, confidential without secret", creds: oauth.ClientCredentials{ClientID: "conf"},
			err: oauth.ErrInvalidClient},
		{name: "form, confidential with an empty secret", creds: oauth.ClientCredentials{ClientID: "conf", SecretSent: true},
			err: oauth.ErrInvalidClient},
		{name: "public client with client_id only", creds: oauth.ClientCredentials{ClientID: "pub"}, want: "pub"},
		{name: "public client with an empty secret", creds: oauth.ClientCredentials{ClientID: "pub", SecretSent: true},
			want: "pub"},
		// A public client has no secret; one that sends a secret is
		// confused or an impostor.
		{name: "public client sending a secret",
			creds: oauth.ClientCredentials{ClientID: "pub", ClientSecret: "anything", SecretSent: true},
			err:   oauth.ErrInvalidClient},
		{name: "unknown client_id", creds: oauth.ClientCredentials{ClientID: "nobody"}, err: oauth.ErrInvalidClient},
		{name: "unknown client_id with a secret",
			creds: oauth.ClientCredentials{ClientID: "nobody", ClientSecret: "x", SecretSent: true}, err: oauth.ErrInvalidClient},
		// A confidential client stored without a secret (imported that
		// way) must not pass with an empty one, by either route.
		{name: "basic, confidential without stored secret",
			creds: oauth.ClientCredentials{BasicPresent: true, BasicOK: true, BasicID: "bare"},
			err:   oauth.ErrInvalidClient},
		{name: "form, confidential without stored secret",
			creds: oauth.ClientCredentials{ClientID: "bare", SecretSent: true},
			err:   oauth.ErrInvalidClient},
		{name: "nothing", err: oauth.ErrInvalidClient},
		{name: "store error", creds: oauth.ClientCredentials{ClientID: "conf"}, appErr: errDB, err: errDB},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, oauth.Config{})
			e.store.appErr = tc.appErr
			e.store.apps["bare"] = gatehouse.Application{ID: 4, ClientID: "bare", ClientType: gatehouse.ClientConfidential,
				GrantTypes: []string{gatehouse.GrantPassword}}
			app, err := e.p.AuthenticateClient(context.Background(), tc.creds)
			if tc.want == "" {
				// The exact value: the HTTP layer answers 401 for
				// invalid_client and 500 for anything else.
				if app != nil || err != tc.err {
					t.Fatalf("got %+v, %v; want %v", app, err, tc.err)
				}
				return
			}
			if err != nil || app == nil || app.ClientID != tc.want {
				t.Fatalf("got %+v, %v; want client %q", app, err, tc.want)
			}
		})
	}
}
