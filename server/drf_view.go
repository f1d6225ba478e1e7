package server

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
)

// Permission classes of the reference views.
type permission int

const (
	permAny                   permission = iota // AllowAny (and simplejwt/DOT views)
	permAuthenticated                           // IsAuthenticated
	permAuthenticatedOrCreate                   // anonymous POST allowed, the rest needs a user
	// permAdmin needs a credential, a client's own token included; the
	// admin service decides what it may do (admin.Service.ActorFor), and
	// the admin scope replaces RequireScopes' read and write.
	permAdmin
)

// call is one request to a DRF view, after authentication.
type call struct {
	w    http.ResponseWriter
	r    *http.Request
	view *apiView
	user *gatehouse.Principal
	// principal is who authenticated, a client alone included (user is
	// nil for a client's own token); the admin views read it.
	principal *gatehouse.Principal
	html      bool // the browsable HTML rendering was negotiated
	indent    int  // JSON pretty-printed with this many spaces (Accept: application/json; indent=4)
	parsed    *payload
}

type handlerFunc func(s *Server, c *call) *apiError

// apiView reproduces the request cycle of a DRF APIView: content
// negotiation, authentication, permission, then the method handler, with
// Allow, Vary, 401, 405 and OPTIONS metadata as DRF writes them.
type apiView struct {
	name, description string
	methods           map[string]handlerFunc // GET, POST, ...
	allow             string
	perm              permission
	scope             string   // the throttle scope of the view (ScopedRateThrottle), "" for none
	noAuth            bool     // the view has no authentication classes (simplejwt)
	renders           []string // media types, JSON first
	parses            []string
	actions           any // OPTIONS "actions" when POST is allowed for the caller
}

var (
	rendersJSONHTML = []string{"application/json", "text/html"}
	parsesDefault   = []string{"application/json", "application/x-www-form-urlencoded", "multipart/form-data"}
)

func (s *Server) view(v *apiView) http.Handler {
	if v.renders == nil {
		v.renders = rendersJSONHTML
	}
	if v.parses == nil {
		v.parses = parsesDefault
	}
	if v.allow == "" {
		var ms []string
		// DRF's order: http_method_names, with HEAD wherever GET is.
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			if v.methods[m] != nil {
				ms = append(ms, m)
			}
		}
		if v.methods["GET"] != nil {
			ms = append(ms, "HEAD")
		}
		v.allow = strings.Join(append(ms, "OPTIONS"), ", ")
	}
	allow := []string{v.allow}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Allow"] = allow
		h["Vary"] = hvVaryDRF
		if origin := r.Header.Get("Origin"); origin != "" && s.corsAPI(w, r, origin, allow) {
			return
		}
		c := &call{w: w, r: r, view: v}
		if e := s.dispatch(c); e != nil {
			c.writeJSON(e.status, e.body)
		}
	})
}

func (s *Server) dispatch(c *call) *apiError {
	v, r := c.view, c.r
	if e := c.negotiate(); e != nil {
		return e
	}
	if !v.noAuth {
		out, err := s.authenticate(r)
		if err != nil {
			return s.internal(c, err)
		}
		if out.fail != nil {
			if out.fail.status == http.StatusUnauthorized { // not on the session's CSRF 403
				c.w.Header().Set("WWW-Authenticate", out.wwwAuthenticate())
			}
			return out.fail
		}
		c.user, c.principal = out.p, out.p
		if out.p != nil && out.p.Scheme == gatehouse.SchemeOAuth {
			setRequestClient(r, out.p.ClientID) // for the access log line
		}
		clientOnly := false
		if c.user != nil && !c.user.HasUser() {
			// A client's own token (client_credentials): DRF's request.user
			// is None, so the view sees an anonymous caller, and where a
			// user is required the answer is 403, not 401.
			c.user, clientOnly = nil, true
		}
		if c.user != nil {
			setLogUser(r, c.user.User.ID)
		}
		if v.perm == permAdmin {
			if c.principal == nil {
				c.w.Header().Set("WWW-Authenticate", out.wwwAuthenticate())
				return unauthorized("Authentication credentials were not provided.")
			}
		} else if e := s.checkUser(c, out, clientOnly); e != nil {
			return e
		}
	}
	if err := s.checkThrottles(r, c.user, v.scope); err != nil {
		return s.internal(c, err)
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	if method == http.MethodOptions {
		return c.options()
	}
	h := v.methods[method]
	if h == nil || (r.Method == http.MethodHead && v.methods["GET"] == nil) {
		return &apiError{status: http.StatusMethodNotAllowed,
			body: detailOnly{Detail: `Method "` + r.Method + `" not allowed.`}}
	}
	return h(s, c)
}

// checkUser applies the view's permission class to the authenticated
// caller: nil when allowed.
func (s *Server) checkUser(c *call, out authOutcome, clientOnly bool) *apiError {
	v, r := c.view, c.r
	needsUser := v.perm == permAuthenticated || (v.perm == permAuthenticatedOrCreate && r.Method != http.MethodPost)
	if needsUser && clientOnly {
		return &apiError{status: http.StatusForbidden, body: detailOnly{Detail: "You do not have permission to perform this action."}}
	}
	if needsUser && c.user == nil {
		c.w.Header().Set("WWW-Authenticate", out.wwwAuthenticate())
		return unauthorized("Authentication credentials were not provided.")
	}
	return s.checkOAuthScope(c.user, r.Method)
}

func (c *call) canHTML() bool {
	for _, m := range c.view.renders {
		if m == "text/html" {
			return true
		}
	}
	return false
}

// data parses the request body once (DRF parses lazily, on first use).
func (c *call) data() (*payload, *apiError) {
	if c.parsed != nil {
		return c.parsed, nil
	}
	p, e := readBody(c.w, c.r, c.view.parses)
	if e != nil {
		return nil, e
	}
	c.parsed = p
	return p, nil
}

type metadata struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Renders     []string `json:"renders"`
	Parses      []string `json:"parses"`
	Actions     any      `json:"actions,omitempty"`
}

func (c *call) options() *apiError {
	m := metadata{Name: c.view.name, Description: c.view.description, Renders: c.view.renders, Parses: c.view.parses}
	if c.view.methods["POST"] != nil && c.view.actions != nil {
		m.Actions = map[string]any{"POST": c.view.actions}
	}
	c.respond(http.StatusOK, m)
	return nil
}

// noStore marks the response as one that carries a credential (noStore).
func (c *call) noStore() { noStore(c.w) }

// respond writes a successful response in the negotiated rendering. HEAD
// gets the headers only.
func (c *call) respond(status int, v any) {
	if c.html {
		b, _ := marshal(v)
		c.w.Header().Set("Content-Type", "text/html; charset=utf-8")
		c.w.WriteHeader(status)
		if c.r.Method != http.MethodHead {
			c.w.Write([]byte("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + html.EscapeString(c.view.name) +
				" – gatehouse</title></head><body><h1>" + html.EscapeString(c.view.name) + "</h1><pre>" +
				html.EscapeString(string(b)) + "</pre></body></html>\n"))
		}
		return
	}
	if c.r.Method == http.MethodHead {
		c.w.Header()["Content-Type"] = hvJSON
		c.w.WriteHeader(status)
		return
	}
	if m, ok := v.(jsonAppender); ok && c.indent == 0 {
		c.w.Header()["Content-Type"] = hvJSON
		c.w.WriteHeader(status)
		c.w.Write(m.appendJSON(make([]byte, 0, 256)))
		return
	}
	c.writeJSON(status, v)
}

// writeJSON writes v as JSON, indented as negotiated (DRF's JSONRenderer
// with an indent: Python's json.dumps(indent=n), which json.Indent
// writes byte for byte).
func (c *call) writeJSON(status int, v any) {
	if c.indent == 0 {
		writeJSON(c.w, status, v)
		return
	}
	b, err := marshal(v)
	var out bytes.Buffer
	if err != nil || json.Indent(&out, b, "", strings.Repeat(" ", c.indent)) != nil {
		writeJSON(c.w, status, v)
		return
	}
	c.w.Header()["Content-Type"] = hvJSON
	c.w.WriteHeader(status)
	c.w.Write(out.Bytes())
}

// field metadata for OPTIONS.
type fieldMeta struct {
	Type      string `json:"type"`
	Required  bool   `json:"required"`
	ReadOnly  bool   `json:"read_only"`
	Label     string `json:"label"`
	HelpText  string `json:"help_text,omitempty"`
	MaxLength int    `json:"max_length,omitempty"`
}

// orderedFields keeps OPTIONS field metadata in declaration order.
type orderedFields []struct {
	name string
	meta fieldMeta
}

func (o orderedFields) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := marshal(f.name)
		v, _ := marshal(f.meta)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

func fields(pairs ...any) orderedFields {
	var o orderedFields
	for i := 0; i+1 < len(pairs); i += 2 {
		o = append(o, struct {
			name string
			meta fieldMeta
		}{pairs[i].(string), pairs[i+1].(fieldMeta)})
	}
	return o
}
