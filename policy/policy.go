// Package policy reads the forward-auth policy file: which requests a
// reverse proxy may pass to an upstream, by method, host and path, and
// under which of Django REST Framework's and Django OAuth Toolkit's
// permissions (package guard's). It also names the identity headers the
// upstream receives. It knows nothing of credentials: the server
// authenticates, this package only says which guard.Permission applies.
//
// The file's format is in docs/protect-your-api.md. In short, one rule a
// line, "#" starts a comment:
//
//	[METHOD[,METHOD...]] PATTERN REQUIREMENT... [| REQUIREMENT...]...
//	header FIELD NAME
//
// PATTERN is a net/http ServeMux pattern without its method ("/orders/",
// "/orders/{id}/", "/health/{$}", "api.example.com/orders/"); the most
// specific pattern wins, as ServeMux documents. Requirements on one side
// of "|" must all pass; one side of "|" passing is enough. A request no
// rule matches is denied.
package policy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/gatehouse-auth/gatehouse/guard"
)

// Headers are the names of the identity headers an allowed request's
// answer carries, for the proxy to pass to the upstream.
type Headers struct {
	UserID    string // the user's primary key
	Username  string
	Email     string
	IsStaff   string // "true" or "false"
	Scopes    string // the OAuth token's scopes, space-separated (OAuth only)
	ClientID  string // the OAuth token's client_id (OAuth only)
	TokenKind string // token, knox, jwt or oauth
}

// DefaultHeaders are the identity headers' names when the file renames
// none.
func DefaultHeaders() Headers {
	return Headers{UserID: "X-Auth-User-Id", Username: "X-Auth-Username", Email: "X-Auth-Email",
		IsStaff: "X-Auth-Is-Staff", Scopes: "X-Auth-Scopes", ClientID: "X-Auth-Client-Id", TokenKind: "X-Auth-Token-Kind"}
}

// All lists the header names, in the order of the fields.
func (h Headers) All() []string {
	return []string{h.UserID, h.Username, h.Email, h.IsStaff, h.Scopes, h.ClientID, h.TokenKind}
}

// field returns the name of the header field called name in a "header"
// directive.
func (h *Headers) field(name string) *string {
	switch name {
	case "user_id":
		return &h.UserID
	case "username":
		return &h.Username
	case "email":
		return &h.Email
	case "is_staff":
		return &h.IsStaff
	case "scopes":
		return &h.Scopes
	case "client_id":
		return &h.ClientID
	case "token_kind":
		return &h.TokenKind
	}
	return nil
}

// Rule is one rule of the file.
type Rule struct {
	Line    int      // its line in the file, from 1
	Methods []string // nil: every method
	Pattern string   // the ServeMux pattern, host lower-cased, without a method
	// Requirement is the rule's requirements as written.
	Requirement string
	// Permission is the requirements as one guard.Permission.
	Permission guard.Permission
}

// Policy is a parsed policy file. Safe for concurrent use.
type Policy struct {
	name    string
	rules   []*Rule
	mux     *http.ServeMux
	headers Headers
	// reqs holds the requests Match builds to ask mux, reused: a proxy asks
	// on every request it passes.
	reqs sync.Pool
}

// matchRequest is a request for mux, with its URL in the same allocation.
type matchRequest struct {
	r http.Request
	u url.URL
}

// Rules returns the rules in the order of the file.
func (p *Policy) Rules() []*Rule { return p.rules }

// Headers returns the identity headers' names.
func (p *Policy) Headers() Headers { return p.headers }

// Name is the file the policy was read from.
func (p *Policy) Name() string { return p.name }

// Error is a mistake in a policy file, at a line.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Load reads and parses the policy file at path. A file that cannot be
// read, or holds a mistake, is an error naming the file (and the line,
// as an *Error).
func Load(path string) (*Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("forward-auth policy: %w", err)
	}
	return Parse(path, bytes.NewReader(b))
}

// maxLine bounds one line of a policy file.
const maxLine = 64 << 10

// Parse reads a policy from r; name is the file name errors carry. A file
// without a rule is an error: it would deny everything.
func Parse(name string, r io.Reader) (*Policy, error) {
	p := &Policy{name: name, mux: http.NewServeMux(), headers: DefaultHeaders()}
	renamed := map[string]int{} // header field renamed at line
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLine)
	line := 0
	fail := func(format string, args ...any) error {
		return &Error{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		for _, f := range fields {
			for _, c := range []byte(f) {
				if c < 0x20 || c == 0x7f {
					return nil, fail("control character %q", c)
				}
			}
		}
		if fields[0] == "header" {
			if err := p.headerDirective(fields[1:], renamed, line, fail); err != nil {
				return nil, err
			}
			continue
		}
		rule, err := parseRule(fields, line, fail)
		if err != nil {
			return nil, err
		}
		if err := p.add(rule, fail); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			line++
			return nil, fail("line longer than %d bytes", maxLine)
		}
		return nil, fmt.Errorf("forward-auth policy %s: %w", name, err)
	}
	if len(p.rules) == 0 {
		line = max(line, 1)
		return nil, fail("no rule: every request would be denied")
	}
	seen := map[string]string{}
	for _, f := range []string{"user_id", "username", "email", "is_staff", "scopes", "client_id", "token_kind"} {
		h := http.CanonicalHeaderKey(*p.headers.field(f))
		if other, dup := seen[h]; dup {
			line = max(renamed[f], renamed[other])
			return nil, fail("header %s is named for both %s and %s", h, other, f)
		}
		seen[h] = f
	}
	return p, nil
}

// headerDirective reads "header FIELD NAME".
func (p *Policy) headerDirective(args []string, renamed map[string]int, line int, fail func(string, ...any) error) error {
	if len(args) != 2 {
		return fail("want: header FIELD NAME (FIELD one of user_id, username, email, is_staff, scopes, client_id, token_kind)")
	}
	f := p.headers.field(args[0])
	if f == nil {
		return fail("unknown identity header %q (want user_id, username, email, is_staff, scopes, client_id or token_kind)", args[0])
	}
	if at, dup := renamed[args[0]]; dup {
		return fail("header %s already named at line %d", args[0], at)
	}
	name := args[1]
	if !validToken(name) {
		return fail("%q is not an HTTP header name", name)
	}
	switch strings.ToLower(name) {
	case "authorization", "proxy-authorization", "cookie", "set-cookie", "host", "content-length", "content-type",
		"transfer-encoding", "connection", "www-authenticate", "location", "upgrade", "te", "trailer", "keep-alive",
		"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-method", "x-forwarded-uri",
		"x-original-method", "x-original-uri", "x-request-id":
		return fail("header %s has a meaning of its own in HTTP or to the proxy: choose another name", name)
	}
	*f = http.CanonicalHeaderKey(name)
	renamed[args[0]] = line
	return nil
}

// parseRule reads one rule's fields.
func parseRule(fields []string, line int, fail func(string, ...any) error) (*Rule, error) {
	rule := &Rule{Line: line}
	i := 0
	if !strings.Contains(fields[0], "/") {
		ms, err := parseMethods(fields[0])
		if err != nil {
			return nil, fail("%v", err)
		}
		rule.Methods = ms
		i++
	}
	if i >= len(fields) {
		return nil, fail("a rule needs a path pattern after its methods (such as /orders/)")
	}
	pat := fields[i]
	slash := strings.IndexByte(pat, '/')
	if slash < 0 {
		return nil, fail("%q is not a path pattern: it must contain a path starting with /", pat)
	}
	rule.Pattern = strings.ToLower(pat[:slash]) + pat[slash:]
	i++
	if i >= len(fields) {
		return nil, fail("rule %s has no requirement (such as authenticated, or allow_any)", pat)
	}
	perm, err := parseRequirements(fields[i:])
	if err != nil {
		return nil, fail("%v", err)
	}
	rule.Requirement = strings.Join(fields[i:], " ")
	rule.Permission = perm
	return rule, nil
}

func parseMethods(s string) ([]string, error) {
	var out []string
	for _, m := range strings.Split(s, ",") {
		switch {
		case m == "":
			return nil, fmt.Errorf("empty method in %q", s)
		case !validToken(m) || strings.ToUpper(m) != m:
			return nil, fmt.Errorf("%q is neither a method list in upper case (GET,POST) nor a path pattern (/orders/)", s)
		}
		for _, seen := range out {
			if seen == m {
				return nil, fmt.Errorf("method %s listed twice", m)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// parseRequirements reads the requirements after a rule's pattern.
func parseRequirements(fields []string) (guard.Permission, error) {
	var alts []guard.Permission
	var all []guard.Permission
	end := func() error {
		if len(all) == 0 {
			return errors.New(`"|" needs a requirement on each side`)
		}
		if len(all) == 1 {
			alts = append(alts, all[0])
		} else {
			alts = append(alts, guard.And(all...))
		}
		all = nil
		return nil
	}
	for _, f := range fields {
		// "|" may stand alone or stick to its neighbours ("staff|authenticated").
		parts := splitKeep(f, '|')
		for _, part := range parts {
			if part == "|" {
				if err := end(); err != nil {
					return nil, err
				}
				continue
			}
			perm, err := requirement(part)
			if err != nil {
				return nil, err
			}
			all = append(all, perm)
		}
	}
	if err := end(); err != nil {
		return nil, err
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return guard.Or(alts...), nil
}

// splitKeep splits s around sep, keeping each sep as a part of its own.
func splitKeep(s string, sep byte) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, sep)
		switch {
		case i < 0:
			out = append(out, s)
			s = ""
		case i == 0:
			out = append(out, s[:1])
			s = s[1:]
		default:
			out = append(out, s[:i])
			s = s[i:]
		}
	}
	return out
}

// requirement reads one requirement word.
func requirement(word string) (guard.Permission, error) {
	name, arg, hasArg := strings.Cut(word, "=")
	list := func() ([]string, error) {
		if !hasArg || arg == "" {
			return nil, fmt.Errorf("%s needs a list: %s=a,b", name, name)
		}
		items := strings.Split(arg, ",")
		for _, it := range items {
			if it == "" {
				return nil, fmt.Errorf("empty item in %s", word)
			}
			if strings.ContainsAny(it, `"\`) {
				return nil, fmt.Errorf("%q: a scope or permission cannot contain a quote or backslash", it)
			}
		}
		return items, nil
	}
	noArg := func(p guard.Permission) (guard.Permission, error) {
		if hasArg {
			return nil, fmt.Errorf("%s takes no value", name)
		}
		return p, nil
	}
	switch name {
	case "allow_any":
		return noArg(guard.AllowAny)
	case "authenticated":
		return noArg(guard.IsAuthenticated)
	case "authenticated_or_read_only":
		return noArg(guard.IsAuthenticatedOrReadOnly)
	case "staff":
		return noArg(guard.IsAdminUser)
	case "scopes":
		s, err := list()
		if err != nil {
			return nil, err
		}
		return guard.TokenHasScope(s...), nil
	case "read_write_scopes":
		if !hasArg {
			return guard.TokenHasReadWriteScope(), nil
		}
		s, err := list()
		if err != nil {
			return nil, err
		}
		return guard.TokenHasReadWriteScope(s...), nil
	case "authenticated_or_scopes":
		s, err := list()
		if err != nil {
			return nil, err
		}
		return guard.IsAuthenticatedOrTokenHasScope(s...), nil
	case "permission":
		s, err := list()
		if err != nil {
			return nil, err
		}
		for _, perm := range s {
			app, code, ok := strings.Cut(perm, ".")
			if !ok || app == "" || code == "" || strings.Contains(code, ".") {
				return nil, fmt.Errorf("permission %q: want app_label.codename (orders.change_order)", perm)
			}
		}
		return guard.HasPermission(s...), nil
	}
	return nil, fmt.Errorf("unknown requirement %q (want allow_any, authenticated, authenticated_or_read_only, staff, "+
		"scopes=, read_write_scopes, authenticated_or_scopes=, permission=)", word)
}

// ruleHandler marks a pattern's rule in the mux; it never serves.
type ruleHandler struct{ rule *Rule }

func (ruleHandler) ServeHTTP(http.ResponseWriter, *http.Request) {}

// add registers rule's patterns, one per method. ServeMux panics on an
// invalid pattern or on two that conflict (equally specific, overlapping);
// both become errors naming the lines.
func (p *Policy) add(rule *Rule, fail func(string, ...any) error) error {
	patterns := []string{rule.Pattern}
	if rule.Methods != nil {
		patterns = patterns[:0]
		for _, m := range rule.Methods {
			patterns = append(patterns, m+" "+rule.Pattern)
		}
	}
	for _, pat := range patterns {
		if msg := register(p.mux, pat, ruleHandler{rule}); msg != "" {
			if other := p.conflicting(pat); other != nil {
				return fail("rule %s conflicts with the rule at line %d (%s): neither is more specific", pat, other.Line,
					other.Pattern)
			}
			return fail("invalid pattern %s: %s", pat, msg)
		}
	}
	p.rules = append(p.rules, rule)
	return nil
}

// register adds pat to mux, returning ServeMux's panic as text.
func register(mux *http.ServeMux, pat string, h http.Handler) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
			if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "parsing") {
				msg = msg[i+2:]
			}
		}
	}()
	mux.Handle(pat, h)
	return ""
}

// conflicting finds the earlier rule pat conflicts with, trying each of
// its patterns with pat alone in a new mux.
func (p *Policy) conflicting(pat string) *Rule {
	if register(http.NewServeMux(), pat, ruleHandler{}) != "" {
		return nil // pat itself is invalid
	}
	for _, r := range p.rules {
		ps := []string{r.Pattern}
		if r.Methods != nil {
			ps = ps[:0]
			for _, m := range r.Methods {
				ps = append(ps, m+" "+r.Pattern)
			}
		}
		for _, q := range ps {
			mux := http.NewServeMux()
			register(mux, q, ruleHandler{})
			if register(mux, pat, ruleHandler{}) != "" {
				return r
			}
		}
	}
	return nil
}

// Refusal says why a request was denied before any rule applied.
type Refusal string

// The reasons Match denies a request without a rule.
const (
	RefuseNotCanonical Refusal = "path_not_canonical" // dot segments, "//", an encoded slash or backslash, NUL...
	RefuseNoRule       Refusal = "no_rule"            // no rule matches: the default is to deny
)

// Match returns the rule that applies to a request of method to host
// (without or with a port) and uri (the request target as the client
// sent it: a path, percent-encoded, and a query that is ignored). A
// request whose path is not canonical, or that no rule matches, gets no
// rule and the reason.
func (p *Policy) Match(method, host, uri string) (*Rule, Refusal) {
	path, ok := canonicalPath(uri)
	if !ok {
		return nil, RefuseNotCanonical
	}
	m, _ := p.reqs.Get().(*matchRequest)
	if m == nil {
		m = new(matchRequest)
	}
	m.u = url.URL{Path: path}
	m.r = http.Request{Method: method, Host: canonicalHost(host), URL: &m.u}
	h, _ := p.mux.Handler(&m.r)
	m.r, m.u = http.Request{}, url.URL{}
	p.reqs.Put(m)
	// A redirect (the trailing slash ServeMux adds, or a cleaned path) or a
	// 405 is another handler: only a rule's own pattern counts.
	rh, ok := h.(ruleHandler)
	if !ok {
		return nil, RefuseNoRule
	}
	return rh.rule, ""
}

// canonicalHost is host as the rules name it: in lower case, without the
// trailing dot of a fully qualified name (admin.example.com. is the host
// admin.example.com, which nginx's $host and the upstreams treat alike;
// found by a proxy pass: the host's rules were skipped for it).
func canonicalHost(host string) string {
	h := lowerASCII(host)
	name, port := h, ""
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		name, port = h[:i], h[i:]
	}
	if strings.HasSuffix(name, ".") && len(name) > 1 {
		return name[:len(name)-1] + port
	}
	return h
}

// lowerASCII is strings.ToLower for a host name, without allocating when
// it is in lower case already.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// canonicalPath returns the decoded path of the request target uri, and
// false for one a server could read as another path than the rules do:
// not starting with "/", "//", "." or ".." segments (also encoded, or
// before a ";" parameter as some servers read "..;"), an encoded "/" or
// "\", a raw "\", NUL or a control character, a space or "#", or a bad
// percent escape.
func canonicalPath(uri string) (string, bool) {
	raw := uri
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[:i]
	}
	if !strings.HasPrefix(raw, "/") || strings.Contains(raw, "//") {
		return "", false
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c <= ' ' || c == 0x7f || c == '\\' || c == '#' {
			return "", false
		}
		if c == '%' && i+2 < len(raw) {
			switch strings.ToLower(raw[i+1 : i+3]) {
			case "2f", "5c", "00":
				return "", false
			}
		}
	}
	path, err := url.PathUnescape(raw)
	if err != nil {
		return "", false
	}
	for seg := range strings.SplitSeq(path, "/") {
		if before, _, _ := strings.Cut(seg, ";"); before == "." || before == ".." {
			return "", false
		}
	}
	for i := 0; i < len(path); i++ {
		if c := path[i]; c < ' ' || c == 0x7f {
			return "", false
		}
	}
	return path, true
}

// validToken reports whether s is an RFC 9110 token (a method or a header
// name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
