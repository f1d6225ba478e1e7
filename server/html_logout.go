package server

import (
	"html/template"
	"net/http"
	"path"
	"strings"
	"time"
)

// logoutURLFor is the path of the logout page, beside the login page's:
// /admin/logout/ for /admin/login/ (Django's admin), /accounts/logout/ for
// /accounts/login/ (django.contrib.auth.urls).
func logoutURLFor(loginURL string) string {
	dir := path.Dir(strings.TrimSuffix(loginURL, "/"))
	return strings.TrimSuffix(dir, "/") + "/logout/"
}

var logoutTemplate = template.Must(template.New("logout").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{{if .User}}Log out{{else}}Logged out{{end}} | gatehouse</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
{{if .User}}<h1>Log out</h1>
<p>Signed in as <strong>{{.User}}</strong>.</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="csrfmiddlewaretoken" value="{{.CSRF}}">
{{if .Next}}<input type="hidden" name="next" value="{{.Next}}">
{{end}}{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<p><input type="submit" value="Log out"></p>
</form>
{{else}}<h1>Logged out</h1>
<p>{{.Message}} <a href="{{.Login}}">Log in</a></p>
{{end}}</body>
</html>
`))

// logoutData is the logout pages' (the logout beside the login page and
// OpenID Connect's RP-initiated logout): with User, the confirmation
// form's action, CSRF token, next and hidden fields; without, the
// logged-out message and the login page's path.
type logoutData struct {
	pageBase
	Action, Login, User, CSRF, Next, Message string
	Hidden                                   []hiddenField
}

// logoutPage is the browser logout, beside the login page. GET asks the
// logged-in user to confirm with a form, so that a link or an image on
// another site cannot log anyone out (Django's LogoutView takes only POST
// since 5.0; the form is what its template would show). POST, with the
// session's CSRF token (readPageForm), ends the session server-side
// (authn.EndSession: a copy of the cookie stops working too, on every
// replica within the auth cache TTL) and deletes both cookies; then it
// redirects to next when that is a local path, else shows that the user
// is logged out. No redirect leaves gatehouse's origin.
func (s *Server) logoutPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", noCacheLogin)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.logoutConfirm(w, r)
	case http.MethodPost:
		s.logoutSubmit(w, r)
	default:
		w.Header().Set("Allow", "GET, POST, HEAD, OPTIONS")
		emptyHTML(w, http.StatusMethodNotAllowed)
	}
}

func (s *Server) logoutConfirm(w http.ResponseWriter, r *http.Request) {
	ss := s.readSession(r)
	u, err := s.sessionUser(r, ss)
	if err != nil {
		s.htmlFail(w, r, err)
		return
	}
	d := logoutData{Action: s.url(s.logoutURL), Login: s.url(s.ocfg.LoginURL), Message: "You are not logged in."}
	if u != nil {
		setLogUser(r, u.ID)
		d.User, d.CSRF, d.Next = u.Username, ss.CSRF, localNext(queryOf(r).Get("next"))
	}
	s.renderLogout(w, r, d)
}

func (s *Server) logoutSubmit(w http.ResponseWriter, r *http.Request) {
	ss := s.readSession(r)
	if !s.readPageForm(w, r, ss) {
		return
	}
	if !s.endBrowserSession(w, r, ss) {
		return
	}
	next := localNext(r.PostForm.Get("next"))
	if next == "" {
		next = localNext(queryOf(r).Get("next"))
	}
	if next != "" {
		w.Header().Set("Location", next)
		emptyHTML(w, http.StatusFound)
		return
	}
	s.renderLogout(w, r, logoutData{Login: s.url(s.ocfg.LoginURL), Message: "You are logged out."})
}

// endBrowserSession ends the session ss server-side (a copy of the cookie
// stops working too) and deletes the cookies; false when it answered an
// error.
func (s *Server) endBrowserSession(w http.ResponseWriter, r *http.Request, ss *session) bool {
	if ss != nil && ss.UserID != 0 {
		setLogUser(r, ss.UserID)
		if err := s.authn.EndSession(r.Context(), ss.ID, time.Unix(ss.Expires, 0)); err != nil {
			s.htmlFail(w, r, err)
			return false
		}
	}
	s.clearSession(w, r)
	return true
}

func (s *Server) renderLogout(w http.ResponseWriter, r *http.Request, d logoutData) {
	s.render(w, r, http.StatusOK, brandLogout, &d)
}

// localNext returns next when it is a local path (safeNext keeps it as it
// is: no scheme, no host, not "//" or "/\"), else "".
func localNext(next string) string {
	if next == "" || safeNext(next) != next {
		return ""
	}
	return next
}
