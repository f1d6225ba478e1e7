package oauth_test

import (
	"context"
	"net/url"
	"reflect"
	"testing"

	"github.com/gatehouse-auth/gatehouse/oauth"
)

// challenge is a valid S256 code challenge (RFC 7636 appendix B).
const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

func TestParseAuthorize(t *testing.T) {
	// query is a valid request of the confidential client with some
	// parameters replaced ("" deletes one).
	query := func(set ...string) url.Values {
		v := url.Values{"client_id": {"conf"}, "response_type": {"code"}, "redirect_uri": {"https://client.example/cb"},
			"state": {"xyz"}}
		for i := 0; i < len(set); i += 2 {
			if set[i+1] == "" {
				v.Del(set[i])
			} else {
				v.Set(set[i], set[i+1])
			}
		}
		return v
	}
	// req is the parsed request of query() with fields changed.
	req := func(mod func(*oauth.AuthorizeRequest)) *oauth.AuthorizeRequest {
		app := confidential()
		a := &oauth.AuthorizeRequest{App: &app, ResponseType: "code", RedirectURI: "https://client.example/cb", RedirectSent: true,
			State: "xyz", Scope: []string{"read", "write", "groups"}}
		if mod != nil {
			mod(a)
		}
		return a
	}
	pubApp := public()
	tests := []struct {
		name   string
		params url.Values
		// want is the request returned: nil when the error must be shown
		// to the user, not redirected to an untrusted URI.
		want *oauth.AuthorizeRequest
		err  error
	}{
		{name: "valid", params: query(), want: req(nil)},
		{name: "requested scope", params: query("scope", "write read"),
			want: req(func(a *oauth.AuthorizeRequest) { a.Scope = []string{"write", "read"} })},
		{name: "valid with S256", params: query("code_challenge", challenge, "code_challenge_method", "S256"),
			want: req(func(a *oauth.AuthorizeRequest) { a.Challenge, a.ChallengeMethod = challenge, "S256" })},
		{name: "public client with S256",
			params: url.Values{"client_id": {"pub"}, "response_type": {"code"}, "code_challenge": {challenge},
				"code_challenge_method": {"S256"}},
			want: &oauth.AuthorizeRequest{App: &pubApp, ResponseType: "code", RedirectURI: "https://app.example/cb",
				Scope: []string{"read", "write", "groups"}, Challenge: challenge, ChallengeMethod: "S256"}},
		{name: "unknown client", params: query("client_id", "nobody"),
			err: &oauth.Error{Code: "invalid_client_id", Description: "Invalid client_id parameter value.", Status: 400}},
		{name: "missing client", params: query("client_id", ""),
			err: &oauth.Error{Code: "invalid_client_id", Description: "Invalid client_id parameter value.", Status: 400}},
		{name: "duplicate state", params: func() url.Values { v := query(); v.Add("state", "abc"); return v }(),
			err: oauth.ErrInvalidRequest("Duplicate state parameter.")},
		{name: "mismatching redirect URI", params: query("redirect_uri", "https://evil.example/cb"),
			err: oauth.ErrInvalidRequest("Mismatching redirect URI.")},
		// Two are registered, so none is the default.
		{name: "no redirect URI, several registered", params: query("redirect_uri", ""),
			err: oauth.ErrInvalidRequest("Missing redirect URI.")},
		{name: "missing response_type", params: query("response_type", ""),
			want: req(func(a *oauth.AuthorizeRequest) { a.ResponseType, a.Scope = "", nil }),
			err:  oauth.ErrInvalidRequest("Missing response_type parameter.")},
		{name: "implicit flow", params: query("response_type", "token"),
			want: req(func(a *oauth.AuthorizeRequest) { a.ResponseType, a.Scope = "token", nil }),
			err:  oauth.ErrUnsupportedResponseType},
		// RFC 9700 2.1.1: plain gives no protection against a stolen code.
		{name: "PKCE plain", params: query("code_challenge", challenge, "code_challenge_method", "plain"),
			want: req(func(a *oauth.AuthorizeRequest) { a.Challenge, a.ChallengeMethod, a.Scope = challenge, "plain", nil }),
			err:  oauth.ErrInvalidRequest("Transform algorithm not supported.")},
		{name: "PKCE without method means plain", params: query("code_challenge", challenge),
			want: req(func(a *oauth.AuthorizeRequest) { a.Challenge, a.ChallengeMethod, a.Scope = challenge, "plain", nil }),
			err:  oauth.ErrInvalidRequest("Transform algorithm not supported.")},
		{name: "challenge of the wrong length", params: query("code_challenge", challenge[:42], "code_challenge_method", "S256"),
			want: req(func(a *oauth.AuthorizeRequest) { a.Challenge, a.ChallengeMethod, a.Scope = challenge[:42], "S256", nil }),
			err:  oauth.ErrInvalidRequest("Invalid code_challenge parameter.")},
		{name: "public client without challenge", params: url.Values{"client_id": {"pub"}, "response_type": {"code"}},
			want: &oauth.AuthorizeRequest{App: &pubApp, ResponseType: "code", RedirectURI: "https://app.example/cb"},
			err:  oauth.ErrInvalidRequest("Code challenge required.")},
		{name: "unknown scope", params: query("scope", "read admin"),
			want: req(func(a *oauth.AuthorizeRequest) { a.Scope = nil }), err: oauth.ErrInvalidScope},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, oauth.Config{})
			got, err := e.p.ParseAuthorize(context.Background(), tc.params)
			if tc.err == nil && tc.want != nil {
				// A request that parsed has its OpenID Connect defaults.
				tc.want.Prompt, tc.want.MaxAge = map[string]bool{}, -1
			}
			if !reflect.DeepEqual(err, tc.err) {
				t.Fatalf("err = %#v, want %#v", err, tc.err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("request = %+v\nwant      %+v", got, tc.want)
			}
		})
	}
}

func TestParseAuthorizeRequirePKCE(t *testing.T) {
	e := newEnv(t, oauth.Config{RequirePKCE: true})
	params := url.Values{"client_id": {"conf"}, "response_type": {"code"}, "redirect_uri": {"https://client.example/cb"}}
	got, err := e.p.ParseAuthorize(context.Background(), params)
	if got == nil || !reflect.DeepEqual(err, oauth.ErrInvalidRequest("Code challenge required.")) {
		t.Fatalf("got %+v, %v; want the request and Code challenge required", got, err)
	}
}

func TestRedirectURL(t *testing.T) {
	tests := []struct {
		name     string
		redirect string
		state    string
		params   url.Values // nil: ErrorURL of err
		err      *oauth.Error
		want     string
	}{
		{name: "code and state", redirect: "https://client.example/cb", state: "xyz",
			params: url.Values{"code": {"abc123"}}, want: "https://client.example/cb?code=abc123&state=xyz"},
		{name: "code without state", redirect: "https://client.example/cb",
			params: url.Values{"code": {"abc123"}}, want: "https://client.example/cb?code=abc123"},
		// The registered URI's own query string is kept.
		{name: "existing query", redirect: "https://client.example/cb?tenant=1", state: "xyz",
			params: url.Values{"code": {"abc123"}}, want: "https://client.example/cb?tenant=1&code=abc123&state=xyz"},
		{name: "state is escaped", redirect: "https://client.example/cb", state: "a b&c=d",
			params: url.Values{"code": {"abc123"}}, want: "https://client.example/cb?code=abc123&state=a+b%26c%3Dd"},
		// Only the response's own parameters go out, whatever else is given.
		{name: "other parameters dropped", redirect: "https://client.example/cb",
			params: url.Values{"code": {"abc123"}, "scope": {"read"}}, want: "https://client.example/cb?code=abc123"},
		{name: "error with description", redirect: "https://client.example/cb", state: "xyz",
			err:  oauth.ErrInvalidRequest("Missing response_type parameter."),
			want: "https://client.example/cb?error=invalid_request&error_description=Missing+response_type+parameter.&state=xyz"},
		{name: "error without description", redirect: "https://client.example/cb?tenant=1",
			err: oauth.ErrAccessDenied, want: "https://client.example/cb?tenant=1&error=access_denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &oauth.AuthorizeRequest{RedirectURI: tc.redirect, State: tc.state}
			var got string
			if tc.err != nil {
				got = a.ErrorURL(tc.err)
			} else {
				got = a.RedirectURL(tc.params)
			}
			if got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
