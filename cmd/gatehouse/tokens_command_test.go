package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// tokens list shows every kind without a secret; tokens revoke ends what
// its flags select, and the server refuses it after the cache TTL.
func TestTokensListAndRevoke(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			env := baseEnv(testdb.URL(t, backend))
			env["GATEHOUSE_AUTH_CACHE_TTL"] = "200ms"
			uenv := map[string]string{"GATEHOUSE_PASSWORD": "correct horse battery"}
			for k, v := range env {
				uenv[k] = v
			}
			if out, err := runCmd(t, uenv, "createuser", "--username", "alice"); err != nil {
				t.Fatalf("%v %s", err, out)
			}
			out, err := runCmd(t, env, "createtoken", "alice", "--name", "laptop")
			if err != nil {
				t.Fatalf("%v %s", err, out)
			}
			drfKey := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
			out, err = runCmd(t, env, "applications", "create", "--client-id", "conf", "--grant-types", "password")
			if err != nil {
				t.Fatalf("%v %s", err, out)
			}
			sec := secretIn(t, out)
			base, stop := serve(t, env)
			defer stop()
			res, err := http.PostForm(base+"/o/token/", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"correct horse battery"},
				"client_id": {"conf"}, "client_secret": {sec}})
			if err != nil {
				t.Fatal(err)
			}
			var tok struct{ AccessToken, RefreshToken string }
			var raw map[string]string
			json.NewDecoder(res.Body).Decode(&raw)
			res.Body.Close()
			tok.AccessToken, tok.RefreshToken = raw["access_token"], raw["refresh_token"]
			me := func(h string) int {
				req, _ := http.NewRequest("GET", base+"/api/me/", nil)
				req.Header.Set("Authorization", h)
				r, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				r.Body.Close()
				return r.StatusCode
			}
			// Introspection reads the token through the same cache: the
			// CLI's revocation (another process) shows within the TTL.
			active := func(token string) bool {
				r, err := http.PostForm(base+"/o/introspect/", url.Values{"token": {token}, "client_id": {"conf"}, "client_secret": {sec}})
				if err != nil {
					t.Fatal(err)
				}
				defer r.Body.Close()
				var m map[string]any
				if err := json.NewDecoder(r.Body).Decode(&m); err != nil || r.StatusCode != 200 {
					t.Fatalf("introspect: %d %v", r.StatusCode, err)
				}
				return m["active"] == true
			}
			if me("Bearer "+tok.AccessToken) != 200 || me("Token "+drfKey) != 200 || !active(tok.AccessToken) {
				t.Fatalf("before: the credentials do not work (%q, %q)", tok.AccessToken, drfKey)
			}

			out, err = runCmd(t, env, "tokens", "list", "--user", "alice")
			if err != nil {
				t.Fatalf("%v %s", err, out)
			}
			for _, want := range []string{"drf ", "oauth-access ", "oauth-refresh ", "conf", "laptop", "active"} {
				if !strings.Contains(out, want) {
					t.Fatalf("tokens list lacks %q:\n%s", want, out)
				}
			}
			for _, secret := range []string{tok.AccessToken, tok.RefreshToken, drfKey, sec} {
				if strings.Contains(out, secret) {
					t.Fatalf("tokens list shows a secret:\n%s", out)
				}
			}

			// Refusals: usage errors exit 2, unknown names 1; nothing revoked.
			for _, c := range []struct {
				args []string
				code int
				want string
			}{
				{[]string{"tokens", "revoke"}, 2, "name what to revoke"},
				{[]string{"tokens", "revoke", "--user", "alice", "--kind", "bogus"}, 2, "--kind"},
				{[]string{"tokens", "revoke", "--id", "1"}, 2, "--id needs --kind"},
				{[]string{"tokens", "revoke", "--user", "nobody"}, 1, `user "nobody" does not exist`},
				{[]string{"tokens", "list", "--client", "nobody"}, 1, `application "nobody" does not exist`},
				{[]string{"tokens", "list", "extra"}, 2, "extra"},
			} {
				out, err := runCmd(t, env, c.args...)
				if err == nil || exitCode(err) != c.code || !strings.Contains(out+err.Error(), c.want) {
					t.Fatalf("%v: %v (exit %d) %s; want exit %d and %q", c.args, err, exitCode(err), out, c.code, c.want)
				}
			}
			if me("Bearer "+tok.AccessToken) != 200 {
				t.Fatal("a refused command revoked the token")
			}

			// By client: the OAuth pair goes, the DRF key stays.
			if out, err := runCmd(t, env, "tokens", "revoke", "--user", "alice", "--client", "conf"); err != nil || !strings.Contains(out, "revoked 2 credentials") {
				t.Fatalf("%v %s", err, out)
			}
			// By id: the DRF key tokens list shows.
			out, _ = runCmd(t, env, "tokens", "list", "--user", "alice", "--kind", "drf")
			m := regexp.MustCompile(`(?m)^drf\s+(\d+)\s+alice\s+-\s+\S+ laptop`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no laptop key in:\n%s", out)
			}
			if out, err := runCmd(t, env, "tokens", "revoke", "--kind", "drf", "--id", m[1]); err != nil || !strings.Contains(out, "revoked 1 credentials") {
				t.Fatalf("%v %s", err, out)
			}
			deadline := time.Now().Add(5 * time.Second)
			for me("Bearer "+tok.AccessToken) != 401 || me("Token "+drfKey) != 401 || active(tok.AccessToken) {
				if time.Now().After(deadline) {
					t.Fatal("revoked credentials still work")
				}
				time.Sleep(50 * time.Millisecond)
			}
			res, _ = http.PostForm(base+"/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {"conf"}, "client_secret": {sec}})
			res.Body.Close()
			if res.StatusCode != 400 {
				t.Fatalf("a revoked refresh token: %d", res.StatusCode)
			}
			if out, _ := runCmd(t, env, "tokens", "list", "--user", "alice", "--all"); !strings.Contains(out, "revoked") {
				t.Fatalf("--all does not show the revoked refresh token:\n%s", out)
			}
		})
	}
}

// A name an API caller chose (a per-device token's, through POST
// /api/tokens/, which takes any characters DRF's CharField takes) is
// printed escaped: it cannot recolour the terminal or forge a table row
// (found by a bad-input pass). createtoken asks what the API asks of a
// name, and no control character.
func TestTokensListEscapesNames(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			env := baseEnv(testdb.URL(t, backend))
			uenv := map[string]string{"GATEHOUSE_PASSWORD": "correct horse battery"}
			for k, v := range env {
				uenv[k] = v
			}
			if out, err := runCmd(t, uenv, "createuser", "--username", "alice", "--first-name", "Al\x1b[2Jice"); err != nil {
				t.Fatalf("%v %s", err, out)
			}
			for _, name := range []string{"", "  ", strings.Repeat("x", 101), "x\x1b[31mred", "a\nb"} {
				if out, err := runCmd(t, env, "createtoken", "alice", "--name", name); err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "--name: 1 to 100 characters") {
					t.Errorf("createtoken --name %q: %v %s", name, err, out)
				}
			}
			base, stop := serve(t, env)
			defer stop()
			key, err := runCmd(t, env, "createtoken", "alice", "--name", "cli")
			if err != nil {
				t.Fatal(err)
			}
			body := strings.NewReader(`{"name": "x\u001b[31mRED\nforged\trow\u202e"}`)
			req, _ := http.NewRequest("POST", base+"/api/tokens/", body)
			req.Header.Set("Authorization", "Token "+strings.TrimSpace(key))
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusCreated {
				t.Fatalf("POST /api/tokens/: %d", res.StatusCode)
			}
			out, _, err := runSplit(t, env, "tokens", "list", "--user", "alice")
			if err != nil {
				t.Fatal(err)
			}
			show, _, _ := runSplit(t, env, "users", "show", "alice")
			for what, o := range map[string]string{"tokens list": out, "users show": show} {
				if strings.ContainsAny(o, "\x1b\u202e") || strings.Contains(o, "\nforged") {
					t.Errorf("%s prints control characters:\n%q", what, o)
				}
			}
			if !strings.Contains(out, `x\x1b[31mRED\nforged\trow\u202e`) || !strings.Contains(show, `Al\x1b[2Jice`) {
				t.Errorf("the names, escaped, are missing:\n%s\n%s", out, show)
			}
		})
	}
}
