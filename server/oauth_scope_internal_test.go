package server

import (
	"net/http"
	"testing"
)

func TestTokenScopePermissions(t *testing.T) {
	oauth := func(scope string) *principal { return &principal{kind: "oauth", scope: scope} }
	cases := []struct {
		name   string
		p      *principal
		method string
		extra  []string
		want   bool
	}{
		{"read token GET", oauth("read"), http.MethodGet, nil, true},
		{"read token HEAD", oauth("read"), http.MethodHead, nil, true},
		{"read token OPTIONS", oauth("read"), http.MethodOptions, nil, true},
		{"read token POST", oauth("read"), http.MethodPost, nil, false},
		{"write token POST", oauth("write"), http.MethodPost, nil, true},
		{"write token DELETE", oauth("write"), http.MethodDelete, nil, true},
		{"write token GET", oauth("write"), http.MethodGet, nil, false},
		{"extra scope present", oauth("read groups"), http.MethodGet, []string{"groups"}, true},
		{"extra scope missing", oauth("read write"), http.MethodGet, []string{"groups"}, false},
		{"empty scope", oauth(""), http.MethodGet, nil, false},
		{"prefix is not a scope", oauth("reader"), http.MethodGet, nil, false},
		{"DRF token has no scopes", &principal{kind: "token"}, http.MethodPost, nil, true},
		{"JWT has no scopes", &principal{kind: "jwt"}, http.MethodPost, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := tokenHasReadWriteScope(c.p, c.method, c.extra...); got != c.want {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
	if !tokenHasScope(oauth("read write groups"), "groups", "read") || tokenHasScope(oauth("read"), "read", "write") {
		t.Fatal("tokenHasScope")
	}
	s := &Server{cfg: Config{OAuth: OAuthOptions{RequireScopes: false}}}
	if s.checkOAuthScope(oauth(""), http.MethodPost) != nil {
		t.Fatal("scopes enforced while the setting is off")
	}
	s.cfg.OAuth.RequireScopes = true
	if e := s.checkOAuthScope(oauth("read"), http.MethodPost); e == nil || e.status != 403 {
		t.Fatalf("read token POST with RequireScopes: %+v", e)
	}
}

func TestPythonQuoteAndSafeNext(t *testing.T) {
	if got, want := pythonQuote("/o/authorize/?a=b&redirect_uri=http%3A%2F%2Fx y~"), "/o/authorize/%3Fa%3Db%26redirect_uri%3Dhttp%253A%252F%252Fx%20y~"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	for in, want := range map[string]string{"/o/authorize/?x=1": "/o/authorize/?x=1", "//evil.example/": "/", "https://evil.example/": "/",
		"/\\evil.example": "/", "": "/", "relative": "/", "/ok\r\nSet-Cookie: x": "/"} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
