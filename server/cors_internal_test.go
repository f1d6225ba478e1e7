package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
)

// appsOnly serves applications; the rest of oauth.Store is not called.
type appsOnly struct {
	oauth.Store
	apps []gatehouse.Application
}

func (a appsOnly) Application(_ context.Context, clientID string) (gatehouse.Application, error) {
	for _, x := range a.apps {
		if x.ClientID == clientID {
			return x, nil
		}
	}
	return gatehouse.Application{}, gatehouse.ErrNotFound
}

func (a appsOnly) Applications(context.Context) ([]gatehouse.Application, error) { return a.apps, nil }

// A handler that learns its client from something else than client
// authentication (a userinfo endpoint, from its access token) names it
// with setRequestClient, and s.cors answers by that client's origins.
func TestCORSRequestClientHook(t *testing.T) {
	p, err := oauth.New(oauth.Deps{Store: appsOnly{apps: []gatehouse.Application{
		{ClientID: "spa", AllowedOrigins: []string{"https://spa.example"}},
		{ClientID: "other", AllowedOrigins: []string{"https://other.example"}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{oauth: p, log: slog.New(slog.DiscardHandler)}
	for _, tc := range []struct{ client, origin, want string }{
		{"spa", "https://spa.example", "https://spa.example"},
		{"spa", "https://other.example", ""}, // another application's
		{"", "https://spa.example", ""},      // no client named
		{"nobody", "https://spa.example", ""},
	} {
		h := s.cors("GET, POST", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.client != "" {
				setRequestClient(r, tc.client)
			}
			w.Write([]byte(`{"sub": "1"}`))
		}))
		r := httptest.NewRequest("GET", "/o/userinfo/", nil)
		r.Header.Set("Origin", tc.origin)
		r = r.WithContext(gatehouse.WithRequest(r.Context(), &gatehouse.RequestInfo{ID: "t"}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got := w.Header().Get("Access-Control-Allow-Origin"); got != tc.want || w.Code != 200 {
			t.Errorf("client %q, origin %s: %d, Access-Control-Allow-Origin %q, want %q", tc.client, tc.origin, w.Code, got, tc.want)
		}
	}
}
