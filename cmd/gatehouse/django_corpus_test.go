package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/fixture"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/store"
)

// The Django corpus: testdata/django/corpus, written by a real Django 3.2
// project (Debian's Django, DRF, simplejwt and Django OAuth Toolkit; knox
// rows by knox's formulas) through testdata/django/regen.sh. Every dump
// format loads on every backend, and then every credential the Django
// project issued works in gatehouse as it did there.
const corpusDir = "../../testdata/django/corpus"

// corpusPending lists the corpus cases that need issue-15 features other
// branches are still building, each with the feature it waits for; those
// cases are skipped. Remove an entry when its feature is merged: the case
// must then pass as written.
var corpusPending = map[string]string{}

func skipIfPending(t *testing.T, name string) {
	t.Helper()
	if feature, ok := corpusPending[name]; ok {
		t.Skip("needs " + feature + " (issue 15, in progress)")
	}
}

// corpusDumps are the dump files, one per format Django writes or reads
// (corpus/README in testdata/django lists how each was made). "-" is
// dump.jsonl on standard input.
var corpusDumps = []string{
	"dump.json", "dump-indent.json", "dump.jsonl", "-", "dump-natural-foreign.json", "dump-natural.json",
	"dump.json.gz", "dump.json.bz2", "dump.json.xz", "dump.zip", "dump-bom.json", "dump.xml", "dump-natural.xml",
	"dump.yaml", "dump-natural.yaml",
}

// corpusCredentials is corpus/credentials.json: the clear credentials the
// Django project issued (throwaway test values).
type corpusCredentials struct {
	SecretKey string         `json:"secret_key"`
	Counts    map[string]int `json:"counts"`
	Users     []struct {
		ID          int64    `json:"id"`
		Username    string   `json:"username"`
		Password    *string  `json:"password"`
		Hasher      string   `json:"hasher"`
		IsActive    bool     `json:"is_active"`
		CanLogIn    bool     `json:"gatehouse_can_log_in"`
		DRFKey      *string  `json:"drf_key"`
		Groups      []string `json:"groups"`
		Permissions []string `json:"permissions"`
	} `json:"users"`
	Knox []struct {
		Username    string `json:"username"`
		Token       string `json:"token"`
		KnoxVersion string `json:"knox_version"`
		Valid       bool   `json:"valid"`
	} `json:"knox_tokens"`
	SimpleJWT struct {
		Access  []corpusJWT `json:"access"`
		Refresh []corpusJWT `json:"refresh"`
	} `json:"simplejwt"`
	OAuth struct {
		Applications []struct {
			Key          string `json:"key"`
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
			ClientType   string `json:"client_type"`
		} `json:"applications"`
		AccessTokens  []corpusOAuthToken `json:"access_tokens"`
		RefreshTokens []corpusOAuthToken `json:"refresh_tokens"`
		Grants        []struct {
			Code         string  `json:"code"`
			Username     string  `json:"username"`
			Client       string  `json:"client"`
			RedirectURI  string  `json:"redirect_uri"`
			CodeVerifier *string `json:"code_verifier"`
		} `json:"grants"`
	} `json:"oauth"`
}

type corpusJWT struct {
	Username string `json:"username"`
	Token    string `json:"token"`
	State    string `json:"state"`
}

type corpusOAuthToken struct {
	Token    string  `json:"token"`
	Username *string `json:"username"`
	Client   string  `json:"client"`
	State    string  `json:"state"`
}

func readCorpus(t *testing.T) corpusCredentials {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(corpusDir, "credentials.json"))
	if err != nil {
		t.Fatalf("the Django corpus (testdata/django/regen.sh writes it): %v", err)
	}
	var c corpusCredentials
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Users) == 0 || c.SecretKey == "" {
		t.Fatal("credentials.json holds no users")
	}
	return c
}

// corpusEnv is the environment gatehouse serves the corpus with: the
// Django project's SECRET_KEY signs its simplejwt tokens, and its SIMPLE_JWT
// rotation and OAuth scopes are set by hand (TestDjangoCorpusSettings
// checks that importing settings.json gives the same).
func corpusEnv(dbURL string, c corpusCredentials) map[string]string {
	env := baseEnv(dbURL)
	env["GATEHOUSE_JWT_SIGNING_KEY"] = c.SecretKey
	env["GATEHOUSE_JWT_ROTATE_REFRESH_TOKENS"] = "true"
	env["GATEHOUSE_JWT_BLACKLIST_AFTER_ROTATION"] = "true"
	env["GATEHOUSE_OAUTH_SCOPES"] = "read:Read scope,write:Write scope,groups:Access to your groups,profile:Your name and e-mail address"
	return env
}

// Every dump format, on every backend: loaddata reports what it loaded,
// then every credential works (checkCorpus).
func TestDjangoCorpusDumps(t *testing.T) {
	c := readCorpus(t)
	jsonl, err := os.ReadFile(filepath.Join(corpusDir, "dump.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, backend := range testdb.Backends() {
		for _, dump := range corpusDumps {
			name := dump
			if dump == "-" {
				name = "stdin"
			}
			t.Run(backend+"/"+name, func(t *testing.T) {
				skipIfPending(t, dump)
				env := corpusEnv(testdb.URL(t, backend), c)
				path, stdin := filepath.Join(corpusDir, dump), []byte(nil)
				if dump == "-" {
					path, stdin = "-", jsonl
				}
				var out, errb bytes.Buffer
				if err := run(context.Background(), []string{"gatehouse", "loaddata", path}, getenvFrom(env), bytes.NewReader(stdin), &out, &errb); err != nil {
					t.Fatalf("loaddata %s: %v\n%s%s", dump, err, out.String(), errb.String())
				}
				checkLoadReport(t, c, out.String(), errb.String())
				checkCorpusGroups(t, env["GATEHOUSE_DATABASE_URL"], c, out.String())
				base, stop := serve(t, env)
				defer stop()
				// Every user logs in on all three paths from dump.json; the
				// other formats must store the very same hashes, which then
				// verify alike (logging everyone in costs seconds a format).
				checkCorpus(t, base, c, env["GATEHOUSE_DATABASE_URL"], dump == "dump.json")
			})
		}
	}
}

// dumpHashes is the password hash of each user in corpus/dump.json.
func dumpHashes(t *testing.T) map[string]string {
	t.Helper()
	objs, err := fixture.ReadFile(filepath.Join(corpusDir, "dump.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	hashes := map[string]string{}
	for _, o := range objs {
		var f struct{ Username, Password string }
		if o.Model == "auth.user" && json.Unmarshal(o.Fields, &f) == nil {
			hashes[f.Username] = f.Password
		}
	}
	return hashes
}

// checkLoadReport checks loaddata's summary against the corpus counts.
func checkLoadReport(t *testing.T, c corpusCredentials, stdout, stderr string) {
	t.Helper()
	n := c.Counts
	for _, want := range []string{
		fmt.Sprintf("loaded %d users, %d tokens", n["users"], n["drf_tokens"]),
		fmt.Sprintf("loaded %d OAuth applications, %d codes, %d access tokens, %d refresh tokens",
			n["oauth_applications"], n["oauth_grants"], n["oauth_access_tokens"], n["oauth_refresh_tokens"]),
		fmt.Sprintf("loaded %d simplejwt outstanding tokens, %d of them blacklisted", n["simplejwt_outstanding"], n["simplejwt_blacklisted"]),
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("loaddata did not report %q:\n%s", want, stdout)
		}
	}
	// The users gatehouse cannot verify are named, never silently locked out.
	if !strings.Contains(stderr, "crypt password hashes") || !strings.Contains(stderr, "crypt.user") {
		t.Errorf("the crypt$ user was not reported:\n%s", stderr)
	}
	if !strings.Contains(stderr, `uses the "implicit" grant`) {
		t.Errorf("the implicit application was not reported:\n%s", stderr)
	}
	t.Run("groups-loaded", func(t *testing.T) {
		skipIfPending(t, "groups")
		for _, model := range []string{"auth.group", "auth.permission"} {
			if strings.Contains(stderr, "objects of model "+model+":") {
				t.Errorf("%s skipped:\n%s", model, stderr)
			}
		}
	})
	t.Run("knox-loaded", func(t *testing.T) {
		skipIfPending(t, "knox")
		if strings.Contains(stderr, "objects of model knox.authtoken:") {
			t.Errorf("knox.authtoken skipped:\n%s", stderr)
		}
	})
}

// checkCorpus checks, against a server holding the corpus, that every
// credential the Django project issued works as it did there.
// With full false, the users' stored hashes are compared with dump.json's
// instead of logging every user in.
func checkCorpus(t *testing.T, base string, c corpusCredentials, dbURL string, full bool) {
	apps := map[string]struct{ id, secret string }{}
	for _, a := range c.OAuth.Applications {
		secret := a.ClientSecret
		if a.ClientType == "public" {
			secret = ""
		}
		apps[a.Key] = struct{ id, secret string }{a.ClientID, secret}
	}
	active := map[string]bool{}
	for _, u := range c.Users {
		active[u.Username] = u.IsActive
	}

	t.Run("passwords", func(t *testing.T) {
		if !full {
			st, err := store.Open(context.Background(), dbURL)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			want := dumpHashes(t)
			for _, u := range c.Users {
				got, err := st.UserByUsername(context.Background(), u.Username)
				if w := want[u.Username]; err != nil || (got.Password != w && !(w == "" && got.Password == "!")) {
					t.Errorf("%s: stored hash %.30q, dump.json's %.30q (%v)", u.Username, got.Password, w, err)
				}
			}
			if len(want) != len(c.Users) {
				t.Errorf("dump.json has %d users, credentials.json %d", len(want), len(c.Users))
			}
			return
		}
		pw := apps["password"]
		for i, u := range c.Users {
			// Each login comes from a loopback address of its own: a
			// login that must fail (an inactive user, an unusable hash)
			// marks its address as a suspect source, whose later checks
			// wait behind the others' for a small budget of the hash
			// slots' time (accounts/hashing.go). From one shared address,
			// a loaded machine's slow legacy hashes made that wait
			// outlast the request timeout: a 503 in CI. What is checked
			// here is the import, not flood control.
			from := func(k int) *http.Client { return loopbackClient(t, 2+3*i+k) }
			password := "any password at all" // for a user without a usable one
			if u.Password != nil {
				password = *u.Password
			}
			// DRF's obtain_auth_token answers the key the user had.
			st, body := callFrom(t, from(0), "POST", base+"/api-token-auth/", "", jsonBody(map[string]string{"username": u.Username, "password": password}))
			if u.CanLogIn {
				if st != 200 || (u.DRFKey != nil && body["token"] != *u.DRFKey) || len(str(body["token"])) != 40 {
					t.Errorf("%s (%s) /api-token-auth/: %d %v", u.Username, u.Hasher, st, body)
				}
			} else if st != 400 {
				t.Errorf("%s (%s) /api-token-auth/: %d, want 400", u.Username, u.Hasher, st)
			}
			// simplejwt's obtain pair, and its access token on /api/me/.
			st, body = callFrom(t, from(1), "POST", base+"/access-token/", "", jsonBody(map[string]string{"username": u.Username, "password": password}))
			if u.CanLogIn {
				if st != 200 || body["refresh"] == nil {
					t.Errorf("%s (%s) /access-token/: %d %v", u.Username, u.Hasher, st, body)
				} else {
					expectMe(t, base, "Bearer "+str(body["access"]), u.Username)
				}
			} else if st != 401 {
				t.Errorf("%s (%s) /access-token/: %d, want 401", u.Username, u.Hasher, st)
			}
			// DOT's password grant, and its access token on /api/me/.
			form := url.Values{"grant_type": {"password"}, "username": {u.Username}, "password": {password}}
			st, body = callFrom(t, from(2), "POST", base+"/o/token/", basicAuth(pw.id, pw.secret), formBody(form))
			if u.CanLogIn {
				if st != 200 || body["access_token"] == nil {
					t.Errorf("%s (%s) /o/token/ password grant: %d %v", u.Username, u.Hasher, st, body)
				} else {
					expectMe(t, base, "Bearer "+str(body["access_token"]), u.Username)
				}
			} else if st != 400 || body["error"] != "invalid_grant" {
				t.Errorf("%s (%s) /o/token/ password grant: %d %v, want 400 invalid_grant", u.Username, u.Hasher, st, body)
			}
		}
	})

	t.Run("drf-keys", func(t *testing.T) {
		for _, u := range c.Users {
			if u.DRFKey == nil {
				continue
			}
			if u.IsActive {
				expectMe(t, base, "Token "+*u.DRFKey, u.Username)
			} else if st, body := call(t, "GET", base+"/api/me/", "Token "+*u.DRFKey, nil); st != 401 || body["detail"] != "User inactive or deleted." {
				t.Errorf("inactive %s's DRF key: %d %v", u.Username, st, body)
			}
		}
	})

	t.Run("simplejwt", func(t *testing.T) {
		for _, a := range c.SimpleJWT.Access {
			if a.State == "live" {
				expectMe(t, base, "Bearer "+a.Token, a.Username)
			} else if st, _ := call(t, "GET", base+"/api/me/", "Bearer "+a.Token, nil); st != 401 {
				t.Errorf("%s's %s access token: %d, want 401", a.Username, a.State, st)
			}
		}
		for _, r := range c.SimpleJWT.Refresh {
			st, body := call(t, "POST", base+"/access-token/refresh/", "", jsonBody(map[string]string{"refresh": r.Token}))
			if strings.HasPrefix(r.State, "live") {
				// ROTATE_REFRESH_TOKENS: a new refresh token comes back.
				if st != 200 || body["access"] == nil || body["refresh"] == nil {
					t.Errorf("%s's %s refresh token: %d %v", r.Username, r.State, st, body)
				} else {
					expectMe(t, base, "Bearer "+str(body["access"]), r.Username)
				}
			} else if st != 401 || body["code"] != "token_not_valid" {
				t.Errorf("%s's %s refresh token: %d %v, want 401 token_not_valid", r.Username, r.State, st, body)
			}
		}
	})

	t.Run("oauth-access-tokens", func(t *testing.T) {
		for _, a := range c.OAuth.AccessTokens {
			switch {
			case a.State == "expired":
				if st, _ := call(t, "GET", base+"/api/me/", "Bearer "+a.Token, nil); st != 401 {
					t.Errorf("an expired %s token: %d, want 401", a.Client, st)
				}
			case a.Username == nil:
				// A client-credentials token has no user: DOT answers 403.
				if st, body := call(t, "GET", base+"/api/me/", "Bearer "+a.Token, nil); st != 403 {
					t.Errorf("the %s token without a user: %d %v, want 403", a.Client, st, body)
				}
			default:
				expectMe(t, base, "Bearer "+a.Token, *a.Username)
			}
		}
	})

	t.Run("oauth-refresh-tokens", func(t *testing.T) {
		for _, r := range c.OAuth.RefreshTokens {
			app := apps[r.Client]
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.Token}}
			auth := basicAuth(app.id, app.secret)
			if app.secret == "" {
				form.Set("client_id", app.id)
				auth = ""
			}
			st, body := call(t, "POST", base+"/o/token/", auth, formBody(form))
			if strings.HasPrefix(r.State, "live") {
				if st != 200 || body["refresh_token"] == nil {
					t.Errorf("%s's %s refresh token (%s): %d %v", *r.Username, r.State, r.Client, st, body)
				} else {
					expectMe(t, base, "Bearer "+str(body["access_token"]), *r.Username)
				}
			} else if st != 400 || body["error"] != "invalid_grant" {
				t.Errorf("%s's %s refresh token (%s): %d %v, want 400 invalid_grant", *r.Username, r.State, r.Client, st, body)
			}
		}
	})

	t.Run("oauth-codes", func(t *testing.T) {
		for _, g := range c.OAuth.Grants {
			app := apps[g.Client]
			form := url.Values{"grant_type": {"authorization_code"}, "code": {g.Code}, "redirect_uri": {g.RedirectURI}}
			auth := basicAuth(app.id, app.secret)
			if app.secret == "" {
				form.Set("client_id", app.id)
				auth = ""
			}
			if g.CodeVerifier != nil {
				form.Set("code_verifier", *g.CodeVerifier)
			}
			st, body := call(t, "POST", base+"/o/token/", auth, formBody(form))
			if st != 200 || body["access_token"] == nil {
				t.Errorf("%s's code for %s: %d %v", g.Username, g.Client, st, body)
				continue
			}
			expectMe(t, base, "Bearer "+str(body["access_token"]), g.Username)
		}
	})

	t.Run("knox", func(t *testing.T) {
		skipIfPending(t, "knox")
		for _, k := range c.Knox {
			// A project runs one knox release line; the server runs the
			// default, knox 5. The corpus's knox 4.2 rows were loaded with a
			// warning (TestLoaddataKnoxTokens serves them with knox-version 4).
			if k.KnoxVersion != "5.0" {
				continue
			}
			if k.Valid && active[k.Username] {
				expectMe(t, base, "Token "+k.Token, k.Username)
			} else if st, _ := call(t, "GET", base+"/api/me/", "Token "+k.Token, nil); st != 401 {
				t.Errorf("%s's expired knox %s token: %d, want 401", k.Username, k.KnoxVersion, st)
			}
		}
	})
}

// The Django database itself, SQLite file, PostgreSQL or MySQL, imported with
// `gatehouse import --from`, gives the same result as its dumps.
func TestDjangoCorpusImportFrom(t *testing.T) {
	c := readCorpus(t)
	for _, backend := range testdb.Backends() {
		t.Run(backend+"/sqlite-file", func(t *testing.T) {
			skipIfPending(t, "import-from-sqlite")
			importAndCheck(t, c, backend, copyDjangoDB(t, corpusDir))
		})
		t.Run(backend+"/postgres", func(t *testing.T) {
			skipIfPending(t, "import-from-postgres")
			if os.Getenv(testdb.EnvPostgres) == "" {
				t.Skip("needs " + testdb.EnvPostgres)
			}
			// regen.sh builds the same Django database in a schema of its own
			// (installing Debian's Django packages when missing, which needs
			// root).
			probe := exec.Command("/usr/bin/python3", "-c", "import django, rest_framework, oauth2_provider, rest_framework_simplejwt")
			if err := probe.Run(); err != nil && os.Geteuid() != 0 {
				t.Skipf("skipping: Debian's Django packages are not installed and installing them needs root (%v); "+
					"apt-get install python3-django python3-djangorestframework python3-django-oauth-toolkit python3-djangorestframework-simplejwt python3-psycopg2", err)
			}
			django := testdb.URL(t, "postgres")
			cmd := exec.Command("bash", filepath.Join(corpusDir, "..", "regen.sh"), "--postgres", django)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("regen.sh --postgres: %v\n%s", err, out)
			}
			importAndCheck(t, c, backend, django)
		})
		t.Run(backend+"/mysql", func(t *testing.T) {
			// The same Django database made by Django on MySQL or MariaDB.
			django := testdb.MySQLURL(t)
			probe := exec.Command("/usr/bin/python3", "-c", "import django, rest_framework, oauth2_provider, rest_framework_simplejwt, MySQLdb")
			if err := probe.Run(); err != nil && os.Geteuid() != 0 {
				t.Skipf("MySQL not tested: Debian's Django packages and python3-mysqldb are not installed and installing them needs root (%v)", err)
			}
			cmd := exec.Command("bash", filepath.Join(corpusDir, "..", "regen.sh"), "--mysql", django)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("regen.sh --mysql: %v\n%s", err, out)
			}
			importAndCheck(t, c, backend, django)
		})
	}
}

func importAndCheck(t *testing.T, c corpusCredentials, backend, from string) {
	t.Helper()
	env := corpusEnv(testdb.URL(t, backend), c)
	if out, err := runCmd(t, env, "import", "--from", from); err != nil {
		t.Fatalf("import --from: %v\n%s", err, out)
	}
	base, stop := serve(t, env)
	defer stop()
	checkCorpus(t, base, c, env["GATEHOUSE_DATABASE_URL"], true)
}

// The Django project's settings (corpus/settings.json, printed by
// testdata/django/settings_export.py) carried over give the project's
// lifetimes, rotation and scopes.
func TestDjangoCorpusSettings(t *testing.T) {
	skipIfPending(t, "settings")
	c := readCorpus(t)
	settingsJSON, err := filepath.Abs(filepath.Join(corpusDir, "settings.json"))
	if err != nil {
		t.Fatal(err)
	}
	env := baseEnv(testdb.URL(t, "sqlite"))
	env["GATEHOUSE_JWT_SIGNING_KEY"] = c.SecretKey
	// The command prints a TOML file of name = "value" lines; they replace
	// the hand-set variables of corpusEnv.
	out, err := runCmd(t, env, "django-settings", settingsJSON)
	if err != nil {
		t.Fatalf("django-settings: %v\n%s", err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), " = "); ok && !strings.HasPrefix(k, "#") {
			uq, err := strconv.Unquote(v)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			env["GATEHOUSE_"+strings.ToUpper(strings.ReplaceAll(k, "-", "_"))] = uq
		}
	}
	if out, err := runCmd(t, env, "loaddata", filepath.Join(corpusDir, "dump.json")); err != nil {
		t.Fatalf("loaddata: %v\n%s", err, out)
	}
	base, stop := serve(t, env)
	defer stop()
	u := c.Users[1] // pbkdf2.user
	login := jsonBody(map[string]string{"username": u.Username, "password": *u.Password})
	st, pair := call(t, "POST", base+"/access-token/", "", login)
	if st != 200 {
		t.Fatalf("obtain: %d %v", st, pair)
	}
	// SIMPLE_JWT: ACCESS_TOKEN_LIFETIME 15 min, REFRESH_TOKEN_LIFETIME 7 days.
	for kind, want := range map[string]float64{"access": 900, "refresh": 604800} {
		cl := jwtPayload(t, str(pair[kind]))
		if got := cl["exp"].(float64) - cl["iat"].(float64); got != want {
			t.Errorf("%s lifetime %v s, want %v", kind, got, want)
		}
	}
	// ROTATE_REFRESH_TOKENS and BLACKLIST_AFTER_ROTATION.
	st, next := call(t, "POST", base+"/access-token/refresh/", "", jsonBody(map[string]string{"refresh": str(pair["refresh"])}))
	if st != 200 || next["refresh"] == nil {
		t.Fatalf("refresh does not rotate: %d %v", st, next)
	}
	if st, _ := call(t, "POST", base+"/access-token/refresh/", "", jsonBody(map[string]string{"refresh": str(pair["refresh"])})); st != 401 {
		t.Errorf("a rotated refresh token: %d, want 401", st)
	}
	// OAUTH2_PROVIDER: ACCESS_TOKEN_EXPIRE_SECONDS 3600, DEFAULT_SCOPES read,
	// and the project's scopes.
	var pw struct{ id, secret string }
	for _, a := range c.OAuth.Applications {
		if a.Key == "password" {
			pw.id, pw.secret = a.ClientID, a.ClientSecret
		}
	}
	form := url.Values{"grant_type": {"password"}, "username": {u.Username}, "password": {*u.Password}}
	st, tok := call(t, "POST", base+"/o/token/", basicAuth(pw.id, pw.secret), formBody(form))
	if st != 200 || tok["expires_in"] != float64(3600) || tok["scope"] != "read" {
		t.Errorf("password grant: %d %v, want expires_in 3600 and scope read", st, tok)
	}
	form.Set("scope", "read profile")
	if st, tok := call(t, "POST", base+"/o/token/", basicAuth(pw.id, pw.secret), formBody(form)); st != 200 || tok["scope"] != "read profile" {
		t.Errorf("the project's profile scope: %d %v", st, tok)
	}
}

// The corpus is what regen.sh writes: credentials.json agrees with the
// dump, so a hand edit of one is caught.
func TestDjangoCorpusConsistent(t *testing.T) {
	c := readCorpus(t)
	raw, err := os.ReadFile(filepath.Join(corpusDir, "dump.json"))
	if err != nil {
		t.Fatal(err)
	}
	var objs []struct {
		Model  string          `json:"model"`
		PK     json.RawMessage `json:"pk"`
		Fields map[string]any  `json:"fields"`
	}
	if err := json.Unmarshal(raw, &objs); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	users := map[string]string{} // username -> hash
	for _, o := range objs {
		count[o.Model]++
		if o.Model == "auth.user" {
			users[str(o.Fields["username"])] = str(o.Fields["password"])
		}
	}
	for model, key := range map[string]string{"auth.user": "users", "authtoken.token": "drf_tokens", "knox.authtoken": "knox_tokens",
		"auth.group": "groups", "oauth2_provider.application": "oauth_applications", "oauth2_provider.accesstoken": "oauth_access_tokens",
		"token_blacklist.blacklistedtoken": "simplejwt_blacklisted"} {
		if count[model] != c.Counts[key] || count[model] == 0 {
			t.Errorf("%s: %d in dump.json, %d in credentials.json", model, count[model], c.Counts[key])
		}
	}
	// Every hasher of the project has a user, with its own hash format.
	seen := map[string]bool{}
	for _, u := range c.Users {
		h, ok := users[u.Username]
		if !ok {
			t.Errorf("%s not in dump.json", u.Username)
		}
		seen[u.Hasher] = true
		if u.Hasher == "unsalted_md5" && len(h) != 32 || u.Hasher != "unusable" && u.Hasher != "unsalted_md5" && !strings.HasPrefix(h, strings.TrimPrefix(u.Hasher, "unsalted_")+"$") {
			t.Errorf("%s: hash %.20q… is not %s", u.Username, h, u.Hasher)
		}
	}
	for _, h := range []string{"pbkdf2_sha256", "pbkdf2_sha1", "argon2", "bcrypt_sha256", "bcrypt", "sha1", "md5", "unsalted_sha1", "unsalted_md5", "crypt", "unusable"} {
		if !seen[h] {
			t.Errorf("no user with a %s hash", h)
		}
	}
}

func jwtPayload(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.20q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(raw, &m)
	return m
}

// expectMe checks that authorization authenticates username on /api/me/.
func expectMe(t *testing.T, base, authorization, username string) {
	t.Helper()
	st, body := call(t, "GET", base+"/api/me/", authorization, nil)
	if st != 200 || body["username"] != username {
		scheme, _, _ := strings.Cut(authorization, " ")
		t.Errorf("/api/me/ with %s's %s credential: %d %v", username, scheme, st, body)
	}
}

type reqBody struct {
	contentType string
	data        []byte
}

func jsonBody(v any) *reqBody {
	b, _ := json.Marshal(v)
	return &reqBody{"application/json", b}
}

// copyDjangoDB copies the db.sqlite3 of a corpus folder into the test's
// temporary folder and returns the copy's path: an import must not change
// the corpus.
func copyDjangoDB(t *testing.T, dir string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "db.sqlite3"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "django.sqlite3")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func formBody(v url.Values) *reqBody {
	return &reqBody{"application/x-www-form-urlencoded", []byte(v.Encode())}
}

func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// call sends one request and decodes a JSON object answer (nil otherwise).
func call(t *testing.T, method, u, authorization string, body *reqBody) (int, map[string]any) {
	t.Helper()
	return callFrom(t, http.DefaultClient, method, u, authorization, body)
}

// loopbackClient is a client whose connections come from 127.0.0.n.
func loopbackClient(t *testing.T, n int) *http.Client {
	t.Helper()
	if n < 1 || n > 254 {
		t.Fatalf("loopbackClient(%d): no such address", n)
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(n))}, Timeout: 10 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// callFrom is call through client.
func callFrom(t *testing.T, client *http.Client, method, u, authorization string, body *reqBody) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body.data)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", body.contentType)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
