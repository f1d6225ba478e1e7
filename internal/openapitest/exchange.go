package openapitest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Recorder collects the failures of the exchanges checked for one test,
// for the test to report once its server has stopped.
type Recorder struct {
	mu   sync.Mutex
	errs []string
}

func (r *Recorder) add(req *http.Request, status int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf("%s %s -> %d: %v", req.Method, req.URL.RequestURI(), status, err))
}

// Errors returns the failures recorded since the last call.
func (r *Recorder) Errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.errs
	r.errs = nil
	return out
}

// Wrap returns h checking each exchange it serves against v, recording
// failures in rec. The check runs after the response is sent: report
// rec's errors once the server has stopped (httptest.Server.Close waits
// for its handlers).
func (v *Validator) Wrap(h http.Handler, rec *Recorder) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
		sent := r.Clone(r.Context())
		tw := &teeWriter{ResponseWriter: w}
		h.ServeHTTP(tw, r)
		if r.Context().Err() != nil {
			// The client went away: nobody reads this answer (the log's 499).
			Stats.abandoned.Add(1)
			return
		}
		res := tw.response()
		if err := v.Check(sent, body, res); err != nil {
			rec.add(sent, res.Status, err)
		}
	})
}

// teeWriter passes the response on and keeps a copy.
type teeWriter struct {
	http.ResponseWriter
	status int
	header http.Header // as sent
	body   bytes.Buffer
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

func (w *teeWriter) response() Response {
	res := Response{Status: w.status, Header: w.header, Body: w.body.Bytes()}
	if res.Status == 0 {
		res.Status = http.StatusOK // nothing written: net/http sends 200
	}
	if res.Header == nil {
		res.Header = w.ResponseWriter.Header()
	}
	return res
}

// Transport checks the exchanges its Base makes with the servers
// registered with it: each registered server's document is fetched from
// its /api/schema/ once. Exchanges with other hosts pass unchecked.
type Transport struct {
	Base  http.RoundTripper
	mu    sync.Mutex
	hosts map[string]*server
}

type server struct {
	base    string // scheme://host[/prefix]
	rec     *Recorder
	once    sync.Once
	v       *Validator
	loadErr error
}

// Register checks the exchanges with the server at base (scheme, host
// and mount prefix, as a client reaches it) from now on, recording
// failures in rec.
func (t *Transport) Register(base string, rec *Recorder) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.hosts == nil {
		t.hosts = map[string]*server{}
	}
	u, err := url.Parse(base)
	if err != nil {
		return
	}
	t.hosts[u.Host] = &server{base: strings.TrimSuffix(base, "/"), rec: rec}
}

// Unregister stops checking the server at base.
func (t *Transport) Unregister(base string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if u, err := url.Parse(base); err == nil {
		delete(t.hosts, u.Host)
	}
}

func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	s := t.hosts[req.URL.Host]
	t.mu.Unlock()
	if s == nil {
		return t.Base.RoundTrip(req)
	}
	s.once.Do(func() { s.v, s.loadErr = t.load(s.base) })
	if s.v == nil {
		if s.loadErr != nil {
			s.rec.add(req, 0, s.loadErr)
		}
		Stats.unvalidated.Add(1)
		return t.Base.RoundTrip(req)
	}
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		sent := req.Clone(req.Context())
		sent.Body = io.NopCloser(bytes.NewReader(body))
		req = sent
	}
	res, err := t.Base.RoundTrip(req)
	if err != nil {
		return res, err
	}
	rb, err := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(rb))
	if err != nil {
		return res, nil // the caller meets the short body
	}
	seen := req.Clone(req.Context())
	seen.URL.Path = strings.TrimPrefix(seen.URL.Path, s.v.prefix)
	seen.URL.RawPath = ""
	if err := s.v.Check(seen, body, Response{Status: res.StatusCode, Header: res.Header, Body: rb}); err != nil {
		s.rec.add(req, res.StatusCode, err)
	}
	return res, nil
}

// load fetches and compiles the document the server at base serves.
func (t *Transport) load(base string) (*Validator, error) {
	req, err := http.NewRequest(http.MethodGet, base+"/api/schema/?format=json", nil)
	if err != nil {
		return nil, err
	}
	res, err := t.Base.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the OpenAPI document: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the OpenAPI document: %d %v", res.StatusCode, err)
	}
	return Compile(raw)
}
