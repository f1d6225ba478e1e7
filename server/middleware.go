package server

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// The middleware puts a *gatehouse.RequestInfo in every request's context:
// its id, the client's address, and the user once a view knows it, which
// the access log line carries and the services read.

func requestID(r *http.Request) string {
	if ri := gatehouse.RequestFrom(r.Context()); ri != nil {
		return ri.ID
	}
	return ""
}

func setLogUser(r *http.Request, id int64) {
	if ri := gatehouse.RequestFrom(r.Context()); ri != nil {
		ri.UserID = id
	}
}

// requestState is what the middleware keeps for one request, in one
// allocation: the request's information, the X-Request-Id header's value,
// the status-recording writer and the request timeout's context.
type requestState struct {
	info     gatehouse.RequestInfo
	idHeader [1]string
	w        statusWriter
	deadline requestDeadline
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// middleware adds the security headers, a request id, one structured log
// line per request (never the query string or any credential), and turns a
// panic into a logged 500.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		st := &requestState{}
		li := &st.info
		li.ID = r.Header.Get("X-Request-Id")
		if li.ID == "" || len(li.ID) > 64 || strings.ContainsAny(li.ID, " \r\n\"") {
			var b [8]byte
			rand.Read(b[:])
			li.ID = hex.EncodeToString(b[:])
		}
		ctx := gatehouse.WithRequest(r.Context(), li)
		if s.cfg.RequestTimeout > 0 {
			ctx = st.deadline.init(ctx, start.Add(s.cfg.RequestTimeout))
			defer st.deadline.release()
		}
		var endSpan func(route string, status int, userID int64, clientID string)
		if s.tracer != nil {
			ctx, endSpan = s.tracer.StartRequest(ctx, r.Method, r.Header)
		}
		r = r.WithContext(ctx)
		h := w.Header()
		fwd := s.fwd != nil && isForwardAuth(r.URL.Path)
		if !fwd { // the forward-auth answers set them on denials only (fwd_verify.go)
			setSecurityHeaders(h)
		}
		st.idHeader[0] = li.ID
		h["X-Request-Id"] = st.idHeader[:]
		sw := &st.w
		sw.ResponseWriter = w
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic", "request_id", li.ID, "panic", p)
				if sw.status == 0 {
					writeJSON(sw, http.StatusInternalServerError, serverErrorBody)
				}
			}
			end := time.Now()
			elapsed := end.Sub(start)
			status := sw.status
			if status == 0 {
				status = http.StatusOK // what net/http sends for a handler that wrote nothing (a HEAD)
			}
			level := slog.LevelInfo
			switch {
			case status == http.StatusServiceUnavailable:
				level = slog.LevelWarn // an overload or outage answered as such, not a bug
			case status >= 500:
				level = slog.LevelError
			}
			// Checked first so that a level that is off costs nothing: the
			// address's text and the JSON handler's float each allocate.
			// The record goes to the handler directly, as Logger.LogAttrs
			// would pass it but without the caller's program counter,
			// which no access line shows (runtime.Callers was an eighth
			// of the line's cost), and with the end time already read.
			if h := s.log.Handler(); h.Enabled(r.Context(), level) {
				var addr string
				if li.Source.IsValid() {
					addr = li.Source.String()
				}
				rec := slog.NewRecord(end, level, "request", 0)
				rec.AddAttrs(slog.String("request_id", li.ID), slog.String("method", r.Method), slog.String("path", s.url(r.URL.Path)),
					slog.Int("status", status), slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
					slog.String("remote_addr", addr), slog.Int64("user_id", li.UserID), slog.String("client_id", li.ClientID))
				h.Handle(r.Context(), rec)
			}
			if s.observer != nil || endSpan != nil {
				route := r.Pattern
				switch {
				case fwd:
					route = fwdVerifyPath // served before the mux (routes.go)
				case route == "/":
					route = "" // the catch-all 404: no route
				}
				if s.observer != nil {
					s.observer.ObserveRequest(route, status, elapsed)
				}
				if endSpan != nil {
					endSpan(route, status, li.UserID, li.ClientID)
				}
			}
		}()
		li.Source = s.clientAddr(r)
		// The forward-auth endpoint is asked about another host's requests
		// (Caddy and Envoy pass the original Host on); it writes no link and
		// reads no cookie, which is what ALLOWED_HOSTS protects.
		if !fwd && !s.hostAllowed(s.originOf(r).host) {
			badHost(sw)
			return
		}
		if s.inflight != nil {
			select {
			case s.inflight <- struct{}{}:
				defer func() { <-s.inflight }()
			default:
				// Shed at once: queueing would only hold the connection,
				// its memory and its descriptor through the overload.
				s.shed(sw, r)
				return
			}
		}
		next.ServeHTTP(sw, r)
	})
}

// setSecurityHeaders sets the headers every page and document carries.
// Canonical keys are assigned directly: this runs on every request.
func setSecurityHeaders(h http.Header) {
	h["X-Frame-Options"] = hvDeny
	h["Content-Security-Policy"] = hvCSP
	h["X-Content-Type-Options"] = hvNosniff
	h["Referrer-Policy"] = hvSameOrigin
	h["Vary"] = hvVaryAuth
}

// badHost answers a request naming a host not in AllowedHosts, as Django
// answers DisallowedHost with DEBUG off.
func badHost(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusBadRequest)
	w.Write([]byte("<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Bad Request (400)</title>\n</head>\n<body>\n" +
		"  <h1>Bad Request (400)</h1><p></p>\n</body>\n</html>\n"))
}

// notFound answers like Django with DEBUG off.
func notFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusNotFound)
	w.Write([]byte("<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n" +
		"  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n</body>\n</html>\n"))
}

// slashRedirect sends a path without its trailing slash to the route with
// it (under the mount prefix), keeping the query. GET and HEAD get 301 as
// Django answers; other methods get 308 so that the method and body
// survive (Django answers 301 and the body is lost).
func (s *Server) slashRedirect(w http.ResponseWriter, r *http.Request) {
	loc := s.url(r.URL.EscapedPath() + "/")
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	status := http.StatusMovedPermanently
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		status = http.StatusPermanentRedirect
	}
	w.Header().Set("Location", loc)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
}

// Header values set on every response. They are never modified: net/http
// only reads them.
var (
	hvDeny = []string{"DENY"}
	// hvCSP allows a page nothing but itself: gatehouse's pages have no
	// script, style sheet, image or frame, so an injected one runs nowhere.
	// form-action is left open because the consent form's answer redirects
	// to the client, which some browsers check against it.
	hvCSP        = []string{"default-src 'none'; frame-ancestors 'none'; base-uri 'none'"}
	hvNosniff    = []string{"nosniff"}
	hvSameOrigin = []string{"same-origin"}
	hvVaryAuth   = []string{"Authorization"}
	hvVaryDRF    = []string{"Accept, Authorization"}
	// hvVaryDRFOrigin is a DRF view's Vary when the answer depends on the
	// request's Origin too (CORS, corsAPI).
	hvVaryDRFOrigin = []string{"Accept, Authorization, Origin"}
	hvJSON          = []string{"application/json"}
	hvNoStore       = []string{"no-store"}
	hvNoCache       = []string{"no-cache"}
)
