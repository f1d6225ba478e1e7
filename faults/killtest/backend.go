package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// killReport is how one kill went.
type killReport struct {
	at        time.Duration // into the load
	restarted time.Duration // from SIGKILL to the new process started
	ready     time.Duration // from SIGKILL to the first 200 from /readyz
}

// cutReport is how one end of the database sessions went.
type cutReport struct {
	at    time.Duration // into the load
	ended int           // sessions ended
}

// result is everything a backend's run found.
type result struct {
	backend     string
	kills       []killReport
	cutsWanted  int
	cuts        []cutReport
	unavailable int64 // answers 503 with Retry-After during a cut
	answers     [nKinds]int
	tallies     [nKinds]tally
	requests    int64 // sent during the load
	inFlight    int64 // of those, unanswered because in flight at a kill
	refusedConn int64 // or refused a connection while the server was down
	// The longest a request waited for a complete answer.
	slowestLoad, slowestVerify time.Duration
	errs                       problems
	lost                       problems // live credentials refused after the restart
	revived                    problems // replaced credentials still accepted
	logErrors                  []string
	integrity                  string // SQLite's integrity_check; "" on PostgreSQL
}

// tally counts one kind's credentials by what became of them.
type tally struct {
	issued    int // distinct credentials recorded
	nearKill  int // of those, answered within a second before a kill
	live      int // expected to work
	ok        int // and did
	lost      int // were refused
	failed    int // got no answer, a 5xx or an unexpected one
	replaced  int // legitimately replaced by a rotation that answered
	refused   int // and were refused as they must be
	revived   int // but still worked
	uncertain int // a rotation of them went unanswered at a kill
}

// cutsEnded is how many database sessions the cuts ended in all.
func (r *result) cutsEnded() int {
	n := 0
	for _, c := range r.cuts {
		n += c.ended
	}
	return n
}

func (r *result) ok() bool {
	return (r.cutsWanted == 0 || r.cutsEnded() > 0) && r.errs.count() == 0 && r.lost.count() == 0 && r.revived.count() == 0 && len(r.logErrors) == 0 &&
		(r.backend != "sqlite" || r.integrity == "ok")
}

// runBackend runs the whole fault test on one backend. The error is a
// setup failure (nothing to judge gatehouse by); everything after the
// first ready server is judged in the result.
func runBackend(ctx context.Context, o options, backend, bin string, stdout io.Writer) (r *result, err error) {
	dir, err := os.MkdirTemp("", "killtest-"+backend+"-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if o.keep && (err != nil || !r.ok()) {
			fmt.Fprintf(stdout, "%s: kept %s\n", backend, dir)
			return
		}
		os.RemoveAll(dir)
	}()
	db, err := newDatabase(ctx, o, backend, dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := db.cleanup(); cerr != nil {
			fmt.Fprintf(stdout, "%s: dropping the schema: %v\n", backend, cerr)
		}
	}()
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	srv := &server{bin: bin, dir: dir, addr: addr, env: serverEnv(db.url, addr)}
	// Registered after the database's cleanup so that it runs first: the
	// schema is dropped only once no server holds it.
	defer func() {
		if srv.running() {
			srv.kill()
		}
	}()

	l := &load{c: newClient(addr, o.workers+16), led: &ledger{drfKeys: map[string]bool{}}, down: &outages{}, cuts: &outages{}}
	if err := setup(ctx, o, srv, l); err != nil {
		return nil, err
	}
	if err := srv.start(); err != nil {
		return nil, err
	}
	if err := srv.waitReady(ctx, l.c.hc, o.readyTimeout); err != nil {
		return nil, fmt.Errorf("first start: %w\n%s", err, srv.logTail(srv.lives, 20))
	}

	r = &result{backend: backend}
	if db.cut == nil {
		o.cuts = 0
	}
	r.cutsWanted = o.cuts
	l.errs = &r.errs
	if !loadAndKill(ctx, o, srv, l, r, db.cut) {
		return r, nil
	}
	verifyAll(ctx, o, srv, l, r)
	if srv.running() {
		if err := srv.stop(20 * time.Second); err != nil {
			r.errs.add("final shutdown: %v", err)
		}
	}
	r.logErrors = srv.logErrors()
	if backend == "sqlite" {
		if r.integrity, err = integrityCheck(ctx, db.sqlite); err != nil {
			r.integrity = "error: " + err.Error()
		}
	}
	return r, nil
}

var clientLine = regexp.MustCompile(`(?m)^client_(id|secret): (\S+)$`)

// setup creates the users and the two OAuth clients with the CLI, as an
// operator would (which also migrates the fresh database).
func setup(ctx context.Context, o options, srv *server, l *load) error {
	for i := 0; i < o.users; i++ {
		u := user{name: fmt.Sprintf("killtest%d", i), password: fmt.Sprintf("killtest password %d", i)}
		if _, err := srv.command(ctx, []string{"GATEHOUSE_PASSWORD=" + u.password}, "createuser", "--username", u.name); err != nil {
			return err
		}
		l.users = append(l.users, u)
	}
	app := func(args ...string) (string, error) {
		out, err := srv.command(ctx, nil, append([]string{"createapplication"}, args...)...)
		if err != nil {
			return "", err
		}
		got := map[string]string{}
		for _, m := range clientLine.FindAllStringSubmatch(out, -1) {
			got[m[1]] = m[2]
		}
		if got["id"] == "" || got["secret"] == "" {
			return "", fmt.Errorf("createapplication printed no client_id and client_secret: %q", out)
		}
		return basic(got["id"], got["secret"]), nil
	}
	var err error
	if l.web, err = app("--name", "killtest web", "--grant-types", "password,authorization-code",
		"--redirect-uris", "http://127.0.0.1/cb"); err != nil {
		return err
	}
	l.svc, err = app("--name", "killtest service", "--grant-types", "client-credentials")
	return err
}

// loadAndKill runs the workers for the load's duration and kills the
// server o.kills times, evenly spread, restarting it at once; on
// PostgreSQL it also ends every database session of the server o.cuts
// times (cutSessions). It returns false when a restarted server never
// became ready (then there is nothing left to verify against).
func loadAndKill(ctx context.Context, o options, srv *server, l *load, r *result, cut func(context.Context) (int, error)) bool {
	lctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	start := time.Now()
	sent0 := l.c.sent.Load()
	var wg sync.WaitGroup
	for i := 0; i < o.workers; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); l.run(lctx, i) }()
	}
	if o.cuts > 0 {
		wg.Go(func() { cutSessions(lctx, o, start, cut, l, r) })
	}
	alive := true
	for k := 1; k <= o.kills && alive; k++ {
		at := start.Add(o.duration * time.Duration(k) / time.Duration(o.kills+1))
		select {
		case <-time.After(time.Until(at)):
		case <-lctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		killed := time.Now()
		l.down.begin(killed)
		if err := srv.kill(); err != nil {
			r.errs.add("kill %d: %v", k, err)
			alive = false
			break
		}
		// Connections to the dead process are useless; dropping them now
		// keeps a request sent after the restart off a stale one.
		l.c.tr.CloseIdleConnections()
		if err := srv.start(); err != nil {
			r.errs.add("restart %d: %v", k, err)
			alive = false
			break
		}
		restarted := time.Since(killed)
		if err := srv.waitReady(ctx, l.c.hc, o.readyTimeout); err != nil {
			r.errs.add("restart %d: %v\n%s", k, err, indent(srv.logTail(srv.lives, 20)))
			alive = false
		}
		ready := time.Now()
		l.down.end(ready)
		l.c.tr.CloseIdleConnections()
		r.kills = append(r.kills, killReport{at: killed.Sub(start), restarted: restarted, ready: ready.Sub(killed)})
	}
	if !alive {
		cancel()
	}
	wg.Wait()
	r.requests = l.c.sent.Load() - sent0
	r.inFlight, r.refusedConn, r.unavailable = l.inFlight.Load(), l.refusedConn.Load(), l.unavailable.Load()
	r.slowestLoad = l.c.slowest(true)
	l.led.mu.Lock()
	r.answers = l.led.answers
	l.led.mu.Unlock()
	return alive && ctx.Err() == nil
}

// cutSessions ends every database session of the server o.cuts times,
// evenly spread and halfway between the kills' places when there are as
// many: what a database restart, a failover or an operator's
// pg_terminate_backend does to a running server. The statements in
// flight are cut off and the pool's idle connections are ended, so a
// request that overlaps the span from just before the cut to a second
// after may be answered 503 with Retry-After, and nothing else: no 500,
// no credential answered and then lost, no rotation undone.
func cutSessions(ctx context.Context, o options, start time.Time, cut func(context.Context) (int, error), l *load, r *result) {
	for k := 0; k < o.cuts; k++ {
		at := start.Add(o.duration * time.Duration(2*k+1) / time.Duration(2*o.cuts))
		select {
		case <-time.After(time.Until(at)):
		case <-ctx.Done():
			return
		}
		began := time.Now()
		l.cuts.begin(began)
		n, err := cut(ctx)
		l.cuts.end(time.Now().Add(time.Second))
		if err != nil {
			r.errs.add("cut %d: %v", k+1, err)
			continue
		}
		r.cuts = append(r.cuts, cutReport{at: began.Sub(start), ended: n})
	}
}

func (r *result) print(w io.Writer) {
	for i, k := range r.kills {
		fmt.Fprintf(w, "kill %d at %.2fs: new process %s after SIGKILL, ready %s after SIGKILL\n",
			i+1, k.at.Seconds(), k.restarted.Round(time.Millisecond), k.ready.Round(time.Millisecond))
	}
	for i, c := range r.cuts {
		fmt.Fprintf(w, "cut %d at %.2fs: %d database sessions ended\n", i+1, c.at.Seconds(), c.ended)
	}
	if r.cutsWanted > 0 {
		fmt.Fprintf(w, "answered 503 with Retry-After at a cut: %d requests\n", r.unavailable)
		if r.cutsEnded() == 0 {
			fmt.Fprintln(w, "no cut found a session to end: the cuts tested nothing")
		}
	}
	fmt.Fprintf(w, "load: %d requests; unanswered: %d in flight at a kill, %d refused a connection while the server was down\n",
		r.requests, r.inFlight, r.refusedConn)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tanswers\tissued\t≤1s before a kill\tlive\tverified\tlost\tfailed\treplaced\trefused\trevived\tuncertain\t")
	var sum tally
	row := func(name, answers string, t tally) {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", name, answers, t.issued, t.nearKill,
			t.live, t.ok, t.lost, t.failed, t.replaced, t.refused, t.revived, t.uncertain)
	}
	for k := kind(0); k < nKinds; k++ {
		t := r.tallies[k]
		row(kindNames[k], fmt.Sprint(r.answers[k]), t)
		sum.issued += t.issued
		sum.nearKill += t.nearKill
		sum.live += t.live
		sum.ok += t.ok
		sum.lost += t.lost
		sum.failed += t.failed
		sum.replaced += t.replaced
		sum.refused += t.refused
		sum.revived += t.revived
		sum.uncertain += t.uncertain
	}
	row("total", "", sum)
	tw.Flush()
	fmt.Fprintf(w, "slowest answer: %s during the load, %s during verification\n",
		r.slowestLoad.Round(time.Millisecond), r.slowestVerify.Round(time.Millisecond))
	if r.backend == "sqlite" {
		fmt.Fprintf(w, "integrity_check: %s\n", r.integrity)
	}
	fmt.Fprintf(w, "lost: %d, revived: %d, errors: %d, server ERROR log lines: %d\n",
		r.lost.count(), r.revived.count(), r.errs.count(), len(r.logErrors))
	for _, p := range []*problems{&r.lost, &r.revived, &r.errs} {
		for _, s := range p.first {
			fmt.Fprintln(w, "  -", s)
		}
		if p.n > len(p.first) {
			fmt.Fprintf(w, "  - … and %d more\n", p.n-len(p.first))
		}
	}
	for i, s := range r.logErrors {
		if i == keptProblems {
			fmt.Fprintf(w, "  - … and %d more ERROR lines\n", len(r.logErrors)-i)
			break
		}
		fmt.Fprintln(w, "  - log:", s)
	}
}

func indent(s string) string { return "      " + strings.ReplaceAll(s, "\n", "\n      ") }
