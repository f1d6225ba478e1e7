package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// secretIn is the client secret an applications create or rotate-secret
// printed.
func secretIn(t *testing.T, out string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "client_secret: "); ok {
			return v
		}
	}
	t.Fatalf("no client_secret in %q", out)
	return ""
}

func tokenStatus(t *testing.T, base, clientID, secret string) (int, string) {
	t.Helper()
	res, err := http.PostForm(base+"/o/token/", url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// applications update and rotate-secret change what the server answers,
// and refuse bad input without changing anything.
func TestApplicationsUpdateAndRotateSecret(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			env := baseEnv(testdb.URL(t, backend))
			env["GATEHOUSE_AUTH_CACHE_TTL"] = "200ms" // how long the server may answer from the application it cached
			out, err := runCmd(t, env, "applications", "create", "--client-id", "svc", "--grant-types", "client-credentials")
			if err != nil {
				t.Fatalf("%v %s", err, out)
			}
			old := secretIn(t, out)
			if out, err := runCmd(t, env, "applications", "create", "--client-id", "spa", "--client-type", "public", "--grant-types", "authorization-code",
				"--redirect-uris", "https://spa.example/cb"); err != nil {
				t.Fatalf("%v %s", err, out)
			}
			// Refusals: nothing changes.
			for _, c := range []struct {
				args []string
				want string
			}{
				{[]string{"applications", "update", "nobody", "--name", "x"}, `application "nobody" does not exist`},
				{[]string{"applications", "update", "svc"}, "nothing to change"},
				{[]string{"applications", "update", "svc", "--skip-authorization", "maybe"}, "--skip-authorization"},
				{[]string{"applications", "update", "spa", "--redirect-uris", "javascript:alert(1)"}, "redirect URI"},
				{[]string{"applications", "update", "spa", "--redirect-uris", ""}, "needs at least one redirect URI"},
				{[]string{"applications", "update", "svc", "--access-token-format", "paseto"}, "token format"},
				{[]string{"applications", "update", "svc", "--default-scopes", "root"}, "default scopes"},
				{[]string{"applications", "update", "svc", "--allowed-origins", "https://a.example/path"}, "origin"},
				{[]string{"applications", "rotate-secret", "spa"}, "public"},
				{[]string{"applications", "rotate-secret", "nobody"}, `application "nobody" does not exist`},
			} {
				out, err := runCmd(t, env, c.args...)
				if err == nil || !strings.Contains(out+err.Error(), c.want) {
					t.Fatalf("%v: %v %s; want an error saying %q", c.args, err, out, c.want)
				}
				if strings.Contains(out, "client_secret:") {
					t.Fatalf("%v printed a secret: %s", c.args, out)
				}
			}
			base, stop := serve(t, env)
			defer stop()
			if st, body := tokenStatus(t, base, "svc", old); st != 200 || strings.Contains(body, `"access_token": "ey`) {
				t.Fatalf("before: %d %s", st, body)
			}

			// rotate-secret: the new secret works, the old one does not (the
			// server's application cache may hold the old one for its TTL).
			out, err = runCmd(t, env, "applications", "rotate-secret", "svc")
			if err != nil {
				t.Fatalf("%v %s", err, out)
			}
			fresh := secretIn(t, out)
			if fresh == old || len(fresh) != 64 {
				t.Fatalf("new secret %q", fresh)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				st, body := tokenStatus(t, base, "svc", fresh)
				if st == 200 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("new secret: %d %s", st, body)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if st, body := tokenStatus(t, base, "svc", old); st != 401 {
				t.Fatalf("old secret after the rotation: %d %s", st, body)
			}
			if out, err := runCmd(t, env, "applications", "update", "svc", "--name", "Service", "--access-token-format", "jwt",
				"--allowed-origins", "https://app.example"); err != nil || !strings.Contains(out, "allowed origins https://app.example") {
				t.Fatalf("update: %v %s", err, out)
			}
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				st, body := tokenStatus(t, base, "svc", fresh)
				if st == 200 && strings.Contains(body, `"access_token": "ey`) {
					break // an RFC 9068 JWT now
				}
				if time.Now().After(deadline) {
					t.Fatalf("after --access-token-format jwt: %d %s", st, body)
				}
			}
			out, err = runCmd(t, env, "applications", "list")
			if err != nil || !strings.Contains(out, "Service") {
				t.Fatalf("list after update: %v %s", err, out)
			}
			if out, err := runCmd(t, env, "applications", "update", "spa", "--redirect-uris", "https://spa.example/cb2", "--skip-authorization", "true",
				"--post-logout-redirect-uris", "https://spa.example/bye"); err != nil || !strings.Contains(out, "https://spa.example/cb2") {
				t.Fatalf("update spa: %v %s", err, out)
			}
		})
	}
}
