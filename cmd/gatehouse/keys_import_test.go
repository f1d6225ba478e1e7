package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// writeRSAKey writes a new RSA key as `openssl genrsa` does (PKCS#1 PEM),
// the form Django OAuth Toolkit's documentation generates its
// OIDC_RSA_PRIVATE_KEY in.
func writeRSAKey(t *testing.T, dir, name string) (string, []byte) {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)})
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, data
}

// dotIDToken signs an id_token with Django OAuth Toolkit's own code
// (testdata/dot_id_token.py): the kid DOT gives the key, and the token.
// It skips when DOT is not installed, unless GATEHOUSE_TEST_DRF_REQUIRED=1.
func dotIDToken(t *testing.T, keyPath, issuer, clientID, sub string) (kid, token string) {
	t.Helper()
	python := "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import oauth2_provider, jwcrypto").Run(); err != nil {
		if os.Getenv("GATEHOUSE_TEST_DRF_REQUIRED") == "1" {
			t.Fatalf("GATEHOUSE_TEST_DRF_REQUIRED=1 but %s cannot import Django OAuth Toolkit: %v", python, err)
		}
		t.Skip("Django OAuth Toolkit is not installed (apt-get install python3-django-oauth-toolkit); skipped")
	}
	out, err := exec.Command(python, "testdata/dot_id_token.py", keyPath, issuer, clientID, sub).CombinedOutput()
	lines := strings.Fields(string(out))
	if err != nil || len(lines) != 2 {
		t.Fatalf("dot_id_token.py: %v\n%s", err, out)
	}
	return lines[0], lines[1]
}

var importedRE = regexp.MustCompile(`^imported signing key (\S+) \(RS256\): signs from now on`)

// A Django project's OIDC_RSA_PRIVATE_KEY, imported with `gatehouse keys
// import`, and its issuer kept (GATEHOUSE_OIDC_ISSUER: the site's URL and
// /o, DOT's default): the kid is the one DOT gives the key, it signs from
// now on, the discovery document at DOT's path names DOT's issuer, and an
// id_token DOT signed is accepted as this provider's (the id_token_hint of
// RP-initiated logout), while one signed with a key gatehouse was not
// given, or naming another issuer, is not (found by a migration
// walkthrough: DOT's issuer could not be kept). The command prints no key
// material, and a file that is not a key changes nothing.
func TestKeysImportDjangoKey(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			env := baseEnv(testdb.URL(t, backend))
			env["GATEHOUSE_ADDR"] = freeAddr(t)
			dotIssuer := "http://" + env["GATEHOUSE_ADDR"] + "/o"
			env["GATEHOUSE_OIDC_ISSUER"] = dotIssuer
			keyPath, keyPEM := writeRSAKey(t, dir, "oidc.key")
			otherPath, _ := writeRSAKey(t, dir, "other.key")
			relyingParty(t, env, "django-rp")

			junk := filepath.Join(dir, "settings.py")
			os.WriteFile(junk, []byte("OIDC_RSA_PRIVATE_KEY = os.environ['OIDC_KEY']\n"), 0o600)
			out, errOut, err := runSplit(t, env, "keys", "import", junk)
			if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "the file is not PEM") {
				t.Fatalf("importing a settings file: %v (exit %d) %s %s", err, exitCode(err), out, errOut)
			}
			if out, _, err := runSplit(t, env, "keys", "import", filepath.Join(dir, "missing.key")); err == nil || exitCode(err) != 2 {
				t.Fatalf("a missing file: %v %s", err, out)
			}
			if out, _, err := runSplit(t, env, "keys", "import"); err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "keys import: missing FILE") {
				t.Fatalf("no file: %v %s", err, out)
			}
			if out, _, err := runSplit(t, env, "keys", "rotate", "--inactive"); err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "--inactive is a flag of keys import") {
				t.Fatalf("--inactive on rotate: %v %s", err, out)
			}
			listed, _, err := runSplit(t, env, "keys", "list")
			if err != nil {
				t.Fatal(err)
			}
			if rows, order := keyRows(t, listed); len(order) != 1 || rows[order[0]][2] != "current" {
				t.Fatalf("the refusals changed the keys:\n%s", listed)
			}

			// From standard input, as `gatehouse keys import - < oidc.key`.
			var stdout, stderr strings.Builder
			err = run(t.Context(), []string{"gatehouse", "keys", "import", "-"}, getenvFrom(env), strings.NewReader(string(keyPEM)), &stdout, &stderr)
			m := importedRE.FindStringSubmatch(stdout.String())
			if err != nil || m == nil {
				t.Fatalf("keys import -: %v\n%s%s", err, stdout.String(), stderr.String())
			}
			kid := m[1]
			body := string(keyPEM[strings.Index(string(keyPEM), "\n")+1 : len(keyPEM)-40])
			for _, line := range strings.Split(body, "\n") {
				if len(line) > 20 && (strings.Contains(stdout.String(), line) || strings.Contains(stderr.String(), line)) {
					t.Fatalf("key material in the output: %s%s", stdout.String(), stderr.String())
				}
			}
			listed, _, _ = runSplit(t, env, "keys", "list")
			if rows, _ := keyRows(t, listed); rows[kid] == nil || rows[kid][2] != "current" {
				t.Fatalf("after the import:\n%s", listed)
			}
			if _, _, err := runSplit(t, env, "keys", "import", keyPath); err == nil || !strings.Contains(err.Error(), "in the store already") {
				t.Fatalf("imported twice: %v", err)
			}

			base, stop := serve(t, env)
			defer stop()
			dotKID, token := dotIDToken(t, keyPath, dotIssuer, "django-rp", "1")
			if dotKID != kid {
				t.Fatalf("kid %s, Django OAuth Toolkit's %s", kid, dotKID)
			}
			_, forged := dotIDToken(t, otherPath, dotIssuer, "django-rp", "1")
			_, elsewhere := dotIDToken(t, keyPath, base, "django-rp", "1")
			doc := get(t, base+"/o/.well-known/openid-configuration/")
			var meta map[string]any
			if err := json.Unmarshal([]byte(doc), &meta); err != nil {
				t.Fatal(err)
			}
			if meta["issuer"] != dotIssuer || meta["authorization_endpoint"] != base+"/o/authorize/" || meta["userinfo_endpoint"] != base+"/o/userinfo/" ||
				meta["end_session_endpoint"] != base+"/o/logout/" {
				t.Fatalf("discovery with DOT's issuer: %s", doc)
			}
			jwks := get(t, base+"/o/.well-known/jwks.json")
			if !strings.Contains(jwks, `"kid":"`+kid+`"`) {
				t.Fatalf("JWKS without %s: %s", kid, jwks)
			}
			logout := func(hint string) (int, string) {
				q := url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://rp.example/bye"}}
				c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
				res, err := c.Get(base + "/o/logout/?" + q.Encode())
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				return res.StatusCode, string(b)
			}
			for name, tok := range map[string]string{"a key not imported": forged, "another issuer": elsewhere} {
				if code, body := logout(tok); code != http.StatusBadRequest || !strings.Contains(body, "not an id_token of this provider") {
					t.Fatalf("an id_token of %s: %d %s", name, code, body)
				}
			}
			if code, body := logout(token); code == http.StatusBadRequest || strings.Contains(body, "not an id_token") {
				t.Fatalf("Django's id_token: %d %s", code, body)
			}
		})
	}
}

// get is the body of a GET that must answer 200.
func get(t *testing.T, u string) string {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, res.StatusCode, b)
	}
	return string(b)
}
