package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// kind is what a credential is, as a client holds it.
type kind int

const (
	drfLogin     kind = iota // the user's DRF key, from POST /api-token-auth/
	drfDevice                // a per-device DRF key, from POST /api/tokens/
	jwtAccess                // simplejwt access token, from obtain or refresh
	jwtRefresh               // simplejwt refresh token, from obtain
	oauthAccess              // OAuth access token of a user (password or refresh_token grant)
	oauthRefresh             // OAuth refresh token (password or refresh_token grant)
	oauthClient              // OAuth access token of the client_credentials grant
	nKinds
)

var kindNames = [nKinds]string{"DRF key (login)", "DRF key (device)", "simplejwt access", "simplejwt refresh",
	"OAuth access", "OAuth refresh", "OAuth client_credentials"}

// cred is one credential whose issuing answer was read in full.
type cred struct {
	kind   kind
	value  string
	user   string    // whom /api/me/ must name ("" for client_credentials)
	issued time.Time // when its answer was read
	// replaced: a rotation that replaced it answered, so it must be
	// refused. uncertain: a rotation of it went unanswered at a kill, so
	// whether it still works is unknown.
	replaced, uncertain bool
}

// ledger holds the recorded credentials. The rotation flags of a cred are
// written only by the worker that holds it, and read after the load.
type ledger struct {
	mu      sync.Mutex
	creds   []*cred
	drfKeys map[string]bool // DRF logins answer one key per user, again and again
	answers [nKinds]int     // issuing answers read, repeated DRF keys included
}

func (l *ledger) record(k kind, value, user string) *cred {
	c := &cred{kind: k, value: value, user: user, issued: time.Now()}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.answers[k]++
	if k == drfLogin {
		if l.drfKeys[value] {
			return c
		}
		l.drfKeys[value] = true
	}
	l.creds = append(l.creds, c)
	return c
}

// outages are the spans from each kill to the restarted server's first
// ready answer. A request that overlaps one may go unanswered.
type outages struct {
	mu    sync.Mutex
	spans []span
}

type span struct{ kill, ready time.Time } // ready is zero while the server is down

func (o *outages) begin(t time.Time) {
	o.mu.Lock()
	o.spans = append(o.spans, span{kill: t})
	o.mu.Unlock()
}

func (o *outages) end(t time.Time) {
	o.mu.Lock()
	o.spans[len(o.spans)-1].ready = t
	o.mu.Unlock()
}

// covers reports whether a request from start to end overlapped an
// outage.
func (o *outages) covers(start, end time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range o.spans {
		if !end.Before(s.kill) && (s.ready.IsZero() || !start.After(s.ready)) {
			return true
		}
	}
	return false
}

func (o *outages) list() []span {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]span(nil), o.spans...)
}

// problems collects failures: every one counts, the first few are kept
// for the report.
type problems struct {
	mu    sync.Mutex
	n     int
	first []string
}

const keptProblems = 20

func (p *problems) add(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if len(p.first) < keptProblems {
		p.first = append(p.first, fmt.Sprintf(format, args...))
	}
}

func (p *problems) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// client talks HTTP to whichever life of the server is up.
type client struct {
	base string
	tr   *http.Transport
	hc   *http.Client
	sent atomic.Int64

	mu      sync.Mutex
	longest time.Duration // of a request answered in full
}

// slowest returns the longest wait for a complete answer so far and,
// with reset, starts counting anew.
func (c *client) slowest(reset bool) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.longest
	if reset {
		c.longest = 0
	}
	return d
}

func newClient(addr string, conns int) *client {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: 30 * time.Second}
	// The timeout turns a stalled server into a failure instead of a
	// hang. It is longer than SQLite's busy timeout in gatehouse (10 s),
	// so that a request stuck on a lock is reported with the server's own
	// answer.
	return &client{base: "http://" + addr, tr: tr, hc: &http.Client{Transport: tr, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// answer is what one request got: a status and a body read in full, or
// err when there was no complete answer.
type answer struct {
	status     int
	retryAfter string // the Retry-After header
	body       []byte
	err        error
	start, end time.Time
}

// do sends a request; form, when not nil, is the urlencoded POST body.
func (c *client) do(method, path, auth string, form url.Values) answer {
	a := answer{start: time.Now()}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		a.err, a.end = err, time.Now()
		return a
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	c.sent.Add(1)
	res, err := c.hc.Do(req)
	if err == nil {
		a.status, a.retryAfter = res.StatusCode, res.Header.Get("Retry-After")
		a.body, err = io.ReadAll(res.Body)
		res.Body.Close()
	}
	a.err, a.end = err, time.Now()
	if err == nil {
		c.mu.Lock()
		c.longest = max(c.longest, a.end.Sub(a.start))
		c.mu.Unlock()
	}
	return a
}

// basic is the HTTP Basic header of an OAuth client, encoded as DOT
// decodes it (each part URL-encoded first).
func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

type user struct{ name, password string }

// load is the issuing side of a run: the workers and what they recorded.
type load struct {
	c        *client
	users    []user
	web, svc string // Basic headers of the password+code client and the client_credentials client
	led      *ledger
	down     *outages
	cuts     *outages // the database sessions' ends (PostgreSQL, -cuts): kill is when, ready a second after
	errs     *problems
	// Requests without an answer at a kill: sent, so their effect is
	// unknown, or refused a connection, so certainly without effect.
	inFlight, refusedConn atomic.Int64
	// Answers 503 with Retry-After to a request that overlapped the end of
	// the database sessions: its statement was cut off.
	unavailable atomic.Int64
}

// worker is one client's state: its user, its DRF key, its simplejwt
// refresh token and the OAuth pair it rotates.
type worker struct {
	id                  int
	u                   user
	drfKey, jwtRefresh  string
	chainAcc, chainRefr *cred
	devices             int
}

// run issues credentials until ctx ends, cycling through every kind so
// that each kind is being written at every kill. The refresh grant comes
// twice a cycle so that chains grow several rotations long.
func (l *load) run(ctx context.Context, id int) {
	w := &worker{id: id, u: l.users[id%len(l.users)]}
	ops := []func(*worker) bool{l.drfLogin, l.device, l.jwtObtain, l.jwtRefreshOp, l.oauthPassword,
		l.oauthRefreshOp, l.clientCredentials, l.oauthRefreshOp}
	for i := id; ctx.Err() == nil; i++ {
		if !ops[i%len(ops)](w) {
			// The server is down (or failed): do not spin on refused
			// connections while it restarts.
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// issue sends an issuing request and returns its JSON body when the
// answer has status want. An unanswered request overlapping a kill is
// expected and counted; anything else is a failure. unsent reports a
// request that never reached a server (its connection was refused), so
// it changed nothing.
func (l *load) issue(what, path, auth string, form url.Values, want int) (m map[string]any, ok, unsent bool) {
	a := l.c.do("POST", path, auth, form)
	if a.err != nil {
		var op *net.OpError
		unsent = errors.As(a.err, &op) && op.Op == "dial"
		switch {
		case !l.down.covers(a.start, a.end):
			l.errs.add("%s: no answer, and no kill at the time: %v", what, a.err)
		case unsent:
			l.refusedConn.Add(1)
		default:
			l.inFlight.Add(1)
		}
		return nil, false, unsent
	}
	if a.status == http.StatusServiceUnavailable && a.retryAfter != "" && l.cuts.covers(a.start, a.end) {
		l.unavailable.Add(1)
		return nil, false, false
	}
	if a.status != want {
		l.errs.add("%s: status %d, want %d: %s", what, a.status, want, clip(a.body))
		return nil, false, false
	}
	if err := json.Unmarshal(a.body, &m); err != nil {
		l.errs.add("%s: status %d with a body that is not JSON: %s", what, a.status, clip(a.body))
		return nil, false, false
	}
	return m, true, false
}

// field returns the string member name of an answer, failing the run when
// it is missing.
func (l *load) field(what string, m map[string]any, name string) (string, bool) {
	s, _ := m[name].(string)
	if s == "" {
		l.errs.add("%s: answer without %q: %v", what, name, m)
		return "", false
	}
	return s, true
}

func (l *load) drfLogin(w *worker) bool {
	m, ok, _ := l.issue("POST /api-token-auth/", "/api-token-auth/", "", url.Values{"username": {w.u.name}, "password": {w.u.password}}, 200)
	if !ok {
		return false
	}
	key, ok := l.field("POST /api-token-auth/", m, "token")
	if ok {
		l.led.record(drfLogin, key, w.u.name)
		w.drfKey = key
	}
	return ok
}

func (l *load) device(w *worker) bool {
	if w.drfKey == "" {
		return l.drfLogin(w)
	}
	w.devices++
	form := url.Values{"name": {fmt.Sprintf("killtest w%d d%d", w.id, w.devices)}}
	m, ok, _ := l.issue("POST /api/tokens/", "/api/tokens/", "Token "+w.drfKey, form, 201)
	if !ok {
		return false
	}
	key, ok := l.field("POST /api/tokens/", m, "key")
	if ok {
		l.led.record(drfDevice, key, w.u.name)
	}
	return ok
}

func (l *load) jwtObtain(w *worker) bool {
	m, ok, _ := l.issue("POST /access-token/", "/access-token/", "", url.Values{"username": {w.u.name}, "password": {w.u.password}}, 200)
	if !ok {
		return false
	}
	refresh, ok1 := l.field("POST /access-token/", m, "refresh")
	access, ok2 := l.field("POST /access-token/", m, "access")
	if !ok1 || !ok2 {
		return false
	}
	l.led.record(jwtRefresh, refresh, w.u.name)
	l.led.record(jwtAccess, access, w.u.name)
	w.jwtRefresh = refresh
	return true
}

// jwtRefreshOp refreshes the worker's simplejwt refresh token. Without
// ROTATE_REFRESH_TOKENS (the default) it answers an access token only and
// the refresh token stays valid.
func (l *load) jwtRefreshOp(w *worker) bool {
	if w.jwtRefresh == "" {
		return l.jwtObtain(w)
	}
	m, ok, _ := l.issue("POST /access-token/refresh/", "/access-token/refresh/", "", url.Values{"refresh": {w.jwtRefresh}}, 200)
	if !ok {
		return false
	}
	access, ok := l.field("POST /access-token/refresh/", m, "access")
	if ok {
		l.led.record(jwtAccess, access, w.u.name)
	}
	return ok
}

// oauthPair records the pair of a password or refresh_token grant answer
// and makes it the worker's chain.
func (l *load) oauthPair(w *worker, what string, m map[string]any) bool {
	access, ok1 := l.field(what, m, "access_token")
	refresh, ok2 := l.field(what, m, "refresh_token")
	if !ok1 || !ok2 {
		w.chainAcc, w.chainRefr = nil, nil
		return false
	}
	w.chainAcc = l.led.record(oauthAccess, access, w.u.name)
	w.chainRefr = l.led.record(oauthRefresh, refresh, w.u.name)
	return true
}

func (l *load) oauthPassword(w *worker) bool {
	const what = "POST /o/token/ grant_type=password"
	m, ok, _ := l.issue(what, "/o/token/", l.web, url.Values{"grant_type": {"password"}, "username": {w.u.name}, "password": {w.u.password}}, 200)
	if !ok {
		return false
	}
	return l.oauthPair(w, what, m)
}

// oauthRefreshOp rotates the worker's OAuth chain. An answered rotation
// replaces the old pair (DOT deletes the old access token and revokes the
// old refresh token); an unanswered one leaves both in an unknown state,
// and the worker starts a new chain rather than risk a replay.
func (l *load) oauthRefreshOp(w *worker) bool {
	if w.chainRefr == nil {
		return l.oauthPassword(w)
	}
	const what = "POST /o/token/ grant_type=refresh_token"
	oldAcc, oldRefr := w.chainAcc, w.chainRefr
	m, ok, unsent := l.issue(what, "/o/token/", l.web, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {oldRefr.value}}, 200)
	if unsent {
		return false // nothing reached a server: the chain is as it was, a later turn rotates it
	}
	if !ok {
		oldAcc.uncertain, oldRefr.uncertain = true, true
		w.chainAcc, w.chainRefr = nil, nil
		return false
	}
	oldAcc.replaced, oldRefr.replaced = true, true
	return l.oauthPair(w, what, m)
}

func (l *load) clientCredentials(w *worker) bool {
	const what = "POST /o/token/ grant_type=client_credentials"
	m, ok, _ := l.issue(what, "/o/token/", l.svc, url.Values{"grant_type": {"client_credentials"}}, 200)
	if !ok {
		return false
	}
	access, ok := l.field(what, m, "access_token")
	if ok {
		l.led.record(oauthClient, access, "")
	}
	return ok
}

// clip shortens a body for a report.
func clip(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
