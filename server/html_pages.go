package server

import (
	"bytes"
	"html/template"
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse/branding"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// The end-user pages and their one rendering path. Each page has a data
// struct (loginData, consentData, ...) and a built-in template; with
// Config.TemplatesDir a team's template (package branding, documented in
// docs/branding.md) replaces the built-in one of any page it has a file
// for, and is executed with the same data. Whatever the template, the
// server checks the CSRF token of every form it receives and sends the
// security headers: a template changes the look, never the rules.

// pageBase is what every page's data holds besides its own fields.
type pageBase struct {
	// Static is the URL path of the branding's static files, ending in
	// "/" and under the mount prefix ("/static/branding/"); "" when the
	// templates directory has no static/ subdirectory.
	Static string
	// Nonce is this response's Content-Security-Policy nonce: a <script>
	// or <style> element carrying nonce="{{.Nonce}}" runs; no other
	// inline script or style does. "" without a templates directory.
	Nonce string
}

func (p *pageBase) base() *pageBase { return p }

// brandData is a brandable page's data.
type brandData interface{ base() *pageBase }

// brandable is one page a templates directory can replace: its file
// name there, its built-in template, a sample of its data for branding's
// checks, and the fields a replacement must name (the form's).
type brandable struct {
	file     string
	builtin  *template.Template
	sample   brandData
	requires []string
}

// errorData is the error page's: the HTTP status, a title and a message.
type errorData struct {
	pageBase
	Status         int
	Title, Message string
}

// deviceDoneData is the page after a device was approved or denied.
type deviceDoneData struct {
	pageBase
	Title, Message string
	App            string // the application's name (its client_id when it has none)
	Allowed        bool   // the user approved
}

// listData is the page of /o/applications/ and /o/authorized_tokens/.
type listData struct {
	pageBase
	Title string
	Items []string
	Empty string // shown when Items is empty
}

var brandSample = pageBase{Static: "/static/branding/", Nonce: "nonce"}

// The pages, by file name.
var (
	brandLogin = &brandable{"login.html", loginTemplate, &loginData{brandSample, "/accounts/login/", "csrf", "alice", "/o/authorize/?client_id=app",
		"Please enter a correct username and password."}, []string{"CSRF"}}
	brandConsent = &brandable{"consent.html", consentTemplate, &consentData{pageBase: brandSample, App: "App", User: "alice", CSRF: "csrf",
		Action: "/o/authorize/", Deny: "Cancel", Scopes: []string{"Reading scope"}, Hidden: []hiddenField{{"client_id", "app"}}}, []string{"CSRF", "Hidden"}}
	brandError  = &brandable{"error.html", errorTemplate, &errorData{brandSample, 400, "Bad Request", "The form could not be read."}, nil}
	brandDevice = &brandable{"device.html", deviceTemplate, &deviceData{brandSample, "alice", "/o/device/", "csrf", "WDJB-MJHT",
		"The code is not valid."}, []string{"CSRF"}}
	brandDeviceDone = &brandable{"device-done.html", deviceDoneTemplate, &deviceDoneData{brandSample, "Device connected",
		"App can now act for you.", "App", true}, nil}
	brandLogout = &brandable{"logout.html", logoutTemplate, &logoutData{pageBase: brandSample, Action: "/accounts/logout/", Login: "/accounts/login/",
		User: "alice", CSRF: "csrf", Next: "/", Message: "You are logged out.", Hidden: []hiddenField{{"state", "s"}}}, []string{"CSRF", "Hidden"}}
	brandList = &brandable{"list.html", listTemplate, &listData{brandSample, "Your applications", []string{"app (App)"}, "No applications."}, nil}

	brandables = []*brandable{brandLogin, brandConsent, brandError, brandDevice, brandDeviceDone, brandLogout, brandList}
)

// brandStaticPath is where the templates directory's static/ is served.
const brandStaticPath = "/static/branding/"

// loadBranding loads the templates directory of the configuration.
func (s *Server) loadBranding() error {
	if s.cfg.TemplatesDir == "" {
		return nil
	}
	var list []branding.Page
	for _, p := range brandables {
		list = append(list, branding.Page{File: p.file, Sample: p.sample, Requires: p.requires})
	}
	set, err := branding.Load(s.cfg.TemplatesDir, list)
	if err != nil {
		return err
	}
	s.brand = set
	files := 0
	if st := set.Static(); st != nil {
		s.brandStatic = s.url(brandStaticPath)
		files = len(st.Files())
	}
	s.log.Info("branded pages", "dir", set.Dir(), "pages", strings.Join(set.Pages(), ","), "static_files", files)
	return nil
}

// brandedCSP is the Content-Security-Policy of a page when a templates
// directory is set: still no frame, no base, nothing from another
// origin; style sheets, images and fonts from gatehouse's origin (the
// static files); scripts and inline styles only with the response's nonce.
func brandedCSP(nonce string) string {
	return "default-src 'none'; script-src 'nonce-" + nonce + "'; style-src 'self' 'nonce-" + nonce +
		"'; img-src 'self' data:; font-src 'self'; frame-ancestors 'none'; base-uri 'none'"
}

// render writes page p with data d and status: the templates directory's
// template when it has one, else the built-in. A custom template that
// fails on this data (a function's error) is logged and the built-in page
// served instead, so that a user can still log in. HEAD gets the headers
// only.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, p *brandable, d brandData) {
	t := p.builtin
	if s.brand != nil {
		// Without a nonce (the random source failed) the built-in page
		// serves under the built-in policy: no error page of its own,
		// which would need a nonce too.
		if nonce, err := secret.Alnum(s.random, 24); err != nil {
			s.log.ErrorContext(r.Context(), "no nonce for a branded page; the built-in page is served", "page", p.file, "err", err,
				"request_id", requestID(r))
		} else {
			b := d.base()
			b.Static, b.Nonce = s.brandStatic, nonce
			w.Header().Set("Content-Security-Policy", brandedCSP(nonce))
			if custom := s.brand.Lookup(p.file); custom != nil {
				t = custom
			}
		}
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		s.log.ErrorContext(r.Context(), "page template failed; the built-in page is served", "page", p.file, "err", err,
			"request_id", requestID(r))
		buf.Reset()
		p.builtin.Execute(&buf, d)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// errorPage writes the error page.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	s.render(w, r, status, brandError, &errorData{Status: status, Title: title, Message: msg})
}

// brandStaticFile serves the templates directory's static files.
func (s *Server) brandStaticFile(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		emptyHTML(w, http.StatusMethodNotAllowed)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, brandStaticPath)
	if !ok || !s.brand.Static().Serve(w, r, name) {
		notFound(w)
	}
}
