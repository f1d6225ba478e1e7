package server

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// routes lists every endpoint gatehouse serves. Paths end in "/" as in the
// reference; a request without the slash is redirected to it.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("/readyz", s.ready)

	mux.Handle("/sign_up/{$}", s.signUpView())
	mux.Handle("/api/me/{$}", s.meView())
	mux.Handle("/api/users/{$}", s.usersView())
	mux.Handle("/api-token-auth/{$}", s.obtainTokenView(false))
	mux.Handle("/api-token-auth-custom/{$}", s.obtainTokenView(true))
	s.tokenRoutes(mux)
	s.jwtRoutes(mux)
	s.oauthRoutes(mux)

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { notFound(w) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; !strings.HasSuffix(p, "/") {
			if _, pattern := mux.Handler(r); pattern != "/" && !strings.HasSuffix(pattern, "/{$}") {
				mux.ServeHTTP(w, r) // a route without a trailing slash (/healthz, /.well-known/jwks.json)
				return
			}
			probe := r.Clone(r.Context())
			probe.URL.Path += "/"
			probe.URL.RawPath = ""
			if _, pattern := mux.Handler(probe); pattern != "/" && pattern != "" {
				slashRedirect(w, r)
				return
			}
			notFound(w)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// ready answers 200 when the database answers within a second.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("readiness check failed", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"status":"unavailable"}`))
		return
	}
	w.Write([]byte(`{"status":"ok"}`))
}
