package server

import (
	"net/http"
	"slices"

	"github.com/gatehouse-auth/gatehouse"
)

// CORS (the Fetch standard's cross-origin requests) for the endpoints a
// browser application calls directly: a single-page app using the public
// client PKCE flow posts to /o/token/ and /o/revoke_token/ and fetches the
// JWKS and the metadata. An origin is allowed only when an application
// lists it (Application.AllowedOrigins, DOT 2's allowed_origins); no
// endpoint takes cookies, so Access-Control-Allow-Credentials is never
// sent, and the HTML pages (/o/authorize/, the login page) are never
// wrapped: a browser reaches them by navigation, not by fetch.
//
// Two wrappers, one call per route in routes.go:
//
//   - s.cors(methods, h): an endpoint acting for a client. The actual
//     response is allowed only when the client the request authenticated
//     as, or whose access token it bears, lists the Origin. The handler
//     names that client with setRequestClient (oauth.Provider's client
//     authentication does it for /o/token/, /o/revoke_token/ and
//     /o/introspect/; a userinfo handler calls it with its access token's
//     client_id).
//   - s.corsPublic(methods, h): a public document (the JWKS, the RFC 8414
//     and OpenID metadata): allowed for an origin any application lists.
//
// A preflight (OPTIONS with Origin and Access-Control-Request-Method)
// names no client: both wrappers answer it 204 for an origin any
// application lists, and pass any other OPTIONS request, an unlisted
// origin's preflight included, to the endpoint as before (DOT's empty 200
// with Allow), without CORS headers.

// corsMaxAge is how long a browser may reuse a preflight's answer, in
// seconds. It only lets the browser send the request: the actual response
// is checked against the client's origins every time.
const corsMaxAge = "3600"

var (
	hvCORSHeaders = []string{"Authorization, Content-Type"}
	hvCORSMaxAge  = []string{corsMaxAge}
)

// setRequestClient names the OAuth client a request acts for: the one it
// authenticated as, or the one its access token was issued to. The CORS
// layer (s.cors) answers by that client's allowed origins.
func setRequestClient(r *http.Request, clientID string) {
	if ri := gatehouse.RequestFrom(r.Context()); ri != nil {
		ri.ClientID = clientID
	}
}

// cors wraps h, an endpoint serving methods (as in Allow: "POST", "GET,
// POST"), for browsers calling it as a client; see the comment above.
func (s *Server) cors(methods string, h http.Handler) http.Handler {
	return s.corsWrap(methods, false, h)
}

// corsPublic wraps h, a public document serving methods, for browsers
// on any origin an application lists, and tells caches that its answers
// vary by Origin.
func (s *Server) corsPublic(methods string, h http.Handler) http.Handler {
	return s.corsWrap(methods, true, h)
}

func (s *Server) corsWrap(methods string, public bool, h http.Handler) http.Handler {
	allowMethods := []string{methods}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if public {
			// Cached by shared caches: the answer depends on Origin
			// whether or not this request sent one.
			addVaryOrigin(w.Header())
		}
		if origin == "" {
			h.ServeHTTP(w, r)
			return
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if !s.originListed(r, origin) {
				h.ServeHTTP(w, r)
				return
			}
			hd := w.Header()
			hd["Access-Control-Allow-Origin"] = []string{origin}
			hd["Access-Control-Allow-Methods"] = allowMethods
			hd["Access-Control-Allow-Headers"] = hvCORSHeaders
			hd["Access-Control-Max-Age"] = hvCORSMaxAge
			if !public {
				addVaryOrigin(hd)
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if public {
			if s.originListed(r, origin) {
				w.Header()["Access-Control-Allow-Origin"] = []string{origin}
			}
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(&corsWriter{ResponseWriter: w, s: s, r: r, origin: origin}, r)
	})
}

// originListed reports whether any application lists origin. A failure to
// tell (the database) is logged and allows nothing: the browser then
// refuses the call, and the endpoint itself still answers.
func (s *Server) originListed(r *http.Request, origin string) bool {
	if slices.Contains(s.corsOrigins, origin) {
		return true
	}
	ok, err := s.oauth.OriginListed(r.Context(), origin)
	if err != nil {
		s.log.Warn("reading the allowed origins", "request_id", requestID(r), "err", err)
		return false
	}
	return ok
}

// corsAPI applies CORS to a DRF or simplejwt view serving allow (its
// Allow header) for a request from a browser page of origin: a preflight
// from an allowed origin (Config.CORSOrigins, or one an application
// lists) is answered here, 204, and reported handled, as
// django-cors-headers answers it before DRF; the actual response from one
// is allowed to be read. Credentials are never allowed: the views take
// tokens in headers, and a session cookie stays same-origin. Any other
// request is the view's, without CORS headers.
func (s *Server) corsAPI(w http.ResponseWriter, r *http.Request, origin string, allow []string) (handled bool) {
	if !s.originListed(r, origin) {
		return false
	}
	hd := w.Header()
	hd["Access-Control-Allow-Origin"] = []string{origin}
	hd["Vary"] = hvVaryDRFOrigin
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		hd["Access-Control-Allow-Methods"] = allow
		hd["Access-Control-Allow-Headers"] = hvCORSHeaders
		hd["Access-Control-Max-Age"] = hvCORSMaxAge
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}

// addVaryOrigin adds Origin to Vary without changing the shared value the
// security headers set.
func addVaryOrigin(h http.Header) {
	v := h["Vary"]
	h["Vary"] = append(v[:len(v):len(v)], "Origin")
}

// corsWriter decides, when the response's header is written, whether the
// client the handler named (setRequestClient) lists the request's origin.
type corsWriter struct {
	http.ResponseWriter
	s       *Server
	r       *http.Request
	origin  string
	decided bool
}

func (w *corsWriter) decide() {
	if w.decided {
		return
	}
	w.decided = true
	ri := gatehouse.RequestFrom(w.r.Context())
	if ri == nil || ri.ClientID == "" {
		return
	}
	ok, err := w.s.oauth.ClientAllowsOrigin(w.r.Context(), ri.ClientID, w.origin)
	if err != nil {
		w.s.log.Warn("reading the client's allowed origins", "request_id", ri.ID, "err", err)
		return
	}
	if ok {
		h := w.Header()
		h["Access-Control-Allow-Origin"] = []string{w.origin}
		addVaryOrigin(h)
	}
}

func (w *corsWriter) WriteHeader(code int) {
	w.decide()
	w.ResponseWriter.WriteHeader(code)
}

func (w *corsWriter) Write(b []byte) (int, error) {
	w.decide()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *corsWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
