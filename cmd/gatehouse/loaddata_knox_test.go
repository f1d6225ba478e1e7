package main

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// Knox tokens as a Django project with django-rest-knox dumps them, loaded
// by `gatehouse loaddata` and then served: the summary counts them,
// loading them again changes nothing, a knox 5 token authenticates on
// /api/me/ beside a DRF key from the same dump, an inactive user's is
// refused with knox's words; a dump of knox 4.1 (salted rows) is refused
// under the default knox-version with what to do, loads nothing, and
// loads and authenticates with GATEHOUSE_KNOX_VERSION=4.
func TestLoaddataKnoxTokens(t *testing.T) {
	const (
		knoxAlice = "3f9c2a7be1d04c58a6e2f0b19d7c8e4a5b6f1029384756abcdef0123456789ab"
		knoxBob   = "0b1c2d3e4f5a6978a6e2f0b19d7c8e4a5b6f1029384756abcdef0123456789ab"
		knoxOld   = "a0a1a2a3a4a5a6a7a6e2f0b19d7c8e4a5b6f1029384756abcdef0123456789ab"
		drfKey    = "1400d6b8518972133ebc5e816e5bf5b3d5217365"
		salt      = "0011223344556677"
	)
	// knox 5: hashlib.sha512(token.encode()).hexdigest(); knox 4.1: the
	// hash of unhexlify(token) + unhexlify(salt).
	digest5 := func(tok string) string { s := sha512.Sum512([]byte(tok)); return hex.EncodeToString(s[:]) }
	raw, _ := hex.DecodeString(knoxAlice)
	rawSalt, _ := hex.DecodeString(salt)
	s41 := sha512.Sum512(append(raw, rawSalt...))
	digest41 := hex.EncodeToString(s41[:])
	expiry := time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)

	user := func(pk int, name string, active bool) string {
		return fmt.Sprintf(`{"model": "auth.user", "pk": %d, "fields": {"password": "!", "last_login": null, "is_superuser": false, "username": %q, "first_name": "", "last_name": "", "email": "", "is_staff": false, "is_active": %v, "date_joined": "2026-01-01T00:00:00Z", "groups": [], "user_permissions": []}}`, pk, name, active)
	}
	users := "[" + user(1, "alice", true) + ",\n" + user(2, "bob", false) + ",\n" +
		`{"model": "authtoken.token", "pk": "` + drfKey + `", "fields": {"user": 1, "created": "2026-01-01T00:00:00Z"}}]`
	knox5 := fmt.Sprintf(`[{"model": "knox.authtoken", "pk": %q, "fields": {"token_key": %q, "user": 1, "created": "2026-01-01T00:00:00Z", "expiry": %q}},
 {"model": "knox.authtoken", "pk": %q, "fields": {"token_key": %q, "user": 2, "created": "2026-01-01T00:00:00Z", "expiry": null}},
 {"model": "knox.authtoken", "pk": %q, "fields": {"token_key": %q, "user": 1, "created": "2026-01-01T00:00:00Z", "expiry": "2026-01-01T10:00:00Z"}}]`,
		digest5(knoxAlice), knoxAlice[:15], expiry, digest5(knoxBob), knoxBob[:15], digest5(knoxOld), knoxOld[:15])
	knox41 := "[" + user(3, "carol", true) + ",\n" + fmt.Sprintf(
		`{"model": "knox.authtoken", "pk": %q, "fields": {"token_key": %q, "salt": %q, "user": 3, "created": "2019-01-01T00:00:00Z", "expiry": null}}]`,
		digest41, knoxAlice[:8], salt)

	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			write := func(name, body string) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			load := func(env map[string]string, path string) (string, string, error) {
				var out, errb bytes.Buffer
				err := run(context.Background(), []string{"gatehouse", "loaddata", path}, getenvFrom(env), nil, &out, &errb)
				return out.String(), errb.String(), err
			}
			me := func(base, header string) (int, string) {
				req, _ := http.NewRequest("GET", base+"/api/me/", nil)
				req.Header.Set("Authorization", header)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				return res.StatusCode, string(b)
			}

			env := baseEnv(testdb.URL(t, backend))
			if out, errs, err := load(env, write("users.json", users)); err != nil {
				t.Fatalf("users: %v %s %s", err, out, errs)
			}
			knoxFile := write("knox.json", knox5)
			for i := range 2 {
				out, errs, err := load(env, knoxFile)
				if err != nil || !strings.Contains(out, "loaded 3 knox tokens") || errs != "" {
					t.Fatalf("load %d: %v %q %q", i+1, err, out, errs)
				}
			}
			// Salted rows under knox-version 5: refused, saying what to do.
			oldFile := write("knox41.json", knox41)
			_, _, err := load(env, oldFile)
			if err == nil || !strings.Contains(err.Error(), "knox41.json") || !strings.Contains(err.Error(), "knox.authtoken") ||
				!strings.Contains(err.Error(), "GATEHOUSE_KNOX_VERSION=4") {
				t.Fatalf("a knox 4.1 dump under knox-version 5: %v", err)
			}

			env["GATEHOUSE_OAUTH_CLEANUP_INTERVAL"] = "20ms"
			base, stop := serve(t, env)
			drfStatus, drfBody := me(base, "Token "+drfKey)
			if drfStatus != 200 || !strings.Contains(drfBody, `"username":"alice"`) {
				t.Fatalf("DRF key: %d %s", drfStatus, drfBody)
			}
			if status, body := me(base, "Token "+knoxAlice); status != 200 || body != drfBody {
				t.Fatalf("knox token: %d %s, want %s", status, body, drfBody)
			}
			if status, body := me(base, "Token "+knoxBob); status != 401 || body != `{"detail":"User inactive or deleted."}` {
				t.Fatalf("an inactive user's knox token: %d %s", status, body)
			}
			if status, body := me(base, "Token "+knoxAlice[:63]+"0"); status != 401 || body != `{"detail":"Invalid token."}` {
				t.Fatalf("a wrong knox token: %d %s", status, body)
			}
			if status, body := me(base, "Token "+knoxOld); status != 401 || body != `{"detail":"Invalid token."}` {
				t.Fatalf("an expired knox token: %d %s", status, body)
			}
			// serve's background cleanup deletes the expired token.
			st := testdb.OpenURL(t, env["GATEHOUSE_DATABASE_URL"])
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				rows, err := st.KnoxTokensByKey(context.Background(), knoxOld[:15])
				if err == nil && len(rows) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("expired knox token not cleaned up: %d rows, %v", len(rows), err)
				}
			}
			if rows, _ := st.KnoxTokensByKey(context.Background(), knoxAlice[:15]); len(rows) != 1 {
				t.Fatal("the cleanup deleted a good knox token")
			}
			stop()

			// The refusal loaded nothing (carol would conflict otherwise);
			// under knox-version 4 the dump loads and its token works.
			env["GATEHOUSE_KNOX_VERSION"] = "4"
			if out, errs, err := load(env, oldFile); err != nil || !strings.Contains(out, "loaded 1 knox tokens") || errs != "" {
				t.Fatalf("knox 4.1 dump under knox-version 4: %v %q %q", err, out, errs)
			}
			base, stop = serve(t, env)
			defer stop()
			if status, body := me(base, "Token "+knoxAlice); status != 200 || !strings.Contains(body, `"username":"carol"`) {
				t.Fatalf("a knox 4.1 token: %d %s", status, body)
			}
		})
	}
}

// A knox setting that knox would not have allowed stops the command,
// naming the setting.
func TestKnoxSettingsChecked(t *testing.T) {
	for name, bad := range map[string]string{
		"GATEHOUSE_KNOX_HASH":         "hashlib.shake_256",
		"GATEHOUSE_KNOX_VERSION":      "3",
		"GATEHOUSE_KNOX_TOKEN_PREFIX": "much-too-long-",
	} {
		env := baseEnv(filepath.Join(t.TempDir(), "gatehouse.db"))
		env[name] = bad
		var out, errb bytes.Buffer
		err := run(context.Background(), []string{"gatehouse", "migrate"}, getenvFrom(env), nil, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), "GATEHOUSE_KNOX_") || !strings.Contains(err.Error(), bad) && name != "GATEHOUSE_KNOX_VERSION" {
			t.Errorf("%s=%s: %v", name, bad, err)
		}
	}
}
