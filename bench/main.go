// Command bench measures gatehouse under load against the yardstick server
// (../shared/perf/limit) in the same run and prints a markdown table of
// requests per second, p50, p99, errors and the ratio to the yardstick.
//
//	go run ./bench                       # full run: SQLite, then PostgreSQL
//	go run ./bench -duration 2s -smoke   # a few seconds; fails on any request error
//
// The load generator is closed-loop: a fixed number of connections, each
// sending its next request when the previous answer arrived, after a
// warm-up that is not counted.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

type options struct {
	duration, warmup time.Duration
	conns            int
	backends         string
	pgURL            string
	reference        string
	smoke            bool
	logins           bool           // the three password logins and the hash-bound limits
	django           bool           // the same cases against the Django reference
	resources        bool           // binary size, ready time, RSS
	scale            int            // stored tokens of each kind for the scale cases (0: none)
	cases            *regexp.Regexp // load cases to run (nil: all)
	rounds           int            // rounds of a case measured with its yardstick
	importRows       int            // -import: users and DRF tokens of the import benchmark (0: the load benchmark)
	importRounds     int
	importUUID       bool   // -import-uuid: the users are a custom user model keyed by UUIDs
	budgetsDoc       string // -budgets-doc: the document whose budgets table gets this run's figures
	budgetsRun       string // -budgets-run: the run's name there
}

// want reports whether the load case name is selected by -cases.
func (o options) want(name string) bool { return o.cases == nil || o.cases.MatchString(name) }

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per case")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up per case")
	flag.IntVar(&o.conns, "conns", 16, "concurrent connections")
	flag.StringVar(&o.backends, "backends", "sqlite,postgres", "backends to measure")
	flag.StringVar(&o.pgURL, "postgres", envOr("GATEHOUSE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"), "PostgreSQL URL (a schema is created for the run)")
	flag.StringVar(&o.reference, "reference", "../shared", "the shared/ folder with reference/ and perf/")
	flag.BoolVar(&o.smoke, "smoke", false, "exit non-zero on any request error (for CI); turns -django, -resources and -scale off and measures in 1 round unless -rounds says otherwise")
	flag.IntVar(&o.rounds, "rounds", 0, "rounds of each case measured with its yardstick (0: 5, with -smoke 1)")
	flag.BoolVar(&o.logins, "logins", true, "measure the three password logins against the hash-bound limit")
	flag.BoolVar(&o.django, "django", true, "measure the Django reference too (../shared/reference/start-django.sh)")
	flag.BoolVar(&o.resources, "resources", true, "measure binary size, ready time and RSS")
	flag.IntVar(&o.scale, "scale", 1_000_000, "stored tokens of each kind for the scale cases (0: skip)")
	cases := flag.String("cases", "", "run only the load cases whose name matches this regular expression")
	flag.IntVar(&o.importRows, "import", 0, "measure gatehouse import from a Django database with this many users and as many DRF tokens, instead of the load benchmark")
	flag.IntVar(&o.importRounds, "import-rounds", 3, "imports measured per backend with -import")
	flag.BoolVar(&o.importUUID, "import-uuid", false, "with -import: the users are those of a custom user model (accounts.User) whose primary key is a UUID")
	flag.StringVar(&o.budgetsDoc, "budgets-doc", "", "add this run's figures to the budgets table of this document (docs/performance.md); needs -budgets-run")
	flag.StringVar(&o.budgetsRun, "budgets-run", "", "the run's name in the budgets table (\"run 14\")")
	flag.Parse()
	if *cases != "" {
		re, err := regexp.Compile(*cases)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: -cases:", err)
			os.Exit(2)
		}
		o.cases = re
	}
	if o.smoke {
		o.django, o.resources, o.scale = false, false, 0
	}
	if err := checkBudgetsFlags(o.budgetsDoc, o.budgetsRun); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	switch {
	case o.rounds < 0:
		fmt.Fprintln(os.Stderr, "bench: -rounds: want 1 or more")
		os.Exit(2)
	case o.rounds == 0 && o.smoke:
		o.rounds = 1
	case o.rounds == 0:
		o.rounds = 5
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// result is one measured case.
type result struct {
	server, backend, name string
	rps                   float64
	p50, p99              time.Duration
	errors, total         int
	// answered counts the 200s whenever they came, warm-up and answers
	// after the window included: a smoke run's window (200 ms) can be
	// shorter than one hash-bound login on a loaded machine, so that a
	// case that worked answered nothing inside it.
	answered  int
	yardstick float64 // req/s of the yardstick case it is compared with
	ratio     float64 // median of the per-round ratios to the yardstick (0: rps/yardstick)
	yardName  string
	min       float64 // budget: least ratio to the yardstick (0: none)
	django    string  // the Django case it is compared with
	value     string  // a figure that is not a load case (resources)
	budget    string  // budget verdict, when not the yardstick ratio
	skip      bool    // not selected by -cases: not measured, not reported
	// qmin and qmax are the least and greatest of the rounds' ratios
	// (vsRounds); spread shows them beside the ratio.
	qmin, qmax float64
	spread     bool
}

func run(o options) error {
	work, err := os.MkdirTemp("", "gatehouse-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "gatehouse")
	// Built as it is shipped (the Dockerfile's and make build's flags:
	// no file paths, no symbol table or DWARF) when the size row reports
	// it. Without that row (-resources=false, -smoke) the default flags
	// reuse the packages the tests compiled: -trimpath compiles every
	// package anew, most of CI's smoke step when its cache held only the
	// tests' builds.
	args := []string{"build", "-o", bin}
	if o.resources {
		args = append(args, "-trimpath", "-ldflags", "-s -w")
	}
	if out, err := exec.Command("go", append(args, "./cmd/gatehouse")...).CombinedOutput(); err != nil {
		return fmt.Errorf("build gatehouse: %v\n%s", err, out)
	}
	if o.importRows > 0 {
		return benchImport(o, work, bin, o.importRows, o.importRounds, os.Stdout)
	}
	var results []result
	if o.resources {
		if fi, err := os.Stat(bin); err == nil {
			results = append(results, resource("-", "binary size as shipped (go build -trimpath -ldflags '-s -w' ./cmd/gatehouse)", mb(fi.Size()), budgetMax(float64(fi.Size()), 30<<20, "< 30 MB")))
		}
	}
	var hashes []hashLimit
	if o.logins {
		n := 21
		if o.smoke {
			n = 3
		}
		hashes = []hashLimit{pbkdf2Limit(n), argon2Limit(n)}
		for _, h := range hashes {
			results = append(results, resource("-", fmt.Sprintf("one %s hash (in-process, median of %d)", h.name, n),
				h.perHash.Round(100*time.Microsecond).String(), fmt.Sprintf("hash-bound limit %.1f logins/s on %d cores", h.rps, runtime.NumCPU())))
		}
	}
	limitBin := filepath.Join(work, "limit")
	cmd := exec.Command("go", "build", "-o", limitBin, ".")
	cmd.Dir = filepath.Join(o.reference, "perf", "limit")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build limit: %v\n%s", err, out)
	}
	limitAddr := freeAddr()
	limit := exec.Command(limitBin, "-addr", limitAddr)
	stdout, _ := limit.StdoutPipe()
	if err := limit.Start(); err != nil {
		return err
	}
	defer func() { limit.Process.Kill(); limit.Wait() }()
	limitToken, err := firstToken(stdout)
	if err != nil {
		return fmt.Errorf("limit token: %w", err)
	}
	if err := waitReady("http://"+limitAddr+"/bare", 10*time.Second); err != nil {
		return err
	}
	for _, backend := range strings.Split(o.backends, ",") {
		rs, err := benchBackend(o, work, bin, backend, limitAddr, limitToken, hashes)
		if err != nil {
			return fmt.Errorf("%s: %w", backend, err)
		}
		results = append(results, rs...)
	}
	var dj map[string]result
	if o.django {
		if dj, err = benchDjango(o); err != nil {
			fmt.Fprintln(os.Stderr, "bench: Django reference not measured:", err)
		}
	}
	printTable(os.Stdout, o, results, dj)
	if o.budgetsDoc != "" {
		var table strings.Builder
		printTable(&table, o, results, dj)
		missing, err := appendBudgets(o.budgetsDoc, o.budgetsRun, table.String())
		if err != nil {
			return err
		}
		for _, m := range missing {
			fmt.Fprintln(os.Stderr, "bench: budgets table: no figure in this run for", m)
		}
	}
	for _, r := range results {
		if !r.failed() {
			continue
		}
		if o.smoke {
			return fmt.Errorf("smoke: %s %s %s: %d errors of %d requests", r.server, r.backend, r.name, r.errors, r.total)
		}
		// A full run goes on (one case's errors should not cost the
		// others' figures), but says so: such a row measured the errors'
		// path, not the case's.
		fmt.Fprintf(os.Stderr, "bench: WARNING: %s %s %s: %d errors of %d requests; its figures are not the case's\n", r.server, r.backend, r.name, r.errors, r.total)
	}
	return nil
}

// firstToken reads the yardstick's printed token (a JWT) from its output.
func firstToken(r io.Reader) (string, error) {
	buf := make([]byte, 0, 4096)
	tmp := make([]byte, 1024)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		n, err := r.Read(tmp)
		buf = append(buf, tmp[:n]...)
		for _, f := range strings.Fields(string(buf)) {
			if strings.Count(f, ".") == 2 && strings.HasPrefix(f, "eyJ") {
				go io.Copy(io.Discard, r)
				return f, nil
			}
		}
		if err != nil {
			return "", err
		}
	}
	return "", errors.New("no token printed")
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitReady(u string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if res, err := http.Get(u); err == nil {
			res.Body.Close()
			if res.StatusCode < 500 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready", u)
}

// env is what the cases of one backend share.
type benchEnv struct {
	o                     options
	backend, base, dbURL  string
	limitAddr, limitToken string
	hashes                []hashLimit // PBKDF2, argon2id
	users                 [][]string  // first-login pools, one per login kind
	out                   []result

	pid     int    // the server whose peak RSS is followed (0: none)
	hwm     int64  // its VmHWM after the last case
	hwmCase string // the case during which VmHWM last rose

	last time.Time // when the last case ended, for the progress lines
}

// add keeps the results of one case and says on standard error how long
// the case took (the table goes to standard output at the end).
func (e *benchEnv) add(rs ...result) {
	if now := time.Now(); len(rs) > 0 && !rs[len(rs)-1].skip {
		if !e.last.IsZero() {
			fmt.Fprintf(os.Stderr, "bench: %s %s: %.1f s\n", e.backend, rs[len(rs)-1].name, now.Sub(e.last).Seconds())
		}
		e.last = now
	}
	for _, r := range rs {
		if !r.skip {
			e.out = append(e.out, r)
		}
	}
	if e.pid == 0 || len(rs) == 0 {
		return
	}
	if hwm, err := procStatus(e.pid, "VmHWM"); err == nil && hwm > e.hwm {
		e.hwm, e.hwmCase = hwm, rs[len(rs)-1].name
	}
}

func benchBackend(o options, work, bin, backend, limitAddr, limitToken string, hashes []hashLimit) ([]result, error) {
	e := &benchEnv{o: o, backend: backend, limitAddr: limitAddr, limitToken: limitToken, hashes: hashes, last: time.Now()}
	fixture := filepath.Join(o.reference, "reference", "django-dumpdata.json")
	if o.logins {
		// Enough fresh users per login kind for the whole case at the
		// hash-bound rate, twice over: its rounds' warm-ups, measured
		// time, and the requests in flight at each round's end.
		n := int(hashes[0].rps*(2*o.warmup+o.duration+time.Duration(o.rounds)*time.Second).Seconds()*2) + 4*o.conns
		merged := filepath.Join(work, "bench-users-"+backend+".json")
		var err error
		if e.users, err = benchUsers(fixture, merged, len(logins), n); err != nil {
			return nil, err
		}
		fixture = merged
	}
	srv, err := newServer(o, work, bin, backend, fixture)
	if err != nil {
		return nil, err
	}
	defer srv.close()
	e.base, e.dbURL = srv.base, srv.dbURL
	appOut, err := srv.command("createapplication", "--client-id", "bench-cc", "--name", "bench", "--grant-types", "client-credentials").Output()
	if err != nil {
		return nil, fmt.Errorf("createapplication: %v", err)
	}
	ccSecret := ""
	for _, line := range strings.Split(string(appOut), "\n") {
		if v, ok := strings.CutPrefix(line, "client_secret: "); ok {
			ccSecret = strings.TrimSpace(v)
		}
	}
	oidcSecret, err := createOIDCClient(srv)
	if err != nil {
		return nil, err
	}
	// The database exists and is migrated: this start is what the
	// "ready" figure measures.
	ready, err := srv.start()
	if err != nil {
		return nil, err
	}
	pid := srv.pid()
	e.pid = pid
	if o.resources {
		e.add(resource(backend, "ready: start to /readyz 200 (existing database)", ready.Round(time.Millisecond).String(),
			budgetMax(ready.Seconds(), 0.3, "< 300 ms")))
		time.Sleep(time.Second)
		if rss, err := procStatus(pid, "VmRSS"); err == nil {
			e.add(resource(backend, "RSS idle (VmRSS, 1 s after ready)", mb(rss), budgetMax(float64(rss), 30<<20, "≤ 30 MB")))
		}
	}
	creds := credentials(e.base)
	base := e.base

	jwtYard := get("http://"+limitAddr+"/jwt", "Bearer "+limitToken)
	bare := get("http://"+limitAddr+"/bare", "")
	for _, k := range meKinds {
		auth := k.auth(creds)
		if auth == "" {
			continue // that scheme is not available in this build
		}
		y, r := paired(o, backend, k.name, jwtYard, get(base+"/api/me/", auth))
		r.yardstick, r.yardName, r.min, r.django = y.rps, "limit /jwt", k.min, k.name
		e.add(y, r)
	}
	// The same JWT case in the configuration gatehouse ships with: the
	// access log on (one JSON line per request to standard error, here a
	// pipe, as under systemd or a container runtime), from a second serve
	// on the same database. The server above logs errors only.
	if creds.jwt != "" && o.want(meLoggedName) {
		logPath := filepath.Join(work, "access-"+backend+".log")
		logFile, err := os.Create(logPath)
		if err != nil {
			return nil, err
		}
		logged, err := srv.sibling(logFile, "GATEHOUSE_LOG_LEVEL=info")
		if err != nil {
			logFile.Close()
			return nil, fmt.Errorf("a server with the access log: %w", err)
		}
		y, r := paired(o, backend, meLoggedName, jwtYard, get(logged.base+"/api/me/", creds.jwt))
		logged.close() // it writes what its log buffer holds as it stops
		logFile.Close()
		written, err := os.ReadFile(logPath)
		if err != nil {
			return nil, err
		}
		os.Remove(logPath)
		lines := bytes.Count(written, []byte(`"msg":"request"`))
		r.yardstick, r.yardName, r.min, r.django = y.rps, "limit /jwt", 0.8, "GET /api/me/ (JWT)"
		if lines < r.total {
			return nil, fmt.Errorf("%s: %d requests answered, %d access log lines", meLoggedName, r.total, lines)
		}
		e.add(y, r)
	}
	// OpenID Connect: the signing keys every relying party fetches, and
	// userinfo with an access token of scope openid.
	if o.want(jwksName) {
		y, r := paired(o, backend, jwksName, bare, get(base+"/.well-known/jwks.json", ""))
		y.name = "GET /bare"
		r.yardstick, r.yardName, r.min = y.rps, "limit /bare", 0.6
		e.add(y, r)
	}
	if o.want(userinfoName) {
		if creds.openid == "" {
			return nil, fmt.Errorf("%s: no access token with the openid scope (is the server an OpenID provider?)", userinfoName)
		}
		y, r := paired(o, backend, userinfoName, jwtYard, get(base+"/o/userinfo/", creds.openid))
		r.yardstick, r.yardName, r.min = y.rps, "limit /jwt", 0.6
		e.add(y, r)
	}
	if o.want(oidcExchangeName) {
		mk, err := oidcCodes(backend, srv.dbURL, base, oidcSecret, oidcPoolSize(o))
		if err != nil {
			return nil, err
		}
		var missing atomic.Int64
		r, sl := hashPaired(o, backend, oidcExchangeName, rs256Limit, 21, mk, checkIDToken(&missing))
		if n := missing.Load(); n > 0 {
			return nil, fmt.Errorf("%s: %d answers without an id_token", oidcExchangeName, n)
		}
		r.yardstick, r.yardName, r.min = sl.rps, fmt.Sprintf("signature-bound %s (%.1f/s, timed between rounds)", sl.name, sl.rps), oidcExchangeMin
		e.add(r)
	}
	if ccSecret != "" {
		y, r := paired(o, backend, "POST /o/token/ (client_credentials)", bare,
			post(base+"/o/token/", "grant_type=client_credentials", "bench-cc", ccSecret))
		y.name = "GET /bare"
		r.yardstick, r.yardName, r.min = y.rps, "limit /bare", 0.2
		e.add(y, r)
	}
	if creds.oauth != "" {
		y, r := paired(o, backend, introspectName, bare, introspection(base, creds))
		y.name = "GET /bare"
		r.yardstick, r.yardName, r.min, r.django = y.rps, "limit /bare", introspectMin, introspectName
		e.add(y, r)
	}
	if err := e.forwardAuth(work, creds); err != nil {
		return nil, fmt.Errorf("forward auth: %w", err)
	}
	if creds.oauth != "" && o.want("POST /o/token/ (refresh_token, rotated)") {
		mk, seen, err := refreshChain(base, o.conns, passwordRefresh(base))
		if err != nil {
			return nil, err
		}
		y, r := pairedSeen(o, backend, "POST /o/token/ (refresh_token, rotated)", bare, mk, seen)
		y.name = "GET /bare"
		r.yardstick, r.yardName, r.min, r.django = y.rps, "limit /bare", refreshMin(backend), "POST /o/token/ (refresh_token, rotated)"
		e.add(y, r)
	}
	if o.want(jwtRefreshName) {
		mk, seen, err := jwtRefreshChain(base, o.conns)
		if err != nil {
			return nil, err
		}
		y, r := pairedSeen(o, backend, jwtRefreshName, bare, mk, seen)
		y.name = "GET /bare"
		r.yardstick, r.yardName, r.min, r.django = y.rps, "limit /bare", refreshMin(backend), "POST /access-token/refresh/"
		e.add(y, r)
	}
	if o.logins {
		// Each case is compared with one hash timed (median of 7) before
		// and after each of its rounds, so that the machine's drift over
		// the run does not enter the ratio (hashPaired).
		hn := 7
		if o.smoke {
			hn = 3
		}
		for i, k := range logins {
			if !o.want(k.name + " first login (Django PBKDF2 hash)") {
				continue
			}
			mk, used := pooled(base, k, e.users[i], "user00pass")
			r, pb := hashPaired(o, backend, k.name+" first login (Django PBKDF2 hash)", pbkdf2Limit, hn, mk, nil)
			r.yardstick, r.yardName, r.min, r.django = pb.rps, pb.yardName(hn), 0.9, k.name
			e.add(r)
			if !r.skip {
				// The rehash to argon2id waits while logins queue for the
				// CPUs (server/hashing.go): say how many were upgraded.
				n := used()
				up, err := rehashed(backend, e.dbURL, e.users[i][:n])
				if err != nil {
					return nil, fmt.Errorf("counting rehashed users: %w", err)
				}
				e.add(resource(backend, k.name+" first logins: users whose hash was upgraded to argon2id during the case", fmt.Sprintf("%d of %d", up, n), ""))
			}
		}
		for i, k := range logins {
			// A smoke run checks the argon2id verification once: the
			// three endpoints are checked by the first logins.
			if !o.want(k.name+" later logins: argon2id") || o.smoke && i > 0 {
				continue
			}
			r, ar := hashPaired(o, backend, k.name+" later logins: argon2id", argon2Limit, hn, repeated(base, k, "alice", "alicepass"), nil)
			r.yardstick, r.yardName, r.min, r.django = ar.rps, ar.yardName(hn), 0.9, k.name
			e.add(r)
		}
	}
	if o.logins && o.want("login flood") {
		n := 200
		if o.smoke {
			n = 5
		}
		rs, err := loginFlood(base, backend, n, floodForming(o))
		if err != nil {
			return nil, err
		}
		e.add(rs...)
	}
	// Not in a smoke run: its paths are the login flood's and /api/me/'s,
	// checked there, and its rounds take seconds.
	if o.logins && !o.smoke && creds.jwt != "" && (o.want(meDuringFloodName) || o.want(meDuringThrottledFloodName)) {
		// A JWT minted now: the one of the cases above is older than its
		// lifetime (10 minutes) by this point of a full run, and an
		// expired token made every request of the throttled flood case a
		// 401.
		if c := credentials(base); c.jwt != "" {
			creds.jwt = c.jwt
		}
	}
	if o.logins && !o.smoke && creds.jwt != "" && o.want(meDuringFloodName) {
		e.add(meDuringFlood(o, meDuringFloodName, base, backend, creds.jwt))
	}
	// The same with the login throttles and lockout as shipped (the
	// server above has them off), from a second serve on the database.
	if o.logins && !o.smoke && creds.jwt != "" && o.want(meDuringThrottledFloodName) {
		throttled, err := srv.sibling(nil, "GATEHOUSE_THROTTLE_RATES=", "GATEHOUSE_LOCKOUT_FAILURES=")
		if err != nil {
			return nil, fmt.Errorf("a server with the default throttles: %w", err)
		}
		e.add(meDuringFlood(o, meDuringThrottledFloodName, throttled.base, backend, creds.jwt))
		throttled.close()
	}
	if o.logins && o.want("failed-login time") {
		n := 200
		if o.smoke {
			n = 5
		}
		rs, err := failedLoginTiming(base, backend, n, e.users[len(e.users)-1][len(e.users[len(e.users)-1])-1])
		if err != nil {
			return nil, err
		}
		e.add(rs...)
	}
	if o.logins && !o.smoke && o.want("login wave") {
		r, err := loginWave(base, pid)
		if err != nil {
			return nil, err
		}
		r.backend = backend
		e.add(r)
		if hwm, err := procStatus(pid, "VmHWM"); err == nil {
			e.add(resource(backend, "RSS peak after the login wave (VmHWM)", mb(hwm), budgetMax(float64(hwm), 150<<20, "≤ 150 MB")))
		}
	}
	if o.resources {
		if hwm, err := procStatus(pid, "VmHWM"); err == nil {
			e.add(resource(backend, fmt.Sprintf("RSS peak (VmHWM; last rose during: %s)", e.hwmCase), mb(hwm), budgetMax(float64(hwm), 150<<20, "≤ 150 MB")))
		}
	}
	// The scale cases run on servers of their own: this one has done its
	// part and would only add its background work to theirs.
	srv.close()
	e.pid = 0
	if o.scale > 0 {
		if err := e.scale(work, bin); err != nil {
			return nil, err
		}
	}
	return e.out, nil
}

func count(n int) string {
	if n%1_000_000 == 0 {
		return fmt.Sprintf("%dM", n/1_000_000)
	}
	if n%1000 == 0 {
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

func metStr(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// resource is a row of the table that is a figure, not a load case.
func resource(backend, name, value, budget string) result {
	return result{server: "gatehouse", backend: backend, name: name, value: value, budget: budget}
}

func budgetMax(v, max float64, text string) string {
	return text + ": " + metStr(v <= max)
}

// post builds form POSTs with HTTP Basic client authentication.
func post(u, form, user, pass string) request {
	return func(int) (*http.Request, error) {
		req, err := http.NewRequest("POST", u, strings.NewReader(form))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(user, pass)
		}
		return req, err
	}
}

// creds are alice's credentials: a DRF key, a simplejwt access token, an
// OAuth access token, and one with the openid scope for userinfo ("" when
// the server is no OpenID provider).
type creds struct{ token, jwt, oauth, openid string }

// credentials logs alice in with each scheme the server offers.
func credentials(base string) creds {
	var c creds
	post := func(path, ct, body string) map[string]any {
		res, err := http.Post(base+path, ct, strings.NewReader(body))
		if err != nil {
			return nil
		}
		defer res.Body.Close()
		if res.StatusCode != 200 {
			return nil
		}
		var m map[string]any
		json.NewDecoder(res.Body).Decode(&m)
		return m
	}
	if m := post("/api-token-auth/", "application/json", `{"username":"alice","password":"alicepass"}`); m != nil {
		c.token = fmt.Sprint("Token ", m["token"])
	}
	if m := post("/access-token/", "application/json", `{"username":"alice","password":"alicepass"}`); m != nil {
		c.jwt = fmt.Sprint("Bearer ", m["access"])
	}
	if m := post("/o/token/", "application/x-www-form-urlencoded", "grant_type=password&username=alice&password=alicepass&client_id=conf-client&client_secret=conf-secret"); m != nil {
		c.oauth = fmt.Sprint("Bearer ", m["access_token"])
	}
	if m := post("/o/token/", "application/x-www-form-urlencoded", "grant_type=password&username=alice&password=alicepass&client_id=conf-client&client_secret=conf-secret&scope=openid+profile+email"); m != nil {
		c.openid = fmt.Sprint("Bearer ", m["access_token"])
	}
	return c
}

// meKinds are the /api/me/ cases, one per token kind, with the least
// ratio to the yardstick (limit /jwt) each must reach.
var meKinds = []struct {
	name string
	auth func(creds) string // "": the scheme is not in this build
	min  float64
}{
	{"GET /api/me/ (DRF Token)", func(c creds) string { return c.token }, 0.6},
	{"GET /api/me/ (JWT)", func(c creds) string { return c.jwt }, 0.8},
	{"GET /api/me/ (OAuth)", func(c creds) string { return c.oauth }, 0.6},
}

// jwtRefreshName is simplejwt's refresh with ROTATE_REFRESH_TOKENS and
// BLACKLIST_AFTER_ROTATION on (the bench server's settings).
const jwtRefreshName = "POST /access-token/refresh/ (simplejwt, rotated and blacklisted)"

// refreshMin is the least ratio to limit /bare of a refresh with
// rotation (issue 20): 0.2 on SQLite, 0.15 on PostgreSQL, whose every
// commit waits for its WAL flush.
func refreshMin(backend string) float64 {
	if backend == "postgres" {
		return 0.15
	}
	return 0.2
}

// The OpenID Connect cases: the JWKS (budget ≥ 0.6 of limit /bare: a
// cached document) and userinfo (≥ 0.6 of limit /jwt, as /api/me/ with an
// OAuth token).
const (
	jwksName     = "GET /.well-known/jwks.json"
	userinfoName = "GET /o/userinfo/ (OAuth token, scope openid profile email)"
)

// meLoggedName is the /api/me/ JWT case against a server in the default
// configuration, the access log on.
const meLoggedName = "GET /api/me/ (JWT), default configuration: access log on"

// The introspection case and its least ratio to the yardstick (limit /bare).
const (
	introspectName = "POST /o/introspect/"
	introspectMin  = 0.4
)

// introspection builds the introspection of c's OAuth token.
func introspection(base string, c creds) request {
	return post(base+"/o/introspect/", "token="+strings.TrimPrefix(c.oauth, "Bearer "), "conf-client", "conf-secret")
}

// request builds one request of a case for connection worker; it is
// called once per request.
type request func(worker int) (*http.Request, error)

// observer sees the body of every 200 answer of a case, for cases that
// chain (a rotated refresh token is the next request's).
type observer func(worker int, body []byte)

func get(u, auth string) request {
	return func(int) (*http.Request, error) {
		req, err := http.NewRequest("GET", u, nil)
		if err == nil && auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return req, err
	}
}

// paired measures the yardstick and a gatehouse case in alternating
// rounds, so that both see the same drift of this shared machine, and
// merges the rounds of each; the gatehouse result carries the median of
// the per-round ratios.
func paired(o options, backend, name string, yard, mine request) (result, result) {
	return pairedSeen(o, backend, name, yard, mine, nil)
}

// pairedSeen is paired with an observer of gatehouse's answers.
func pairedSeen(o options, backend, name string, yard, mine request, seen observer) (result, result) {
	if !o.want(name) {
		return result{skip: true}, result{skip: true}
	}
	ys, gs := alternate(o, backend, o.rounds, yard, contender{name, mine, seen})
	return merge(ys), vsRounds(ys, gs[0])
}

// contender is a gatehouse case measured in rounds with the yardstick.
type contender struct {
	name string
	mk   request
	seen observer // nil: none
}

// alternate measures, n times, the yardstick and then each contender in
// turn, and the yardstick once more at the end (yardstick, c1, c2,
// yardstick, c2, c1, ..., yardstick): the contenders' order is reversed
// every other round, so that a drift of the machine within a round's turn
// does not always favour the one measured first. Each round is
// o.duration/rounds long after a warm-up of o.warmup the first time and
// o.warmup/4 after. It returns the yardstick's rounds (n+1) and each
// contender's (n); a contender that o.want does not select is skipped in
// every round.
func alternate(o options, backend string, n int, yard request, cs ...contender) ([]result, [][]result) {
	ro := o
	ro.duration = o.duration / time.Duration(o.rounds)
	ys := make([]result, 0, n+1)
	gs := make([][]result, len(cs))
	for i := 0; i < n; i++ {
		if i > 0 {
			ro.warmup = o.warmup / 4
		}
		ys = append(ys, measure(ro, "limit", backend, "GET /jwt", yard, nil))
		for k := range cs {
			j := k
			if i%2 == 1 {
				j = len(cs) - 1 - k
			}
			gs[j] = append(gs[j], measure(ro, "gatehouse", backend, cs[j].name, cs[j].mk, cs[j].seen))
		}
	}
	ys = append(ys, measure(ro, "limit", backend, "GET /jwt", yard, nil))
	return ys, gs
}

// vsRounds merges the rounds gs of a contender that alternate measured
// with the yardstick rounds ys. The ratio is the median of the rounds' own
// ratios, each round against the mean of the yardstick rounds just before
// and just after it: the machine's speed drifts within seconds (the
// yardstick moved from 15,000 to 22,000 req/s within one case in one run),
// and a yardstick on one side only counted that drift as gatehouse's. The
// median drops a round that a burst of other work disturbed.
func vsRounds(ys, gs []result) result {
	g := merge(gs)
	var qs []float64
	for i := range gs {
		if y := (ys[i].rps + ys[i+1].rps) / 2; y > 0 {
			qs = append(qs, gs[i].rps/y)
		}
	}
	g.ratio = median(qs)
	if len(qs) > 0 {
		g.qmin, g.qmax = qs[0], qs[len(qs)-1] // median sorted them
	}
	return g
}

// median is the middle value of xs (the upper one of an even count; 0 of
// none); xs is sorted in place.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	return xs[len(xs)/2]
}

// vsYard is r's ratio to its yardstick.
func (r result) vsYard() float64 {
	if r.ratio > 0 {
		return r.ratio
	}
	return r.rps / r.yardstick
}

// failed reports a measured case that had request errors in its window, or
// that no request answered at all, in the window or out of it.
func (r result) failed() bool {
	return r.value == "" && (r.errors > 0 || r.total == 0 && r.answered == 0)
}

// merge combines rounds of one case: total rate, and the latency
// percentiles of the round with the median rate (a fair summary without
// keeping every sample).
func merge(rs []result) result {
	out := rs[0]
	out.rps, out.errors, out.total, out.answered = 0, 0, 0, 0
	for _, r := range rs {
		out.rps += r.rps / float64(len(rs))
		out.errors += r.errors
		out.total += r.total
		out.answered += r.answered
	}
	sorted := append([]result(nil), rs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].rps < sorted[j].rps })
	mid := sorted[len(sorted)/2]
	out.p50, out.p99 = mid.p50, mid.p99
	return out
}

// measure runs the closed loop: o.conns workers, warm-up, then o.duration.
// hashPaired measures a login case in rounds, like the cases with a
// yardstick, with one hash timed by limit(n) before the first round and
// after each: a login case compared with the hash timed once before and
// once after it missed its budget at 0.85 in one run because the machine
// was faster while the hash was timed than during the 12 s between. The
// ratio is the median of the rounds' own ratios, each round against the
// mean of the timings either side of it; the hash-bound limit returned is
// that of the mean time over all timings. A round's requests all end
// before the next timing (measure waits for the answers in flight), so the
// timings run on an idle server.
func hashPaired(o options, backend, name string, limit func(int) hashLimit, n int, mk request, seen observer) (result, hashLimit) {
	if !o.want(name) {
		return result{skip: true}, hashLimit{}
	}
	ro := o
	ro.duration = o.duration / time.Duration(o.rounds)
	hl := limit(n)
	sum := hl.perHash
	// The timings as yardstick rounds, for vsRounds.
	ys := []result{{rps: hl.rps}}
	var rs []result
	for i := 0; i < o.rounds; i++ {
		if i > 0 {
			ro.warmup = o.warmup / 4
		}
		rs = append(rs, measure(ro, "gatehouse", backend, name, mk, seen))
		// Let the hashes of the requests the server still ran end.
		time.Sleep(200 * time.Millisecond)
		h := limit(n)
		sum += h.perHash
		ys = append(ys, result{rps: h.rps})
	}
	hl.perHash = sum / time.Duration(len(ys))
	hl.rps = float64(runtime.NumCPU()) / hl.perHash.Seconds()
	return vsRounds(ys, rs), hl
}

func measure(o options, server, backend, name string, mk request, seen observer) result {
	if server == "gatehouse" && !o.want(name) {
		return result{skip: true}
	}
	tr := &http.Transport{MaxIdleConns: o.conns * 2, MaxIdleConnsPerHost: o.conns * 2, MaxConnsPerHost: o.conns}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), o.warmup+o.duration)
	defer cancel()
	start := time.Now()
	measureFrom := start.Add(o.warmup)
	measureTo := measureFrom.Add(o.duration)
	var mu sync.Mutex
	var lat []time.Duration
	errs, answered := 0, 0
	var wg sync.WaitGroup
	for i := 0; i < o.conns; i++ {
		wg.Add(1)
		go func(worker int) {
			defer wg.Done()
			local := make([]time.Duration, 0, 1<<16)
			localErrs, localAnswered := 0, 0
			var body bytes.Buffer
			for ctx.Err() == nil {
				req, err := mk(worker)
				if err != nil {
					localErrs++
					if ctx.Err() == nil {
						time.Sleep(10 * time.Millisecond) // e.g. a pool ran dry: do not spin
					}
					continue
				}
				t0 := time.Now()
				// Not cancelled at the deadline: a chained case (refresh
				// rotation) must see the answer of every request it sent.
				res, err := client.Do(req)
				ok := err == nil && res.StatusCode == 200
				if res != nil {
					if seen != nil {
						body.Reset()
						body.ReadFrom(res.Body)
						if ok {
							seen(worker, body.Bytes())
						}
					} else {
						io.Copy(io.Discard, res.Body)
					}
					res.Body.Close()
				}
				// A request counts in the window it completes in: counting
				// those that started in it instead would leave out the
				// requests in flight at its start, and so undercount by one
				// latency per connection (3.6 % of a 10 s case whose
				// requests take 360 ms, as a login under load does).
				if ok {
					localAnswered++
				}
				if done := time.Now(); done.After(measureFrom) && !done.After(measureTo) {
					if ok {
						local = append(local, done.Sub(t0))
					} else {
						localErrs++
					}
				}
				if ctx.Err() != nil {
					break
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			errs += localErrs
			answered += localAnswered
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r := result{server: server, backend: backend, name: name, errors: errs, total: len(lat) + errs, answered: answered}
	r.rps = float64(len(lat)) / o.duration.Seconds()
	if len(lat) > 0 {
		r.p50 = lat[len(lat)/2]
		r.p99 = lat[len(lat)*99/100]
	}
	return r
}

func printTable(w io.Writer, o options, rs []result, dj map[string]result) {
	fmt.Fprintf(w, "\n%d connections, %s warm-up, %s measured per case (cases with a yardstick in %d rounds alternating with it, yardstick first and last; ratio = median of the %d rounds' ratios, each round against the mean of the yardstick rounds either side of it; p50/p99 of the median round).", o.conns, o.warmup, o.duration, o.rounds, o.rounds)
	if o.scale > 0 {
		fmt.Fprintf(w, " The scale cases run on two fresh servers side by side, one with the fixture only and one with %s stored tokens of each kind as well, in %d rounds of yardstick, fixture-only, stored tokens (the two in reverse order every other round); the latter's budget is the median of its rounds' rates over the fixture-only round of the same turn.", count(o.scale), scaleRounds)
	}
	fmt.Fprint(w, "\n\n")
	fmt.Fprintln(w, "| server | backend | case | req/s or value | p50 | p99 | errors | vs yardstick | vs Django | budget |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---:|---:|---|---|---|")
	for _, r := range rs {
		if r.value != "" {
			fmt.Fprintf(w, "| %s | %s | %s | %s |  |  |  |  |  | %s |\n", r.server, r.backend, r.name, r.value, r.budget)
			continue
		}
		ratio, vsDjango, budget := "", "", r.budget
		if r.yardstick > 0 {
			q := r.vsYard()
			ratio = fmt.Sprintf("%.2f of %s", q, r.yardName)
			if r.spread && r.qmax > 0 {
				ratio += fmt.Sprintf(" (rounds %.2f–%.2f)", r.qmin, r.qmax)
			}
			if budget == "" && r.min > 0 {
				budget = fmt.Sprintf("≥ %g: %s", r.min, metStr(q >= r.min))
			}
		}
		if d, ok := dj[r.django]; ok && d.rps > 0 && r.server == "gatehouse" {
			vsDjango = fmt.Sprintf("%.1f× (Django %.1f/s)", r.rps/d.rps, d.rps)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.1f | %s | %s | %d | %s | %s | %s |\n", r.server, r.backend, r.name, r.rps,
			r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.errors, ratio, vsDjango, budget)
	}
	if len(dj) > 0 {
		names := make([]string, 0, len(dj))
		for n := range dj {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			d := dj[n]
			fmt.Fprintf(w, "| django | sqlite | %s | %.1f | %s | %s | %d |  |  |  |\n", d.name, d.rps,
				d.p50.Round(time.Microsecond), d.p99.Round(time.Microsecond), d.errors)
		}
	}
}
