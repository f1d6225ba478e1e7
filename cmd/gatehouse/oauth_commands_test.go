package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

func runCmd(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"gatehouse"}, args...), getenvFrom(env), strings.NewReader(""), &out, &errb)
	return out.String() + errb.String(), err
}

// The fixture's applications work with their Django secrets after
// loaddata, applications made by the CLI work with the secret it prints,
// and the OAuth settings reach the server.
func TestOAuthCommands(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			env := baseEnv(testdb.URL(t, backend))
			env["GATEHOUSE_OAUTH_ACCESS_TOKEN_LIFETIME"] = "1h"
			if out, err := runCmd(t, env, "loaddata", testdb.ReferenceDumpFile(t)); err != nil || !strings.Contains(out, "loaded 3 OAuth applications") {
				t.Fatalf("loaddata: %v %s", err, out)
			}
			out, err := runCmd(t, env, "createapplication", "--client-id", "svc", "--name", "Service", "--grant-types", "client-credentials,password", "--owner", "alice")
			if err != nil {
				t.Fatalf("createapplication: %v %s", err, out)
			}
			var secret string
			for _, l := range strings.Split(out, "\n") {
				if v, ok := strings.CutPrefix(l, "client_secret: "); ok {
					secret = v
				}
			}
			if len(secret) != 64 {
				t.Fatalf("secret %q in %s", secret, out)
			}
			if out, err := runCmd(t, env, "createapplication", "--client-id", "svc", "--grant-types", "password"); err == nil {
				t.Fatalf("duplicate client id accepted: %s", out)
			}
			if out, err := runCmd(t, env, "createapplication", "--grant-types", "authorization-code"); err == nil {
				t.Fatalf("code grant without redirect URI accepted: %s", out)
			}
			if out, err := runCmd(t, env, "createapplication", "--client-type", "public", "--grant-types", "client-credentials"); err == nil {
				t.Fatalf("public client-credentials client accepted: %s", out)
			}
			out, err = runCmd(t, env, "listapplications")
			if err != nil || !strings.Contains(out, "conf-client") || !strings.Contains(out, "svc") || strings.Contains(out, secret) {
				t.Fatalf("listapplications: %v %s", err, out)
			}

			base, stop := serve(t, env)
			token := func(form url.Values, user, pass string) (int, map[string]any) {
				req, _ := http.NewRequest("POST", base+"/o/token/", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(user, pass)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				var m map[string]any
				json.NewDecoder(res.Body).Decode(&m)
				return res.StatusCode, m
			}
			pw := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alicepass"}}
			if s, m := token(pw, "conf-client", "conf-secret"); s != 200 || m["expires_in"] != float64(3600) {
				t.Fatalf("conf-client: %d %v", s, m)
			}
			if s, _ := token(pw, "conf-client", "wrong"); s != 401 {
				t.Fatalf("wrong secret: %d", s)
			}
			if s, m := token(url.Values{"grant_type": {"client_credentials"}}, "svc", secret); s != 200 {
				t.Fatalf("svc: %d %v", s, m)
			}
			stop()

			if out, err := runCmd(t, env, "cleartokens"); err != nil || !strings.Contains(out, "removed") {
				t.Fatalf("cleartokens: %v %s", err, out)
			}
			if out, err := runCmd(t, env, "deleteapplication", "svc"); err != nil {
				t.Fatalf("deleteapplication: %v %s", err, out)
			}
			if _, err := runCmd(t, env, "deleteapplication", "svc"); err == nil {
				t.Fatal("deleting a missing application succeeded")
			}
		})
	}
}
