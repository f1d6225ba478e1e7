package server

import (
	"net/http"
	"strconv"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/throttle"
)

// The throttles, as DRF applies DEFAULT_THROTTLE_CLASSES after
// authentication and permissions: "user" per authenticated user, "anon"
// per address for the others, and a view's own scope (ScopedRateThrottle:
// per user, or per address). The DOT endpoints, which are no DRF views,
// count in "token" per address, the password grant and the login page in
// "login" as well. A refusal is an ETHROTTLED error, which fail answers
// 429 with Retry-After in the endpoint's shape.

// sourceOf is the client's address as the throttles count it.
func sourceOf(r *http.Request) string { return throttle.SourceOf(gatehouse.SourceFrom(r.Context())) }

// throttleScope counts r in scope per address.
func (s *Server) throttleScope(r *http.Request, scope string) error {
	if !s.limiter.Enabled(scope) {
		return nil
	}
	return s.limiter.Allow(r.Context(), scope, sourceOf(r))
}

// checkThrottles applies the default throttles and the view's scope.
func (s *Server) checkThrottles(r *http.Request, p *gatehouse.Principal, scope string) error {
	if s.limiter == nil {
		return nil
	}
	ident := func() string {
		if p != nil {
			return "user:" + strconv.FormatInt(p.User.ID, 10)
		}
		return sourceOf(r)
	}
	if p != nil && s.limiter.Enabled(throttle.ScopeUser) {
		if err := s.limiter.Allow(r.Context(), throttle.ScopeUser, ident()); err != nil {
			return err
		}
	}
	if p == nil && s.limiter.Enabled(throttle.ScopeAnon) {
		if err := s.limiter.Allow(r.Context(), throttle.ScopeAnon, ident()); err != nil {
			return err
		}
	}
	if scope != "" && s.limiter.Enabled(scope) {
		return s.limiter.Allow(r.Context(), scope, ident())
	}
	return nil
}

// throttled wraps a DOT endpoint in a scope counted per address.
func (s *Server) throttled(scope string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.throttleScope(r, scope); err != nil {
			s.oauthFail(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}
