package metrics_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/metrics"
)

// recorded is an Auditor that keeps the events it is handed.
type recorded struct {
	mu     sync.Mutex
	events []gatehouse.AuditEvent
}

func (r *recorded) Record(_ context.Context, e gatehouse.AuditEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func exposition(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != 200 {
		t.Fatalf("scrape: %d", w.Code)
	}
	b, _ := io.ReadAll(w.Body)
	return string(b)
}

// The Auditor counts each event by bounded labels and hands it on
// unchanged; a value outside the known set is counted as other, never as
// itself.
func TestAuditorCountsAndForwards(t *testing.T) {
	m := metrics.New(metrics.Build{Version: "v1.2.3", Commit: "abc", GoVersion: "go1.26"})
	next := &recorded{}
	a := m.Auditor(next)
	ctx := context.Background()
	events := []gatehouse.AuditEvent{
		{Event: gatehouse.AuditLoginFailed, Detail: map[string]string{"via": "simplejwt", "reason": gatehouse.AuditReasonBadPassword, "username": "alice"}},
		{Event: gatehouse.AuditLoginFailed, Detail: map[string]string{"via": "/api/evil", "reason": "tok_SECRET"}},
		{Event: gatehouse.AuditLoginLocked, Detail: map[string]string{"via": "login_page", "username": "bob"}},
		{Event: gatehouse.AuditTokenIssued, Detail: map[string]string{"kind": "oauth", "grant": "client_credentials", "scope": "read"}},
		{Event: gatehouse.AuditTokenIssued, Detail: map[string]string{"kind": "oauth", "grant": "made-up-grant"}},
		{Event: gatehouse.AuditTokenRevoked, Detail: map[string]string{"kind": "simplejwt", "jti": "0192-jti"}},
		{Event: gatehouse.AuditTokenReused, Detail: map[string]string{"kind": "simplejwt"}},
		{Event: gatehouse.AuditCodeReplayed},
		{Event: "made.up"},
	}
	for _, e := range events {
		a.Record(ctx, e)
	}
	if len(next.events) != len(events) || next.events[0].Detail["username"] != "alice" {
		t.Fatalf("forwarded %v", next.events)
	}
	body := exposition(t, m)
	for _, want := range []string{
		`gatehouse_logins_total{outcome="bad_password",via="simplejwt"} 1`,
		`gatehouse_logins_total{outcome="other",via="other"} 1`,
		`gatehouse_logins_total{outcome="locked",via="login_page"} 1`,
		`gatehouse_tokens_total{grant="client_credentials",kind="oauth",outcome="issued"} 1`,
		`gatehouse_tokens_total{grant="other",kind="oauth",outcome="issued"} 1`,
		`gatehouse_tokens_total{grant="none",kind="simplejwt",outcome="revoked"} 1`,
		`gatehouse_replays_total{kind="simplejwt"} 1`,
		`gatehouse_replays_total{kind="code"} 1`,
		`gatehouse_audit_events_total{event="other"} 1`,
		`gatehouse_audit_events_total{event="login.failed"} 2`,
		`gatehouse_audit_events_total{event="key.rotated"} 0`,
		`gatehouse_build_info{commit="abc",go_version="go1.26",version="v1.2.3"} 1`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("no %s", want)
		}
	}
	for _, leaked := range []string{"alice", "bob", "/api/evil", "tok_SECRET", "made-up-grant", "0192-jti", "made.up"} {
		if strings.Contains(body, leaked) {
			t.Errorf("the scrape holds %q", leaked)
		}
	}
}

// Requests are counted by route and code, and timed by route and class;
// no route is "unmatched".
func TestObserveRequest(t *testing.T) {
	m := metrics.New(metrics.ReadBuild())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				m.ObserveRequest("/api/me/{$}", 200, 3*time.Millisecond)
			}
		})
	}
	wg.Wait()
	m.ObserveRequest("", 404, time.Millisecond)
	m.ObserveRequest("/o/token/{$}", 503, 2*time.Second)
	body := exposition(t, m)
	for _, want := range []string{
		`gatehouse_http_requests_total{code="200",route="/api/me/{$}"} 800`,
		`gatehouse_http_requests_total{code="404",route="unmatched"} 1`,
		`gatehouse_http_requests_total{code="503",route="/o/token/{$}"} 1`,
		`gatehouse_http_request_duration_seconds_bucket{class="2xx",route="/api/me/{$}",le="0.0025"} 0`,
		`gatehouse_http_request_duration_seconds_bucket{class="2xx",route="/api/me/{$}",le="0.005"} 800`,
		`gatehouse_http_request_duration_seconds_count{class="5xx",route="/o/token/{$}"} 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %s", want)
		}
	}
}

// A request costs no allocation once its route and status were seen.
func TestObserveRequestAllocatesNothing(t *testing.T) {
	m := metrics.New(metrics.ReadBuild())
	m.ObserveRequest("/api/me/{$}", 200, time.Millisecond)
	if n := testing.AllocsPerRun(1000, func() { m.ObserveRequest("/api/me/{$}", 200, time.Millisecond) }); n != 0 {
		t.Errorf("%v allocations per request", n)
	}
}

func BenchmarkObserveRequest(b *testing.B) {
	m := metrics.New(metrics.ReadBuild())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.ObserveRequest("/api/me/{$}", 200, time.Millisecond)
		}
	})
}
