//go:build otel

package site_test

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/accounts"
	"github.com/gatehouse-auth/gatehouse/site"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// TestTracingExportsRequestSpans serves requests through a site with
// GATEHOUSE_OTEL_ENDPOINT set to a fake OTLP/HTTP collector: Close flushes
// one server span per request, named by its route, holding the user who
// authenticated and continuing the caller's trace, with no credential,
// path or query anywhere in it.
func TestTracingExportsRequestSpans(t *testing.T) {
	var (
		mu    sync.Mutex
		spans []*tracepb.Span
		raw   []byte
	)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := &collectortrace.ExportTraceServiceRequest{}
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, req) != nil {
			t.Errorf("collector: %s %s", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		raw = append(raw, body...)
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				spans = append(spans, ss.Spans...)
			}
		}
		mu.Unlock()
	}))
	defer collector.Close()

	cfg := testConfig(t, "sqlite")
	cfg.OTelEndpoint = collector.URL
	s, err := site.Open(context.Background(), cfg, site.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	u, err := s.Accounts.Create(ctx, accounts.NewUser{Username: "alice", Password: "correct-horse-battery-9"})
	if err != nil {
		t.Fatal(err)
	}
	key, err := s.Accounts.IssueToken(ctx, "alice", "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	get := func(path string, h http.Header) int {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		for k, v := range h {
			req.Header[k] = v
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if st := get("/api/me/", http.Header{"Authorization": {"Token " + key}, "Traceparent": {"00-" + traceID + "-00f067aa0ba902b7-01"}}); st != 200 {
		t.Fatalf("/api/me/: %d", st)
	}
	if st := get("/no/such/page/?secret=xyzzy", nil); st != 404 {
		t.Fatalf("unknown path: %d", st)
	}
	srv.Close()
	s.Close() // flushes

	mu.Lock()
	defer mu.Unlock()
	if len(spans) != 2 {
		t.Fatalf("%d spans exported, want 2", len(spans))
	}
	byName := map[string]*tracepb.Span{}
	for _, sp := range spans {
		byName[sp.Name] = sp
	}
	me, unknown := byName["GET /api/me/{$}"], byName["GET"]
	if me == nil || unknown == nil {
		t.Fatalf("span names %q, %q; want GET /api/me/{$} and GET", spans[0].Name, spans[1].Name)
	}
	attrs := func(sp *tracepb.Span) map[string]*commonpb.AnyValue {
		m := map[string]*commonpb.AnyValue{}
		for _, kv := range sp.Attributes {
			m[kv.Key] = kv.Value
		}
		return m
	}
	a := attrs(me)
	if me.Kind != tracepb.Span_SPAN_KIND_SERVER || a["gatehouse.user_id"].GetIntValue() != u.ID ||
		a["http.response.status_code"].GetIntValue() != 200 || a["http.route"].GetStringValue() != "/api/me/{$}" {
		t.Errorf("/api/me/ span: kind %v attributes %v", me.Kind, a)
	}
	if got := hex.EncodeToString(me.TraceId); got != traceID {
		t.Errorf("/api/me/ span in trace %s, want the caller's %s", got, traceID)
	}
	if a := attrs(unknown); a["http.route"] != nil || a["http.response.status_code"].GetIntValue() != 404 {
		t.Errorf("unknown path span: %v", a)
	}
	for _, leak := range []string{key, "xyzzy", "/no/such", "correct-horse"} {
		if strings.Contains(string(raw), leak) {
			t.Errorf("the exported spans hold %q", leak)
		}
	}
}
