package branding_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/branding"
)

// The data of the test pages, shaped as the server's are.
type common struct{ Static, Nonce string }

type field struct{ Name, Value string }

type loginData struct {
	common
	Action, CSRF, Username, Error string
	Hidden                        []field
}

type errorData struct {
	common
	Status         int
	Title, Message string
}

func (e *errorData) Upper() string { return strings.ToUpper(e.Title) }

var testPages = []branding.Page{
	{File: "login.html", Sample: &loginData{common{"/s/", "n"}, "/login/", "csrf", "alice", "Wrong.", []field{{"a", "b"}}}, Requires: []string{"CSRF"}},
	{File: "error.html", Sample: &errorData{common{"/s/", "n"}, 400, "Bad", "Worse."}},
}

// dir writes files (path: content) into a fresh directory.
func dir(t *testing.T, files map[string]string) string {
	t.Helper()
	d := t.TempDir()
	for name, text := range files {
		p := filepath.Join(d, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

const goodLogin = `{{define "content"}}<form action="{{.Action}}"><input type="hidden" name="csrfmiddlewaretoken" value="{{.CSRF}}">` +
	`{{range .Hidden}}<input name="{{.Name}}" value="{{.Value}}">{{end}}{{with .Error}}<p>{{.}}</p>{{end}}</form>{{end}}{{template "layout" .}}`

const goodBase = `{{define "layout"}}<html><link rel="stylesheet" href="{{.Static}}a.css"><body>{{block "content" .}}{{end}}</body></html>{{end}}`

func TestLoadAndExecute(t *testing.T) {
	d := dir(t, map[string]string{"base.html": goodBase, "login.html": goodLogin, "README.md": "not a template", ".login.html.swp": "x"})
	set, err := branding.Load(d, testPages)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(set.Pages(), ","); got != "login.html" {
		t.Fatalf("pages %s", got)
	}
	if set.Lookup("error.html") != nil || set.Static() != nil {
		t.Fatal("error.html has no file and there is no static/: the built-in ones serve")
	}
	var b strings.Builder
	data := &loginData{common{"/auth/static/branding/", "n"}, "/auth/login/", "tok", "bob", `<b>no</b>`, []field{{"next", `"/x"`}}}
	if err := set.Lookup("login.html").Execute(&b, data); err != nil {
		t.Fatal(err)
	}
	want := `<html><link rel="stylesheet" href="/auth/static/branding/a.css"><body><form action="/auth/login/">` +
		`<input type="hidden" name="csrfmiddlewaretoken" value="tok"><input name="next" value="&#34;/x&#34;"><p>&lt;b&gt;no&lt;/b&gt;</p></form></body></html>`
	if b.String() != want {
		t.Fatalf("page\n got %s\nwant %s", b.String(), want)
	}
}

// Every mistake refuses the load, naming the file and the line.
func TestLoadRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"parse error", map[string]string{"login.html": "<p>\n{{.CSRF}\n"}, `login.html:2: bad character U+007D`},
		{"unclosed action", map[string]string{"error.html": "{{if .Title}}x"}, `error.html:1: unexpected EOF`},
		{"unknown field", map[string]string{"error.html": "<h1>{{.Title}}</h1>\n<p>{{.Mesage}}</p>"},
			`error.html:2:5: .Mesage: the error page's data has no field Mesage (it has .Static, .Nonce, .Status, .Title, .Message; see docs/branding.md)`},
		{"unknown field in a branch the sample does not take", map[string]string{"error.html": "{{if not .Title}}\n\n{{.Titel}}{{end}}"},
			`error.html:3:2: .Titel: the error page's data has no field Titel`},
		{"unknown field of a range element", map[string]string{"login.html": "{{.CSRF}}{{range .Hidden}}{{.Name}}{{.Vaule}}{{end}}"},
			`login.html:1:37: .Vaule: this value has no field Vaule (it has .Name, .Value`},
		{"field of a string", map[string]string{"login.html": "{{.CSRF}}{{.Username.First}}"}, `login.html:1:20: .Username.First: a string has no field First`},
		{"unknown field in a variable", map[string]string{"login.html": "{{.CSRF}}{{$u := .Username}}{{with $}}{{$.Nope}}{{end}}"},
			`login.html:1:41: .Nope: the login page's data has no field Nope`},
		{"unknown field in the base", map[string]string{"base.html": "{{define \"layout\"}}\n{{.Logo}}{{end}}", "login.html": `{{.CSRF}}{{template "layout" .}}`},
			`base.html:2:2: .Logo: the login page's data has no field Logo`},
		{"unknown field in a block", map[string]string{"error.html": `{{block "x" .Title}}{{.Len}}{{end}}`},
			`error.html:1:22: .Len: a string has no field Len`},
		{"base alone does not parse", map[string]string{"base.html": "{{define \"layout\"}}\n{{end}}{{end}}"}, `base.html:2: unexpected {{end}}`},
		{"no CSRF token", map[string]string{"login.html": `<form action="{{.Action}}"></form>`}, `login.html never writes {{.CSRF}}, which its form needs`},
		{"undefined template", map[string]string{"login.html": `{{.CSRF}}{{template "layout" .}}`}, `no such template "layout"`},
		{"escaper refuses", map[string]string{"error.html": `<a href="{{.Title}}`}, `error.html`},
		{"sample run fails", map[string]string{"error.html": `{{index .Message 99}}`}, `error.html:1:2: executing "error.html" at <index .Message 99>: error calling index: index out of range: 99`},
		{"unknown page", map[string]string{"logn.html": `{{.CSRF}}`}, `logn.html: not a page gatehouse serves; the pages are error.html, login.html (and base.html, the shared layout)`},
		{"static: unknown extension", map[string]string{"static/page.html": `<script>alert(1)</script>`}, `page.html: static files may be .avif .css`},
		{"static: a directory named like a page", map[string]string{"login.html/x": ""}, `login.html: not a regular file`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := dir(t, tc.files)
			set, err := branding.Load(d, testPages)
			if err == nil || set != nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v\nwant an error with %s", err, tc.want)
			}
		})
	}
}

func TestLoadRefusesDirectory(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	if _, err := branding.Load(missing, testPages); err == nil || !strings.Contains(err.Error(), "nope: no such file or directory") {
		t.Fatalf("missing directory: %v", err)
	}
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	if _, err := branding.Load(file, testPages); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Fatalf("a file: %v", err)
	}
}

// Methods of the data and map keys are not missing fields.
func TestLoadAcceptsMethods(t *testing.T) {
	d := dir(t, map[string]string{"error.html": `{{.Upper}} {{.Status}} {{printf "%d" .Status}} {{len .Title}} {{if eq .Status 400}}x{{end}}`})
	if _, err := branding.Load(d, testPages); err != nil {
		t.Fatal(err)
	}
}

// static/ is read into memory: a link leading out of it refuses the
// load, dot files are not served, and only files are.
func TestStatic(t *testing.T) {
	d := dir(t, map[string]string{"static/css/a.css": "body{}", "static/.hidden.css": "secret", "static/logo.SVG": "<svg/>"})
	set, err := branding.Load(d, testPages)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(set.Static().Files(), ","); got != "css/a.css,logo.SVG" {
		t.Fatalf("files %s", got)
	}
	serve := func(name string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		if !set.Static().Serve(w, httptest.NewRequest("GET", "/x", nil), name) {
			w.Code = 404
		}
		return w
	}
	if w := serve("css/a.css"); w.Code != 200 || w.Body.String() != "body{}" || w.Header().Get("Content-Type") != "text/css; charset=utf-8" {
		t.Fatalf("a.css: %d %q %q", w.Code, w.Body, w.Header().Get("Content-Type"))
	}
	if w := serve("logo.SVG"); w.Code != 200 || w.Header().Get("Content-Type") != "image/svg+xml" {
		t.Fatalf("logo: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	for _, name := range []string{"", ".", "css", "css/", ".hidden.css", "../base.html", "css/../css/a.css", "/css/a.css", `css\a.css`, "./css/a.css"} {
		if w := serve(name); w.Code != 404 {
			t.Errorf("%q: %d, want 404", name, w.Code)
		}
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("Range", "bytes=0-3")
	set.Static().Serve(w, r, "css/a.css")
	if w.Code != http.StatusPartialContent || w.Body.String() != "body" {
		t.Fatalf("range: %d %q", w.Code, w.Body)
	}

	outside := filepath.Join(t.TempDir(), "secret.css")
	os.WriteFile(outside, []byte("secret"), 0o644)
	d = dir(t, map[string]string{"static/a.css": ""})
	if err := os.Symlink(outside, filepath.Join(d, "static", "leak.css")); err != nil {
		t.Fatal(err)
	}
	if _, err := branding.Load(d, testPages); err == nil || !strings.Contains(err.Error(), "leak.css") {
		t.Fatalf("a link out of static/: %v", err)
	}
	// A link inside static/ is followed.
	d = dir(t, map[string]string{"static/a.css": "a"})
	os.Symlink("a.css", filepath.Join(d, "static", "b.css"))
	set, err = branding.Load(d, testPages)
	if err != nil || strings.Join(set.Static().Files(), ",") != "a.css,b.css" {
		t.Fatalf("a link inside static/: %v", err)
	}
}
