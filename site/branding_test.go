package site_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/site"
)

// A templates directory that is missing or holds a bad template refuses
// the start, naming the setting, the file and the line, on every backend.
func TestOpenRefusesTemplates(t *testing.T) {
	bad := func(files map[string]string) string {
		d := t.TempDir()
		for name, text := range files {
			if err := os.WriteFile(filepath.Join(d, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	missing := filepath.Join(t.TempDir(), "templates")
	cases := []struct {
		name, dir, want string
	}{
		{"missing directory", missing, "GATEHOUSE_TEMPLATES_DIR: templates directory: stat " + missing + ": no such file or directory"},
		{"parse error", bad(map[string]string{"login.html": "<form>\n{{if .CSRF}}\n</form>"}), "login.html:3: unexpected EOF"},
		{"unknown field", bad(map[string]string{"consent.html": "{{.CSRF}}{{range .Hidden}}{{.Name}}{{end}}\n<ul>\n{{range .Scopez}}<li>{{.}}{{end}}</ul>"}),
			"consent.html:3:8: .Scopez: the consent page's data has no field Scopez (it has .Static, .Nonce, .App, .User, .CSRF, .Action, .Deny, .Scopes, .Hidden; see docs/branding.md)"},
		{"form without CSRF", bad(map[string]string{"device.html": `<form method="post" action="{{.Action}}"></form>`}),
			"device.html never writes {{.CSRF}}, which its form needs"},
		{"unknown page", bad(map[string]string{"signup.html": ""}), "signup.html: not a page gatehouse serves; the pages are consent.html, device-done.html, device.html, error.html, list.html, login.html, logout.html"},
	}
	for _, backend := range testdb.Backends() {
		for _, tc := range cases {
			t.Run(backend+"/"+tc.name, func(t *testing.T) {
				c := testConfig(t, backend)
				c.TemplatesDir = tc.dir
				s, err := site.Open(context.Background(), c, site.Options{})
				if err == nil || s != nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "GATEHOUSE_TEMPLATES_DIR: ") {
					if s != nil {
						s.Close()
					}
					t.Fatalf("%v\nwant GATEHOUSE_TEMPLATES_DIR: ... %s", err, tc.want)
				}
			})
		}
	}
}

// Under a mount prefix, the pages link the static files under it, and
// they are served there.
func TestTemplatesDirUnderPrefix(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			c := testConfig(t, backend)
			c.MountPrefix = "/auth"
			c.TemplatesDir = filepath.Join("..", "examples", "branding")
			s, err := site.Open(context.Background(), c, site.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			mux := http.NewServeMux()
			mux.Handle("/auth/", http.StripPrefix("/auth", s.Handler()))
			hs := httptest.NewServer(mux)
			t.Cleanup(hs.Close)
			get := func(p string) (int, string) {
				res, err := http.Get(hs.URL + p)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				return res.StatusCode, string(b)
			}
			status, page := get("/auth/admin/login/")
			if status != 200 || !strings.Contains(page, `<link rel="stylesheet" href="/auth/static/branding/acme.css">`) ||
				!strings.Contains(page, `<form method="post" action="/auth/admin/login/">`) {
				t.Fatalf("login %d:\n%s", status, page)
			}
			if status, css := get("/auth/static/branding/acme.css"); status != 200 || !strings.Contains(css, "--acme-blue") {
				t.Fatalf("acme.css: %d", status)
			}
		})
	}
}
