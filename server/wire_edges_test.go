package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestQueryStringsAsDjango: a ';' or a stray '%' in a query string or an
// urlencoded body is part of the value, as Django's QueryDict reads it;
// net/http's parser dropped such a pair, so a filter, a narrower scope or
// a state vanished and the request was served as if it had not been sent.
func TestQueryStringsAsDjango(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		auth := []string{"Authorization", "Token " + e.tokenOf("alice", "alicepass")}
		form := []string{"Content-Type", "application/x-www-form-urlencoded"}
		if p := e.do("GET", "/api/users/?username=alice;x", nil, auth...).json(t); p["count"] != float64(0) {
			t.Errorf("a filter holding ';': %v", p)
		}
		if p := e.do("GET", "/api/users/?username=alice", nil, auth...).json(t); p["count"] != float64(1) {
			t.Errorf("the filter without it: %v", p)
		}
		// A scope "read;write" is no scope of the client's: refused, not
		// replaced by the default scopes.
		body := "grant_type=password&username=alice&password=alicepass&client_id=conf-client&client_secret=" +
			url.QueryEscape(a.confSecret) + "&scope=read;write"
		expect(t, e.do("POST", "/o/token/", body, form...), 400, `{"error": "invalid_scope"}`)
		// A password with a ';' or a '%' is the password sent.
		e.user("semi", "pass;word%zz")
		expect(t, e.do("POST", "/api-token-auth/", "username=semi&password=pass;word%zz", form...), 200, "")
		// A DRF form's value with a ';' reaches the field's validation.
		expect(t, e.do("POST", "/sign_up/", "username=semi;colon&password=a-long-pass-123", form...), 400,
			`{"username":["Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."]}`)
		// The state comes back as sent.
		q := "client_id=code-client&response_type=code&redirect_uri=" + url.QueryEscape(redirectURI) + "&state=abc;def&prompt=none"
		r := e.do("GET", "/o/authorize/?"+q, nil)
		loc, err := url.Parse(r.header.Get("Location"))
		if r.status != 302 || err != nil || loc.Query().Get("state") != "abc;def" {
			t.Errorf("authorize with state abc;def: %d %s", r.status, r.header.Get("Location"))
		}
	})
}

// rawStatus sends one request as written on a new connection to addr and
// returns the status line of the first answer that is not 1xx when
// interim is false, or of the first answer at all.
func rawStatus(t *testing.T, addr, request string, interim bool) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%q: %v", request, err)
		}
		if interim || res.StatusCode >= 200 {
			return res.Status
		}
	}
}

// TestOversizedBodyRefusedBeforeRead: a body announced larger than an
// endpoint reads is refused at once, without the "100 Continue" that
// would have the client send it and then have its connection reset.
func TestOversizedBodyRefusedBeforeRead(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		// The server itself: the harness's OpenAPI check reads each body
		// whole before the server sees the request.
		plain := httptest.NewServer(e.srv)
		defer plain.Close()
		for path, want := range map[string]string{
			"/sign_up/":        "413 Request Entity Too Large",
			"/api-token-auth/": "413 Request Entity Too Large",
			"/o/token/":        "400 Bad Request",
			"/admin/login/":    "400 Bad Request",
			"/o/authorize/":    "400 Bad Request",
		} {
			req := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
				"Content-Length: 50000000\r\nExpect: 100-continue\r\n\r\n", path)
			if got := rawStatus(t, plain.Listener.Addr().String(), req, true); got != want {
				t.Errorf("%s: first answer %q, want %q", path, got, want)
			}
		}
	})
}

// TestUncleanPathsNotFound: a path with repeated slashes or dot segments
// matches no route, as in Django, instead of a redirect to its cleaned
// form (which a client would follow with its body).
func TestUncleanPathsNotFound(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		for _, p := range []string{"/api//me/", "/api/me/./", "/api/x/../me/", "/o//token/", "//sign_up/"} {
			for _, m := range []string{"GET", "POST"} {
				req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n", m, p)
				if got := rawStatus(t, e.http.Listener.Addr().String(), req, false); got != "404 Not Found" {
					t.Errorf("%s %s: %q, want 404", m, p, got)
				}
			}
		}
		expect(t, e.do("GET", "/api//me/", nil), 404, "")
	})
}

// TestTwoAuthorizationHeaders: two Authorization headers are joined, as a
// WSGI server joins them for Django, and the joined value is no
// credential: refused whichever comes first, where the first alone was
// judged before (and a proxy or upstream might read the other).
func TestTwoAuthorizationHeaders(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.setupOAuth()
		good := "Token " + e.tokenOf("alice", "alicepass")
		for _, pair := range [][2]string{{good, "Bearer garbage"}, {"Bearer garbage", good}, {good, good}} {
			req, err := http.NewRequest("GET", e.http.URL+"/api/me/", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Add("Authorization", pair[0])
			req.Header.Add("Authorization", pair[1])
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 401 || !strings.Contains(string(b), "detail") {
				t.Errorf("%q: %d %s", pair, res.StatusCode, b)
			}
		}
		if st := e.do("GET", "/api/me/", nil, "Authorization", good).status; st != 200 {
			t.Fatalf("one header: %d", st)
		}
	})
}
