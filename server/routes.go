package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/oidc"
	"github.com/gatehouse-auth/gatehouse/throttle"
)

// routes lists every endpoint gatehouse serves, by wire format. Paths end
// in "/" as in the reference; a request without the slash is redirected to
// it.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// Operations.
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("/readyz", s.ready)
	// The OpenAPI document of these routes and its page (api_schema.go).
	mux.HandleFunc("/api/schema/{$}", s.schemaView)
	mux.HandleFunc("/api/docs/{$}", s.docsPage)
	mux.HandleFunc("/api/docs/docs.css", s.docsStyle)

	// DRF views (drf_*.go): users, DRF tokens, per-device tokens.
	mux.Handle("/sign_up/{$}", s.signUpView())
	mux.Handle("/api/me/{$}", s.meView())
	mux.Handle("/api/users/{$}", s.usersView())
	mux.Handle("/api-token-auth/{$}", s.obtainTokenView(false))
	mux.Handle("/api-token-auth-custom/{$}", s.obtainTokenView(true))
	mux.Handle("/api/tokens/{$}", s.tokenListView())
	mux.Handle("/api/tokens/{id}/{$}", s.tokenDetailView())
	mux.Handle("/api/tokens/logout/{$}", s.logoutView())
	mux.Handle("/api/tokens/logoutall/{$}", s.logoutAllView())

	// The admin API (admin_api_*.go, docs/admin-api.md), when the admin
	// service is wired: JSON views in DRF's shapes over package admin.
	// Anything else under /api/admin/ is a JSON 404.
	if s.admin != nil {
		mux.HandleFunc("/api/admin/", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusNotFound, detailOnly{Detail: "Not found."})
		})
		mux.Handle("/api/admin/users/{$}", s.adminUsersView())
		mux.Handle("/api/admin/users/{id}/{$}", s.adminUserView())
		mux.Handle("/api/admin/users/{id}/password/{$}", s.adminUserPasswordView())
		mux.Handle("/api/admin/users/{id}/logout-everywhere/{$}", s.adminUserLogoutView())
		mux.Handle("/api/admin/users/{id}/credentials/{$}", s.adminUserCredentialsView())
		mux.Handle("/api/admin/users/{id}/credentials/{kind}/{credential}/{$}", s.adminUserCredentialView())
		mux.Handle("/api/admin/groups/{$}", s.adminGroupsView())
		mux.Handle("/api/admin/groups/{id}/{$}", s.adminGroupView())
		mux.Handle("/api/admin/permissions/{$}", s.adminPermissionsView())
		mux.Handle("/api/admin/applications/{$}", s.adminApplicationsView())
		mux.Handle("/api/admin/applications/{client_id}/{$}", s.adminApplicationView())
		mux.Handle("/api/admin/applications/{client_id}/rotate-secret/{$}", s.adminApplicationSecretView())
		mux.Handle("/api/admin/credentials/{$}", s.adminCredentialsView())
		mux.Handle("/api/admin/credentials/revoke/{$}", s.adminRevokeCredentialsView())
		mux.Handle("/api/admin/audit/{$}", s.adminAuditView())
		mux.Handle("/api/admin/keys/{$}", s.adminKeysView())
		mux.Handle("/api/admin/keys/rotate/{$}", s.adminRotateKeyView())
		mux.Handle("/api/admin/status/{$}", s.adminStatusView())
	}

	// simplejwt views (jwt_*.go), when simplejwt tokens are configured.
	if s.pairs != nil {
		mux.Handle("/access-token/{$}", s.jwtObtainView())
		mux.Handle("/access-token/refresh/{$}", s.jwtRefreshView())
		mux.Handle("/access-token/verify/{$}", s.jwtVerifyView())
		mux.Handle("/access-token/blacklist/{$}", s.jwtBlacklistView())
	}
	if s.pairs != nil || s.oidc != nil {
		mux.Handle(jwksPath, s.corsPublic("GET, HEAD", http.HandlerFunc(s.jwks)))
	}

	// Django OAuth Toolkit endpoints (oauth_*.go), open to browsers on
	// the origins their client lists (cors.go).
	mux.Handle("/o/token/{$}", s.cors("POST", s.throttled(throttle.ScopeToken, dotView(s.tokenEndpoint, "POST"))))
	mux.Handle("/o/revoke_token/{$}", s.cors("POST", s.throttled(throttle.ScopeToken, dotView(s.revokeEndpoint, "POST"))))
	mux.Handle("/o/introspect/{$}", s.cors("GET, POST", s.throttled(throttle.ScopeToken, dotView(s.introspectEndpoint, "GET", "POST", "HEAD"))))
	mux.Handle("/o/device-authorization/{$}", s.throttled(throttle.ScopeToken, dotView(s.deviceAuthorizationEndpoint, "POST")))
	if s.metadata != nil {
		mux.Handle("/.well-known/oauth-authorization-server", s.corsPublic("GET, HEAD", s.metadata)) // RFC 8414
	}
	if s.oidc != nil {
		// OpenID Connect (oauth_oidc.go), at the standard paths and DOT's.
		discovery := s.corsPublic("GET, HEAD", http.HandlerFunc(s.discovery))
		mux.Handle("/.well-known/openid-configuration", discovery)
		mux.Handle("/o/.well-known/openid-configuration", discovery)
		mux.Handle("/o/.well-known/openid-configuration/{$}", discovery)
		mux.Handle("/o"+jwksPath, s.corsPublic("GET, HEAD", http.HandlerFunc(s.jwks)))
		// userinfo answers a browser on an origin the token's client lists.
		mux.Handle(oidc.UserinfoPath+"{$}", s.cors("GET, POST", http.HandlerFunc(s.userinfo)))
		mux.HandleFunc(oidc.EndSessionPath+"{$}", s.endSession)
	} else {
		// OIDC is not offered: DOT answers these with an empty 404.
		for _, p := range []string{"/o/userinfo/{$}", "/o/.well-known/openid-configuration/{$}"} {
			mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { emptyHTML(w, http.StatusNotFound) })
		}
	}

	// HTML pages (html_*.go): the authorization consent page, DOT's
	// pages for a logged-in user, and the login and logout pages.
	mux.HandleFunc("/o/authorize/{$}", s.authorizeEndpoint)
	mux.HandleFunc("/o/applications/{$}", s.applicationsPage)
	mux.HandleFunc("/o/authorized_tokens/{$}", s.authorizedTokensPage)
	mux.HandleFunc("/o/device/{$}", s.devicePage) // the device flow's verification page (html_device.go)
	mux.HandleFunc(strings.TrimSuffix(s.ocfg.LoginURL, "/")+"/{$}", s.loginPage)
	mux.HandleFunc(s.logoutURL+"{$}", s.logoutPage)
	if s.brandStatic != "" {
		mux.HandleFunc(brandStaticPath, s.brandStaticFile) // the templates directory's static/ (html_pages.go)
	}
	// The admin site (admin_html*.go), beside the login page.
	s.siteRoutes(mux)

	// Forward auth for reverse proxies (fwd_verify.go), when a policy is set.
	var fwd http.Handler
	if s.fwd != nil {
		fwd = s.forwardAuth()
		mux.Handle(fwdVerifyPath, fwd)
	}

	// The metrics on the main listener, when asked (site: metrics-path-on-main),
	// at a path no route above serves.
	if s.metrics != nil && s.cfg.MetricsPath != "" {
		for _, p := range []string{s.cfg.MetricsPath, s.cfg.MetricsPath + "/"} {
			probe := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: p}, Host: "localhost"}
			if _, pattern := mux.Handler(probe); pattern != "" && s.routeErr == nil {
				s.routeErr = fmt.Errorf("GATEHOUSE_METRICS_PATH_ON_MAIN: %s is served by gatehouse's route %s; choose another path such as /metrics", s.cfg.MetricsPath, pattern)
			}
		}
		if s.routeErr == nil {
			mux.Handle("GET "+s.cfg.MetricsPath, s.metrics)
		}
	}

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { notFound(w) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fwd != nil && isForwardAuth(r.URL.Path) {
			// Served as sent: ServeMux would redirect a path with dot
			// segments to its cleaned form, and a proxy accepts only 2xx,
			// 401 and 403 (the policy denies such a path 403).
			fwd.ServeHTTP(w, r)
			return
		}
		if p := r.URL.Path; !strings.HasSuffix(p, "/") {
			if _, pattern := mux.Handler(r); pattern != "/" && !strings.HasSuffix(pattern, "/{$}") {
				mux.ServeHTTP(w, r) // a route without a trailing slash (/healthz, /.well-known/jwks.json)
				return
			}
			probe := r.Clone(r.Context())
			probe.URL.Path += "/"
			probe.URL.RawPath = ""
			if _, pattern := mux.Handler(probe); pattern != "/" && pattern != "" && redirectable(r.URL) {
				s.slashRedirect(w, r)
				return
			}
			notFound(w)
			return
		}
		if p := r.URL.Path; p != "/" && path.Clean(p)+"/" != p {
			// Repeated slashes or dot segments: Django's resolver matches
			// no route, where ServeMux would redirect to the cleaned path
			// (and a client would send its body there again).
			notFound(w)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// redirectable reports whether the slash redirect of u stays on this
// origin and goes where the path says: a canonical path (no dot segments,
// no repeated slashes, no escaped slash or backslash) starting with one
// slash. "//evil.com/..%2Fsign_up" would otherwise be redirected to
// "//evil.com/..%2Fsign_up/", another host (Django's CVE-2018-14574).
func redirectable(u *url.URL) bool {
	p := u.EscapedPath()
	return strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//") && !strings.ContainsAny(p, "\\") &&
		path.Clean(u.Path) == u.Path && (u.RawPath == "" || u.RawPath == u.Path) &&
		!strings.Contains(strings.ToLower(p), "%2f") && !strings.Contains(strings.ToLower(p), "%5c")
}

// ready answers 200 when the database takes a write within a second (a
// database that answers reads but not writes is not ready).
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	if err := s.store.Ready(ctx); err != nil {
		s.log.Warn("readiness check failed", "err", err)
		w.Header().Set("Retry-After", s.retryAfter())
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"status":"unavailable"}`))
		return
	}
	w.Write([]byte(`{"status":"ok"}`))
}
