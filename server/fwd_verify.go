package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/guard"
	"github.com/gatehouse-auth/gatehouse/policy"
)

// The forward-auth endpoint (docs/protect-your-api.md): a reverse proxy
// (nginx auth_request, Caddy forward_auth, Traefik ForwardAuth, Envoy
// ext_authz) asks it whether to pass a request on to the upstream it
// protects. It answers 200 with the identity headers, 401 or 403 with the
// body gatehouse's own views write; nginx accepts no other status from
// the subrequest, so every denial is one of those two.

// Paths of the forward-auth endpoint.
const (
	// fwdVerifyPath reads the original request from the X-Forwarded-* (or
	// X-Original-*) headers the proxy sets.
	fwdVerifyPath = "/auth/verify/"
	// fwdPathPrefix is for a proxy that appends the original path to a
	// prefix instead (Envoy ext_authz's path_prefix): the request's own
	// method, host and target after the prefix are the original's.
	fwdPathPrefix = "/auth/verify/path"
)

// hvDenialBody is the response header repeating a denial's JSON body, for
// nginx: auth_request keeps the subrequest's status but not its body, and
// an error_page can return this header's value (auth_request_set).
const hvDenialBody = "X-Auth-Body"

// forwardedHeaders are the request headers naming the original request, in
// the order they are read; two that disagree deny the request.
var (
	fwdMethodHeaders = []string{"X-Forwarded-Method", "X-Original-Method"}
	fwdURIHeaders    = []string{"X-Forwarded-Uri", "X-Original-Uri"}
	fwdHostHeaders   = []string{"X-Forwarded-Host"}
)

// forwardAuth is the handler of fwdVerifyPath and everything under it.
func (s *Server) forwardAuth() http.Handler {
	hs := s.fwd.Headers()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method, host, uri, why := forwardedRequest(r)
		if why != "" {
			s.fwdDeny(w, r, http.StatusForbidden, why)
			return
		}
		rule, refusal := s.fwd.Match(method, host, uri)
		if rule == nil {
			s.fwdDeny(w, r, http.StatusForbidden, string(refusal))
			return
		}
		out, err := s.authenticateHeader(r)
		if err != nil {
			s.fwdWrite(w, s.fail(w, r, failure{shape: shapeDRF}, err))
			return
		}
		if out.fail != nil {
			if out.fail.status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", out.wwwAuthenticate())
			}
			s.fwdWrite(w, out.fail)
			return
		}
		var p *guard.Principal
		if out.p != nil {
			p = s.GuardPrincipal(out.p)
			setLogUser(r, out.p.User.ID)
		}
		// The permissions read the original request's method (read or write
		// scope, IsAuthenticatedOrReadOnly).
		orig := r
		if method != r.Method {
			orig = new(http.Request)
			*orig = *r
			orig.Method = method
		}
		status, err := guard.Check(orig, p, rule.Permission)
		if err != nil {
			s.fwdWrite(w, s.fail(w, r, failure{shape: shapeDRF}, err))
			return
		}
		if status != http.StatusOK {
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", out.wwwAuthenticate())
			}
			s.fwdDeny(w, r, status, "rule at line "+strconv.Itoa(rule.Line))
			return
		}
		setIdentity(w.Header(), hs, out.p, p)
		w.WriteHeader(http.StatusOK)
	})
}

// fwdDeny answers a request the policy denies: 401 "Authentication
// credentials were not provided." (the caller sets WWW-Authenticate) or
// 403 "You do not have permission to perform this action.", as a DRF view
// words them. why goes to the debug log only.
func (s *Server) fwdDeny(w http.ResponseWriter, r *http.Request, status int, why string) {
	s.log.DebugContext(r.Context(), "forward auth denied", "request_id", requestID(r), "status", status, "why", why)
	if status == http.StatusUnauthorized {
		s.fwdWrite(w, unauthorized("Authentication credentials were not provided."))
		return
	}
	s.fwdWrite(w, &apiError{status: http.StatusForbidden, body: detailOnly{Detail: "You do not have permission to perform this action."}})
}

// fwdWrite writes e as a DRF view would, with the headers of gatehouse's
// other answers (which an allowed answer goes without: only the proxy
// reads it), and repeats the body in hvDenialBody for nginx. e may be nil
// when fail wrote the answer itself.
func (s *Server) fwdWrite(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	setSecurityHeaders(h)
	h["Cache-Control"] = hvNoStore
	if e == nil {
		return
	}
	if b, err := marshal(e.body); err == nil {
		w.Header().Set(hvDenialBody, string(b))
	}
	writeJSON(w, e.status, e.body)
}

// forwardedRequest is the method, host and target of the request the
// proxy asks about, or why it cannot be told safely: two headers that
// disagree (a client's own X-Original-URI passed on beside the proxy's
// X-Forwarded-Uri), a header given twice, a host list.
func forwardedRequest(r *http.Request) (method, host, uri, why string) {
	var ok bool
	if rest, under := strings.CutPrefix(r.URL.Path, fwdPathPrefix); under && (rest == "" || rest[0] == '/') {
		// Envoy's path_prefix: the request is the original one, moved
		// under the prefix. r.RequestURI keeps the target as sent.
		target := strings.TrimPrefix(r.RequestURI, fwdPathPrefix)
		if !strings.HasPrefix(r.RequestURI, fwdPathPrefix) {
			return "", "", "", "target not under " + fwdPathPrefix
		}
		if target == "" || target[0] == '?' {
			target = "/" + target
		}
		return r.Method, r.Host, target, ""
	}
	if r.URL.Path != fwdVerifyPath && r.URL.Path != "/auth/verify" {
		return "", "", "", "unknown path under " + fwdVerifyPath
	}
	if method, ok = oneHeader(r, fwdMethodHeaders); !ok {
		return "", "", "", "X-Forwarded-Method and X-Original-Method disagree or repeat"
	}
	if method == "" {
		method = r.Method
	}
	if !validHeaderName(method) { // a method is a token, as a header name is
		return "", "", "", "bad method"
	}
	if uri, ok = oneHeader(r, fwdURIHeaders); !ok {
		return "", "", "", "X-Forwarded-Uri and X-Original-URI disagree or repeat"
	}
	if uri == "" {
		// Without the original target nothing can be matched: judging
		// "/auth/verify/" instead would let a catch-all rule decide for
		// every path.
		return "", "", "", "no X-Forwarded-Uri or X-Original-URI: the proxy must send the original request's target"
	}
	if host, ok = oneHeader(r, fwdHostHeaders); !ok || strings.Contains(host, ",") {
		return "", "", "", "X-Forwarded-Host repeats"
	}
	if host == "" {
		host = r.Host
	}
	if host != "" && !validHost(host) {
		return "", "", "", "bad host"
	}
	return method, host, uri, ""
}

// oneHeader is the value of the first of names the request has; false when
// one is given twice or two disagree.
func oneHeader(r *http.Request, names []string) (string, bool) {
	v := ""
	for _, n := range names {
		vs := r.Header[n]
		switch {
		case len(vs) == 0:
			continue
		case len(vs) > 1:
			return "", false
		case v != "" && vs[0] != v:
			return "", false
		}
		v = vs[0]
	}
	return v, true
}

// setIdentity writes the identity headers of an allowed request, every
// one of them, empty when the credential does not tell it (no user for an
// anonymous request or an OAuth token of a client alone; scopes and
// client only for OAuth). An absent header would leave a proxy to its own
// devices: Debian's Caddy 2.6 copies a missing one as the literal text of
// its placeholder. Never the credential.
func setIdentity(h http.Header, names policy.Headers, p *gatehouse.Principal, g *guard.Principal) {
	var id, username, email, staff, scopes, client, kind string
	if p.HasUser() {
		id, username, email = p.User.Subject(), p.User.Username, p.User.Email
		staff = strconv.FormatBool(p.User.IsStaff)
	}
	if g != nil {
		kind = string(g.Kind)
		if g.Kind == guard.KindOAuth {
			scopes, client = g.ScopeString(), g.ClientID
		}
	}
	// One backing array for the seven values: this runs on every request
	// a proxy passes.
	v := []string{id, username, email, staff, scopes, client, kind}
	h[names.UserID] = v[0:1:1]
	h[names.Username] = v[1:2:2]
	h[names.Email] = v[2:3:3]
	h[names.IsStaff] = v[3:4:4]
	h[names.Scopes] = v[4:5:5]
	h[names.ClientID] = v[5:6:6]
	h[names.TokenKind] = v[6:7:7]
}

// isForwardAuth reports whether path is the forward-auth endpoint's.
func isForwardAuth(path string) bool {
	return path == "/auth/verify" || strings.HasPrefix(path, fwdVerifyPath)
}
