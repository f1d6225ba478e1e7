package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/djangotest"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// import --from reads a project's own DOT models from their tables when
// the flags name them (app clients, each table with a column of the
// project's own), and their tokens work as DOT's; without the flags it
// imports no OAuth rows and says which flag would.
func TestImportSwappedDOTModels(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			d := djangotest.New(t, backend)
			p := djangotest.Populate(t, d, 8)
			for _, model := range []string{"application", "grant", "accesstoken", "refreshtoken"} {
				d.Exec(t, "ALTER TABLE oauth2_provider_"+model+" RENAME TO clients_"+model)
				d.Exec(t, "ALTER TABLE clients_"+model+" ADD COLUMN tenant varchar(20) NOT NULL DEFAULT 't1'")
			}

			env := importEnv(t, backend)
			var errb bytes.Buffer
			out, err := runImport(context.Background(), env, &errb, "--from", d.URL)
			if err != nil {
				t.Fatalf("import without the flags: %v\n%s", err, errb.String())
			}
			if !strings.Contains(errb.String(), "table oauth2_provider_application does not exist") ||
				!strings.Contains(errb.String(), "names it with --oauth-application-model") {
				t.Errorf("import without the flags did not say which flag:\n%s", errb.String())
			}
			if strings.Contains(out, "oauth2_provider.accesstoken") {
				t.Errorf("import without the flags stored access tokens:\n%s", out)
			}

			env = importEnv(t, backend)
			errb.Reset()
			out, err = runImport(context.Background(), env, &errb, "--from", d.URL, "--batch-size", "2",
				"--oauth-application-model", "clients.Application", "--oauth-grant-model", "clients.Grant",
				"--oauth-access-token-model", "clients.AccessToken", "--oauth-refresh-token-model", "clients.RefreshToken")
			if err != nil {
				t.Fatalf("import: %v\n%s", err, errb.String())
			}
			modelCounts(t, out, errb.String(), map[string]int{"auth.user": 8, "clients.application": 2, "clients.grant": 1,
				"clients.accesstoken": 4, "clients.refreshtoken": 5})
			w := errb.String()
			if n := strings.Count(w, "own OAuth models"); n != 1 || !strings.Contains(w, "clients.application as oauth2_provider.application (named)") ||
				!strings.Contains(w, "clients.refreshtoken as oauth2_provider.refreshtoken (named)") {
				t.Errorf("import's warning (said %d times):\n%s", n, w)
			}
			if strings.Contains(w, "does not exist") && !strings.Contains(w, "knox") {
				t.Errorf("import's notes:\n%s", w)
			}

			base, stop := serve(t, env)
			defer stop()
			if st, body := call(t, "GET", base+"/api/me/", "Bearer "+p.AccessTokens[3], nil); st != 200 || body["username"] != "user0003" {
				t.Errorf("a DOT access token: %d %v", st, body)
			}
			client := basicAuth(p.ClientID, p.ClientSecret)
			st, body := call(t, "POST", base+"/o/token/", client, formBody(map[string][]string{"grant_type": {"refresh_token"}, "refresh_token": {p.RefreshTokens[1]}}))
			if st != 200 || body["scope"] != "read write" {
				t.Errorf("a DOT refresh token: %d %v", st, body)
			}
			st, body = call(t, "POST", base+"/o/token/", client, formBody(map[string][]string{"grant_type": {"refresh_token"}, "refresh_token": {p.RevokedRefresh}}))
			if st != 400 || body["error"] != "invalid_grant" {
				t.Errorf("a revoked DOT refresh token: %d %v", st, body)
			}
		})
	}
}

// The flags' values are checked before anything is read.
func TestImportSwappedDOTModelRefusals(t *testing.T) {
	env := importEnv(t, "sqlite")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--oauth-application-model", "Application"}, "give it as app_label.Model"},
		{[]string{"--oauth-grant-model", "clients.Grant; DROP TABLE x"}, "give it as app_label.Model"},
		{[]string{"--oauth-access-token-model", "auth.User"}, "auth.user cannot stand for oauth2_provider.accesstoken"},
		{[]string{"--oauth-access-token-model", "clients.T", "--oauth-refresh-token-model", "clients.T"}, "cannot stand for both"},
	} {
		var errb bytes.Buffer
		_, err := runImport(context.Background(), env, &errb, append([]string{"--from", "/nonexistent/django.sqlite3"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v", c.args, err)
		}
	}
}
