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
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
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
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per case")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up per case")
	flag.IntVar(&o.conns, "conns", 16, "concurrent connections")
	flag.StringVar(&o.backends, "backends", "sqlite,postgres", "backends to measure")
	flag.StringVar(&o.pgURL, "postgres", envOr("GATEHOUSE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"), "PostgreSQL URL (a schema is created for the run)")
	flag.StringVar(&o.reference, "reference", "../shared", "the shared/ folder with reference/ and perf/")
	flag.BoolVar(&o.smoke, "smoke", false, "exit non-zero on any request error (for CI)")
	flag.Parse()
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
	yardstick             float64 // req/s of the yardstick case it is compared with
	yardName              string
}

func run(o options) error {
	work, err := os.MkdirTemp("", "gatehouse-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "gatehouse")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/gatehouse").CombinedOutput(); err != nil {
		return fmt.Errorf("build gatehouse: %v\n%s", err, out)
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
	var results []result
	for _, backend := range strings.Split(o.backends, ",") {
		rs, err := benchBackend(o, work, bin, backend, limitAddr, limitToken)
		if err != nil {
			return fmt.Errorf("%s: %w", backend, err)
		}
		results = append(results, rs...)
	}
	printTable(os.Stdout, o, results)
	if o.smoke {
		for _, r := range results {
			if r.errors > 0 || r.total == 0 {
				return fmt.Errorf("smoke: %s %s %s: %d errors of %d requests", r.server, r.backend, r.name, r.errors, r.total)
			}
		}
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

// databaseURL returns a fresh database for backend and a cleanup.
func databaseURL(o options, work, backend string) (string, func(), error) {
	switch backend {
	case "sqlite":
		return filepath.Join(work, fmt.Sprintf("bench-%d.db", time.Now().UnixNano())), func() {}, nil
	case "postgres":
		db, err := sql.Open("pgx", o.pgURL)
		if err != nil {
			return "", nil, err
		}
		schema := fmt.Sprintf("gh_bench_%d", time.Now().UnixNano())
		if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
			db.Close()
			return "", nil, fmt.Errorf("postgres unreachable: %w", err)
		}
		u, _ := url.Parse(o.pgURL)
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), func() { db.Exec("DROP SCHEMA " + schema + " CASCADE"); db.Close() }, nil
	}
	return "", nil, fmt.Errorf("unknown backend %q", backend)
}

func benchBackend(o options, work, bin, backend, limitAddr, limitToken string) ([]result, error) {
	dbURL, cleanup, err := databaseURL(o, work, backend)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	addr := freeAddr()
	env := append(os.Environ(),
		"GATEHOUSE_DATABASE_URL="+dbURL,
		"GATEHOUSE_ADDR="+addr,
		"GATEHOUSE_SECRET_KEY=bench-secret-key-0123456789abcdef",
		"GATEHOUSE_LOG_LEVEL=error",
	)
	load := exec.Command(bin, "loaddata", filepath.Join(o.reference, "reference", "django-dumpdata.json"))
	load.Env = env
	if out, err := load.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("loaddata: %v\n%s", err, out)
	}
	mkapp := exec.Command(bin, "createapplication", "--client-id", "bench-cc", "--name", "bench", "--grant-types", "client-credentials")
	mkapp.Env = env
	appOut, err := mkapp.Output()
	if err != nil {
		return nil, fmt.Errorf("createapplication: %v", err)
	}
	ccSecret := ""
	for _, line := range strings.Split(string(appOut), "\n") {
		if v, ok := strings.CutPrefix(line, "client_secret: "); ok {
			ccSecret = strings.TrimSpace(v)
		}
	}
	srv := exec.Command(bin, "serve")
	srv.Env = env
	var logs bytes.Buffer
	srv.Stderr = &logs
	if err := srv.Start(); err != nil {
		return nil, err
	}
	defer func() { srv.Process.Signal(os.Interrupt); srv.Wait() }()
	base := "http://" + addr
	if err := waitReady(base+"/readyz", 20*time.Second); err != nil {
		return nil, fmt.Errorf("%v\n%s", err, logs.String())
	}
	creds := credentials(base)

	var out []result
	for _, c := range []struct{ name, auth string }{
		{"GET /api/me/ (DRF Token)", creds.token},
		{"GET /api/me/ (JWT)", creds.jwt},
		{"GET /api/me/ (OAuth)", creds.oauth},
	} {
		if c.auth == "" {
			continue // that scheme is not available in this build
		}
		y, r := paired(o, backend, c.name, get("http://"+limitAddr+"/jwt", "Bearer "+limitToken), get(base+"/api/me/", c.auth))
		r.yardstick, r.yardName = y.rps, "limit /jwt"
		out = append(out, y, r)
	}
	bare := get("http://"+limitAddr+"/bare", "")
	if ccSecret != "" {
		y, r := paired(o, backend, "POST /o/token/ (client_credentials)", bare,
			post(base+"/o/token/", "grant_type=client_credentials", "bench-cc", ccSecret))
		y.name = "GET /bare"
		r.yardstick, r.yardName = y.rps, "limit /bare"
		out = append(out, y, r)
	}
	if creds.oauth != "" {
		y, r := paired(o, backend, "POST /o/introspect/", bare,
			post(base+"/o/introspect/", "token="+strings.TrimPrefix(creds.oauth, "Bearer "), "conf-client", "conf-secret"))
		y.name = "GET /bare"
		r.yardstick, r.yardName = y.rps, "limit /bare"
		out = append(out, y, r)
	}
	return out, nil
}

// post builds form POSTs with HTTP Basic client authentication.
func post(u, form, user, pass string) request {
	return func() (*http.Request, error) {
		req, err := http.NewRequest("POST", u, strings.NewReader(form))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(user, pass)
		}
		return req, err
	}
}

type creds struct{ token, jwt, oauth string }

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
	return c
}

// request builds one request of a case; it is called once per request.
type request func() (*http.Request, error)

func get(u, auth string) request {
	return func() (*http.Request, error) {
		req, err := http.NewRequest("GET", u, nil)
		if err == nil && auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return req, err
	}
}

// paired measures the yardstick and a gatehouse case in alternating
// rounds, so that both see the same drift of this shared machine, and
// merges the rounds of each.
func paired(o options, backend, name string, yard, mine request) (result, result) {
	const rounds = 5
	ro := o
	ro.duration = o.duration / rounds
	var ys, gs []result
	for i := 0; i < rounds; i++ {
		if i > 0 {
			ro.warmup = o.warmup / 4
		}
		ys = append(ys, measure(ro, "limit", backend, "GET /jwt", yard))
		gs = append(gs, measure(ro, "gatehouse", backend, name, mine))
	}
	return merge(ys), merge(gs)
}

// merge combines rounds of one case: total rate, and the latency
// percentiles of the round with the median rate (a fair summary without
// keeping every sample).
func merge(rs []result) result {
	out := rs[0]
	out.rps, out.errors, out.total = 0, 0, 0
	for _, r := range rs {
		out.rps += r.rps / float64(len(rs))
		out.errors += r.errors
		out.total += r.total
	}
	sorted := append([]result(nil), rs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].rps < sorted[j].rps })
	mid := sorted[len(sorted)/2]
	out.p50, out.p99 = mid.p50, mid.p99
	return out
}

// measure runs the closed loop: o.conns workers, warm-up, then o.duration.
func measure(o options, server, backend, name string, mk request) result {
	tr := &http.Transport{MaxIdleConns: o.conns * 2, MaxIdleConnsPerHost: o.conns * 2, MaxConnsPerHost: o.conns}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), o.warmup+o.duration)
	defer cancel()
	start := time.Now()
	measureFrom := start.Add(o.warmup)
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	var wg sync.WaitGroup
	for i := 0; i < o.conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1<<16)
			localErrs := 0
			for ctx.Err() == nil {
				req, err := mk()
				if err != nil {
					localErrs++
					continue
				}
				t0 := time.Now()
				res, err := client.Do(req.WithContext(ctx))
				ok := err == nil && res.StatusCode == 200
				if res != nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				if ctx.Err() != nil {
					break
				}
				if t0.After(measureFrom) {
					if ok {
						local = append(local, time.Since(t0))
					} else {
						localErrs++
					}
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			errs += localErrs
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r := result{server: server, backend: backend, name: name, errors: errs, total: len(lat) + errs}
	r.rps = float64(len(lat)) / o.duration.Seconds()
	if len(lat) > 0 {
		r.p50 = lat[len(lat)/2]
		r.p99 = lat[len(lat)*99/100]
	}
	return r
}

func printTable(w io.Writer, o options, rs []result) {
	fmt.Fprintf(w, "\n%d connections, %s warm-up, %s measured per case in 5 rounds alternating with the yardstick; p50/p99 of the median round.\n\n", o.conns, o.warmup, o.duration)
	fmt.Fprintln(w, "| server | backend | case | req/s | p50 | p99 | errors | ratio |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---:|---:|---|")
	for _, r := range rs {
		ratio := ""
		if r.yardstick > 0 {
			ratio = fmt.Sprintf("%.2f of %s", r.rps/r.yardstick, r.yardName)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.0f | %s | %s | %d | %s |\n", r.server, r.backend, r.name, r.rps,
			r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.errors, ratio)
	}
}
