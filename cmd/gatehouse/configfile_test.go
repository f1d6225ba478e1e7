package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/site"
)

// writeConfig writes a configuration file of mode perm in a temporary
// directory.
func writeConfig(t *testing.T, perm os.FileMode, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gatehouse.conf")
	if err := os.WriteFile(path, []byte(text), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // past the umask
		t.Fatal(err)
	}
	return path
}

func parseWith(args []string, env map[string]string) (site.Config, error) {
	var c site.Config
	fs := flag.NewFlagSet("gatehouse serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	err := c.Parse(fs, args, getenvFrom(env))
	return c, err
}

// A flag wins over the environment, the environment over the file, the
// file over the default; comments, blank lines, spaces around = and
// quoted values with escapes are read.
func TestConfigFilePrecedence(t *testing.T) {
	path := writeConfig(t, 0o644, `# written by hand
GATEHOUSE_PAGE_SIZE=5

  GATEHOUSE_JWT_ISSUER = https://auth.example.com # not a comment
GATEHOUSE_JWT_AUDIENCE="api \"v2\"\t"
GATEHOUSE_ADDR=127.0.0.1:9000
GATEHOUSE_LOG_LEVEL=warn
`)
	c, err := parseWith([]string{"--config", path, "--addr", "127.0.0.1:9100"}, map[string]string{"GATEHOUSE_LOG_LEVEL": "debug"})
	if err != nil {
		t.Fatal(err)
	}
	if c.PageSize != 5 || c.JWTIssuer != "https://auth.example.com # not a comment" || c.JWTAudience != "api \"v2\"\t" {
		t.Errorf("from the file: page size %d, issuer %q, audience %q", c.PageSize, c.JWTIssuer, c.JWTAudience)
	}
	if c.Addr != "127.0.0.1:9100" || c.LogLevel != "debug" || c.OAuthCodeLifetime.String() != "1m0s" {
		t.Errorf("flag, environment, default: addr %s, log level %s, code lifetime %v", c.Addr, c.LogLevel, c.OAuthCodeLifetime)
	}
	// GATEHOUSE_CONFIG names the file too.
	if c, err := parseWith(nil, map[string]string{"GATEHOUSE_CONFIG": path}); err != nil || c.PageSize != 5 || c.Addr != "127.0.0.1:9000" {
		t.Errorf("GATEHOUSE_CONFIG: page size %d addr %s, %v", c.PageSize, c.Addr, err)
	}
}

// Every mistake in the file is an error naming the file and line.
func TestConfigFileRefusals(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"GATEHOUSE_PAGE_SIZE=5\nGATEHOUSE_PAGE_SZE=6\n", `line 2: unknown setting "GATEHOUSE_PAGE_SZE"`},
		{"GATEHOUSE_PAGE_SIZE=5\n\nGATEHOUSE_PAGE_SIZE=6\n", "line 3: GATEHOUSE_PAGE_SIZE is set again (first on line 1)"},
		{"# x\nGATEHOUSE_PAGE_SIZE=five\n", `line 2: GATEHOUSE_PAGE_SIZE: want a whole number, 0 or more, got "five"`},
		{"GATEHOUSE_JWT_LEEWAY=soon\n", `line 1: GATEHOUSE_JWT_LEEWAY: want a duration`},
		// Not the older format: read as TOML, refused with its line.
		{"page-size 5\n", "line 1: expected '.' or '='"},
		{"=5\n", "line 1: unexpected '='"},
		{"GATEHOUSE_CONFIG=/etc/other.conf\n", "line 1: GATEHOUSE_CONFIG cannot be set in a configuration file"},
		{`GATEHOUSE_JWT_ISSUER="unterminated` + "\n", `line 1: GATEHOUSE_JWT_ISSUER: a value starting with " must be one quoted string`},
		{"export GATEHOUSE_ADDR=x\n", `line 1: unknown setting "export GATEHOUSE_ADDR"`},
	} {
		path := writeConfig(t, 0o600, tc.text)
		_, err := parseWith([]string{"--config", path}, nil)
		if err == nil || !strings.Contains(err.Error(), path+" "+tc.want) {
			t.Errorf("%q: %v\nwant %s %s", tc.text, err, path, tc.want)
		}
	}
	// An overridden line is checked all the same.
	path := writeConfig(t, 0o600, "GATEHOUSE_PAGE_SIZE=five\n")
	if _, err := parseWith([]string{"--config", path, "--page-size", "3"}, nil); err == nil {
		t.Error("a bad line under a flag was accepted")
	}
	if _, err := parseWith([]string{"--config", filepath.Join(t.TempDir(), "missing.conf")}, nil); err == nil ||
		!strings.Contains(err.Error(), "GATEHOUSE_CONFIG: open ") {
		t.Errorf("a missing file: %v", err)
	}
}

// A file holding a secret must be its owner's alone; the refusal says how
// to fix it and never shows the secret.
func TestConfigFileHoldingSecretsMustBePrivate(t *testing.T) {
	const key = "0123456789abcdef0123456789abcdef-very-secret"
	for _, name := range []string{"GATEHOUSE_SECRET_KEY", "GATEHOUSE_JWT_SIGNING_KEY", "GATEHOUSE_JWT_PRIVATE_KEY"} {
		for _, perm := range []os.FileMode{0o644, 0o640, 0o604, 0o620} {
			path := writeConfig(t, perm, "GATEHOUSE_PAGE_SIZE=5\n"+name+"="+key+"\n")
			_, err := parseWith([]string{"--config", path}, nil)
			if err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) || !strings.Contains(err.Error(), name) || strings.Contains(err.Error(), key) {
				t.Errorf("%s in a %04o file: %v", name, perm, err)
			}
		}
		path := writeConfig(t, 0o600, name+"="+key+"\n")
		if _, err := parseWith([]string{"--config", path}, nil); err != nil {
			t.Errorf("%s in a 0600 file: %v", name, err)
		}
	}
	// Without a secret, a readable file is fine.
	if _, err := parseWith([]string{"--config", writeConfig(t, 0o644, "GATEHOUSE_PAGE_SIZE=5\n")}, nil); err != nil {
		t.Errorf("a readable file without secrets: %v", err)
	}
}

// A value the file sets that is refused only when the services are built
// is reported with the file and line it came from.
func TestConfigFileLaterRefusalNamesTheLine(t *testing.T) {
	path := writeConfig(t, 0o600, "GATEHOUSE_LOG_LEVEL=error\nGATEHOUSE_OAUTH_DEFAULT_SCOPES=read admin\n")
	env := map[string]string{"GATEHOUSE_DATABASE_URL": testdb.URL(t, "sqlite"), "GATEHOUSE_SECRET_KEY": "test-secret-key-0123456789abcdef"}
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"gatehouse", "migrate", "--config", path}, getenvFrom(env), nil, &out, &errb)
	want := `GATEHOUSE_OAUTH_DEFAULT_SCOPES: "admin" is not among GATEHOUSE_OAUTH_SCOPES (read write groups) (GATEHOUSE_OAUTH_DEFAULT_SCOPES is set in ` + path + " line 2)"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

// Each setting carried from Django refuses a value it cannot use, naming
// its variable, before anything is served.
func TestDjangoSettingsRefusals(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"GATEHOUSE_PAGE_SIZE", "0", "GATEHOUSE_PAGE_SIZE must be at least 1"},
		{"GATEHOUSE_PASSWORD_HASHERS", "md5,argon2", "GATEHOUSE_PASSWORD_HASHERS: password: new hashes cannot be md5"},
		{"GATEHOUSE_PASSWORD_HASHERS", "argon2,crypt", `GATEHOUSE_PASSWORD_HASHERS: password: unknown hasher algorithm "crypt"`},
		{"GATEHOUSE_PBKDF2_ITERATIONS", "260000", "GATEHOUSE_PBKDF2_ITERATIONS: password: pbkdf2_sha256 iterations must be between 600000"},
		{"GATEHOUSE_BCRYPT_ROUNDS", "4", "GATEHOUSE_BCRYPT_ROUNDS: password: bcrypt rounds must be between 10"},
		{"GATEHOUSE_PASSWORD_VALIDATORS", "length,entropy", `GATEHOUSE_PASSWORD_VALIDATORS: "entropy" is unknown or repeated`},
		{"GATEHOUSE_PASSWORD_SIMILARITY_ATTRIBUTES", "username,nickname", `GATEHOUSE_PASSWORD_SIMILARITY_ATTRIBUTES: "nickname" is unknown or repeated`},
		{"GATEHOUSE_PASSWORD_MAX_SIMILARITY", "0.05", "GATEHOUSE_PASSWORD_MAX_SIMILARITY must be between 0.1 and 1"},
		{"GATEHOUSE_PASSWORD_COMMON_FILE", "/nonexistent/common.txt.gz", "GATEHOUSE_PASSWORD_COMMON_FILE: open /nonexistent/common.txt.gz"},
		{"GATEHOUSE_OAUTH_ALLOWED_REDIRECT_URI_SCHEMES", "https,javascript", "GATEHOUSE_OAUTH_ALLOWED_REDIRECT_URI_SCHEMES: redirect URI scheme \"javascript\" would run script"},
		{"GATEHOUSE_JWT_USER_ID_CLAIM", "exp", `GATEHOUSE_JWT_USER_ID_CLAIM, GATEHOUSE_JWT_TOKEN_TYPE_CLAIM, GATEHOUSE_JWT_JTI_CLAIM: jwt: claim name "exp"`},
		{"GATEHOUSE_JWT_AUTH_HEADER_NAME", "X Token", `GATEHOUSE_JWT_AUTH_HEADER_NAME: "X Token" is not an HTTP header name`},
		{"GATEHOUSE_JWT_AUTH_HEADER_TYPES", "JWT,Bé", `GATEHOUSE_JWT_AUTH_HEADER_TYPES: "Bé" is not a keyword`},
	} {
		env := baseEnv(testdb.URL(t, "sqlite"))
		env[tc.name] = tc.value
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		var out, errb bytes.Buffer
		err := run(ctx, []string{"gatehouse", "serve", "--addr", "127.0.0.1:0"}, getenvFrom(env), nil, &out, &errb)
		cancel()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%s: %v\nwant %s", tc.name, tc.value, err, tc.want)
		}
	}
}

// The TOML file: flat keys named as the flags, every kind of value,
// arrays joined with commas; precedence flag > env > file > default, and
// Source says which.
func TestConfigFileTOML(t *testing.T) {
	path := writeConfig(t, 0o644, `# gatehouse.toml
page-size = 5
addr = "127.0.0.1:9000"
jwt-issuer = "https://auth.example.com"
log-level = "warn"
allowed-hosts = ["auth.example.com", ".example.org"]
jwt-leeway = 30
cookie-secure = true
password-max-similarity = 0.5
`)
	c, err := parseWith([]string{"--config", path, "--addr", "127.0.0.1:9100"}, map[string]string{"GATEHOUSE_LOG_LEVEL": "debug"})
	if err != nil {
		t.Fatal(err)
	}
	if c.PageSize != 5 || c.JWTIssuer != "https://auth.example.com" || c.AllowedHosts != "auth.example.com,.example.org" ||
		c.JWTLeeway != 30*time.Second || !c.CookieSecure || c.PasswordMaxSimilarity != 0.5 {
		t.Errorf("from the file: %+v", c)
	}
	if c.Addr != "127.0.0.1:9100" || c.LogLevel != "debug" {
		t.Errorf("flag and environment: addr %s, log level %s", c.Addr, c.LogLevel)
	}
	for name, want := range map[string]string{"addr": "flag --addr", "log-level": "env GATEHOUSE_LOG_LEVEL",
		"page-size": path + " line 2", "allowed-hosts": path + " line 6", "jwt-algorithm": "default"} {
		if got := c.Source(name); got != want {
			t.Errorf("source of %s: %q, want %q", name, got, want)
		}
	}
	for _, tc := range []struct{ text, want string }{
		{"page-size = 5\naddrr = \"x\"\n", `line 2: unknown setting "addrr"; did you mean addr?`},
		{"page-size = \"five\"\n", `line 1: page-size: want a whole number`},
		{"[server]\naddr = \"x\"\n", "line 1: server: a table"},
		{"config = \"/etc/other.toml\"\n", "line 1: config cannot be set"},
		{"page-size = 5\npage-size = 6\n", "line 2: "},
		{"jwt-leeway = 2024-01-01\n", "line 1: jwt-leeway: want a string, number or boolean"},
	} {
		path := writeConfig(t, 0o600, tc.text)
		_, err := parseWith([]string{"--config", path}, nil)
		if err == nil || !strings.Contains(err.Error(), path+" "+tc.want) {
			t.Errorf("%q: %v\nwant %s %s", tc.text, err, path, tc.want)
		}
	}
	// A secret in a file others may read is refused; NAME-file reads it.
	const key = "0123456789abcdef0123456789abcdef-very-secret"
	open := writeConfig(t, 0o644, "secret-key = \""+key+"\"\n")
	if _, err := parseWith([]string{"--config", open}, nil); err == nil || !strings.Contains(err.Error(), "chmod 600") || strings.Contains(err.Error(), key) {
		t.Errorf("a secret in a 0644 file: %v", err)
	}
	pw := writeConfig(t, 0o644, "database-url = \"postgres://u:hunter2@db/x\"\n")
	if _, err := parseWith([]string{"--config", pw}, nil); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a database password in a 0644 file: %v", err)
	}
	keyFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(keyFile, []byte(key+"\n"), 0o600)
	c, err = parseWith([]string{"--config", writeConfig(t, 0o644, "secret-key-file = \""+keyFile+"\"\n")}, nil)
	if err != nil || c.SecretKey != key {
		t.Errorf("secret-key-file: %q %v", c.SecretKey, err)
	}
}

// The older GATEHOUSE_NAME=value file is still read, with a warning that
// says how to convert it.
func TestConfigFileOldFormatWarns(t *testing.T) {
	c, err := parseWith([]string{"--config", writeConfig(t, 0o644, "GATEHOUSE_PAGE_SIZE=5\n")}, nil)
	if err != nil || c.PageSize != 5 || len(c.Warnings()) != 1 || !strings.Contains(c.Warnings()[0], "convert it to TOML") {
		t.Errorf("page size %d, warnings %q, %v", c.PageSize, c.Warnings(), err)
	}
}

// Settings that contradict each other are taken with a warning naming the
// one ignored (found by a bad-input pass: they were taken without a word).
func TestContradictorySettingsWarn(t *testing.T) {
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"private key under HS256": {map[string]string{"GATEHOUSE_JWT_PRIVATE_KEY_FILE": "/k.pem"}, "GATEHOUSE_JWT_PRIVATE_KEY(_FILE) and GATEHOUSE_JWT_VERIFY_KEY_FILES are ignored"},
		"signing key under RS256": {map[string]string{"GATEHOUSE_JWT_ALGORITHM": "RS256", "GATEHOUSE_JWT_SIGNING_KEY": strings.Repeat("k", 40)}, "GATEHOUSE_JWT_SIGNING_KEY is ignored"},
		"OIDC asked, no issuer":   {map[string]string{"GATEHOUSE_OIDC_ENABLED": "true", "GATEHOUSE_ADDR": "0.0.0.0:8000"}, "OpenID Connect is off"},
		"nothing contradictory":   {map[string]string{"GATEHOUSE_ADDR": "0.0.0.0:8000", "GATEHOUSE_JWT_SIGNING_KEY": strings.Repeat("k", 40)}, ""},
		"weak argon2 memory":      {map[string]string{"GATEHOUSE_ARGON2_MEMORY": "8"}, "GATEHOUSE_ARGON2_MEMORY is 8 KiB"},
	} {
		c, err := parseWith(nil, tc.env)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		w := strings.Join(c.Warnings(), "\n")
		if (tc.want == "" && w != "") || !strings.Contains(w, tc.want) {
			t.Errorf("%s: warnings %q, want %q", name, w, tc.want)
		}
	}
}

// *_FILE variables: read at start with the trailing newline trimmed; both
// set, or an unreadable file, is an error naming the variable.
func TestSecretFileVariables(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	os.WriteFile(key, []byte("0123456789abcdef-from-a-file\n"), 0o600)
	c, err := parseWith(nil, map[string]string{"GATEHOUSE_SECRET_KEY_FILE": key, "GATEHOUSE_DATABASE_URL_FILE": key})
	if err != nil || c.SecretKey != "0123456789abcdef-from-a-file" || c.Source("secret-key") != "env GATEHOUSE_SECRET_KEY_FILE" {
		t.Errorf("%q %q %v", c.SecretKey, c.Source("secret-key"), err)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"GATEHOUSE_JWT_SIGNING_KEY_FILE": key, "GATEHOUSE_JWT_SIGNING_KEY": "x"}, "GATEHOUSE_JWT_SIGNING_KEY and GATEHOUSE_JWT_SIGNING_KEY_FILE are both set"},
		{map[string]string{"GATEHOUSE_DATABASE_URL_FILE": filepath.Join(dir, "absent")}, "GATEHOUSE_DATABASE_URL_FILE: open "},
		{map[string]string{"GATEHOUSE_SECRET_KEY_FILE": dir}, "GATEHOUSE_SECRET_KEY_FILE: read "},
	} {
		if _, err := parseWith(nil, tc.env); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %s", tc.env, err, tc.want)
		}
	}
	// Through the command: exit 2, and nothing is created.
	db := filepath.Join(dir, "gh.db")
	_, err = runCmd(t, map[string]string{"GATEHOUSE_DATABASE_URL": db, "GATEHOUSE_SECRET_KEY_FILE": filepath.Join(dir, "absent")}, "migrate")
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "GATEHOUSE_SECRET_KEY_FILE") {
		t.Errorf("migrate with an absent key file: %v", err)
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("the database was created")
	}
}

// An unknown GATEHOUSE_* variable is a warning naming the closest known
// one; the tests' GATEHOUSE_TEST_* are exempt.
func TestUnknownVariablesWarn(t *testing.T) {
	got := site.UnknownVariables([]string{"GATEHOUSE_ADRR=x", "GATEHOUSE_TEST_POSTGRES_URL=y", "GATEHOUSE_ADDR=z", "HOME=/root", "GATEHOUSE_PASSWORD=p", "GATEHOUSE_SECRET_KEY_FILE=/k"})
	if len(got) != 1 || !strings.Contains(got[0], "GATEHOUSE_ADRR is not a gatehouse setting") || !strings.Contains(got[0], "did you mean GATEHOUSE_ADDR?") {
		t.Errorf("%q", got)
	}
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"gatehouse", "config"}, getenvFrom(nil), nil, &out, &errb, "GATEHOUSE_ADRR=x")
	if err != nil || !strings.Contains(errb.String(), "GATEHOUSE_ADRR is not a gatehouse setting") {
		t.Errorf("config: %v %s", err, errb.String())
	}
}

// gatehouse config shows each value and its source, never a secret.
func TestConfigCommandShowsSources(t *testing.T) {
	path := writeConfig(t, 0o600, "page-size = 7\njwt-signing-key = \"a-signing-key-that-must-not-show-0123\"\n")
	env := map[string]string{"GATEHOUSE_CONFIG": path, "GATEHOUSE_LOG_LEVEL": "warn", "GATEHOUSE_DATABASE_URL": "postgres://u:hunter2@db/x"}
	out, err := runCmd(t, env, "config", "--addr", "0.0.0.0:80")
	if err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{`addr\s+0\.0\.0\.0:80\s+flag --addr`, `log-level\s+warn\s+env GATEHOUSE_LOG_LEVEL`,
		`page-size\s+7\s+` + regexp.QuoteMeta(path) + ` line 1`, `jwt-algorithm\s+HS256\s+default`, `jwt-signing-key\s+\(set, not shown\)`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("no line %s in\n%s", re, out)
		}
	}
	if strings.Contains(out, "must-not-show") || strings.Contains(out, "hunter2") {
		t.Errorf("a secret shown:\n%s", out)
	}
	md, err := runCmd(t, nil, "config", "--markdown")
	if err != nil || !strings.HasPrefix(md, "| flag | variable | default | meaning |") {
		t.Errorf("--markdown: %v %.100s", err, md)
	}
}
