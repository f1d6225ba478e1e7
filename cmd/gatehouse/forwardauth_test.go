package main

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// GATEHOUSE_FORWARD_AUTH_POLICY serves /auth/verify/ under the file's
// rules; a file with a mistake, or none at the path, stops serve at start
// with a message naming the file and the line. Without the setting the
// path is unknown (404).
func TestForwardAuthPolicySetting(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			env := baseEnv(testdb.URL(t, backend))
			bad := filepath.Join(dir, "bad.policy")
			os.WriteFile(bad, []byte("/public/ allow_any\n\n/orders/ authenticated sometimes\n"), 0o644)
			for _, tc := range []struct{ path, want string }{
				{bad, "GATEHOUSE_FORWARD_AUTH_POLICY: " + bad + `:3: unknown requirement "sometimes" (want allow_any, authenticated, ` +
					"authenticated_or_read_only, staff, scopes=, read_write_scopes, authenticated_or_scopes=, permission=)"},
				{filepath.Join(dir, "missing.policy"), "GATEHOUSE_FORWARD_AUTH_POLICY: forward-auth policy: open " +
					filepath.Join(dir, "missing.policy") + ": no such file or directory"},
			} {
				env["GATEHOUSE_FORWARD_AUTH_POLICY"] = tc.path
				if _, err := runCmd(t, env, "serve", "--addr", "127.0.0.1:0"); err == nil || err.Error() != tc.want {
					t.Fatalf("serve with %s:\n got %v\nwant %s", tc.path, err, tc.want)
				}
			}

			status := func(base string, headers ...string) int {
				req, _ := http.NewRequest("GET", base+"/auth/verify/", nil)
				for i := 0; i+1 < len(headers); i += 2 {
					req.Header.Set(headers[i], headers[i+1])
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				return res.StatusCode
			}
			delete(env, "GATEHOUSE_FORWARD_AUTH_POLICY")
			base, stop := serve(t, env)
			if got := status(base, "X-Forwarded-Uri", "/public/"); got != 404 {
				t.Fatalf("without a policy: %d, want 404", got)
			}
			stop()

			good := filepath.Join(dir, "good.policy")
			os.WriteFile(good, []byte("/public/ allow_any\n/orders/ authenticated\n"), 0o644)
			env["GATEHOUSE_FORWARD_AUTH_POLICY"] = good
			base, stop = serve(t, env)
			defer stop()
			for uri, want := range map[string]int{"/public/x": 200, "/orders/": 401, "/elsewhere/": 403} {
				if got := status(base, "X-Forwarded-Uri", uri, "X-Forwarded-Method", "GET"); got != want {
					t.Errorf("%s: %d, want %d", uri, got, want)
				}
			}
		})
	}
}
