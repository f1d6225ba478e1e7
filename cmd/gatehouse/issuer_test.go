package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// serve refuses an issuer that is not gatehouse's public https URL,
// naming the variable, and the file and line when the configuration file
// set it.
func TestIssuerRefusedAtStart(t *testing.T) {
	for _, tc := range []struct{ name, value, file, want string }{
		{"http off loopback", "http://auth.example.com", "", `GATEHOUSE_ISSUER: "http://auth.example.com": an issuer must be https`},
		{"trailing slash", "https://auth.example.com/", "", `GATEHOUSE_ISSUER: want the public URL gatehouse is reached at`},
		{"query", "https://auth.example.com?a=b", "", `GATEHOUSE_ISSUER: want the public URL gatehouse is reached at`},
		{"from the file", "", "GATEHOUSE_ISSUER=auth.example.com\n", `GATEHOUSE_ISSUER: want the public URL gatehouse is reached at`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := baseEnv(filepath.Join(t.TempDir(), "gatehouse.db"))
			env["GATEHOUSE_ADDR"] = "127.0.0.1:0"
			if tc.value != "" {
				env["GATEHOUSE_ISSUER"] = tc.value
			}
			if tc.file != "" {
				env["GATEHOUSE_CONFIG"] = writeConfig(t, 0o600, tc.file)
			}
			err := run(context.Background(), []string{"gatehouse", "serve"}, getenvFrom(env), strings.NewReader(""), &strings.Builder{}, &strings.Builder{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v; want %s", err, tc.want)
			}
			if tc.file != "" && !strings.Contains(err.Error(), "(GATEHOUSE_ISSUER is set in "+env["GATEHOUSE_CONFIG"]+" line 1)") {
				t.Fatalf("%v; want the file and line", err)
			}
		})
	}
}

// The binary publishes the metadata under the configured issuer, and by
// default under http://ADDR when it listens on a loopback address.
func TestIssuerServed(t *testing.T) {
	for _, tc := range []struct{ name, issuer, want string }{
		{"configured", "https://auth.example.com", `"issuer":"https://auth.example.com"`},
		{"loopback default", "", `"issuer":"http://127.0.0.1:`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := baseEnv(filepath.Join(t.TempDir(), "gatehouse.db"))
			if tc.issuer != "" {
				env["GATEHOUSE_ISSUER"] = tc.issuer
			}
			base, stop := serve(t, env)
			defer stop()
			res, err := http.Get(base + "/.well-known/oauth-authorization-server")
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 || !strings.HasPrefix(string(b), "{"+tc.want) {
				t.Fatalf("%d %s; want %s", res.StatusCode, b, tc.want)
			}
			if tc.issuer == "" && !strings.Contains(string(b), `"token_endpoint":"`+base+`/o/token/"`) {
				t.Fatalf("the default issuer is not the address served: %s (base %s)", b, base)
			}
		})
	}
}
