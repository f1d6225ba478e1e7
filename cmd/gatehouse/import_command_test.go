package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/djangotest"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/store"
)

// importEnv is the environment of a gatehouse that imports into a fresh
// database of backend and serves simplejwt tokens signed as the Django
// project's were.
func importEnv(t *testing.T, backend string) map[string]string {
	env := baseEnv(testdb.URL(t, backend))
	env["GATEHOUSE_JWT_SIGNING_KEY"] = "django-project-secret-key-for-the-import-tests-0123456789"
	return env
}

func runImport(ctx context.Context, env map[string]string, stderr interface{ Write([]byte) (int, error) }, args ...string) (string, error) {
	var out bytes.Buffer
	err := run(ctx, append([]string{"gatehouse", "import"}, args...), getenvFrom(env), nil, &out, stderr)
	return out.String(), err
}

// modelCounts checks that the import reported n objects of each model,
// stored or (for the models gatehouse does not load yet) skipped.
func modelCounts(t *testing.T, stdout, stderr string, want map[string]int) {
	t.Helper()
	for model, n := range want {
		stored := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(model) + `\s+` + fmt.Sprint(n) + `$`).MatchString(stdout)
		skipped := strings.Contains(stderr, fmt.Sprintf("skipped %d objects of model %s: gatehouse does not keep it\n", n, model))
		if stored == skipped {
			t.Errorf("%s: want %d objects reported as stored or skipped (once)\nstdout:\n%s\nstderr:\n%s", model, n, stdout, stderr)
		}
	}
}

// populated is what djangotest.Populate(30) holds, by model.
var populated = map[string]int{"auth.user": 30, "authtoken.token": 30, "oauth2_provider.application": 2, "oauth2_provider.grant": 1,
	"oauth2_provider.accesstoken": 15, "oauth2_provider.refreshtoken": 16, "token_blacklist.outstandingtoken": 3,
	"token_blacklist.blacklistedtoken": 1, "contenttypes.contenttype": 3, "auth.permission": 3, "auth.group": 2,
	"knox.authtoken": 2, "oauth2_provider.idtoken": 1}

// An import from a Django database (the tables Django writes, on both
// backends) reports each model, and then every user logs in with the
// password they had, and every kind of token works as it did: DRF keys,
// DOT access and refresh tokens (refresh tokens read in another order than
// their access tokens), a revoked refresh token stays revoked, simplejwt's
// blacklist holds.
func TestImportFromDjangoDatabase(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			d := djangotest.New(t, backend)
			p := djangotest.Populate(t, d, 30)
			env := importEnv(t, backend)
			var errb bytes.Buffer
			out, err := runImport(context.Background(), env, &errb, "--from", d.URL, "--batch-size", "4")
			if err != nil {
				t.Fatalf("import: %v\n%s", err, errb.String())
			}
			modelCounts(t, out, errb.String(), populated)
			if !strings.Contains(out, "imported from "+d.URL+":") || !strings.Contains(out, "Installed ") {
				t.Fatalf("summary: %s", out)
			}
			if w := errb.String(); !strings.Contains(w, `warning: application "old-spa" (pk 2) uses the "implicit" grant`) {
				t.Fatalf("the implicit application was not reported: %s", w)
			}
			if w := errb.String(); !strings.Contains(w, "auth_user: 30/30 rows (100%)") || !strings.Contains(w, "oauth2_provider_accesstoken: 15/15 rows (100%)") {
				t.Fatalf("progress: %s", w)
			}
			base, stop := serve(t, env)
			defer stop()
			post := func(path, body string, form bool, auth ...string) (int, map[string]any) {
				req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				if form {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				if len(auth) == 2 {
					req.SetBasicAuth(auth[0], auth[1])
				}
				return do(t, req)
			}
			me := func(auth string) (int, map[string]any) {
				req, _ := http.NewRequest("GET", base+"/api/me/", nil)
				req.Header.Set("Authorization", auth)
				return do(t, req)
			}
			// Old passwords, PBKDF2 and Django's legacy SHA1; the DRF key
			// returned is the one Django had.
			if code, body := post("/api-token-auth/", `{"username":"ålice","password":"`+djangotest.AlicePassword+`"}`, false); code != 200 || body["token"] != p.DRFKeys[1] {
				t.Fatalf("ålice's login: %d %v", code, body)
			}
			if code, body := post("/api-token-auth/", `{"username":"legacy","password":"`+djangotest.LegacyPassword+`"}`, false); code != 200 || body["token"] != p.DRFKeys[2] {
				t.Fatalf("legacy's login: %d %v", code, body)
			}
			if code, _ := me("Token " + p.DRFKeys[29]); code != 200 {
				t.Fatalf("a DRF key: %d", code)
			}
			if code, _ := me("Token " + p.DRFKeys[4]); code != 401 {
				t.Fatalf("an inactive user's DRF key: %d", code)
			}
			if code, body := me("Bearer " + p.AccessTokens[7]); code != 200 || body["username"] != "user0007" {
				t.Fatalf("a DOT access token: %d %v", code, body)
			}
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {p.RefreshTokens[5]}}.Encode()
			if code, body := post("/o/token/", form, true, p.ClientID, p.ClientSecret); code != 200 || body["scope"] != "read write" {
				t.Fatalf("a DOT refresh token: %d %v", code, body)
			}
			// The rotation revoked the access token of the same family.
			if code, _ := me("Bearer " + p.AccessTokens[5]); code != 401 {
				t.Fatalf("the rotated refresh token's access token: %d", code)
			}
			form = url.Values{"grant_type": {"refresh_token"}, "refresh_token": {p.RevokedRefresh}}.Encode()
			if code, body := post("/o/token/", form, true, p.ClientID, p.ClientSecret); code != 400 || body["error"] != "invalid_grant" {
				t.Fatalf("a revoked DOT refresh token: %d %v", code, body)
			}
			for jti, want := range map[string]int{p.JTIs[0]: 200, p.Blacklisted: 401} {
				tok := forgeHS256(map[string]any{"token_type": "refresh", "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(),
					"jti": jti, "user_id": 1}, env["GATEHOUSE_JWT_SIGNING_KEY"])
				if code, _ := post("/access-token/refresh/", `{"refresh":"`+tok+`"}`, false); code != want {
					t.Errorf("simplejwt refresh %s: %d, want %d", jti, code, want)
				}
			}
		})
	}
}

func do(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body
}

// cancelOn is a standard error that cancels an import when it has
// written a line containing trigger.
type cancelOn struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	trigger string
	cancel  context.CancelFunc
}

func (c *cancelOn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if strings.Contains(c.buf.String(), c.trigger) {
		c.cancel()
	}
	return len(p), nil
}

// An import stopped in the middle (its context cancelled, as by Ctrl-C or
// SIGTERM) keeps the batches it stored; run again with the same --from it
// continues after them, and ends in the same state as an import that was
// never stopped.
func TestImportContinuesAfterStop(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			d := djangotest.New(t, backend)
			djangotest.Populate(t, d, 60)
			env := importEnv(t, backend)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// A progress line every 10 batches of 2: cancelled after 20 users.
			stderr := &cancelOn{trigger: "auth_user: 20/60", cancel: cancel}
			_, err := runImport(ctx, env, stderr, "--from", d.URL, "--batch-size", "2")
			if !errors.Is(err, context.Canceled) || !strings.Contains(stderr.buf.String(), "import stopped in auth_user") {
				t.Fatalf("stopped import: %v\n%s", err, stderr.buf.String())
			}
			n := countRows(t, env, "users")
			if n < 20 || n >= 60 {
				t.Fatalf("%d users stored by the stopped import, want some but not all", n)
			}
			var errb bytes.Buffer
			out, err := runImport(context.Background(), env, &errb, "--from", d.URL, "--batch-size", "2")
			if err != nil {
				t.Fatalf("continued import: %v\n%s", err, errb.String())
			}
			if !strings.Contains(errb.String(), "continuing the import from "+d.URL) || !strings.Contains(errb.String(), fmt.Sprintf("auth_user: %d/60 rows", n+20)) {
				t.Fatalf("continued import's progress:\n%s", errb.String())
			}
			if !regexp.MustCompile(`(?m)^\s+auth\.user\s+` + fmt.Sprint(60-n) + `$`).MatchString(out) {
				t.Fatalf("the continued import's summary (want %d users):\n%s", 60-n, out)
			}
			once := importEnv(t, backend)
			if _, err := runImport(context.Background(), once, &bytes.Buffer{}, "--from", d.URL); err != nil {
				t.Fatal(err)
			}
			if a, b := stateOf(t, env), stateOf(t, once); a != b {
				t.Fatalf("stopped and continued:\n%s\nin one go:\n%s", a, b)
			}
			// A completed import leaves no progress behind.
			st := openTarget(t, env)
			if marks, err := st.ImportMarks(context.Background(), d.URL); err != nil || len(marks) != 0 {
				t.Fatalf("marks after completion: %v %v", marks, err)
			}
		})
	}
}

// Importing twice, or starting over with --restart after a stop, ends in
// the state of one import: rows are overwritten by primary key.
func TestImportTwiceAndRestart(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			d := djangotest.New(t, backend)
			djangotest.Populate(t, d, 12)
			env := importEnv(t, backend)
			for i := 0; i < 2; i++ {
				if _, err := runImport(context.Background(), env, &bytes.Buffer{}, "--from", d.URL, "--batch-size", "3"); err != nil {
					t.Fatalf("import %d: %v", i+1, err)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			runImport(ctx, env, &cancelOn{trigger: "auth_user: 10/12", cancel: cancel}, "--from", d.URL, "--batch-size", "1")
			var errb bytes.Buffer
			if _, err := runImport(context.Background(), env, &errb, "--from", d.URL, "--restart"); err != nil || strings.Contains(errb.String(), "continuing") {
				t.Fatalf("--restart: %v\n%s", err, errb.String())
			}
			once := importEnv(t, backend)
			runImport(context.Background(), once, &bytes.Buffer{}, "--from", d.URL)
			if a, b := stateOf(t, env), stateOf(t, once); a != b {
				t.Fatalf("imported twice and restarted:\n%s\nonce:\n%s", a, b)
			}
		})
	}
}

// A source that is not a readable Django database is refused with a
// message saying why, before anything is written: the target database is
// not even created.
func TestImportRefusesBadSources(t *testing.T) {
	dir := t.TempDir()
	gate := filepath.Join(dir, "gatehouse-as-source.db")
	testdb.OpenURL(t, gate)
	cases := map[string]struct{ from, want string }{
		"scheme":    {"mssql://django:hunter2pass@db/app", "mssql:// databases are not read"},
		"mysql url": {"mysql://django:hunter2pass@db/app?charset=latin1", `parameter "charset" is not known`},
		// Nothing listens on port 1: refused at once, the password not shown.
		"mysql unreachable": {"mysql://django:hunter2pass@127.0.0.1:1/app", "cannot read the Django database at mysql://django@127.0.0.1:1/app"},
		"no file":           {filepath.Join(dir, "missing.sqlite3"), "missing.sqlite3: no such file"},
		"no django":         {gate, "has no auth_user table: it is not a Django database"},
	}
	if os.Getenv(testdb.EnvPostgres) != "" {
		cases["unreachable"] = struct{ from, want string }{"postgres://django:hunter2pass@127.0.0.1:1/app?connect_timeout=2", "cannot read the Django database at postgres://django@127.0.0.1:1/app"}
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "gatehouse.db")
			var errb bytes.Buffer
			_, err := runImport(context.Background(), baseEnv(target), &errb, "--from", c.from)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error()+errb.String(), "hunter2pass") {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the target database was created: %v", err)
			}
		})
	}
	err := run(context.Background(), []string{"gatehouse", "import"}, getenvFrom(baseEnv(filepath.Join(dir, "x.db"))), nil, &bytes.Buffer{}, &bytes.Buffer{})
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "--from") {
		t.Fatalf("import without --from: %v", err)
	}
}

// A row the converter refuses stops the import with a message naming the
// table and the row, and stores nothing of its batch.
func TestImportStopsOnABadRow(t *testing.T) {
	d := djangotest.New(t, "sqlite")
	djangotest.Populate(t, d, 6)
	d.Exec(t, "UPDATE auth_user SET username = '' WHERE id = 5")
	env := importEnv(t, "sqlite")
	var errb bytes.Buffer
	_, err := runImport(context.Background(), env, &errb, "--from", d.URL, "--batch-size", "2")
	if err == nil || !strings.Contains(err.Error(), "auth_user: rows after key 4") || !strings.Contains(err.Error(), "auth.user pk 5") ||
		!strings.Contains(err.Error(), "invalid username") {
		t.Fatalf("error: %v", err)
	}
	if n := countRows(t, env, "users"); n != 4 {
		t.Fatalf("%d users stored, want the 4 of the batches before", n)
	}
}

// Progress on a terminal redraws one line per table at most every
// redrawEvery; in a log it writes a line every groupBatches batches and
// one when a table is done.
func TestImportProgress(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	var tty bytes.Buffer
	p := &progress{w: &tty, tty: true, now: clock}
	p.begin("auth_user", 0, 100)
	for i := 0; i < 5; i++ {
		now = now.Add(100 * time.Millisecond)
		p.add(10)
	}
	p.finish()
	// begin, one redraw (at 300 ms, 250 ms after the last), the finish.
	if got := strings.Count(tty.String(), "\r\033[K"); got != 3 || !strings.HasSuffix(tty.String(), "auth_user: 50/100 rows (50%), 100 rows/s\n") {
		t.Fatalf("terminal: %d redraws, %q", got, tty.String())
	}
	var log bytes.Buffer
	p = &progress{w: &log, now: clock}
	p.begin("authtoken_token", 5, 30)
	for i := 0; i < 25; i++ {
		now = now.Add(time.Second)
		p.add(1)
	}
	p.finish()
	want := "authtoken_token: 15/30 rows (50%), 1 rows/s\nauthtoken_token: 25/30 rows (83%), 1 rows/s\nauthtoken_token: 30/30 rows (100%), 1 rows/s, done\n"
	if log.String() != want {
		t.Fatalf("log:\n%s\nwant:\n%s", log.String(), want)
	}
}

func openTarget(t *testing.T, env map[string]string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), env["GATEHOUSE_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func countRows(t *testing.T, env map[string]string, table string) int {
	t.Helper()
	var n int
	if err := openTarget(t, env).DB().QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// stateOf is the imported data of a gatehouse database as text: every row
// of the tables an import writes, less what differs between two imports
// of the same rows (a DRF key's sealed copy has a random nonce; the DRF
// tokens' own ids come from a sequence).
func stateOf(t *testing.T, env map[string]string) string {
	t.Helper()
	db := openTarget(t, env).DB()
	var b strings.Builder
	for _, q := range []string{
		"SELECT * FROM users ORDER BY id",
		"SELECT user_id, key_hash, prefix, name, is_default, created, last_used, expires FROM drf_tokens ORDER BY user_id",
		"SELECT * FROM oauth_applications ORDER BY id",
		"SELECT * FROM oauth_grants ORDER BY id",
		"SELECT * FROM oauth_access_tokens ORDER BY id",
		"SELECT * FROM oauth_refresh_tokens ORDER BY id",
		"SELECT * FROM jwt_tokens ORDER BY jti",
	} {
		fmt.Fprintln(&b, q)
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&b, vals...)
		}
		rows.Close()
	}
	return b.String()
}

// importCorpus is the corpus a real Django wrote (testdata/django): its
// database, and its dumpdata of that database.
const importCorpus = "../../testdata/django/corpus"

// Importing the corpus's Django database stores exactly what loaddata of
// Django's own dump of it stores, on both backends: the import gives the
// converter what dumpdata gives it.
func TestImportMatchesLoaddataOfTheCorpus(t *testing.T) {
	db := filepath.Join(importCorpus, "db.sqlite3")
	if _, err := os.Stat(db); err != nil {
		t.Skipf("no Django corpus here (%v)", err)
	}
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			imported, loaded := importEnv(t, backend), importEnv(t, backend)
			var errb bytes.Buffer
			if _, err := runImport(context.Background(), imported, &errb, "--from", db, "--batch-size", "5"); err != nil {
				t.Fatalf("import: %v\n%s", err, errb.String())
			}
			err := run(context.Background(), []string{"gatehouse", "loaddata", filepath.Join(importCorpus, "dump.json")}, getenvFrom(loaded), nil, &bytes.Buffer{}, &errb)
			if err != nil {
				t.Fatalf("loaddata: %v\n%s", err, errb.String())
			}
			a, b := stateOf(t, imported), stateOf(t, loaded)
			if a != b {
				t.Fatalf("imported:\n%s\nloaded from the dump:\n%s", a, b)
			}
			if strings.Count(a, "\n") < 50 {
				t.Fatalf("little was stored:\n%s", a)
			}
		})
	}
}
