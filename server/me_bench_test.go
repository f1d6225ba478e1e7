package server_test

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// benchMe measures the handler cost of GET /api/me/ in-process (no network),
// for profiling; load figures come from `go run ./bench`.
func benchMe(b *testing.B, auth func(e *env, u gatehouse.User) string) {
	benchMeWith(b, nil, auth)
}

// benchMeWith is benchMe on a server whose wiring deps adjusts.
func benchMeWith(b *testing.B, deps func(*wiring), auth func(e *env, u gatehouse.User) string) {
	e := buildWith(b, "sqlite", nil, deps)
	u := gatehouse.User{Username: "alice", Password: "!", IsActive: true, DateJoined: time.Now()}
	if err := e.accounts.Insert(context.Background(), &u); err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("GET", "http://localhost/api/me/", nil)
	req.Header.Set("Authorization", auth(e, u))
	benchServe(b, e, req)
}

// benchServe serves req b.N times, each answered 200.
func benchServe(b *testing.B, e *env, req *http.Request) {
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

func BenchmarkMeToken(b *testing.B) { benchMe(b, drfKeyAuth(b)) }

// drfKeyAuth issues the user a DRF key and returns its header value.
func drfKeyAuth(b *testing.B) func(e *env, u gatehouse.User) string {
	return func(e *env, u gatehouse.User) string {
		key, err := e.accounts.IssueToken(context.Background(), u.Username, "bench", 0)
		if err != nil {
			b.Fatal(err)
		}
		return "Token " + key
	}
}

func BenchmarkMeJWT(b *testing.B) {
	benchMe(b, func(e *env, u gatehouse.User) string {
		_, access, err := e.pairs.PairFor(context.Background(), u.ID)
		if err != nil {
			b.Fatal(err)
		}
		return "Bearer " + access
	})
}

func BenchmarkMeKnox(b *testing.B) {
	benchMe(b, func(e *env, u gatehouse.User) string {
		const token = "3f9c2a7be1d04c58a6e2f0b19d7c8e4a5b6f1029384756abcdef0123456789ab"
		sum := sha512.Sum512([]byte(token))
		if err := e.store.PutKnoxToken(context.Background(), gatehouse.KnoxToken{Digest: hex.EncodeToString(sum[:]),
			TokenKey: token[:15], UserID: u.ID, Created: time.Now()}); err != nil {
			b.Fatal(err)
		}
		return "Token " + token
	})
}
