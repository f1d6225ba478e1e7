package server

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/oauth"
)

// leavesOrigin reports whether a browser that gets Location: loc from a
// page of this server would go to another origin. It reads loc as a WHATWG
// URL parser does: leading and trailing C0 controls and spaces are
// dropped, tabs and line breaks removed anywhere, a backslash is a slash
// in http(s) URLs; then two leading slashes start another authority, and
// a scheme (even http:) is counted as leaving, to be safe.
func leavesOrigin(loc string) bool {
	s := strings.TrimFunc(loc, func(r rune) bool { return r <= ' ' })
	s = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s)
	if len(s) >= 2 && (s[0] == '/' || s[0] == '\\') && (s[1] == '/' || s[1] == '\\') {
		return true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':':
			return i > 0
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return false
}

func TestLeavesOrigin(t *testing.T) {
	for loc, want := range map[string]bool{
		"/": false, "/sign_up/": false, "/a//b": false, "/a:b": false, "?next=//x": false, "a:b": true,
		"//evil.example": true, "/\\evil.example": true, "\\/evil.example": true, " //evil.example": true,
		"/\t/evil.example": true, "\x00//evil.example": true, "https://evil.example": true, "javascript:alert(1)": true,
	} {
		if got := leavesOrigin(loc); got != want {
			t.Errorf("leavesOrigin(%q) = %v, want %v", loc, got, want)
		}
	}
}

// readyStore is a Store that is always ready (the router serves /readyz).
type readyStore struct{}

func (readyStore) Ready(context.Context) error { return nil }

// FuzzLocalRedirects holds the three redirects that stay on this origin
// to it, whatever the path or ?next= value a client sends: the login
// page's next (safeNext), the trailing-slash redirect (the router, on a
// request line as net/http parses it) and the
// redirect to the login page, whose ?next= must also decode back to the
// request's path and query (pythonQuote).
func FuzzLocalRedirects(f *testing.F) {
	for _, s := range []string{"/o/authorize/?response_type=code&client_id=code-client&state=xyz", "/api/me", "/sign_up",
		"/api/me?format=json", "//evil.example/..%2Fsign_up", "/%2Fevil.example", "/%5Cevil.example", "/\\evil.example",
		"/\t/evil.example", "/./\\evil.example", "https://evil.example/", "javascript:alert(1)", "/%0d%0aSet-Cookie:x=1",
		"/ /evil.example", "/\x00/evil.example", "/readyz", "/healthz", "/.well-known/jwks.json", "/é/\xff", "/a/../b", "/a/./b", "//", "/", "", "?x", "/api/me?next=//evil"} {
		f.Add(s)
	}
	s := &Server{ocfg: oauth.DefaultConfig(), store: readyStore{}}
	s.logoutURL = logoutURLFor(s.ocfg.LoginURL)
	routes := s.routes()
	f.Fuzz(func(t *testing.T, in string) {
		if next := safeNext(in); next != "/" && next != in || leavesOrigin(next) {
			t.Fatalf("safeNext(%q) = %q", in, next)
		}

		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + in + " HTTP/1.1\r\nHost: localhost\r\n\r\n")))
		if err != nil {
			return // net/http answers 400 itself
		}
		if !strings.HasSuffix(r.URL.Path, "/") {
			// The router only: a path without its slash is redirected or
			// not found before any handler runs (except /healthz and
			// /readyz).
			w := httptest.NewRecorder()
			routes.ServeHTTP(w, r)
			if loc := w.Header().Get("Location"); loc != "" && (leavesOrigin(loc) || !strings.HasPrefix(loc, "/")) {
				t.Fatalf("%q: slash redirect to %q", in, loc)
			}
		}

		w := httptest.NewRecorder()
		s.redirectToLogin(w, r)
		loc := w.Header().Get("Location")
		if leavesOrigin(loc) || !strings.HasPrefix(loc, s.ocfg.LoginURL+"?next=") {
			t.Fatalf("%q: login redirect to %q", in, loc)
		}
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatalf("%q: login redirect %q does not parse: %v", in, loc, err)
		}
		if next := u.Query()["next"]; len(next) != 1 || next[0] != r.URL.RequestURI() {
			t.Fatalf("%q: next %q, want %q", in, next, r.URL.RequestURI())
		}
	})
}
