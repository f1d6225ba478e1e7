package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// BenchmarkMeTokenJSONLog is BenchmarkMeToken with the access log written
// as serve writes it (JSON, level info) to io.Discard: the cost of the
// request log line.
func BenchmarkMeTokenJSONLog(b *testing.B) {
	e := buildWith(b, "sqlite", nil, func(w *wiring) { w.Server.Log = slog.New(slog.NewJSONHandler(io.Discard, nil)) })
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
