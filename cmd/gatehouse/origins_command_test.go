package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// --allowed-origins on createapplication and updateapplication: a bad
// origin is refused with the reason and nothing is written; good ones are
// stored normalised and listed; "" clears them. loaddata refuses a dump
// whose allowed_origins holds something that is not an origin, loading
// nothing of it.
func TestAllowedOriginsCommands(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			env := baseEnv(testdb.URL(t, backend))
			list := func() string {
				out, err := runCmd(t, env, "listapplications")
				if err != nil {
					t.Fatalf("listapplications: %v %s", err, out)
				}
				return out
			}
			for bad, why := range map[string]string{
				"https://spa.example/":      "an origin has no path",
				"https://*.spa.example":     "wildcards are not allowed",
				"ftp://spa.example":         "the scheme must be http or https",
				"https://user@spa.example":  "no user information",
				"https://spa.example:99999": "the port must be a number",
				"spa.example":               "the scheme must be http or https",
			} {
				out, err := runCmd(t, env, "createapplication", "--client-id", "spa", "--client-type", "public", "--grant-types", "password",
					"--allowed-origins", "https://ok.example "+bad)
				if err == nil || !strings.Contains(err.Error(), why) || !strings.Contains(err.Error(), bad) {
					t.Fatalf("createapplication --allowed-origins %q: %v %s", bad, err, out)
				}
				if strings.Contains(list(), "spa") {
					t.Fatalf("a refused application was stored: %s", list())
				}
			}
			out, err := runCmd(t, env, "createapplication", "--client-id", "spa", "--client-type", "public", "--grant-types", "password",
				"--allowed-origins", "HTTPS://SPA.example:443,http://localhost:3000")
			if err != nil {
				t.Fatalf("createapplication: %v %s", err, out)
			}
			if l := list(); !strings.Contains(l, "https://spa.example http://localhost:3000") {
				t.Fatalf("listapplications: %s", l)
			}
			out, err = runCmd(t, env, "updateapplication", "--allowed-origins", "https://new.example https://bad.example/path", "spa")
			if err == nil || !strings.Contains(err.Error(), `allowed origin "https://bad.example/path": an origin has no path`) {
				t.Fatalf("updateapplication with a bad origin: %v %s", err, out)
			}
			if l := list(); !strings.Contains(l, "https://spa.example http://localhost:3000") || strings.Contains(l, "new.example") {
				t.Fatalf("a refused update changed the origins: %s", l)
			}
			if out, err := runCmd(t, env, "updateapplication", "spa"); err == nil {
				t.Fatalf("updateapplication without a change: %s", out)
			}
			if out, err := runCmd(t, env, "updateapplication", "--allowed-origins", "https://new.example", "nobody"); err == nil ||
				!strings.Contains(err.Error(), `application "nobody" does not exist`) {
				t.Fatalf("updateapplication of an unknown client: %v %s", err, out)
			}
			out, err = runCmd(t, env, "updateapplication", "--allowed-origins", "https://new.example", "spa")
			if err != nil || !strings.Contains(out, "allowed origins https://new.example") || !strings.Contains(list(), "https://new.example") {
				t.Fatalf("updateapplication: %v %s %s", err, out, list())
			}
			if out, err := runCmd(t, env, "updateapplication", "--allowed-origins", "", "spa"); err != nil || strings.Contains(list(), "new.example") {
				t.Fatalf("clearing the origins: %v %s %s", err, out, list())
			}

			dump := filepath.Join(t.TempDir(), "dump.json")
			os.WriteFile(dump, []byte(`[{"model": "auth.user", "pk": 50, "fields": {"username": "dora", "password": "!", "date_joined": "2024-01-01T00:00:00Z"}},
 {"model": "oauth2_provider.application", "pk": 50, "fields": {"client_id": "dot2", "user": 50, "redirect_uris": "https://dot2.example/cb",
  "client_type": "public", "authorization_grant_type": "authorization-code", "client_secret": "", "name": "DOT 2",
  "skip_authorization": false, "allowed_origins": "https://dot2.example https://dot2.example/app"}}]`), 0o600)
			out, err = runCmd(t, env, "loaddata", dump)
			if err == nil || !strings.Contains(err.Error(), `allowed_origins: origin "https://dot2.example/app": an origin has no path`) ||
				!strings.Contains(err.Error(), "nothing loaded") {
				t.Fatalf("loaddata with a bad origin: %v %s", err, out)
			}
			if strings.Contains(list(), "dot2") {
				t.Fatal("the application was loaded")
			}
			if _, err := runCmd(t, env, "createtoken", "dora"); err == nil {
				t.Fatal("the user of a refused dump was loaded")
			}
		})
	}
}
