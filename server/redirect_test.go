package server_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
)

// rawRequest sends a request line exactly as written (no client cleans
// or re-encodes the path) and returns the response.
func rawRequest(t *testing.T, addr, method, target string) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", method, target)
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// No redirect of gatehouse leaves its origin: a path whose slash redirect
// would point at another host (//evil.com/..%2Fsign_up used to be sent to
// "//evil.com/..%2Fsign_up/", Django's CVE-2018-14574) is not found;
// canonical paths are still redirected as Django does.
func TestNoOpenRedirect(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	addr := strings.TrimPrefix(e.http.URL, "http://")
	for _, c := range []struct {
		method, target string
		status         int
		location       string
	}{
		{"GET", "/sign_up", 301, "/sign_up/"},
		{"POST", "/sign_up", 308, "/sign_up/"},
		{"GET", "/api/me?x=1", 301, "/api/me/?x=1"},
		{"GET", "//evil.com/..%2Fsign_up", 404, ""},
		{"POST", "//evil.com/..%2Fsign_up", 404, ""},
		{"GET", "//evil.com/../sign_up", 404, ""},
		{"GET", "/%2Fevil.com/..%2Fsign_up", 404, ""},
		{"GET", "/%5Cevil.com/..%2Fsign_up", 404, ""},
		{"GET", "/\\evil.com/../sign_up", 404, ""},
	} {
		res := rawRequest(t, addr, c.method, c.target)
		loc := res.Header.Get("Location")
		if strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") || strings.Contains(loc, "://") {
			t.Errorf("%s %s: Location %q leaves the origin", c.method, c.target, loc)
		}
		if res.StatusCode != c.status || loc != c.location {
			t.Errorf("%s %s: %d Location %q, want %d %q", c.method, c.target, res.StatusCode, loc, c.status, c.location)
		}
	}
}
