package server_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/server"
)

var _ server.RequestTracer = (*traced)(nil)

// traced is a server.RequestTracer that keeps what it is told.
type traced struct {
	mu    sync.Mutex
	spans []span
}

type span struct {
	method, traceparent string
	route               string
	status              int
	userID              int64
	clientID            string
	ended               int
}

func (tr *traced) StartRequest(ctx context.Context, method string, h http.Header) (context.Context, func(string, int, int64, string)) {
	tr.mu.Lock()
	tr.spans = append(tr.spans, span{method: method, traceparent: h.Get("Traceparent")})
	i := len(tr.spans) - 1
	tr.mu.Unlock()
	return ctx, func(route string, status int, userID int64, clientID string) {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		s := &tr.spans[i]
		s.route, s.status, s.userID, s.clientID = route, status, userID, clientID
		s.ended++
	}
}

func (tr *traced) last() span {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.spans[len(tr.spans)-1]
}

// The tracer starts a span as each request arrives and ends it once,
// after the response, with the route pattern (never the path), the
// status and the user and OAuth client the request authenticated as.
func TestRequestTracer(t *testing.T) {
	tr := &traced{}
	e := buildWith(t, "sqlite", nil, func(w *wiring) { w.Server.Tracer = tr })
	e.t = t
	apps := e.setupOAuth()
	tok := e.password(apps)

	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	if r := e.do("GET", "/api/me/", nil, "Authorization", "Bearer "+tok.Access, "Traceparent", tp); r.status != 200 {
		t.Fatalf("/api/me/: %d %s", r.status, r.body)
	}
	lines := e.accessLines()
	user := int64(lines[len(lines)-1]["user_id"].(float64)) // the token's owner
	want := span{method: "GET", traceparent: tp, route: "/api/me/{$}", status: 200, userID: user, clientID: "conf-client", ended: 1}
	if user == 0 {
		t.Fatal("the request authenticated no user")
	}
	if s := tr.last(); s != want {
		t.Errorf("span %+v, want %+v", s, want)
	}
	e.do("POST", "/nope/"+tok.Access+"/?q=1", nil)
	if s := tr.last(); s != (span{method: "POST", status: 404, ended: 1}) {
		t.Errorf("unknown path: span %+v", s)
	}
}
