package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/djangoconf"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/site"
	"github.com/gatehouse-auth/gatehouse/store"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite cmd/gatehouse/testdata/django-settings/*.conf")

// The files in testdata/django-settings were printed by a throwaway Django
// 3.2 project on Debian's packages (DRF 3.14, simplejwt 5.2.2 with the
// blacklist app, DOT 1.7): project.json and project-secrets.json by the
// lines of `gatehouse django-settings --script` (SECRETS False and True),
// project.diffsettings.txt by `manage.py diffsettings --all`,
// django-tokens.txt (a refresh and an access token for user id 2, valid
// for a century) by simplejwt itself; reference.json by the same lines in
// the reference Django project of the compatibility gate. The project's
// settings: SIMPLE_JWT 15 min / 7 days, rotation with blacklist, last
// login, audience, issuer, 30 s leeway, header types Bearer and JWT,
// USER_ID_CLAIM uid; OAUTH2_PROVIDER scopes read, write, profile, default
// read, 1 h access tokens, 14 day refresh tokens, 120 s codes, 10 s grace,
// PKCE required, schemes https and com.example.app; REST_FRAMEWORK page
// size 50, anon and user rates and a scope of its own; PASSWORD_HASHERS a
// PBKDF2 subclass at 150,000 iterations first, then PBKDF2, Argon2,
// BCryptSHA256, SHA1; the four validators, similarity on username and
// email at 0.5, minimum length 10.
const djangoSettingsDir = "testdata/django-settings"

func runDjangoSettings(t *testing.T, stdin io.Reader, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = run(context.Background(), append([]string{"gatehouse", "django-settings"}, args...), getenvFrom(nil), stdin, &out, &errb)
	return out.String(), errb.String(), err
}

// settingLines are the GATEHOUSE_NAME=value lines of a configuration file.
func settingLines(text string) []string {
	var out []string
	for line := range strings.Lines(text) {
		if line != "" && line[0] >= 'a' && line[0] <= 'z' && strings.Contains(line, " = ") {
			out = append(out, strings.TrimRight(line, "\n"))
		}
	}
	return out
}

// The real project's settings become the configuration file kept in
// testdata (a golden file: -update-golden rewrites it), every line of which
// gatehouse reads back as a known setting; what is not honoured is listed
// on standard error and in the file.
func TestDjangoSettingsOfARealProject(t *testing.T) {
	for _, name := range []string{"project", "reference"} {
		t.Run(name, func(t *testing.T) {
			out, errText, err := runDjangoSettings(t, nil, filepath.Join(djangoSettingsDir, name+".json"))
			if err != nil {
				t.Fatalf("%v\n%s", err, errText)
			}
			golden := filepath.Join(djangoSettingsDir, name+".conf")
			if *updateGolden {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if out != string(want) {
				t.Errorf("the file differs from %s (run with -update-golden after checking):\n%s", golden, out)
			}
			for line := range strings.Lines(errText) {
				if !strings.HasPrefix(line, "django-settings: note: ") && !strings.HasPrefix(line, "django-settings: not honoured: ") {
					t.Errorf("stderr line %q", line)
				}
				if !strings.Contains(out, "# "+strings.TrimPrefix(line, "django-settings: ")) {
					t.Errorf("%q is not in the file", line)
				}
			}
			path := writeConfig(t, 0o600, out)
			c, err := parseWith([]string{"--config", path}, nil)
			if err != nil {
				t.Fatalf("gatehouse does not read what it wrote: %v", err)
			}
			// Every service builds from it, as serve would build them.
			c.DatabaseURL = filepath.Join(t.TempDir(), "gatehouse.db")
			if c.SecretKey == "" {
				c.SecretKey = "test-secret-key-0123456789abcdef"
			}
			st, err := site.Open(context.Background(), c, site.Options{})
			if err != nil {
				t.Fatalf("gatehouse does not open with what it wrote: %v", err)
			}
			st.Close()
		})
	}
	_, errText, _ := runDjangoSettings(t, nil, filepath.Join(djangoSettingsDir, "project.json"))
	for _, want := range []string{
		"not honoured: REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']: scope 'uploads' belongs to the project's own views",
		"not honoured: PASSWORD_HASHERS[0]: pbkdf2_sha256 at 150000 iterations",
		"note: SIMPLE_JWT['SIGNING_KEY'] (SECRET_KEY): the input does not hold it",
	} {
		if !strings.Contains(errText, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errText)
		}
	}
}

// diffsettings' Python reprs give the same settings as the JSON of the
// shell lines (with SECRETS = True, since diffsettings prints SECRET_KEY),
// and say what they cannot tell.
func TestDjangoSettingsFromDiffsettings(t *testing.T) {
	fromJSON, _, err := runDjangoSettings(t, nil, filepath.Join(djangoSettingsDir, "project-secrets.json"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(djangoSettingsDir, "project.diffsettings.txt"))
	if err != nil {
		t.Fatal(err)
	}
	fromDiff, errText, err := runDjangoSettings(t, bytes.NewReader(raw), "-")
	if err != nil {
		t.Fatal(err)
	}
	// The hashers aside: diffsettings names the project's own PBKDF2 class
	// without its algorithm, so every strong algorithm verifies and argon2
	// writes.
	hashers := func(line string) bool {
		return strings.HasPrefix(line, "password-hashers = ") || strings.HasPrefix(line, "pbkdf2-iterations = ")
	}
	a, b := slices.DeleteFunc(settingLines(fromJSON), hashers), slices.DeleteFunc(settingLines(fromDiff), hashers)
	if !slices.Equal(a, b) {
		t.Errorf("JSON:\n%s\n\ndiffsettings:\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	if !strings.Contains(fromDiff, "\npassword-hashers = \"argon2,pbkdf2_sha256,bcrypt_sha256,sha1,scrypt\"\n") ||
		!strings.Contains(fromJSON, "\npassword-hashers = \"pbkdf2_sha256,argon2,bcrypt_sha256,sha1\"\n") {
		t.Errorf("hashers: from JSON %q, from diffsettings %q", slices.DeleteFunc(settingLines(fromJSON), func(l string) bool { return !hashers(l) }),
			slices.DeleteFunc(settingLines(fromDiff), func(l string) bool { return !hashers(l) }))
	}
	for _, want := range []string{"diffsettings does not give the installed versions",
		"['proj.hashers.FasterPBKDF2PasswordHasher']: hasher classes gatehouse does not know", "keep the file you save it in private"} {
		if !strings.Contains(errText, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errText)
		}
	}
	if !strings.Contains(fromDiff, "jwt-signing-key = \"django-settings-test-key-not-secret-0123456789abcdefghij\"\n") {
		t.Error("SECRET_KEY is not the JWT signing key")
	}
}

// --out writes the file 0600, replacing one there; unreadable input is an
// error that writes nothing.
func TestDjangoSettingsOutAndBadInput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "gatehouse.conf")
	if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errText, err := runDjangoSettings(t, nil, "--out", out, filepath.Join(djangoSettingsDir, "project-secrets.json"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(out)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%v %v", st, err)
	}
	if b, _ := os.ReadFile(out); !strings.Contains(string(b), "jwt-signing-key = ") || strings.Contains(errText, "django-settings-test-key") {
		t.Errorf("file or stderr wrong:\n%s", errText)
	}
	if !regexp.MustCompile(`wrote 3\d settings to .*; 2 Django settings not honoured`).MatchString(errText) {
		t.Errorf("summary: %s", errText)
	}
	missing := filepath.Join(dir, "other.conf")
	for _, tc := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{filepath.Join(dir, "absent.json")}, "", "no such file"},
		{[]string{"-"}, "", "standard input: the input is empty"},
		{[]string{}, "Traceback (most recent call last):\n", "standard input: line 1 is not NAME = value"},
		{[]string{"-"}, `{"SIMPLE_JWT": {"ACCESS_TOKEN_LIFETIME": 300}`, "standard input: not the JSON of the shell lines"},
		{[]string{"a.json", "b.json"}, "", "usage: gatehouse django-settings"},
	} {
		_, _, err := runDjangoSettings(t, strings.NewReader(tc.stdin), append([]string{"--out", missing}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %q: %v, want %q", tc.args, tc.stdin, err, tc.want)
		}
		if _, err := os.Stat(missing); err == nil {
			t.Fatalf("%v: a file was written", tc.args)
		}
	}
}

// The shell lines the command prints are the ones documented, and Python
// runs them in a Django project.
func TestDjangoSettingsScript(t *testing.T) {
	out, _, err := runDjangoSettings(t, nil, "--script")
	if err != nil || out != djangoconf.ShellScript {
		t.Fatalf("--script: %v", err)
	}
	doc, err := os.ReadFile("../../docs/django-settings.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```python\n"+djangoconf.ShellScript+"```") {
		t.Error("docs/django-settings.md does not show the lines --script prints")
	}
}

func postJSON(t *testing.T, u string, body any, header ...string) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", u, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return doJSON(t, req)
}

func doJSON(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

// The whole way: the project's settings JSON, the file django-settings
// writes, gatehouse serving the reference dump with it. The lifetimes, the
// rotation and blacklist, the claims and header, the page size, the OAuth
// lifetime, default scope and grace period, the password rules and hasher
// are the Django project's, and simplejwt's own tokens keep working.
func TestDjangoSettingsEndToEnd(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "gatehouse.conf")
	if _, errText, err := runDjangoSettings(t, nil, "--out", conf, filepath.Join(djangoSettingsDir, "project-secrets.json")); err != nil {
		t.Fatalf("%v\n%s", err, errText)
	}
	tokens, err := os.ReadFile(filepath.Join(djangoSettingsDir, "django-tokens.txt"))
	if err != nil {
		t.Fatal(err)
	}
	djangoRefresh, djangoAccess, _ := strings.Cut(strings.TrimSpace(string(tokens)), "\n")
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			dbURL := testdb.URL(t, backend)
			env := baseEnv(dbURL)
			env["GATEHOUSE_CONFIG"] = conf
			var out, errb bytes.Buffer
			if err := run(context.Background(), []string{"gatehouse", "loaddata", testdb.ReferenceDumpFile(t)}, getenvFrom(env), nil, &out, &errb); err != nil {
				t.Fatalf("loaddata: %v\n%s", err, errb.String())
			}
			base, stop := serve(t, env)
			stopped := false
			defer func() {
				if !stopped {
					stop()
				}
			}()

			// simplejwt: 15 minute access and 7 day refresh tokens, with the
			// project's claims; the JWT keyword works.
			status, pair := postJSON(t, base+"/access-token/", map[string]string{"username": "alice", "password": "alicepass"})
			if status != 200 {
				t.Fatalf("/access-token/: %d %v", status, pair)
			}
			access, refresh := pair["access"].(string), pair["refresh"].(string)
			ap, rp := jwtPayload(t, access), jwtPayload(t, refresh)
			if ap["exp"].(float64)-ap["iat"].(float64) != 900 || rp["exp"].(float64)-rp["iat"].(float64) != 7*86400 {
				t.Errorf("lifetimes: access %v, refresh %v", ap, rp)
			}
			if ap["uid"] != float64(2) || ap["user_id"] != nil || ap["aud"] != "api.example.com" || ap["iss"] != "https://auth.example.com" {
				t.Errorf("access claims %v", ap)
			}
			me := func(header, value string) int {
				req, _ := http.NewRequest("GET", base+"/api/me/", nil)
				req.Header.Set(header, value)
				status, _ := doJSON(t, req)
				return status
			}
			if s1, s2 := me("Authorization", "JWT "+access), me("Authorization", "Bearer "+djangoAccess); s1 != 200 || s2 != 200 {
				t.Errorf("/api/me/ with JWT keyword: %d; with simplejwt's own access token: %d", s1, s2)
			}
			// Rotation with blacklist: the refresh answers a new refresh
			// token, and the old one is refused from then on.
			status, next := postJSON(t, base+"/access-token/refresh/", map[string]string{"refresh": refresh})
			if status != 200 || next["refresh"] == nil || next["refresh"] == refresh {
				t.Fatalf("rotation: %d %v", status, next)
			}
			if status, body := postJSON(t, base+"/access-token/refresh/", map[string]string{"refresh": refresh}); status != 401 {
				t.Errorf("a rotated refresh token: %d %v", status, body)
			}
			// simplejwt's own refresh token rotates too.
			if status, body := postJSON(t, base+"/access-token/refresh/", map[string]string{"refresh": djangoRefresh}); status != 200 || jwtPayload(t, body["access"].(string))["uid"] != float64(2) {
				t.Errorf("simplejwt's refresh token: %d %v", status, body)
			}

			// REST_FRAMEWORK's PAGE_SIZE 50: the 47 users on one page.
			req, _ := http.NewRequest("GET", base+"/api/users/", nil)
			req.Header.Set("Authorization", "JWT "+next["access"].(string))
			if status, page := doJSON(t, req); status != 200 || len(page["results"].([]any)) != 47 || page["next"] != nil {
				t.Errorf("/api/users/: %d, %d results, next %v", status, len(page["results"].([]any)), page["next"])
			}

			// OAUTH2_PROVIDER: one hour, DEFAULT_SCOPES read, a 10 s grace.
			form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alicepass"},
				"client_id": {"conf-client"}, "client_secret": {"conf-secret"}}
			res, err := http.PostForm(base+"/o/token/", form)
			if err != nil {
				t.Fatal(err)
			}
			var tok map[string]any
			json.NewDecoder(res.Body).Decode(&tok)
			res.Body.Close()
			if res.StatusCode != 200 || tok["expires_in"] != float64(3600) || tok["scope"] != "read" {
				t.Fatalf("/o/token/: %d %v", res.StatusCode, tok)
			}
			refreshForm := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)},
				"client_id": {"conf-client"}, "client_secret": {"conf-secret"}}
			for i := range 2 { // the second use falls within the grace period
				res, err := http.PostForm(base+"/o/token/", refreshForm)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != 200 {
					t.Errorf("refresh %d: %d", i, res.StatusCode)
				}
			}

			// AUTH_PASSWORD_VALIDATORS: at least 10 characters.
			status, body := postJSON(t, base+"/sign_up/", map[string]string{"username": "carol", "password": "Tr0ub4dor"})
			if want := "This password is too short. It must contain at least 10 characters."; status != 400 || !strings.Contains(strings.Join(fieldErrors(body["password"]), " "), want) {
				t.Errorf("sign-up with 9 characters: %d %v", status, body)
			}
			stop()
			stopped = true

			// PASSWORD_HASHERS: alice's PBKDF2 hash (260,000 iterations) was
			// replaced at login by one at gatehouse's 600,000.
			st, err := store.Open(context.Background(), dbURL)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			u, err := st.UserByUsername(context.Background(), "alice")
			if err != nil || !strings.HasPrefix(u.Password, "pbkdf2_sha256$600000$") {
				t.Errorf("alice's hash %.30s, %v", u.Password, err)
			}
		})
	}
}

func fieldErrors(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
