package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// TestCommandBadInputs: what a CLI pass found accepted: a negative token
// lifetime (which made a token that never expired), a revocation of an id
// that names nothing, an overflowing page, a health check that would wait
// for ever. Each is refused, on both backends, and nothing is created.
func TestCommandBadInputs(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			env := baseEnv(testdb.URL(t, backend))
			env["GATEHOUSE_PASSWORD"] = "correct horse battery"
			if out, err := runCmd(t, env, "createuser", "--username", "alice"); err != nil {
				t.Fatalf("createuser: %v %s", err, out)
			}
			for _, c := range []struct {
				args []string
				want string
			}{
				{[]string{"createtoken", "alice", "--expires", "-5m"}, "--expires -5m0s: a lifetime from 1s to"},
				{[]string{"createtoken", "alice", "--expires", "100000h"}, "--expires 100000h0m0s: a lifetime from 1s to"},
				{[]string{"tokens", "revoke", "--kind", "drf", "--id", "notanid"}, `no live drf credential has the id "notanid"`},
				{[]string{"tokens", "revoke", "--kind", "drf", "--id", "99999999999999999999999"}, "no live drf credential"},
				{[]string{"tokens", "revoke", "--kind", "bogus"}, "--kind: want one of"},
				{[]string{"users", "list", "--page", "9223372036854775807"}, "users list: --page must be at least 1"},
				{[]string{"healthcheck", "--timeout", "0s"}, "healthcheck: --timeout must be above 0"},
				{[]string{"healthcheck", "--timeout", "-1s"}, "healthcheck: --timeout must be above 0"},
			} {
				out, err := runCmd(t, env, c.args...)
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("%v: %v (output %q), want %q", c.args, err, out, c.want)
				}
			}
			out, err := runCmd(t, env, "tokens", "list", "--user", "alice", "--all")
			if err != nil || strings.Count(out, "\n") != 2 { // the header and alice's own DRF key
				t.Errorf("a refused createtoken stored a token: %v\n%s", err, out)
			}
			if out, err := runCmd(t, env, "createtoken", "alice", "--expires", "1h"); err != nil || strings.TrimSpace(out) == "" {
				t.Errorf("a valid lifetime: %v %q", err, out)
			}
		})
	}
}

// TestSettingsBadInputs: settings a CLI pass found accepted or shown: an
// empty listen address, an unknown log level or format, database URLs
// that would open the wrong thing or show their password, files that are
// not what the setting names, a config file's dotted keys and the secret
// quoted back by its syntax error.
func TestSettingsBadInputs(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "gh.db")
	env := func(kv ...string) map[string]string {
		e := map[string]string{"GATEHOUSE_DATABASE_URL": db, "GATEHOUSE_SECRET_KEY": "test-secret-key-0123456789abcdef"}
		for i := 0; i+1 < len(kv); i += 2 {
			e[kv[i]] = kv[i+1]
		}
		return e
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const secret = "QwErTyUiOpAsDfGhJkLzXcVbNmQwErTyUiOpAsDfGh"
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"empty addr flag", env(), []string{"config", "--addr", ""}, "an address such as 127.0.0.1:8000"},
		{"empty addr in the file", env("GATEHOUSE_CONFIG", write("addr.toml", `addr = ""`)), []string{"config"}, "an address such as"},
		{"log level", env("GATEHOUSE_LOG_LEVEL", "warning"), []string{"config"}, "GATEHOUSE_LOG_LEVEL"},
		{"log format", env("GATEHOUSE_LOG_FORMAT", "xml"), []string{"config"}, "want json, text"},
		{"keyword DSN", env("GATEHOUSE_DATABASE_URL", "host=127.0.0.1 user=postgres password=KVSECRET dbname=x"), []string{"migrate"},
			"keyword=value connection string is not read"},
		{"leading space", env("GATEHOUSE_DATABASE_URL", " postgres://postgres:LEADSPACEPW@127.0.0.1/x"), []string{"migrate"},
			"starts or ends with a space"},
		{"postgres:// alone", env("GATEHOUSE_DATABASE_URL", "postgres://"), []string{"migrate"}, "names no host and no database"},
		{"config /dev/zero", env("GATEHOUSE_CONFIG", "/dev/zero"), []string{"config"}, "larger than 1048576 bytes"},
		{"secret file /dev/zero", env("GATEHOUSE_SECRET_KEY", "", "GATEHOUSE_SECRET_KEY_FILE", "/dev/zero"), []string{"config"}, "larger than"},
		{"dotted key", env("GATEHOUSE_CONFIG", write("dotted.toml", "page-size.value = 5\n")), []string{"config"}, "a dotted or table key"},
		{"unquoted secret", env("GATEHOUSE_CONFIG", write("s.toml", "jwt-signing-key = "+secret+"\n")), []string{"config"}, "line 1"},
		{"password parameter in a readable file", env("GATEHOUSE_CONFIG", func() string {
			p := write("pw.toml", `database-url = "postgres://postgres@127.0.0.1:5432/x?password=QPW"`+"\n")
			os.Chmod(p, 0o644)
			return p
		}()), []string{"config"}, "pw.toml"},
	} {
		out, errOut, err := runIn(t, c.env, "", c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v (stdout %q), want %q", c.name, err, out, c.want)
		}
		for _, s := range []string{secret, "KVSECRET", "LEADSPACEPW", "QPW"} {
			if strings.Contains(out+errOut+func() string {
				if err != nil {
					return err.Error()
				}
				return ""
			}(), s) {
				t.Errorf("%s: the output shows %q: %v %q %q", c.name, s, err, out, errOut)
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".toml") {
			t.Errorf("a refused command created %s", e.Name())
		}
	}
	// argon2 parameters past their type's range are refused, not cut down
	// to weaker ones (threads 257 hashed with 1). They are checked once
	// the database is open, so these use a database of their own.
	other := filepath.Join(t.TempDir(), "other.db")
	for name, want := range map[string]string{"GATEHOUSE_ARGON2_THREADS=257": "GATEHOUSE_ARGON2_THREADS: 257 is outside 1 to 255",
		"GATEHOUSE_ARGON2_MEMORY=4294986752": "GATEHOUSE_ARGON2_MEMORY: 4294986752 is outside 1 to 4294967295",
		"GATEHOUSE_ARGON2_TIME=4294967298":   "GATEHOUSE_ARGON2_TIME: 4294967298 is outside 1 to 4294967295"} {
		k, v, _ := strings.Cut(name, "=")
		if _, _, err := runIn(t, env("GATEHOUSE_DATABASE_URL", other, k, v), "", "migrate"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
	// gatehouse config hides a password given as a URL parameter.
	out, _, err := runIn(t, env("GATEHOUSE_DATABASE_URL", "postgres://u@127.0.0.1/db?password=QPW&sslmode=disable"), "", "config")
	if err != nil || strings.Contains(out, "QPW") || !strings.Contains(out, "password=xxxxx") {
		t.Errorf("config with ?password=: %v\n%s", err, out)
	}
	// Nor one in a URL that does not parse (a generated password with a
	// bare %, an unclosed [), nor an OpenTelemetry endpoint's (found by a
	// bad-input pass: gatehouse config printed them).
	for name, v := range map[string]string{"GATEHOUSE_DATABASE_URL": "postgres://postgres:TOP%zzSECRET@127.0.0.1:5432/x",
		"GATEHOUSE_OTEL_ENDPOINT": "http://collector:TOPSECRET@127.0.0.1:4318"} {
		out, _, _ := runIn(t, env(name, v), "", "config")
		if strings.Contains(out, "TOP%zzSECRET") || strings.Contains(out, "TOPSECRET") {
			t.Errorf("config shows the password of %s:\n%s", name, out)
		}
	}
	out, _, _ = runIn(t, env("GATEHOUSE_DATABASE_URL", "postgres://u:TOPSECRET@[::1/x"), "", "config")
	if strings.Contains(out, "TOPSECRET") || !strings.Contains(out, "postgres://xxxxx@[::1/x") {
		t.Errorf("config with an unclosed [:\n%s", out)
	}
	// A configuration file holding a database password must be private,
	// in either format, parsed or not.
	for name, content := range map[string]string{"old.env": "GATEHOUSE_DATABASE_URL=postgres://postgres:PW@127.0.0.1/db\n",
		"unparsed.toml": "database-url = \"postgres://postgres:PW@[::1/db\"\n"} {
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := runIn(t, env("GATEHOUSE_CONFIG", path), "", "config"); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("%s readable by others: %v", name, err)
		}
	}
}

// A setting gatehouse refuses is refused before the database is created,
// opened or migrated, by every command (found by a bad-input pass: a
// refused start left a migrated SQLite file and a generated secret, and
// migrated PostgreSQL); `gatehouse config` shows the values and exits 1
// with the refusal, as serve would.
func TestRefusedSettingsChangeNothing(t *testing.T) {
	refused := map[string]string{
		"GATEHOUSE_PAGE_SIZE=0":                                         "GATEHOUSE_PAGE_SIZE must be at least 1",
		"GATEHOUSE_THROTTLE_RATES=abc":                                  "GATEHOUSE_THROTTLE_RATES",
		"GATEHOUSE_ISSUER=ftp://auth.example":                           "GATEHOUSE_ISSUER",
		"GATEHOUSE_PASSWORD_HASHERS=bogus":                              "GATEHOUSE_PASSWORD_HASHERS",
		"GATEHOUSE_CORS_ALLOWED_ORIGINS=ftp://x":                        "GATEHOUSE_CORS_ALLOWED_ORIGINS",
		"GATEHOUSE_KNOX_HASH=md4":                                       "GATEHOUSE_KNOX",
		"GATEHOUSE_SIGNING_KEY_ALGORITHM=HS256":                         "GATEHOUSE_SIGNING_KEY_ALGORITHM",
		"GATEHOUSE_TRUSTED_PROXIES=not-an-ip":                           "GATEHOUSE_TRUSTED_PROXIES",
		"GATEHOUSE_ALLOWED_HOSTS=,":                                     "GATEHOUSE_ALLOWED_HOSTS",
		"GATEHOUSE_OAUTH_CODE_LIFETIME=1h":                              "",
		"GATEHOUSE_THROTTLE_STORE=redis":                                "GATEHOUSE_THROTTLE_STORE",
		"GATEHOUSE_OIDC_ISSUER=https://elsewhere.example":               "GATEHOUSE_OIDC_ISSUER",
		"GATEHOUSE_OAUTH_SCOPES=read:First,read:Second,write:W":         `the scope "read" is listed twice`,
		"GATEHOUSE_OAUTH_ALLOWED_REDIRECT_URI_SCHEMES=https,http,https": `"https" is listed twice`,
		// Messages that named no setting, or another one.
		"GATEHOUSE_JWT_LEEWAY=61s":                "GATEHOUSE_JWT_LEEWAY: 1m1s is outside 0 to 1m0s",
		"GATEHOUSE_OAUTH_ACCESS_TOKEN_LIFETIME=0": "GATEHOUSE_OAUTH_ACCESS_TOKEN_LIFETIME must be positive",
		"GATEHOUSE_ADDR=127.0.0.1:-1":             "GATEHOUSE_ADDR: the port",
		"GATEHOUSE_ADDR=localhost":                "GATEHOUSE_ADDR: \"localhost\" is not HOST:PORT",
		// Settings that silently weakened security.
		"GATEHOUSE_PASSWORD_VALIDATORS=,":                       "GATEHOUSE_PASSWORD_VALIDATORS is empty",
		"GATEHOUSE_THROTTLE_RATES=logn=5/min":                   `unknown scope "logn"`,
		"GATEHOUSE_SECRET_KEY=                                ": "GATEHOUSE_SECRET_KEY is only white space",
	}
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			dbURL := testdb.URL(t, backend)
			for kv, want := range refused {
				k, v, _ := strings.Cut(kv, "=")
				env := baseEnv(dbURL)
				env[k] = v
				out, _, err := runSplit(t, env, "config")
				if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "gatehouse serve would refuse these settings") ||
					!strings.Contains(err.Error(), want) || !strings.Contains(out, "SETTING") {
					t.Errorf("config with %s: %v (exit %d)", kv, err, exitCode(err))
				}
				for _, cmd := range [][]string{{"migrate"}, {"users", "list"}} {
					if _, _, err := runSplit(t, env, cmd...); err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("%s with %s: %v", cmd, kv, err)
					}
				}
			}
			switch backend {
			case "sqlite":
				if entries, _ := os.ReadDir(filepath.Dir(dbURL)); len(entries) != 0 {
					t.Errorf("refused commands left %v", entries)
				}
			case "postgres":
				db, err := sql.Open("pgx", dbURL)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				var tables int
				if err := db.QueryRow("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()").Scan(&tables); err != nil || tables != 0 {
					t.Errorf("refused commands made %d tables (%v)", tables, err)
				}
			}
			// serve's own memory limit and an in-memory database: config says so.
			for kv, want := range map[string]string{"GATEHOUSE_MEMORY_LIMIT=abc": "GATEHOUSE_MEMORY_LIMIT", "GATEHOUSE_DATABASE_URL=:memory:": "an in-memory SQLite database"} {
				k, v, _ := strings.Cut(kv, "=")
				env := baseEnv(dbURL)
				env[k] = v
				if _, _, err := runSplit(t, env, "config"); err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("config with %s: %v", kv, err)
				}
			}
			// The same settings, good: config exits 0, and the commands run.
			if out, _, err := runSplit(t, baseEnv(dbURL), "config"); err != nil {
				t.Errorf("config with good settings: %v\n%s", err, out)
			}
			if _, _, err := runSplit(t, baseEnv(dbURL), "migrate"); err != nil {
				t.Errorf("migrate: %v", err)
			}
		})
	}
}
