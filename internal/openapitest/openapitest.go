// Package openapitest checks HTTP exchanges against the OpenAPI document a
// gatehouse server serves (server/openapi), with kin-openapi's
// openapi3filter: the request against its operation, the response's
// status, headers and body against the operation's responses. Tests use
// it so that the document cannot drift from the server: server's harness
// wraps every test server's handler (Wrap), cmd/gatehouse's tests check
// what their clients exchange with `gatehouse serve` (Transport).
//
// An undocumented path, method or status is an error. A request the
// document calls invalid (tests send malformed ones on purpose) must be
// refused with a documented 4xx; it is counted, not reported. Answers
// outside the operations are checked against what the document says of
// them: a path without its slash is redirected to the documented path
// with it; an unknown path is Django's 404 page; a method a path item does
// not list gets a response its x-gatehouse-other-methods names; any
// request may get the responses of the root x-gatehouse-any-request (a
// refused Host, an overload). An answer nobody read (the client had gone)
// is not checked.
//
// It is imported by tests only: the gatehouse binary links no part of
// kin-openapi (internal/archtest).
package openapitest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/gatehouse-auth/gatehouse/internal/charset"
	"github.com/gatehouse-auth/gatehouse/internal/querystr"
)

func init() {
	// The document's other media types are text to the validator.
	for _, ct := range []string{"text/html", "text/css", "text/javascript", "image/svg+xml", "application/vnd.oai.openapi", "application/yaml", "application/openmetrics-text"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
	}
}

// Validator checks exchanges against one served document.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
	// prefix is the path of the document's server URL ("" for "/"):
	// requests seen by a client carry it, a handler behind a mount
	// point's StripPrefix does not (Wrap strips nothing).
	prefix string
	// prefixes are the path items serving every path below theirs.
	prefixes []string
}

var (
	compiledMu sync.Mutex
	compiled   = map[[32]byte]*Validator{}
)

// Compile loads and validates a served document (its JSON); documents
// already seen are reused.
func Compile(raw []byte) (*Validator, error) {
	key := sha256.Sum256(raw)
	compiledMu.Lock()
	defer compiledMu.Unlock()
	if v := compiled[key]; v != nil {
		return v, nil
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("the served OpenAPI document does not load: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the served OpenAPI document is invalid: %w", err)
	}
	v := &Validator{doc: doc}
	if len(doc.Servers) > 0 {
		if u, err := url.Parse(doc.Servers[0].URL); err == nil {
			v.prefix = strings.TrimSuffix(u.Path, "/")
		}
	}
	// Match paths alone: the host a test reaches differs from the issuer.
	doc.Servers = openapi3.Servers{{URL: "/"}}
	if v.router, err = gorillamux.NewRouter(doc); err != nil {
		return nil, err
	}
	for p, item := range doc.Paths.Map() {
		if item.Extensions["x-gatehouse-prefix"] == true {
			v.prefixes = append(v.prefixes, p)
		}
	}
	compiled[key] = v
	return v, nil
}

// Response is an answer as it was sent.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

var (
	optionsRequest  = &openapi3filter.Options{AuthenticationFunc: carriesCredential, MultiError: true}
	optionsResponse = &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	optionsHead     = &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: true, MultiError: true}
)

// Check validates one exchange: r was sent with body and answered res. r's
// path is the handler's (without the document's server path).
func (v *Validator) Check(r *http.Request, body []byte, res Response) error {
	Stats.exchanges.Add(1)
	r = r.Clone(r.Context())
	r.Body = nopCloser{bytes.NewReader(djangoForm(r, body))}
	if r.URL.RawQuery != "" {
		u := *r.URL
		u.RawQuery = querystr.Parse(u.RawQuery).Encode()
		r.URL = &u
	}
	find := r
	if r.Method == http.MethodHead {
		find = r.Clone(r.Context())
		find.Method = http.MethodGet
	}
	route, params, err := v.router.FindRoute(find)
	if err == routers.ErrPathNotFound {
		for _, p := range v.prefixes {
			if strings.HasPrefix(r.URL.Path, p) {
				item := v.doc.Paths.Value(p)
				route, params, err = &routers.Route{Spec: v.doc, Path: p, PathItem: item, Method: find.Method, Operation: item.GetOperation(find.Method)}, nil, nil
				if route.Operation == nil {
					err = routers.ErrMethodNotAllowed
				}
				break
			}
		}
	}
	switch {
	case err == routers.ErrPathNotFound:
		return v.unlisted(r, res)
	case err == routers.ErrMethodNotAllowed:
		path := v.templatePath(r.URL.Path)
		item := v.doc.Paths.Find(path)
		if item == nil {
			return fmt.Errorf("path %s: no path item", path)
		}
		Stats.otherMethods.Add(1)
		return v.againstNamed(r, res, item.Extensions["x-gatehouse-other-methods"], "a method the path item does not list")
	case err != nil:
		return err
	}
	Stats.operations.Add(1)
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: optionsRequest}
	reqErr := openapi3filter.ValidateRequest(r.Context(), in)
	if route.Operation.Responses.Status(res.Status) == nil && route.Operation.Responses.Default() == nil {
		if named, ok := v.doc.Extensions["x-gatehouse-any-request"].(map[string]any); ok && named[strconv.Itoa(res.Status)] != nil {
			Stats.anyRequest.Add(1)
			return v.againstNamed(r, res, named, "any request")
		}
	}
	opts := optionsResponse
	if r.Method == http.MethodHead {
		opts = optionsHead
	}
	in.Options = opts
	resErr := openapi3filter.ValidateResponse(r.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: res.Status, Header: res.Header, Body: nopCloser{bytes.NewReader(res.Body)}, Options: opts})
	if resErr != nil {
		// A refused Host or an overload answers before the endpoint, in
		// its own shape, also with a status the operation documents.
		if named, ok := v.doc.Extensions["x-gatehouse-any-request"].(map[string]any); ok && named[strconv.Itoa(res.Status)] != nil &&
			v.againstNamed(r, res, named, "any request") == nil {
			Stats.anyRequest.Add(1)
			return nil
		}
		return fmt.Errorf("the response does not match %s %s: %v; body %.300s", route.Method, route.Path, resErr, res.Body)
	}
	if reqErr != nil {
		if res.Status < 400 || res.Status >= 500 {
			return fmt.Errorf("the document calls the request invalid (%v) but the server answered %d", reqErr, res.Status)
		}
		Stats.relaxed.Add(1)
		Stats.mu.Lock()
		if Stats.relaxedBy == nil {
			Stats.relaxedBy = map[string]int{}
		}
		Stats.relaxedBy[route.Method+" "+route.Path+" "+strconv.Itoa(res.Status)]++
		Stats.mu.Unlock()
	}
	return nil
}

// templatePath is the document's path matching p (any method).
func (v *Validator) templatePath(p string) string {
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		probe := &http.Request{Method: m, URL: &url.URL{Path: p}, Host: "localhost"}
		if route, _, err := v.router.FindRoute(probe); err == nil {
			return route.Path
		}
	}
	for _, pre := range v.prefixes {
		if strings.HasPrefix(p, pre) {
			return pre
		}
	}
	return p
}

// listed reports whether the document serves p with some method.
func (v *Validator) listed(p string) bool {
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		probe := &http.Request{Method: m, URL: &url.URL{Path: p}, Host: "localhost"}
		if _, _, err := v.router.FindRoute(probe); err == nil || err == routers.ErrMethodNotAllowed {
			return true
		}
	}
	return false
}

// unlisted checks the answer to a path the document does not list: a
// redirect to the documented path with its slash, a response any request
// may get, or Django's 404 page.
func (v *Validator) unlisted(r *http.Request, res Response) error {
	if p := r.URL.Path; !strings.HasSuffix(p, "/") && v.listed(p+"/") {
		if res.Status == http.StatusMovedPermanently || res.Status == http.StatusPermanentRedirect {
			loc := res.Header.Get("Location")
			if u, err := url.Parse(loc); err != nil || !strings.HasSuffix(u.Path, r.URL.Path+"/") || u.RawQuery != r.URL.RawQuery {
				return fmt.Errorf("a redirect to %q, want the path with its slash and the query", loc)
			}
			Stats.redirects.Add(1)
			return nil
		}
	}
	if named, ok := v.doc.Extensions["x-gatehouse-any-request"].(map[string]any); ok && named[strconv.Itoa(res.Status)] != nil {
		Stats.anyRequest.Add(1)
		return v.againstNamed(r, res, named, "any request")
	}
	if res.Status == http.StatusNotFound && strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") &&
		bytes.Contains(res.Body, []byte("<title>Not Found</title>")) {
		Stats.notFound.Add(1)
		return nil
	}
	if res.Status == http.StatusMovedPermanently || res.Status == http.StatusPermanentRedirect {
		return fmt.Errorf("redirected to %q, which the document does not list", res.Header.Get("Location"))
	}
	return fmt.Errorf("path %s is not in the document", r.URL.Path)
}

// againstNamed validates the response against the component response
// named for its status in ext (a map of status to a name in
// components.responses).
func (v *Validator) againstNamed(r *http.Request, res Response, ext any, what string) error {
	named, _ := ext.(map[string]any)
	name, _ := named[strconv.Itoa(res.Status)].(string)
	if name == "" {
		var documented []string
		for k := range named {
			documented = append(documented, k)
		}
		sort.Strings(documented)
		return fmt.Errorf("status %d is not documented for %s (documented: %v)", res.Status, what, documented)
	}
	ref := v.doc.Components.Responses[name]
	if ref == nil {
		return fmt.Errorf("components.responses has no %s", name)
	}
	op := &openapi3.Operation{Responses: openapi3.NewResponses(openapi3.WithStatus(res.Status, ref))}
	in := &openapi3filter.RequestValidationInput{Request: r, Route: &routers.Route{Spec: v.doc, Method: r.Method, Operation: op}}
	opts := optionsResponse
	if r.Method == http.MethodHead {
		opts = optionsHead
	}
	err := openapi3filter.ValidateResponse(r.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: res.Status, Header: res.Header, Body: nopCloser{bytes.NewReader(res.Body)}, Options: opts})
	if err != nil {
		return fmt.Errorf("the response does not match %s (%s): %v; body %.300s", name, what, err, res.Body)
	}
	return nil
}

// carriesCredential checks that a request to an operation that needs a
// credential carries one of a scheme the operation lists: whether the
// credential is good is the tests' business, but a 2xx to a request
// carrying none means the document names the wrong security.
func carriesCredential(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	r := in.RequestValidationInput.Request
	keyword := ""
	// Split as DRF splits the header (Python's bytes.split()).
	if f := strings.FieldsFunc(r.Header.Get("Authorization"), func(c rune) bool { return strings.ContainsRune(" \t\n\r\v\f", c) }); len(f) > 0 {
		keyword = f[0]
	}
	ok := false
	switch in.SecuritySchemeName {
	case "drfToken":
		ok = strings.EqualFold(keyword, "Token")
	case "jwt":
		// The keyword and the header are settings (jwt-auth-header-types,
		// jwt-auth-header-name): any value shaped as a JWT will do.
		for _, vs := range r.Header {
			for _, v := range vs {
				if f := strings.Fields(v); len(f) >= 2 && strings.Count(f[1], ".") == 2 {
					ok = true
				}
			}
		}
	case "oauth2":
		ok = strings.EqualFold(keyword, "Bearer") || r.URL.Query().Get("access_token") != "" ||
			r.Method == http.MethodPost && strings.Contains(r.Header.Get("Content-Type"), "form")
	case "session":
		_, err := r.Cookie("sessionid")
		ok = err == nil
	case "clientBasic":
		ok = keyword == "Basic"
	default:
		return fmt.Errorf("unknown security scheme %s", in.SecuritySchemeName)
	}
	if !ok {
		return fmt.Errorf("no %s credential", in.SecuritySchemeName)
	}
	return nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// Stats counts what the validation saw in this test binary.
var Stats stats

type stats struct {
	exchanges, operations, relaxed, redirects, notFound, otherMethods, anyRequest, abandoned, unvalidated atomic.Int64
	mu                                                                                                    sync.Mutex
	relaxedBy                                                                                             map[string]int
}

// Summary says what was checked, "" when nothing was; byOperation adds
// the refused invalid requests by operation and status.
func (s *stats) Summary(byOperation bool) string {
	n := s.exchanges.Load()
	if n == 0 {
		return ""
	}
	out := fmt.Sprintf("openapi: %d exchanges validated: %d against their operation (%d requests the document calls invalid, refused 4xx), "+
		"%d slash redirects, %d unknown paths (404), %d other methods, %d any-request answers; not checked: %d answers nobody read (the client had gone), %d exchanges with servers that serve no document\n",
		n, s.operations.Load(), s.relaxed.Load(), s.redirects.Load(), s.notFound.Load(), s.otherMethods.Load(), s.anyRequest.Load(),
		s.abandoned.Load(), s.unvalidated.Load())
	if byOperation {
		s.mu.Lock()
		var keys []string
		for k := range s.relaxedBy {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out += fmt.Sprintf("openapi: refused invalid %5d  %s\n", s.relaxedBy[k], k)
		}
		s.mu.Unlock()
	}
	return out
}

// djangoForm is an urlencoded body (and Check does the same to the query
// string) as the server reads it, as Django's
// QueryDict (internal/querystr), re-encoded for the validator's parser,
// net/http's, which would drop a pair holding a ';' or a stray '%' and
// call the request invalid; any other body as it is.
func djangoForm(r *http.Request, body []byte) []byte {
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case mt == "application/json" && strings.HasPrefix(strings.ToLower(params["charset"]), "utf-16"):
		if text, ok := charset.FromUTF16(body, strings.ToLower(params["charset"])); ok {
			return text
		}
		return body
	case mt != "application/x-www-form-urlencoded":
		return body
	}
	return []byte(querystr.Parse(string(body)).Encode())
}
