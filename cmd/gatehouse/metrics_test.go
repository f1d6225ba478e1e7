package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// scrape reads a Prometheus text exposition into its samples, by the
// series as written (name{label="value",...}, labels sorted by name).
func scrape(t *testing.T, u string) (map[string]float64, string) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", u, res.StatusCode, body)
	}
	samples := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples, string(body)
}

// labelValue finds every value of one label in an exposition.
var labelValue = regexp.MustCompile(`([a-z_]+)="((?:[^"\\]|\\.)*)"`)

// A scripted run (sign-up, DRF logins, failed logins until throttled, the
// password grant, refresh, a replay, introspection, revocation, /api/me/)
// moves each counter by what it did, fills the request histogram of each
// route hit, and puts no path, username or credential in a label.
func TestMetricsAfterAScriptedRun(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			env := baseEnv(testdb.URL(t, backend))
			env["GATEHOUSE_METRICS_ADDR"] = freeAddr(t)
			env["GATEHOUSE_BACKOFF_AFTER"] = "2"
			out, err := runCmd(t, env, "createapplication", "--client-id", "svc", "--name", "Service", "--grant-types", "password")
			if err != nil {
				t.Fatalf("createapplication: %v %s", err, out)
			}
			var secret string
			for _, l := range strings.Split(out, "\n") {
				if v, ok := strings.CutPrefix(l, "client_secret: "); ok {
					secret = v
				}
			}
			base, stop := serve(t, env)
			defer stop()
			metricsURL := "http://" + env["GATEHOUSE_METRICS_ADDR"] + "/metrics"
			before, _ := scrape(t, metricsURL)

			post := func(path string, form url.Values, basic ...string) (int, map[string]any) {
				t.Helper()
				req, _ := http.NewRequest("POST", base+path, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if len(basic) == 2 {
					req.SetBasicAuth(basic[0], basic[1])
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				var m map[string]any
				json.NewDecoder(res.Body).Decode(&m)
				return res.StatusCode, m
			}
			get := func(path, authorization string) int {
				t.Helper()
				req, _ := http.NewRequest("GET", base+path, nil)
				if authorization != "" {
					req.Header.Set("Authorization", authorization)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				return res.StatusCode
			}
			const pass = "a long passphrase 7c1"
			if s, m := post("/sign_up/", url.Values{"username": {"bob"}, "password": {pass}, "email": {"bob@example.com"}}); s != 201 {
				t.Fatalf("sign-up: %d %v", s, m)
			}
			s, m := post("/api-token-auth/", url.Values{"username": {"bob"}, "password": {pass}})
			drfKey, _ := m["token"].(string)
			if s != 200 || drfKey == "" {
				t.Fatalf("DRF login: %d %v", s, m)
			}
			for i := range 3 {
				if s := get("/api/me/", "Token "+drfKey); s != 200 {
					t.Fatalf("/api/me/ %d: %d", i, s)
				}
			}
			if s := get("/api/me/", ""); s != 401 {
				t.Fatalf("/api/me/ anonymous: %d", s)
			}
			// A per-device token, then its logout.
			req, _ := http.NewRequest("POST", base+"/api/tokens/", strings.NewReader(`{"name": "laptop"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Token "+drfKey)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var device map[string]any
			json.NewDecoder(res.Body).Decode(&device)
			res.Body.Close()
			deviceKey, _ := device["key"].(string)
			if res.StatusCode != 201 || deviceKey == "" {
				t.Fatalf("creating a token: %d %v", res.StatusCode, device)
			}
			if s, m := post("/api/tokens/logout/", nil); s != 401 {
				t.Fatalf("anonymous logout: %d %v", s, m)
			}
			req, _ = http.NewRequest("POST", base+"/api/tokens/logout/", nil)
			req.Header.Set("Authorization", "Token "+deviceKey)
			if res, err = http.DefaultClient.Do(req); err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 204 && res.StatusCode != 200 {
				t.Fatalf("logout: %d", res.StatusCode)
			}
			// Two failures are free (GATEHOUSE_BACKOFF_AFTER=2); the third
			// attempt at once is held by the back-off.
			for i, want := range []int{400, 400, 429} {
				if s, m := post("/api-token-auth/", url.Values{"username": {"mallory"}, "password": {"guess-" + strconv.Itoa(i)}}); s != want {
					t.Fatalf("failed login %d: %d %v, want %d", i, s, m, want)
				}
			}
			s, tok := post("/o/token/", url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {pass}}, "svc", secret)
			access, _ := tok["access_token"].(string)
			refresh, _ := tok["refresh_token"].(string)
			if s != 200 || access == "" || refresh == "" {
				t.Fatalf("password grant: %d %v", s, tok)
			}
			if s := get("/api/me/", "Bearer "+access); s != 200 {
				t.Fatalf("/api/me/ with the OAuth token: %d", s)
			}
			s, tok2 := post("/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, "svc", secret)
			access2, _ := tok2["access_token"].(string)
			if s != 200 || access2 == "" {
				t.Fatalf("refresh: %d %v", s, tok2)
			}
			if s, m := post("/o/introspect/", url.Values{"token": {access2}}, "svc", secret); s != 200 || m["active"] != true {
				t.Fatalf("introspection: %d %v", s, m)
			}
			if s, m := post("/o/revoke_token/", url.Values{"token": {access2}}, "svc", secret); s != 200 {
				t.Fatalf("revocation: %d %v", s, m)
			}
			if s, m := post("/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, "svc", secret); s != 400 {
				t.Fatalf("replayed refresh token: %d %v", s, m)
			}
			if s := get("/nope/"+drfKey+"/", ""); s != 404 {
				t.Fatalf("unknown path: %d", s)
			}

			after, body := scrape(t, metricsURL)
			for series, want := range map[string]float64{
				`gatehouse_audit_events_total{event="user.created"}`:                                     1,
				`gatehouse_logins_total{outcome="succeeded",via="drf_token"}`:                            1,
				`gatehouse_logins_total{outcome="unknown_user",via="drf_token"}`:                         2,
				`gatehouse_logins_total{outcome="throttled",via="drf_token"}`:                            1,
				`gatehouse_logins_total{outcome="succeeded",via="oauth_password"}`:                       1,
				`gatehouse_tokens_total{grant="none",kind="drf",outcome="issued"}`:                       1,
				`gatehouse_tokens_total{grant="password",kind="oauth",outcome="issued"}`:                 1,
				`gatehouse_tokens_total{grant="refresh_token",kind="oauth",outcome="refreshed"}`:         1,
				`gatehouse_tokens_total{grant="none",kind="oauth",outcome="revoked"}`:                    1,
				`gatehouse_replays_total{kind="oauth"}`:                                                  1,
				`gatehouse_http_requests_total{code="201",route="/sign_up/{$}"}`:                         1,
				`gatehouse_http_requests_total{code="200",route="/api/me/{$}"}`:                          4,
				`gatehouse_http_requests_total{code="401",route="/api/me/{$}"}`:                          1,
				`gatehouse_http_requests_total{code="200",route="/api-token-auth/{$}"}`:                  1,
				`gatehouse_http_requests_total{code="400",route="/api-token-auth/{$}"}`:                  2,
				`gatehouse_http_requests_total{code="429",route="/api-token-auth/{$}"}`:                  1,
				`gatehouse_http_requests_total{code="200",route="/o/token/{$}"}`:                         2,
				`gatehouse_http_requests_total{code="400",route="/o/token/{$}"}`:                         1,
				`gatehouse_http_requests_total{code="200",route="/o/introspect/{$}"}`:                    1,
				`gatehouse_http_requests_total{code="200",route="/o/revoke_token/{$}"}`:                  1,
				`gatehouse_http_requests_total{code="404",route="unmatched"}`:                            1,
				`gatehouse_http_request_duration_seconds_count{class="2xx",route="/api/me/{$}"}`:         4,
				`gatehouse_http_request_duration_seconds_count{class="2xx",route="/o/token/{$}"}`:        2,
				`gatehouse_http_request_duration_seconds_count{class="4xx",route="/api-token-auth/{$}"}`: 3,
				// Hashes: the sign-up, bob's login, two dummy hashes for
				// mallory, the password grant; the throttled attempt none.
				`gatehouse_password_hash_wait_seconds_count`: 5,
			} {
				if got := after[series] - before[series]; got != want {
					t.Errorf("%s moved by %v, want %v", series, got, want)
				}
			}
			for _, series := range []string{`gatehouse_auth_cache_hits_total`, `gatehouse_auth_cache_misses_total`} {
				if after[series] <= before[series] {
					t.Errorf("%s did not move: %v", series, after[series])
				}
			}
			if n := after[`gatehouse_http_request_duration_seconds_bucket{class="2xx",route="/api/me/{$}",le="+Inf"}`]; n < 4 {
				t.Errorf("the /api/me/ histogram holds %v requests", n)
			}
			for _, present := range []string{"gatehouse_build_info{", `go_sql_open_connections{db_name="` + backend + `"}`,
				"go_goroutines ", "process_resident_memory_bytes ", "gatehouse_password_hash_slots ", "gatehouse_cleanup_passes_total "} {
				if !strings.Contains(body, present) {
					t.Errorf("the scrape has no %s", present)
				}
			}
			// No path, username or credential in any label: routes are
			// patterns, and no secret appears anywhere in the scrape.
			for _, secretish := range []string{drfKey, access, access2, refresh, secret, pass, "mallory", "bob", "/nope/"} {
				if strings.Contains(body, secretish) {
					t.Errorf("the scrape holds %q", secretish)
				}
			}
			for _, mm := range labelValue.FindAllStringSubmatch(body, -1) {
				if mm[1] == "route" && mm[2] != "unmatched" && !strings.HasSuffix(mm[2], "{$}") && !strings.HasPrefix(mm[2], "/.well-known/") && mm[2] != "/healthz" && mm[2] != "/readyz" {
					t.Errorf("route label %q is no pattern of routes.go", mm[2])
				}
			}
		})
	}
}

// Metrics are off by default: no listener, nothing at /metrics on the
// main listener. metrics-path-on-main serves them there (GET only).
func TestMetricsOnMainListener(t *testing.T) {
	env := baseEnv(testdb.URL(t, "sqlite"))
	base, stop := serve(t, env)
	if s := getStatus(t, base+"/metrics"); s != 404 {
		t.Errorf("/metrics with metrics off: %d", s)
	}
	stop()
	env["GATEHOUSE_METRICS_PATH_ON_MAIN"] = "/internal/metrics"
	base, stop = serve(t, env)
	defer stop()
	_, body := scrape(t, base+"/internal/metrics")
	if !strings.Contains(body, `gatehouse_http_requests_total{code="200",route="/readyz"}`) {
		t.Errorf("the main listener's scrape lacks the readiness checks:\n%s", body)
	}
	res, err := http.Post(base+"/internal/metrics", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Errorf("POST to the metrics path: %d", res.StatusCode)
	}
}

func getStatus(t *testing.T, u string) int {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// A metrics setting that cannot work stops serve at start with a message
// naming the variable, exit status 1, and no database created.
func TestBadMetricsSettings(t *testing.T) {
	busy := freeAddr(t)
	for _, c := range []struct {
		name, value, want string
	}{
		{"GATEHOUSE_METRICS_ADDR", "9090", `GATEHOUSE_METRICS_ADDR: want host:port such as 127.0.0.1:9090, not "9090"`},
		{"GATEHOUSE_METRICS_ADDR", "127.0.0.1:http-alt", `GATEHOUSE_METRICS_ADDR: want host:port`},
		{"GATEHOUSE_METRICS_ADDR", "127.0.0.1:70000", `GATEHOUSE_METRICS_ADDR: want host:port`},
		{"GATEHOUSE_METRICS_ADDR", busy, "GATEHOUSE_METRICS_ADDR is GATEHOUSE_ADDR"},
		{"GATEHOUSE_METRICS_ADDR", "192.0.2.1:9090", "GATEHOUSE_METRICS_ADDR: listen tcp 192.0.2.1:9090"},
		{"GATEHOUSE_METRICS_PATH_ON_MAIN", "metrics", `GATEHOUSE_METRICS_PATH_ON_MAIN: want a path such as /auth`},
		{"GATEHOUSE_METRICS_PATH_ON_MAIN", "/metrics/", `GATEHOUSE_METRICS_PATH_ON_MAIN: want a path such as /auth`},
		{"GATEHOUSE_METRICS_PATH_ON_MAIN", "/a b", `GATEHOUSE_METRICS_PATH_ON_MAIN: "/a b" has ' '`},
	} {
		t.Run(c.name+"="+c.value, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "gh.db")
			env := baseEnv(db)
			env[c.name] = c.value
			env["GATEHOUSE_ADDR"] = busy
			var stdout, stderr strings.Builder
			err := run(context.Background(), []string{"gatehouse", "serve"}, getenvFrom(env), strings.NewReader(""), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("serve: %v, want %q", err, c.want)
			}
			if code := exitCode(err); code != 1 {
				t.Errorf("exit status %d", code)
			}
			if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the database was created: %v", err)
			}
		})
	}
	// A path gatehouse serves is refused once the routes are known.
	env := baseEnv(testdb.URL(t, "sqlite"))
	env["GATEHOUSE_ADDR"] = "127.0.0.1:0"
	for _, p := range []string{"/healthz", "/api/me", "/o/token"} {
		env["GATEHOUSE_METRICS_PATH_ON_MAIN"] = p
		_, err := runCmd(t, env, "serve")
		if err == nil || !strings.Contains(err.Error(), "GATEHOUSE_METRICS_PATH_ON_MAIN: "+p+" is served by gatehouse's route") {
			t.Errorf("metrics path %s: %v", p, err)
		}
	}
}
