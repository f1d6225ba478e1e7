package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/metrics"
)

// BenchmarkMeTokenMetrics is BenchmarkMeToken with the Prometheus
// request observer attached, as serve runs with metrics on: the
// difference is the observer's cost per request.
func BenchmarkMeTokenMetrics(b *testing.B) {
	m := metrics.New(metrics.ReadBuild())
	e := buildWith(b, "sqlite", nil, func(w *wiring) { w.Server.Observer = m })
	u := gatehouse.User{Username: "alice", Password: "!", IsActive: true, DateJoined: time.Now()}
	if err := e.accounts.Insert(context.Background(), &u); err != nil {
		b.Fatal(err)
	}
	key, err := e.accounts.IssueToken(context.Background(), u.Username, "bench", 0)
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("GET", "http://localhost/api/me/", nil)
	req.Header.Set("Authorization", "Token "+key)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}
