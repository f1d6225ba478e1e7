package main

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// swappedDump is a project whose OAUTH2_PROVIDER_*_MODEL settings name
// models of its own (app clients), each extending DOT 1.7's abstract one
// with a field of its own: an application (by natural key in the tokens),
// a code, an access token with its refresh token, and a refresh token DOT
// revoked.
const swappedDump = `[
{"model": "auth.user", "pk": 1, "fields": {"username": "ann", "password": "!", "last_login": null, "date_joined": "2025-01-01T00:00:00Z"}},
{"model": "clients.application", "pk": 7, "fields": {"client_id": "mobile", "user": null, "redirect_uris": "https://app.example.com/cb",
  "client_type": "confidential", "authorization_grant_type": "password", "client_secret": "mobile-secret-0123456789",
  "name": "m", "skip_authorization": false, "created": "2025-01-01T00:00:00Z", "updated": "2025-01-01T00:00:00Z",
  "algorithm": "", "logo": "logos/m.png"}},
{"model": "clients.grant", "pk": 1, "fields": {"user": 1, "code": "swapped-code-abcdefghijklmnopqrst", "application": ["mobile"],
  "expires": "2099-01-01T00:00:00Z", "redirect_uri": "https://app.example.com/cb", "scope": "read",
  "created": "2025-01-01T00:00:00Z", "updated": "2025-01-01T00:00:00Z", "code_challenge": "", "code_challenge_method": "",
  "nonce": "", "claims": "", "tenant": "t1"}},
{"model": "clients.accesstoken", "pk": 3, "fields": {"user": 1, "source_refresh_token": null, "token": "swapped-access-abcdefghijklmnop",
  "id_token": null, "application": ["mobile"], "expires": "2099-01-01T00:00:00Z", "scope": "read write",
  "created": "2025-01-01T00:00:00Z", "updated": "2025-01-01T00:00:00Z", "device": "phone"}},
{"model": "clients.refreshtoken", "pk": 4, "fields": {"user": 1, "token": "swapped-refresh-abcdefghijklmno", "application": ["mobile"],
  "access_token": 3, "created": "2025-01-01T00:00:00Z", "updated": "2025-01-01T00:00:00Z", "revoked": null, "device": "phone"}},
{"model": "clients.refreshtoken", "pk": 5, "fields": {"user": 1, "token": "swapped-revoked-abcdefghijklmno", "application": ["mobile"],
  "access_token": null, "created": "2025-01-01T00:00:00Z", "updated": "2025-01-02T00:00:00Z", "revoked": "2025-01-02T00:00:00Z", "device": "phone"}}
]`

// A project that swaps DOT's models moves over: loaddata finds its models
// by their fields (or takes them from the flags), loads their objects as
// DOT's, says so once, and every token works as it did.
func TestLoaddataSwappedDOTModels(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			env := baseEnv(testdb.URL(t, backend))
			out, errOut, err := runIn(t, env, swappedDump, "loaddata", "-")
			if err != nil {
				t.Fatalf("loaddata: %v\n%s%s", err, out, errOut)
			}
			if !strings.Contains(out, "loaded 1 OAuth applications, 1 codes, 1 access tokens, 2 refresh tokens") {
				t.Errorf("loaddata's counts:\n%s", out)
			}
			for _, want := range []string{"5 objects of the project's own OAuth models loaded as Django OAuth Toolkit's",
				"clients.application as oauth2_provider.application (found by its fields; --oauth-application-model names another)",
				"clients.grant as oauth2_provider.grant (found", "clients.accesstoken as oauth2_provider.accesstoken (found",
				"clients.refreshtoken as oauth2_provider.refreshtoken (found"} {
				if !strings.Contains(errOut, want) {
					t.Errorf("loaddata did not say %q:\n%s", want, errOut)
				}
			}
			if strings.Count(errOut, "own OAuth models") != 1 || strings.Contains(errOut, "skipped") {
				t.Errorf("loaddata's warnings:\n%s", errOut)
			}
			base, stop := serve(t, env)
			defer stop()
			if st, body := call(t, "GET", base+"/api/me/", "Bearer swapped-access-abcdefghijklmnop", nil); st != 200 || body["username"] != "ann" {
				t.Errorf("the access token: %d %v", st, body)
			}
			client := basicAuth("mobile", "mobile-secret-0123456789")
			refresh := func(token string) (int, map[string]any) {
				return call(t, "POST", base+"/o/token/", client, formBody(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}}))
			}
			st, body := refresh("swapped-refresh-abcdefghijklmno")
			if st != 200 || body["scope"] != "read write" {
				t.Fatalf("the refresh token: %d %v", st, body)
			}
			if st, _ := call(t, "GET", base+"/api/me/", "Bearer "+body["access_token"].(string), nil); st != 200 {
				t.Errorf("the new access token: %d", st)
			}
			if st, body := refresh("swapped-revoked-abcdefghijklmno"); st != 400 || body["error"] != "invalid_grant" {
				t.Errorf("the revoked refresh token: %d %v", st, body)
			}
			if st, body := call(t, "POST", base+"/o/token/", basicAuth("mobile", "wrong-secret"), formBody(url.Values{"grant_type": {"client_credentials"}})); st != 401 {
				t.Errorf("a wrong client secret: %d %v", st, body)
			}
		})
	}
}

// The flags name the models when the files do not tell them apart, and
// what cannot be right is refused, loading nothing.
func TestLoaddataSwappedDOTModelFlags(t *testing.T) {
	// A second model with an application's fields: which one is the
	// project's is for the flag to say.
	twoApps := strings.Replace(swappedDump, `{"model": "auth.user"`, `{"model": "billing.client", "pk": 1, "fields": {"client_id": "b",
  "client_type": "public", "authorization_grant_type": "password", "redirect_uris": ""}},
{"model": "auth.user"`, 1)
	dotOwn := strings.Replace(swappedDump, `"model": "clients.application"`, `"model": "oauth2_provider.application"`, 1)
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			env := baseEnv(testdb.URL(t, backend))
			for _, c := range []struct {
				name, dump string
				args       []string
				want       string
			}{
				{"two candidates", twoApps, nil, "several models with the fields of oauth2_provider.application (billing.client, clients.application): " +
					"name the project's OAUTH2_PROVIDER_APPLICATION_MODEL with --oauth-application-model"},
				{"DOT's own and a flag", dotOwn, []string{"--oauth-application-model", "clients.Application"},
					"the files hold oauth2_provider.application objects, but its model is clients.application (OAUTH2_PROVIDER_APPLICATION_MODEL)"},
				{"no app label", swappedDump, []string{"--oauth-access-token-model", "AccessToken"}, "give it as app_label.Model"},
				{"a model gatehouse reads", swappedDump, []string{"--oauth-grant-model", "auth.User"}, "auth.user cannot stand for oauth2_provider.grant"},
				{"one model for two", swappedDump, []string{"--oauth-access-token-model", "clients.Token", "--oauth-refresh-token-model", "clients.Token"},
					"clients.token cannot stand for"},
			} {
				args := append(append([]string{"loaddata"}, c.args...), "-")
				out, errOut, err := runIn(t, env, c.dump, args...)
				if err == nil || !strings.Contains(err.Error()+errOut, c.want) {
					t.Errorf("%s: %v\n%s%s", c.name, err, out, errOut)
				}
			}
			if out, _, _ := runIn(t, env, "", "applications", "list"); strings.Contains(out, "mobile") {
				t.Fatalf("a refused load stored an application:\n%s", out)
			}
			// Named, the other model with an application's fields is
			// skipped as any unknown model.
			out, errOut, err := runIn(t, env, twoApps, "loaddata", "--oauth-application-model", "clients.Application", "-")
			if err != nil {
				t.Fatalf("loaddata with the flag: %v\n%s%s", err, out, errOut)
			}
			if !strings.Contains(errOut, "clients.application as oauth2_provider.application (named)") ||
				!strings.Contains(errOut, "skipped 1 objects of model billing.client: gatehouse does not keep it") {
				t.Errorf("loaddata with the flag:\n%s", errOut)
			}
			base, stop := serve(t, env)
			defer stop()
			if st, body := call(t, "GET", base+"/api/me/", "Bearer swapped-access-abcdefghijklmnop", nil); st != 200 {
				t.Errorf("the access token: %d %v", st, body)
			}
		})
	}
}

// swappedDir is a dump and a database real Django wrote for a project
// whose DOT models are its own (testdata/django/swappeddot/generate.py).
const swappedDir = "../../testdata/django/swappeddot"

// What Django itself wrote for such a project moves over: loaddata finds
// the models in the dump, import reads their tables when named, and the
// tokens and the client work after either.
func TestDjangoSwappedDOTCorpus(t *testing.T) {
	for _, backend := range testdb.Backends() {
		for _, how := range []string{"loaddata", "import", "import-detected"} {
			t.Run(backend+"/"+how, func(t *testing.T) {
				env := baseEnv(testdb.URL(t, backend))
				args := []string{"loaddata", filepath.Join(swappedDir, "dump.json")}
				switch how {
				case "import":
					args = []string{"import", "--from", copyDjangoDB(t, swappedDir), "--oauth-application-model", "clients.Application",
						"--oauth-access-token-model", "clients.AccessToken", "--oauth-refresh-token-model", "clients.RefreshToken",
						"--oauth-grant-model", "clients.Grant"}
				case "import-detected":
					// Without the flags: the tables found by their columns
					// among the models django_content_type lists.
					args = []string{"import", "--from", copyDjangoDB(t, swappedDir)}
				}
				out, errOut, err := runIn(t, env, "", args...)
				if err != nil {
					t.Fatalf("%s: %v\n%s%s", how, err, out, errOut)
				}
				if !strings.Contains(errOut, "5 objects of the project's own OAuth models loaded as Django OAuth Toolkit's") {
					t.Errorf("%s's warning:\n%s", how, errOut)
				}
				if how == "import-detected" {
					for _, want := range []string{"clients.application read as oauth2_provider.application: its table clients_application has the columns",
						"clients.accesstoken read as oauth2_provider.accesstoken", "clients.refreshtoken read as oauth2_provider.refreshtoken",
						"clients.grant read as oauth2_provider.grant", "(--oauth-grant-model names another)"} {
						if !strings.Contains(errOut, want) {
							t.Errorf("the import's notes lack %q:\n%s", want, errOut)
						}
					}
				}
				base, stop := serve(t, env)
				defer stop()
				if st, body := call(t, "GET", base+"/api/me/", "Bearer real-access-abcdefghijklmnopqrs", nil); st != 200 || body["username"] != "ann" {
					t.Errorf("the access token: %d %v", st, body)
				}
				client := basicAuth("mobile", "mobile-secret-0123456789")
				grant := func(form url.Values) (int, map[string]any) {
					return call(t, "POST", base+"/o/token/", client, formBody(form))
				}
				if st, body := grant(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"real-refresh-abcdefghijklmnopqr"}}); st != 200 || body["scope"] != "read write" {
					t.Errorf("the refresh token: %d %v", st, body)
				}
				if st, body := grant(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"real-revoked-abcdefghijklmnopqr"}}); st != 400 || body["error"] != "invalid_grant" {
					t.Errorf("the revoked refresh token: %d %v", st, body)
				}
				if st, body := grant(url.Values{"grant_type": {"password"}, "username": {"ann"}, "password": {"annpass-0123456"}}); st != 200 {
					t.Errorf("the password grant: %d %v", st, body)
				}
			})
		}
	}
}
