package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"time"
)

// verdict is what the server made of a credential.
type verdict int

const (
	accepted verdict = iota
	refused
	broken // no answer, a 5xx, or an answer no client expects
)

// verifyAll checks every recorded credential against a freshly started
// server. The load's last server is stopped gracefully first: a new
// process has empty caches, so every credential is looked up in the
// database that survived the kills.
//
// The checks run in three phases because some consume what others read:
// access checks first (refreshing an OAuth token deletes its access
// token), then one refresh of every live refresh token, then the replays
// of rotated OAuth refresh tokens (a replay revokes its whole family).
func verifyAll(ctx context.Context, o options, srv *server, l *load, r *result) {
	if err := srv.stop(20 * time.Second); err != nil {
		r.errs.add("graceful shutdown after the load: %v", err)
	}
	if err := srv.start(); err != nil {
		r.errs.add("start for verification: %v", err)
		return
	}
	if err := srv.waitReady(ctx, l.c.hc, o.readyTimeout); err != nil {
		r.errs.add("start for verification: %v\n%s", err, indent(srv.logTail(srv.lives, 20)))
		return
	}
	l.c.tr.CloseIdleConnections()

	spans := l.down.list()
	var access, refreshes, replays []*cred
	for _, c := range l.led.creds {
		t := &r.tallies[c.kind]
		t.issued++
		for _, s := range spans {
			if d := s.kill.Sub(c.issued); d >= 0 && d <= time.Second {
				t.nearKill++
				break
			}
		}
		switch {
		case c.uncertain:
			t.uncertain++
		case c.replaced:
			t.replaced++
			if c.kind == oauthRefresh {
				replays = append(replays, c)
			} else {
				access = append(access, c)
			}
		default:
			t.live++
			if c.kind == jwtRefresh || c.kind == oauthRefresh {
				refreshes = append(refreshes, c)
			} else {
				access = append(access, c)
			}
		}
	}
	v := &verifier{l: l, r: r, spans: spans}
	const conns = 16
	parallel(conns, access, v.check)
	parallel(conns, refreshes, v.check)
	parallel(conns, replays, v.check)
	r.slowestVerify = l.c.slowest(true)
}

// verifier checks credentials and counts the outcomes.
type verifier struct {
	l     *load
	r     *result
	spans []span
	mu    sync.Mutex // guards r.tallies during the checks
}

func (v *verifier) check(c *cred) {
	var got verdict
	var detail string
	switch c.kind {
	case drfLogin, drfDevice:
		got, detail = v.me("Token "+c.value, c.user)
	case jwtAccess, oauthAccess:
		got, detail = v.me("Bearer "+c.value, c.user)
	case oauthClient:
		got, detail = v.introspect(c.value)
	case jwtRefresh:
		got, detail = v.refresh("/access-token/refresh/", "", url.Values{"refresh": {c.value}}, "access", c.user)
	case oauthRefresh:
		got, detail = v.refresh("/o/token/", v.l.web, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {c.value}}, "access_token", c.user)
	}
	count := func(f func(*tally)) {
		v.mu.Lock()
		f(&v.r.tallies[c.kind])
		v.mu.Unlock()
	}
	what := fmt.Sprintf("%s …%s issued %s", kindNames[c.kind], c.value[len(c.value)-8:], v.when(c.issued))
	switch {
	case got == broken:
		count(func(t *tally) { t.failed++ })
		v.r.errs.add("%s: %s", what, detail)
	case c.replaced && got == accepted:
		count(func(t *tally) { t.revived++ })
		v.r.revived.add("REVIVED %s, replaced by a rotation that answered, still works: %s", what, detail)
	case c.replaced:
		count(func(t *tally) { t.refused++ })
	case got == refused:
		count(func(t *tally) { t.lost++ })
		v.r.lost.add("LOST %s: %s", what, detail)
	default:
		count(func(t *tally) { t.ok++ })
	}
}

// me presents a credential to GET /api/me/, which must name its user.
func (v *verifier) me(auth, username string) (verdict, string) {
	a := v.l.c.do("GET", "/api/me/", auth, nil)
	m, got, detail := judge(a, 200, 401, 403)
	if got == accepted && m["username"] != username {
		return broken, fmt.Sprintf("GET /api/me/ names %v, want %s", m["username"], username)
	}
	return got, "GET /api/me/: " + detail
}

// introspect asks the client_credentials client about its own token;
// client tokens carry no user, so /api/me/ would refuse them.
func (v *verifier) introspect(token string) (verdict, string) {
	a := v.l.c.do("POST", "/o/introspect/", v.l.svc, url.Values{"token": {token}})
	m, got, detail := judge(a, 200)
	if got == accepted && m["active"] != true {
		return refused, "POST /o/introspect/: " + detail
	}
	return got, "POST /o/introspect/: " + detail
}

// refresh presents a refresh token once; the access token it answers must
// work in turn. A rotated OAuth refresh token must get invalid_grant.
func (v *verifier) refresh(path, auth string, form url.Values, accessField, username string) (verdict, string) {
	a := v.l.c.do("POST", path, auth, form)
	m, got, detail := judge(a, 200, 400, 401)
	detail = "POST " + path + ": " + detail
	if got == refused && path == "/o/token/" && (a.status != 400 || m["error"] != "invalid_grant") {
		return broken, detail + " (want 400 invalid_grant)"
	}
	if got != accepted {
		return got, detail
	}
	access, _ := m[accessField].(string)
	if access == "" {
		return broken, detail + " (no " + accessField + ")"
	}
	if got, d := v.me("Bearer "+access, username); got != accepted {
		return broken, detail + ", but the access token it answered fails: " + d
	}
	return accepted, detail
}

// judge reads an answer: want is acceptance, the refusals are statuses a
// client gets for a credential the server does not know; anything else is
// broken. The body is decoded when it is JSON.
func judge(a answer, want int, refusals ...int) (map[string]any, verdict, string) {
	if a.err != nil {
		return nil, broken, "no answer: " + a.err.Error()
	}
	detail := fmt.Sprintf("%d %s", a.status, clip(a.body))
	var m map[string]any
	jsonErr := json.Unmarshal(a.body, &m)
	if a.status == want {
		if jsonErr != nil {
			return nil, broken, detail + " (not JSON)"
		}
		return m, accepted, detail
	}
	for _, s := range refusals {
		if a.status == s {
			return m, refused, detail
		}
	}
	return m, broken, detail
}

// when places t relative to the kills, for a report.
func (v *verifier) when(t time.Time) string {
	for i, s := range v.spans {
		if t.Before(s.kill) {
			return fmt.Sprintf("%s before kill %d", s.kill.Sub(t).Round(time.Millisecond), i+1)
		}
	}
	if len(v.spans) == 0 {
		return "without a kill"
	}
	last := v.spans[len(v.spans)-1]
	return fmt.Sprintf("%s after the restart from kill %d", t.Sub(last.ready).Round(time.Millisecond), len(v.spans))
}

// parallel runs fn on every item with n goroutines and returns when all
// are done.
func parallel(n int, items []*cred, fn func(*cred)) {
	ch := make(chan *cred)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range ch {
				fn(c)
			}
		}()
	}
	for _, c := range items {
		ch <- c
	}
	close(ch)
	wg.Wait()
}
