package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/gatehouse-auth/gatehouse/server"
)

// Every exchange of every test server (harness_test.go's buildOn) is
// checked against the OpenAPI document that server serves, with
// kin-openapi's openapi3filter: the request against its operation, the
// response's status, headers and body against the operation's responses.
// An undocumented path, method or status fails the test that made the
// request. The one relaxation: a request the document calls invalid
// (tests send malformed ones on purpose) must be refused with a
// documented 4xx; it is not an error itself.
//
// Answers outside the operations are checked against what the document
// says of them: a path without its slash is redirected to the documented
// path with it; an unknown path is Django's 404 page; a method a path
// item does not list gets a response its x-gatehouse-other-methods names;
// any request may get the responses of the root x-gatehouse-any-request
// (a refused Host, an overload).

func init() {
	for _, ct := range []string{"text/html", "text/css", "application/vnd.oai.openapi", "application/openmetrics-text"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
	}
	openapi3filter.RegisterBodyDecoder("application/yaml", openapi3filter.PlainBodyDecoder)
}

// compiledDoc is a served document ready to validate against.
type compiledDoc struct {
	doc    *openapi3.T
	router routers.Router
	// prefixes are the path items serving every path below theirs.
	prefixes []string
}

var (
	compiledMu sync.Mutex
	compiled   = map[[32]byte]*compiledDoc{}
)

// validationStats count what the validation saw in this test binary.
var validationStats struct {
	exchanges, operations, relaxed, redirects, notFound, otherMethods, anyRequest atomic.Int64
	mu                                                                            sync.Mutex
	relaxedBy                                                                     map[string]int
}

// compile parses and validates the document srv serves, once per distinct
// document.
func compile(t testing.TB, srv *server.Server) *compiledDoc {
	t.Helper()
	raw := server.OpenAPIJSON(srv)
	key := sha256.Sum256(raw)
	compiledMu.Lock()
	defer compiledMu.Unlock()
	if c := compiled[key]; c != nil {
		return c
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("the served OpenAPI document does not load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the served OpenAPI document is invalid: %v", err)
	}
	// Requests reach the handler at its own paths (a mount prefix is
	// stripped before it): match paths alone.
	doc.Servers = openapi3.Servers{{URL: "/"}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	c := &compiledDoc{doc: doc, router: router}
	for p, item := range doc.Paths.Map() {
		if item.Extensions["x-gatehouse-prefix"] == true {
			c.prefixes = append(c.prefixes, p)
		}
	}
	compiled[key] = c
	return c
}

// validating wraps h, srv's handler, so that each exchange is checked;
// failures are reported on t when the server is closed (report).
type validating struct {
	h      http.Handler
	doc    *compiledDoc
	mu     sync.Mutex
	errors []string
}

func newValidating(t testing.TB, srv *server.Server, h http.Handler) *validating {
	return &validating{h: h, doc: compile(t, srv)}
}

// report fails t with every exchange that did not match the document.
func (v *validating) report(t testing.TB) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, e := range v.errors {
		t.Errorf("OpenAPI: %s", e)
	}
	v.errors = nil
}

func (v *validating) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &teeWriter{ResponseWriter: w}
	sent := r.Clone(r.Context())
	v.h.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	sent.Body = io.NopCloser(bytes.NewReader(body))
	if err := v.check(sent, body, rec); err != nil {
		v.mu.Lock()
		v.errors = append(v.errors, fmt.Sprintf("%s %s -> %d: %v", r.Method, r.URL.RequestURI(), rec.status, err))
		v.mu.Unlock()
	}
}

// teeWriter passes the response on and keeps a copy.
type teeWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
	header http.Header // as sent
}

func (w *teeWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		w.header = w.ResponseWriter.Header().Clone()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *teeWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *teeWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

var (
	optionsRequest  = &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}
	optionsResponse = &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	optionsHead     = &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: true, MultiError: true}
)

// check validates one exchange.
func (v *validating) check(r *http.Request, body []byte, res *teeWriter) error {
	validationStats.exchanges.Add(1)
	c := v.doc
	header := res.header
	if header == nil {
		header = res.ResponseWriter.Header()
	}
	find := r
	if r.Method == http.MethodHead {
		find = r.Clone(r.Context())
		find.Method = http.MethodGet
	}
	route, params, err := c.router.FindRoute(find)
	if err == routers.ErrPathNotFound {
		for _, p := range c.prefixes {
			if strings.HasPrefix(r.URL.Path, p) {
				item := c.doc.Paths.Value(p)
				route, params, err = &routers.Route{Spec: c.doc, Path: p, PathItem: item, Method: find.Method, Operation: item.GetOperation(find.Method)}, nil, nil
				if route.Operation == nil {
					err = routers.ErrMethodNotAllowed
				}
				break
			}
		}
	}
	switch {
	case err == routers.ErrPathNotFound:
		return v.unlisted(r, res, header)
	case err == routers.ErrMethodNotAllowed:
		path := templatePath(c, r.URL.Path)
		item := c.doc.Paths.Find(path)
		if item == nil {
			return fmt.Errorf("path %s: no path item", path)
		}
		validationStats.otherMethods.Add(1)
		return v.againstNamed(r, res, header, item.Extensions["x-gatehouse-other-methods"], "a method the path item does not list")
	case err != nil:
		return err
	}
	validationStats.operations.Add(1)
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: optionsRequest}
	reqErr := openapi3filter.ValidateRequest(r.Context(), in)
	if route.Operation.Responses.Status(res.status) == nil && route.Operation.Responses.Default() == nil {
		if named, ok := c.doc.Extensions["x-gatehouse-any-request"].(map[string]any); ok && named[strconv.Itoa(res.status)] != nil {
			validationStats.anyRequest.Add(1)
			return v.againstNamed(r, res, header, named, "any request")
		}
	}
	opts := optionsResponse
	if r.Method == http.MethodHead {
		opts = optionsHead
	}
	in.Options = opts
	resErr := openapi3filter.ValidateResponse(r.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: res.status, Header: header, Body: io.NopCloser(bytes.NewReader(res.body.Bytes())), Options: opts})
	if resErr != nil {
		return fmt.Errorf("the response does not match %s %s: %v; body %.300s", route.Method, route.Path, resErr, res.body.Bytes())
	}
	if reqErr != nil {
		if res.status < 400 || res.status >= 500 {
			return fmt.Errorf("the document calls the request invalid (%v) but the server answered %d", reqErr, res.status)
		}
		validationStats.relaxed.Add(1)
		validationStats.mu.Lock()
		if validationStats.relaxedBy == nil {
			validationStats.relaxedBy = map[string]int{}
		}
		validationStats.relaxedBy[route.Method+" "+route.Path+" "+strconv.Itoa(res.status)]++
		validationStats.mu.Unlock()
	}
	return nil
}

// templatePath is the document's path matching p (any method).
func templatePath(c *compiledDoc, p string) string {
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		probe := &http.Request{Method: m, URL: &url.URL{Path: p}, Host: "localhost"}
		if route, _, err := c.router.FindRoute(probe); err == nil {
			return route.Path
		}
	}
	for _, pre := range c.prefixes {
		if strings.HasPrefix(p, pre) {
			return pre
		}
	}
	return p
}

// listed reports whether the document serves p with some method.
func listed(c *compiledDoc, p string) bool {
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		probe := &http.Request{Method: m, URL: &url.URL{Path: p}, Host: "localhost"}
		if _, _, err := c.router.FindRoute(probe); err == nil || err == routers.ErrMethodNotAllowed {
			return true
		}
	}
	return false
}

// unlisted checks the answer to a path the document does not list: a
// redirect to the documented path with its slash, or Django's 404 page,
// or a response any request may get.
func (v *validating) unlisted(r *http.Request, res *teeWriter, header http.Header) error {
	c := v.doc
	if p := r.URL.Path; !strings.HasSuffix(p, "/") && listed(c, p+"/") {
		if res.status == http.StatusMovedPermanently || res.status == http.StatusPermanentRedirect {
			loc := header.Get("Location")
			if u, err := url.Parse(loc); err != nil || !strings.HasSuffix(u.Path, r.URL.Path+"/") || u.RawQuery != r.URL.RawQuery {
				return fmt.Errorf("a redirect to %q, want the path with its slash and the query", loc)
			}
			validationStats.redirects.Add(1)
			return nil
		}
	}
	if named, ok := c.doc.Extensions["x-gatehouse-any-request"].(map[string]any); ok && named[strconv.Itoa(res.status)] != nil {
		validationStats.anyRequest.Add(1)
		return v.againstNamed(r, res, header, named, "any request")
	}
	if res.status == http.StatusNotFound && strings.HasPrefix(header.Get("Content-Type"), "text/html") &&
		bytes.Contains(res.body.Bytes(), []byte("<title>Not Found</title>")) {
		validationStats.notFound.Add(1)
		return nil
	}
	if res.status == http.StatusMovedPermanently || res.status == http.StatusPermanentRedirect {
		return fmt.Errorf("redirected to %q, which the document does not list", header.Get("Location"))
	}
	return fmt.Errorf("path %s is not in the document", r.URL.Path)
}

// againstNamed validates the response against the component response
// named for its status in ext (a map of status to a name in
// components.responses).
func (v *validating) againstNamed(r *http.Request, res *teeWriter, header http.Header, ext any, what string) error {
	named, _ := ext.(map[string]any)
	name, _ := named[strconv.Itoa(res.status)].(string)
	if name == "" {
		return fmt.Errorf("status %d is not documented for %s (documented: %v)", res.status, what, keysOf(named))
	}
	ref := v.doc.doc.Components.Responses[name]
	if ref == nil {
		return fmt.Errorf("components.responses has no %s", name)
	}
	op := &openapi3.Operation{Responses: openapi3.NewResponses(openapi3.WithStatus(res.status, ref))}
	in := &openapi3filter.RequestValidationInput{Request: r, Route: &routers.Route{Spec: v.doc.doc, Method: r.Method, Operation: op}}
	opts := optionsResponse
	if r.Method == http.MethodHead {
		opts = optionsHead
	}
	err := openapi3filter.ValidateResponse(r.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: res.status, Header: header, Body: io.NopCloser(bytes.NewReader(res.body.Bytes())), Options: opts})
	if err != nil {
		return fmt.Errorf("the response does not match %s (%s): %v; body %.300s", name, what, err, res.body.Bytes())
	}
	return nil
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestMain prints what the validation covered.
func TestMain(m *testing.M) {
	code := m.Run()
	s := &validationStats
	if n := s.exchanges.Load(); n > 0 {
		fmt.Fprintf(os.Stderr, "openapi: %d exchanges validated: %d against their operation (%d requests the document calls invalid, refused 4xx), %d slash redirects, %d unknown paths (404), %d other methods, %d any-request answers\n",
			n, s.operations.Load(), s.relaxed.Load(), s.redirects.Load(), s.notFound.Load(), s.otherMethods.Load(), s.anyRequest.Load())
		if os.Getenv("GATEHOUSE_OPENAPI_STATS") != "" {
			var keys []string
			for k := range s.relaxedBy {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(os.Stderr, "openapi: relaxed %5d  %s\n", s.relaxedBy[k], k)
			}
		}
	}
	os.Exit(code)
}
