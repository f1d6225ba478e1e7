package server_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/server"
)

var _ server.RequestObserver = (*observed)(nil)

// observed is a server.RequestObserver that keeps what it is told.
type observed struct {
	mu   sync.Mutex
	seen []observation
}

type observation struct {
	route   string
	status  int
	elapsed time.Duration
}

func (o *observed) ObserveRequest(route string, status int, elapsed time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen = append(o.seen, observation{route, status, elapsed})
}

func (o *observed) last() observation {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.seen[len(o.seen)-1]
}

// accessLines are the request log lines of e so far, decoded.
func (e *env) accessLines() []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(e.logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

// The observer is told each request's route pattern (never its path),
// status and time; the access log line carries the duration in
// milliseconds, the client's address through a trusted proxy, the user
// and the OAuth client.
func TestRequestObserverAndAccessLog(t *testing.T) {
	obs := &observed{}
	e := buildWith(t, "sqlite", func(c *config) { c.TrustedProxies = []string{"127.0.0.0/8"} },
		func(w *wiring) { w.Server.Observer = obs })
	e.t = t
	apps := e.setupOAuth()
	bob := e.user("bob", "bobpass")
	key := e.tokenOf("bob", "bobpass")

	r := e.do("GET", "/api/me/", nil, "Authorization", "Token "+key, "X-Forwarded-For", "203.0.113.7")
	if r.status != 200 {
		t.Fatalf("/api/me/: %d %s", r.status, r.body)
	}
	if o := obs.last(); o.route != "/api/me/{$}" || o.status != 200 || o.elapsed <= 0 {
		t.Errorf("observed %+v", o)
	}
	lines := e.accessLines()
	l := lines[len(lines)-1]
	if l["path"] != "/api/me/" || l["remote_addr"] != "203.0.113.7" || l["user_id"] != float64(bob.ID) || l["client_id"] != "" || l["status"] != float64(200) {
		t.Errorf("log line %v", l)
	}
	if ms, ok := l["duration_ms"].(float64); !ok || ms < 0 || ms > 10_000 {
		t.Errorf("duration_ms %v", l["duration_ms"])
	}
	if _, ok := l["duration"]; ok {
		t.Errorf("the log line still has duration in nanoseconds: %v", l)
	}

	// An OAuth access token names its client in the line.
	tok := e.password(apps)
	e.do("GET", "/api/me/", nil, "Authorization", "Bearer "+tok.Access)
	lines = e.accessLines()
	if l := lines[len(lines)-1]; l["client_id"] != "conf-client" || l["remote_addr"] != "127.0.0.1" {
		t.Errorf("log line of an OAuth request %v", l)
	}

	for _, c := range []struct {
		path, route string
		status      int
	}{
		{"/nope/" + key + "/", "", 404}, // no route: never the path
		{"/api/me", "", 301},            // the slash redirect, before the mux
		{"/healthz", "/healthz", 200},
		{"/api/tokens/12345/", "/api/tokens/{id}/{$}", 401},
	} {
		e.do("GET", c.path, nil)
		if o := obs.last(); o.route != c.route || o.status != c.status {
			t.Errorf("GET %s observed %+v, want route %q status %d", c.path, o, c.route, c.status)
		}
	}

	// A HEAD whose handler writes nothing is answered 200 by net/http, and
	// its log line says so (it said 0).
	if r := e.do("HEAD", "/api/schema/", nil); r.status != 200 {
		t.Fatalf("HEAD /api/schema/: %d", r.status)
	}
	lines = e.accessLines()
	if l := lines[len(lines)-1]; l["method"] != "HEAD" || l["status"] != float64(200) {
		t.Errorf("log line of a HEAD answered without a body: %v", l)
	}
	if o := obs.last(); o.status != 200 {
		t.Errorf("HEAD observed %+v, want status 200", o)
	}
}
