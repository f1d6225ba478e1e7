package server

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/admin"
)

// The admin site under /admin/ (docs/admin.md): server-rendered pages for
// staff users, sharing the login page and the session of /o/authorize/.
// Every page is an html/template of adminui/templates on the layout, its
// style sheet and script are embedded files served from /admin/static/
// (no CDN, nothing inline, so the Content-Security-Policy allows only
// 'self'), every form carries the session's CSRF token, and every action
// calls the admin service, which decides what the acting staff user may
// do and records it in the audit log (the user is in the request's
// gatehouse.RequestInfo). The pages work without JavaScript; admin.js only
// adds the copy button and "select all".
//
// Files: admin_html.go (this: the page machinery, the shell, the static
// files), admin_html_*.go (the pages of one resource each).

//go:embed adminui/templates/*.html adminui/static/*
var siteFiles embed.FS

// siteCSP is the Content-Security-Policy of the admin pages: their own
// style sheet, script and images only, forms posted to this origin only,
// never framed. No 'unsafe-inline': there is no inline script or style.
const siteCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// sitePrefix is the path of the admin site (under the mount prefix).
const sitePrefix = "/admin/"

// siteTemplates holds one template set per page: the layout plus the
// page's own file, which defines "content".
var siteTemplates = parseSiteTemplates()

func parseSiteTemplates() map[string]*template.Template {
	funcs := template.FuncMap{
		"when": func(t *time.Time) string {
			if t == nil || t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
		"at": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
		"yesno": func(b bool) string {
			if b {
				return "yes"
			}
			return "no"
		},
		"join": strings.Join,
	}
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(siteFiles, "adminui/templates/layout.html", "adminui/templates/fields.html"))
	pages, err := fs.Glob(siteFiles, "adminui/templates/*.html")
	if err != nil {
		panic(err)
	}
	m := map[string]*template.Template{}
	for _, p := range pages {
		name := strings.TrimSuffix(path.Base(p), ".html")
		if name == "layout" || name == "fields" {
			continue
		}
		m[name] = template.Must(template.Must(layout.Clone()).ParseFS(siteFiles, p))
	}
	return m
}

// siteStatic is one embedded asset with its ETag.
type siteStatic struct {
	body  []byte
	ctype string
	etag  string
}

var siteAssets = loadSiteAssets()

func loadSiteAssets() map[string]siteStatic {
	m := map[string]siteStatic{}
	entries, err := fs.ReadDir(siteFiles, "adminui/static")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := fs.ReadFile(siteFiles, "adminui/static/"+e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		ctype := "application/octet-stream"
		switch path.Ext(e.Name()) {
		case ".css":
			ctype = "text/css; charset=utf-8"
		case ".js":
			ctype = "text/javascript; charset=utf-8"
		case ".svg":
			ctype = "image/svg+xml"
		}
		m[e.Name()] = siteStatic{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return m
}

// siteStaticFile serves an embedded asset. Its URL carries the content's
// hash (?v=), so a browser may keep it a day; a new build changes the URL.
func (s *Server) siteStaticFile(w http.ResponseWriter, r *http.Request) {
	a, ok := siteAssets[r.PathValue("name")]
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		notFound(w)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("ETag", a.etag)
	if r.Header.Get("If-None-Match") == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(a.body)
	}
}

// siteRequest is one request to an admin page once it is let in: the
// staff user acting and the session (for its CSRF token).
type siteRequest struct {
	user    *gatehouse.User
	session *session
	actor   admin.Actor
	granted bool // ActorFor let the user in
}

// siteHandler serves an admin page: the session's user must be logged in
// (else the login page, with next= this page) and staff (else a 403 page);
// a POST must carry the session's CSRF token (else 403, nothing done). The
// acting user is put in the request's RequestInfo, so that the services'
// audit events record him. Every answer is private and never cached.
func (s *Server) siteHandler(methods string, h func(w http.ResponseWriter, r *http.Request, a *siteRequest)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", siteCSP)
		hd.Set("Cache-Control", noCacheLogin)
		if !strings.Contains(", "+methods+", ", ", "+r.Method+", ") && !(r.Method == http.MethodHead && strings.Contains(methods, "GET")) {
			hd.Set("Allow", methods)
			s.siteErrorPage(w, r, nil, http.StatusMethodNotAllowed, "Method not allowed", "This page does not take "+r.Method+" requests.")
			return
		}
		ss := s.readSession(r)
		u, err := s.sessionUser(r, ss)
		if err != nil {
			s.htmlFail(w, r, err)
			return
		}
		if u == nil {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				// A form posted after the session ended: nothing is done,
				// and the login page brings the user back to the page.
				s.redirectToLoginNext(w, r, r.URL.Path)
				return
			}
			s.redirectToLogin(w, r)
			return
		}
		setLogUser(r, u.ID)
		a := &siteRequest{user: u, session: ss}
		// The service decides who administers (Django's rule: an active
		// staff user), and with which permissions.
		a.actor, err = s.admin.ActorFor(r.Context(), &gatehouse.Principal{User: *u, Scheme: gatehouse.SchemeSession, Issued: time.UnixMicro(ss.Issued)})
		if gatehouse.ErrorCode(err) == gatehouse.EFORBIDDEN {
			s.siteErrorPage(w, r, a, http.StatusForbidden, "Forbidden",
				"Your account is not a staff account: the admin site is for staff users only.")
			return
		}
		if err != nil {
			s.htmlFail(w, r, err)
			return
		}
		a.granted = true
		if r.Method == http.MethodPost {
			// The login page's CSRF scheme (readPageForm), refused with
			// the site's page.
			if !readPostForm(w, r, 256<<10) {
				s.siteErrorPage(w, r, a, http.StatusBadRequest, "Bad request", "The form could not be read.")
				return
			}
			if _, cross := s.crossOrigin(r); cross || !csrfOK(ss, pageCSRFToken(r)) {
				s.siteErrorPage(w, r, a, http.StatusForbidden, "Forbidden",
					"CSRF verification failed. Request aborted. Reload the page and send the form again.")
				return
			}
		}
		h(w, r, a)
	}
}

// siteView is what the layout renders around a page's content.
type siteView struct {
	Title   string
	Section string // the navigation entry marked current
	User    *gatehouse.User
	CSRF    string
	Flash   string
	Data    any
	// Admin is set when the user may use the site (the navigation is
	// shown).
	Admin bool

	prefix string
	actor  admin.Actor
}

// U is the path p of the site (under the mount prefix).
func (v *siteView) U(p string) string { return v.prefix + p }

// Static is the URL of an embedded asset, versioned by its hash.
func (v *siteView) Static(name string) string {
	return v.prefix + sitePrefix + "static/" + name + "?v=" + strings.Trim(siteAssets[name].etag, `"`)
}

// Nav lists the sections of the navigation.
func (v *siteView) Nav() []siteNav {
	var out []siteNav
	for _, n := range siteSections {
		if len(n.perms) > 0 && !v.actor.CanAny(n.perms...) || n.superuser && !v.actor.Superuser() {
			continue
		}
		out = append(out, siteNav{Key: n.Key, Label: n.Label, Href: v.U(n.Href), Current: n.Key == v.Section})
	}
	return out
}

type siteNav struct {
	Key, Label, Href string
	Current          bool
	// perms: any of them shows the entry (none: always shown);
	// superuser: shown to superusers only.
	perms     []string
	superuser bool
}

var siteSections = []siteNav{
	{Key: "dashboard", Label: "Dashboard", Href: sitePrefix},
	{Key: "users", Label: "Users", Href: sitePrefix + "users/", perms: []string{admin.PermViewUser, admin.PermChangeUser}},
	{Key: "groups", Label: "Groups", Href: sitePrefix + "groups/", perms: []string{admin.PermViewGroup, admin.PermChangeGroup}},
	{Key: "permissions", Label: "Permissions", Href: sitePrefix + "permissions/", perms: []string{admin.PermViewPermission,
		admin.PermViewUser, admin.PermChangeUser, admin.PermViewGroup, admin.PermChangeGroup, admin.PermAddGroup}},
	{Key: "applications", Label: "Applications", Href: sitePrefix + "applications/", perms: []string{admin.PermViewApplication, admin.PermChangeApp}},
	{Key: "tokens", Label: "Tokens", Href: sitePrefix + "tokens/", perms: []string{admin.PermViewDRFToken, admin.PermDeleteDRFToken,
		admin.PermViewKnoxToken, admin.PermDeleteKnoxToken, admin.PermViewJWTRefresh, admin.PermDeleteJWTRefresh,
		admin.PermViewAccessToken, admin.PermDeleteAccessToken, admin.PermViewRefreshToken, admin.PermDeleteRefreshToken}},
	{Key: "audit", Label: "Audit log", Href: sitePrefix + "audit/", superuser: true},
	{Key: "keys", Label: "Signing keys", Href: sitePrefix + "keys/", superuser: true},
	{Key: "status", Label: "Status", Href: sitePrefix + "status/", superuser: true},
}

// siteRender writes page with the layout, status 200 unless given.
func (s *Server) siteRender(w http.ResponseWriter, r *http.Request, a *siteRequest, status int, page string, v siteView) {
	t, ok := siteTemplates[page]
	if !ok {
		panic("admin: no template " + page)
	}
	v.prefix = s.cfg.MountPrefix
	if a != nil {
		v.User, v.Admin, v.actor = a.user, a.granted, a.actor
		if a.session != nil {
			v.CSRF = a.session.CSRF
		}
	}
	if v.Flash == "" {
		v.Flash = siteFlash(queryOf(r))
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", &sitePage{siteView: v, logout: s.logoutURL, login: s.ocfg.LoginURL}); err != nil {
		s.htmlFail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", siteCSP)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// sitePage is the value the templates see: the view and the site's
// fixed paths.
type sitePage struct {
	siteView
	logout, login string
}

// LogoutAction is the logout form's target, the login page's neighbour.
func (p *sitePage) LogoutAction() string { return p.prefix + p.logout }

// LoggedOutNext is where the logout sends the browser: the login page,
// which brings the user back to the admin site.
func (p *sitePage) LoggedOutNext() string {
	return p.prefix + p.login + "?next=" + url.QueryEscape(p.prefix+sitePrefix)
}

// siteErrorPage answers status with the admin's layout (a nil a: no user
// shown). Used for 403, 404, 405 and a refused action.
func (s *Server) siteErrorPage(w http.ResponseWriter, r *http.Request, a *siteRequest, status int, title, msg string) {
	s.siteRender(w, r, a, status, "error", siteView{Title: title, Data: msg})
}

// siteFail answers an error of the admin service on a page: the codes a
// staff user can act on as admin pages (403 for what his permissions do not
// allow, 404 for a thing that is gone, 409 and 400 for a refused change),
// anything else as every HTML page answers it (errors.go).
// siteRequire answers the 403 page unless the actor holds perm, as
// Django's admin refuses the page of an action the user may not take
// (not only its submission); it reports whether the request may go on.
func (s *Server) siteRequire(w http.ResponseWriter, r *http.Request, a *siteRequest, perm string) bool {
	if a.actor.Can(perm) {
		return true
	}
	s.siteFail(w, r, a, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "not allowed"})
	return false
}

func (s *Server) siteFail(w http.ResponseWriter, r *http.Request, a *siteRequest, err error) {
	switch gatehouse.ErrorCode(err) {
	case gatehouse.EFORBIDDEN:
		s.siteErrorPage(w, r, a, http.StatusForbidden, "Forbidden", "You do not have permission to do this: "+gatehouse.ErrorMessage(err))
	case gatehouse.ENOTFOUND:
		s.siteErrorPage(w, r, a, http.StatusNotFound, "Not found", "There is no such thing, or it was removed: "+gatehouse.ErrorMessage(err))
	case gatehouse.ECONFLICT:
		s.siteErrorPage(w, r, a, http.StatusConflict, "Conflict", gatehouse.ErrorMessage(err))
	case gatehouse.EINVALID:
		s.siteErrorPage(w, r, a, http.StatusBadRequest, "Bad request", gatehouse.ErrorMessage(err))
	default:
		s.htmlFail(w, r, err)
	}
}

// siteRedirect answers a successful POST with 303 to the page p (under
// the site) with the message msg (a key of siteFlashes) and its count.
func (s *Server) siteRedirect(w http.ResponseWriter, p, msg string, n int) {
	q := url.Values{}
	if msg != "" {
		q.Set("done", msg)
	}
	if n > 0 {
		q.Set("n", strconv.Itoa(n))
	}
	loc := s.url(p)
	if len(q) > 0 {
		if strings.Contains(loc, "?") {
			loc += "&" + q.Encode()
		} else {
			loc += "?" + q.Encode()
		}
	}
	w.Header().Set("Location", loc)
	emptyHTML(w, http.StatusSeeOther)
}

// siteFlashes are the messages a redirect after a change may show; the
// URL names one by its key, so no text of the URL reaches the page.
var siteFlashes = map[string]string{
	"created":    "Created.",
	"saved":      "Saved.",
	"deleted":    "Deleted.",
	"password":   "The password was changed. Every credential the user held before has ended.",
	"loggedout":  "Every session and token of the user has ended.",
	"revoked":    "Revoked %d credential(s).",
	"rotated":    "Rotated.",
	"keyrotated": "A new signing key is published; it signs once the publication delay has passed.",
	"appdeleted": "Deleted the application and the %d live token(s) it held.",
}

func siteFlash(q url.Values) string {
	msg, ok := siteFlashes[q.Get("done")]
	if !ok {
		return ""
	}
	if strings.Contains(msg, "%d") {
		n, _ := strconv.Atoi(q.Get("n"))
		return strings.Replace(msg, "%d", strconv.Itoa(n), 1)
	}
	return msg
}

// siteRoutes adds the admin site's routes. The login and logout pages
// (by default /admin/login/ and /admin/logout/, Django's admin's paths)
// are routes of their own (html_session.go, html_logout.go).
// A login or logout page configured at one of the site's paths is refused
// at start (New fails), not served by one of the two.
func (s *Server) siteRoutes(mux *http.ServeMux) {
	if s.admin == nil {
		return // a server built without the administration serves no admin site
	}
	handle := func(pattern string, h http.HandlerFunc) {
		defer func() {
			if p := recover(); p != nil && s.routeErr == nil {
				s.routeErr = fmt.Errorf("GATEHOUSE_LOGIN_URL: the login page %s or the logout page %s is at a path of the admin site (%s): choose another, such as /admin/login/",
					s.ocfg.LoginURL, s.logoutURL, pattern)
			}
		}()
		mux.HandleFunc(pattern, h)
	}
	handle(sitePrefix+"static/{name}", s.siteStaticFile)
	handle(sitePrefix+"{$}", s.siteHandler("GET", s.siteDashboard))
	// Any other path under /admin/ is every unknown path's 404 (routes.go).
	for _, p := range s.sitePages() {
		handle(sitePrefix+p.pattern, s.siteHandler(p.methods, p.serve))
	}
}

// siteRoute is one page of the site: its pattern under /admin/, the
// methods it takes and its handler.
type siteRoute struct {
	pattern string
	methods string
	serve   func(w http.ResponseWriter, r *http.Request, a *siteRequest)
}

// siteDashboard is the site's front page: what there is to administer.
func (s *Server) siteDashboard(w http.ResponseWriter, r *http.Request, a *siteRequest) {
	s.siteRender(w, r, a, http.StatusOK, "dashboard", siteView{Title: "Administration", Section: "dashboard"})
}
