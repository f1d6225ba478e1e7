package server

import (
	"net/http"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
)

func TestTokenScopePermissions(t *testing.T) {
	bearer := func(scope string) *gatehouse.Principal {
		return &gatehouse.Principal{Scheme: gatehouse.SchemeOAuth, Scope: scope}
	}
	cases := []struct {
		name   string
		p      *gatehouse.Principal
		method string
		extra  []string
		want   bool
	}{
		{"read token GET", bearer("read"), http.MethodGet, nil, true},
		{"read token HEAD", bearer("read"), http.MethodHead, nil, true},
		{"read token OPTIONS", bearer("read"), http.MethodOptions, nil, true},
		{"read token POST", bearer("read"), http.MethodPost, nil, false},
		{"write token POST", bearer("write"), http.MethodPost, nil, true},
		{"write token DELETE", bearer("write"), http.MethodDelete, nil, true},
		{"write token GET", bearer("write"), http.MethodGet, nil, false},
		{"extra scope present", bearer("read groups"), http.MethodGet, []string{"groups"}, true},
		{"extra scope missing", bearer("read write"), http.MethodGet, []string{"groups"}, false},
		{"empty scope", bearer(""), http.MethodGet, nil, false},
		{"prefix is not a scope", bearer("reader"), http.MethodGet, nil, false},
		{"DRF token has no scopes", &gatehouse.Principal{Scheme: gatehouse.SchemeToken}, http.MethodPost, nil, true},
		{"JWT has no scopes", &gatehouse.Principal{Scheme: gatehouse.SchemeJWT}, http.MethodPost, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.p.HasReadWriteScope(safeMethod(c.method), c.extra...); got != c.want {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
	if !bearer("read write groups").HasScope("groups", "read") || bearer("read").HasScope("read", "write") {
		t.Fatal("HasScope")
	}
	s := &Server{ocfg: oauth.Config{RequireScopes: false}}
	if s.checkOAuthScope(bearer(""), http.MethodPost) != nil {
		t.Fatal("scopes enforced while the setting is off")
	}
	s.ocfg.RequireScopes = true
	if e := s.checkOAuthScope(bearer("read"), http.MethodPost); e == nil || e.status != 403 {
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
