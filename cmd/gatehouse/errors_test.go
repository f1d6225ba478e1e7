package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/site"
)

// The commands report a service's refusal in the service's words, never
// a wire string or an internal error, and change nothing.
func TestCommandRefusals(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			env := baseEnv(testdb.URL(t, backend))
			env["GATEHOUSE_PASSWORD"] = "correct horse battery"
			if out, err := runCmd(t, env, "createuser", "--username", "alice", "--email", "alice@example.com"); err != nil {
				t.Fatalf("createuser: %v %s", err, out)
			}
			for _, c := range []struct {
				args []string
				want string
			}{
				{[]string{"createuser", "--username", "bad name!"}, "username: only letters, digits and @/./+/-/_"},
				{[]string{"createuser", "--username", strings.Repeat("a", 151)}, "username: at most 150 characters"},
				{[]string{"createuser", "--username", "alice"}, "username: already taken"},
				{[]string{"createuser", "--username", "bob", "--email", "not-an-email"}, "email: not a valid address"},
				{[]string{"createuser", "--username", "bob", "--first-name", strings.Repeat("é", 151)}, "first_name: at most 150 characters"},
				{[]string{"changepassword", "ghost"}, `user "ghost" does not exist`},
				{[]string{"createtoken", "ghost"}, `user "ghost" does not exist`},
				{[]string{"createapplication", "--grant-types", "password", "--owner", "ghost"}, `owner "ghost" does not exist`},
				{[]string{"createapplication", "--grant-types", "password", "--client-id", "has space"}, "client id must be at most 255 characters"},
			} {
				out, err := runCmd(t, env, c.args...)
				if err == nil || err.Error() != c.want && !strings.HasPrefix(err.Error(), c.want) {
					t.Errorf("%v: %v (output %q), want %q", c.args, err, out, c.want)
				}
			}
			env["GATEHOUSE_PASSWORD"] = "alice"
			if _, err := runCmd(t, env, "changepassword", "alice"); err == nil || !strings.Contains(err.Error(), "password: The password is too similar to the username.") {
				t.Errorf("changepassword to the username: %v", err)
			}
			out, err := runCmd(t, env, "listapplications")
			if err != nil || strings.Count(out, "\n") != 1 {
				t.Errorf("a refused createapplication stored something: %v %q", err, out)
			}
		})
	}
}

// Every typed setting refuses a value of the wrong kind, or a negative
// number or duration, naming the variable, before anything runs.
func TestEverySettingRefusesBadValues(t *testing.T) {
	var c site.Config
	for _, s := range c.Settings() {
		var bad []string
		switch s.Kind() {
		case "bool":
			bad = []string{"maybe"}
		case "int":
			bad = []string{"-1", "many", "1.5"}
		case "float":
			bad = []string{"-0.5", "most", "NaN", "Inf"}
		case "duration":
			// Found by FuzzSettings: seconds beyond a Duration wrapped
			// around, 18446744074 to 290ms.
			bad = []string{"-1s", "soon", "18446744074", "9223372037", "-9223372037"}
		default:
			continue
		}
		for _, v := range bad {
			env := map[string]string{s.Env(): v}
			var out, errb bytes.Buffer
			err := run(context.Background(), []string{"gatehouse", "config"}, getenvFrom(env), nil, &out, &errb)
			if err == nil || !strings.Contains(err.Error(), s.Env()) || !strings.Contains(err.Error(), v) {
				t.Errorf("%s=%s: %v", s.Env(), v, err)
			}
		}
	}
}

// An authorization code lives at most ten minutes, whatever is configured.
func TestCodeLifetimeIsCapped(t *testing.T) {
	env := baseEnv(testdb.URL(t, "sqlite"))
	env["GATEHOUSE_OAUTH_CODE_LIFETIME"] = "11m"
	if _, err := runCmd(t, env, "migrate"); err == nil || !strings.Contains(err.Error(), "GATEHOUSE_OAUTH_CODE_LIFETIME must be at most 10m0s") {
		t.Fatalf("an 11 minute code lifetime: %v", err)
	}
	env["GATEHOUSE_OAUTH_CODE_LIFETIME"] = "10m"
	if out, err := runCmd(t, env, "migrate"); err != nil {
		t.Fatalf("a 10 minute code lifetime: %v %s", err, out)
	}
}

// A trusted proxy that is not an address or prefix stops serve at start.
func TestBadTrustedProxies(t *testing.T) {
	env := baseEnv(testdb.URL(t, "sqlite"))
	env["GATEHOUSE_TRUSTED_PROXIES"] = "10.0.0.0/8,proxy.internal"
	env["GATEHOUSE_ADDR"] = "127.0.0.1:0"
	if _, err := runCmd(t, env, "serve"); err == nil || !strings.Contains(err.Error(), "GATEHOUSE_TRUSTED_PROXIES") {
		t.Fatalf("serve with a bad trusted proxy: %v", err)
	}
}

// An HS256 key shorter than 32 bytes is refused, given or defaulted to
// the server secret, with a message that says which setting to change.
func TestShortHS256KeyIsRefused(t *testing.T) {
	env := baseEnv(testdb.URL(t, "sqlite"))
	env["GATEHOUSE_JWT_SIGNING_KEY"] = "too-short-key"
	if _, err := runCmd(t, env, "migrate"); err == nil || !strings.Contains(err.Error(), "GATEHOUSE_JWT_SIGNING_KEY is 13 bytes; an HS256 key needs at least 32") {
		t.Fatalf("a 13-byte JWT key: %v", err)
	}
	delete(env, "GATEHOUSE_JWT_SIGNING_KEY")
	env["GATEHOUSE_SECRET_KEY"] = "twenty-chars-secret!"
	if _, err := runCmd(t, env, "migrate"); err == nil || !strings.Contains(err.Error(), "GATEHOUSE_SECRET_KEY (the default HS256 key of simplejwt tokens) is 20 bytes") {
		t.Fatalf("a 20-byte server secret as the JWT key: %v", err)
	}
	env["GATEHOUSE_JWT_SIGNING_KEY"] = strings.Repeat("k", 32)
	if out, err := runCmd(t, env, "migrate"); err != nil {
		t.Fatalf("a 32-byte JWT key: %v %s", err, out)
	}
}

// An empty host list would refuse every request: serve says so at start.
func TestEmptyAllowedHosts(t *testing.T) {
	env := baseEnv(testdb.URL(t, "sqlite"))
	env["GATEHOUSE_ADDR"] = "127.0.0.1:0"
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"gatehouse", "serve", "--allowed-hosts", " , "}, getenvFrom(env), nil, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "GATEHOUSE_ALLOWED_HOSTS is empty") {
		t.Fatalf("serve with no allowed host: %v", err)
	}
}

// GATEHOUSE_USER_LIST reaches the server, and a value it does not know
// stops every command at start with the valid values.
func TestUserListSetting(t *testing.T) {
	env := baseEnv(testdb.URL(t, "sqlite"))
	env["GATEHOUSE_USER_LIST"] = "everyone"
	if _, err := runCmd(t, env, "serve"); err == nil || err.Error() != `GATEHOUSE_USER_LIST: want all, staff or self, got "everyone"` {
		t.Fatalf("serve with a bad user list setting: %v", err)
	}
	env["GATEHOUSE_USER_LIST"] = "staff"
	env["GATEHOUSE_PASSWORD"] = "a-long-passphrase-42"
	if out, err := runCmd(t, env, "createuser", "--username", "alice", "--email", "alice@example.com"); err != nil {
		t.Fatalf("createuser: %v %s", err, out)
	}
	base, stop := serve(t, env)
	defer stop()
	res, err := http.Post(base+"/api-token-auth/", "application/json", strings.NewReader(`{"username":"alice","password":"a-long-passphrase-42"}`))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct{ Token string }
	json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	req, _ := http.NewRequest("GET", base+"/api/users/", nil)
	req.Header.Set("Authorization", "Token "+tok.Token)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 403 {
		t.Fatalf("a non-staff user under staff: %d", res.StatusCode)
	}
}

// Each throttle setting refuses what it cannot mean, naming itself; the
// good values start.
func TestBadThrottleSettings(t *testing.T) {
	for _, c := range []struct{ name, value, want string }{
		{"GATEHOUSE_THROTTLE_RATES", "login=5/week", "GATEHOUSE_THROTTLE_RATES: throttle rates: scope login"},
		{"GATEHOUSE_THROTTLE_RATES", "login", "GATEHOUSE_THROTTLE_RATES: throttle rates: \"login\" is not scope=rate"},
		{"GATEHOUSE_THROTTLE_RATES", "login=0/min", "want N/period"},
		{"GATEHOUSE_THROTTLE_STORE", "redis", "GATEHOUSE_THROTTLE_STORE must be auto, memory or database, not \"redis\""},
		{"GATEHOUSE_BACKOFF_AFTER", "0", "GATEHOUSE_BACKOFF_AFTER must be at least 1, not 0"},
		{"GATEHOUSE_BACKOFF_AFTER", "x", "GATEHOUSE_BACKOFF_AFTER"},
		{"GATEHOUSE_LOCKOUT_FAILURES", "-3", "GATEHOUSE_LOCKOUT_FAILURES: want a whole number"},
		{"GATEHOUSE_LOCKOUT_FAILURES", "0", "GATEHOUSE_LOCKOUT_FAILURES must be at least 1, not 0"},
		{"GATEHOUSE_BACKOFF_MAX", "500ms", "GATEHOUSE_BACKOFF_MAX must be at least 1s, not 500ms"},
		{"GATEHOUSE_LOCKOUT_WINDOW", "0", "GATEHOUSE_LOCKOUT_WINDOW must be at least 1s"},
		{"GATEHOUSE_LOCKOUT_WINDOW", "soon", "GATEHOUSE_LOCKOUT_WINDOW"},
	} {
		env := baseEnv(testdb.URL(t, "sqlite"))
		env[c.name] = c.value
		if _, err := runCmd(t, env, "migrate"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%q: %v, want %q", c.name, c.value, err, c.want)
		}
	}
	env := baseEnv(testdb.URL(t, "sqlite"))
	env["GATEHOUSE_THROTTLE_RATES"] = "anon=100/day,user=1000/day,login=none"
	env["GATEHOUSE_THROTTLE_STORE"] = "database"
	env["GATEHOUSE_BACKOFF_AFTER"] = "3"
	env["GATEHOUSE_LOCKOUT_WINDOW"] = "30m"
	if out, err := runCmd(t, env, "migrate"); err != nil {
		t.Fatalf("good throttle settings: %v %s", err, out)
	}
}

// GATEHOUSE_NEW_USER_KEY uuid gives every user gatehouse makes (the CLI's,
// sign-up's) a random UUID that names it on the wire: /api/me/'s id, the
// user_id of its simplejwt tokens (which work, refreshed too), users show;
// a value it does not know stops every command at start. On both backends.
func TestNewUserKeySetting(t *testing.T) {
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			env := baseEnv(testdb.URL(t, backend))
			env["GATEHOUSE_NEW_USER_KEY"] = "UUID"
			if _, err := runCmd(t, env, "serve"); err == nil || err.Error() != `GATEHOUSE_NEW_USER_KEY: want none or uuid, got "UUID"` {
				t.Fatalf("serve with a bad new-user-key: %v", err)
			}
			env["GATEHOUSE_NEW_USER_KEY"] = "uuid"
			env["GATEHOUSE_PASSWORD"] = "a-long-passphrase-42"
			if out, err := runCmd(t, env, "createuser", "--username", "alice", "--email", "alice@example.com"); err != nil {
				t.Fatalf("createuser: %v %s", err, out)
			}
			base, stop := serve(t, env)
			defer stop()
			if st, body := call(t, "POST", base+"/sign_up/", "", jsonBody(map[string]string{"username": "bob", "password": "a-long-passphrase-43"})); st != 201 {
				t.Fatalf("sign_up: %d %v", st, body)
			}
			keys := map[string]bool{}
			for _, u := range []struct{ name, pw string }{{"alice", "a-long-passphrase-42"}, {"bob", "a-long-passphrase-43"}} {
				st, pair := call(t, "POST", base+"/access-token/", "", jsonBody(map[string]string{"username": u.name, "password": u.pw}))
				if st != 200 {
					t.Fatalf("/access-token/ as %s: %d %v", u.name, st, pair)
				}
				key, _ := jwtPayload(t, str(pair["access"]))["user_id"].(string)
				if !uuidRE.MatchString(key) || keys[key] {
					t.Fatalf("%s's access token names user_id %q", u.name, key)
				}
				keys[key] = true
				if st, me := call(t, "GET", base+"/api/me/", "Bearer "+str(pair["access"]), nil); st != 200 || me["id"] != key || me["username"] != u.name {
					t.Errorf("/api/me/ of %s: %d %v", u.name, st, me)
				}
				st, next := call(t, "POST", base+"/access-token/refresh/", "", jsonBody(map[string]string{"refresh": str(pair["refresh"])}))
				if st != 200 || jwtPayload(t, str(next["access"]))["user_id"] != key {
					t.Errorf("refresh of %s: %d %v", u.name, st, next)
				}
				if show, _, err := runIn(t, env, "", "users", "show", u.name); err != nil || !strings.Contains(show, key) {
					t.Errorf("users show %s: %v\n%s", u.name, err, show)
				}
			}
		})
	}
}

// A CORS origin that is not an origin stops serve at start, naming the
// setting and the value.
func TestBadCORSOrigins(t *testing.T) {
	for _, bad := range []string{"ftp://app.example", "https://app.example/path", "app.example", "https://*.example"} {
		env := baseEnv(testdb.URL(t, "sqlite"))
		env["GATEHOUSE_CORS_ALLOWED_ORIGINS"] = "https://ok.example," + bad
		env["GATEHOUSE_ADDR"] = "127.0.0.1:0"
		if _, err := runCmd(t, env, "serve"); err == nil || !strings.Contains(err.Error(), "GATEHOUSE_CORS_ALLOWED_ORIGINS") ||
			!strings.Contains(err.Error(), bad) {
			t.Errorf("serve with the CORS origin %q: %v", bad, err)
		}
	}
}
