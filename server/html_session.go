package server

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/authn"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/throttle"
)

// Browser sessions for the authorization code flow: the login page, the
// consent page, and DRF's SessionAuthentication on /api/. A session is not
// stored server-side: the "sessionid" cookie holds the user id, the issue
// and expiry times and the CSRF token, sealed (AES-GCM) under the server
// secret, so it cannot be read or forged without it. A password change or
// deactivation ends every session (the user's AuthEpoch moves past the
// issue time); a logout ends one, recorded by its id (authn.EndSession),
// so that a copy of the cookie stops working too. Each login's session is
// recorded (authn.StartSession: the hash of its id, user, times, browser,
// address), so that administrators list a user's sessions and end one
// alone (credential kind "session"). The CSRF token is also sent in the "csrftoken" cookie so
// scripts can echo it in X-CSRFToken, as Django's; forms carry it in
// csrfmiddlewaretoken. Both cookies are SameSite=Lax; the session cookie
// is HttpOnly.

const (
	sessionCookie = "sessionid"
	csrfCookie    = "csrftoken"
	csrfField     = "csrfmiddlewaretoken"
)

// session is the content of the session cookie.
type session struct {
	ID      string `json:"s"` // random; names the session when it is ended
	UserID  int64  `json:"u"`
	Issued  int64  `json:"i"` // unix microseconds, compared with the user's auth epoch
	Expires int64  `json:"x"`
	CSRF    string `json:"c"`
}

// readSession returns the session of the request, or nil when there is
// none or it is unreadable or expired.
func (s *Server) readSession(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || len(c.Value) > 1024 {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return nil
	}
	plain, err := s.box.Open(raw)
	if err != nil {
		return nil
	}
	var ss session
	// A cookie without an id (sealed before logouts were recorded) could
	// not be ended: it is no session, and its holder logs in again.
	if json.Unmarshal(plain, &ss) != nil || ss.ID == "" || ss.CSRF == "" || s.now().Unix() >= ss.Expires {
		return nil
	}
	return &ss
}

// writeSession sets the session and CSRF cookies.
func (s *Server) writeSession(w http.ResponseWriter, r *http.Request, ss *session) error {
	plain, _ := json.Marshal(ss)
	sealed, err := s.box.Seal(plain)
	if err != nil {
		return err
	}
	s.setSessionCookies(w, r, base64.RawURLEncoding.EncodeToString(sealed), ss.CSRF, time.Unix(ss.Expires, 0), 0)
	return nil
}

// clearSession deletes the session and CSRF cookies from the browser.
func (s *Server) clearSession(w http.ResponseWriter, r *http.Request) {
	s.setSessionCookies(w, r, "", "", time.Unix(0, 0), -1)
}

// setSessionCookies sets both cookies with their attributes: SameSite=Lax,
// HttpOnly for the session, Secure when configured so and always when the
// request came over TLS (directly, or through a trusted proxy that says
// so). maxAge -1 deletes them (Max-Age=0).
func (s *Server) setSessionCookies(w http.ResponseWriter, r *http.Request, sealed, csrf string, expires time.Time, maxAge int) {
	secure := s.ocfg.SecureCookies || s.originOf(r).scheme == "https"
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sealed, Path: s.url("/"), Expires: expires, MaxAge: maxAge,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: csrf, Path: s.url("/"), Expires: expires, MaxAge: maxAge,
		Secure: secure, SameSite: http.SameSiteLaxMode})
}

// newSession starts a session for userID (0: anonymous, holding only a
// CSRF token for the login form) with a fresh CSRF token.
func (s *Server) newSession(userID int64) (*session, error) {
	id, err := secret.Alnum(s.random, 32)
	if err != nil {
		return nil, err
	}
	tok, err := secret.Alnum(s.random, 32)
	if err != nil {
		return nil, err
	}
	now := s.now()
	return &session{ID: id, UserID: userID, Issued: now.UnixMicro(), Expires: now.Add(s.ocfg.SessionLifetime).Unix(), CSRF: tok}, nil
}

// sessionUser returns the logged-in, active user of the session, or nil.
func (s *Server) sessionUser(r *http.Request, ss *session) (*gatehouse.User, error) {
	if ss == nil || ss.UserID == 0 {
		return nil, nil
	}
	p, err := s.authn.Authenticate(r.Context(), authn.Credential{Scheme: gatehouse.SchemeSession, UserID: ss.UserID,
		Issued: time.UnixMicro(ss.Issued), SessionID: ss.ID})
	if gatehouse.ErrorCode(err) == gatehouse.EUNAUTHORIZED {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &p.User, nil
}

// csrfOK compares a submitted CSRF token with the session's in constant time.
// pageCSRFToken is the CSRF token of a posted page form (its form read):
// the csrfmiddlewaretoken field, else the X-CSRFToken header, as Django's
// CsrfViewMiddleware takes it (a page's script may send the header).
func pageCSRFToken(r *http.Request) string {
	if tok := lastValue(r.PostForm, csrfField); tok != "" {
		return tok
	}
	return r.Header.Get("X-CSRFToken")
}

// apiCSRFToken is the CSRF token of an unsafe API request authenticated by
// the session, as Django's middleware reads it for DRF's
// SessionAuthentication: a POSTed urlencoded form's csrfmiddlewaretoken
// field first (a server-rendered form posting to the API), else the
// X-CSRFToken header. The form is read without consuming it: the view
// reads the same body after.
func apiCSRFToken(r *http.Request) string {
	if r.Method == http.MethodPost && r.ContentLength <= maxBody {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" && r.Body != nil {
			b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
			r.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(b), r.Body), r.Body}
			if err == nil && len(b) <= maxBody {
				if tok := lastValue(parseQuery(string(b)), csrfField); tok != "" {
					return tok
				}
			}
		}
	}
	return r.Header.Get("X-CSRFToken")
}

func csrfOK(ss *session, got string) bool {
	return ss != nil && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(ss.CSRF)) == 1
}

// authenticateSession is DRF's SessionAuthentication, last in the chain: a
// logged-in session authenticates; an unsafe method also needs the CSRF
// token in X-CSRFToken, else 403 as DRF.
func (s *Server) authenticateSession(r *http.Request) (*gatehouse.Principal, *apiError, error) {
	ss := s.readSession(r)
	u, err := s.sessionUser(r, ss)
	if err != nil || u == nil {
		return nil, nil, err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
	default:
		if o, cross := s.crossOrigin(r); cross {
			refusal := &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: gatehouse.ReasonCrossOrigin, Message: o}
			return nil, s.fail(nil, r, failure{shape: shapeDRF, scheme: gatehouse.SchemeSession}, refusal), nil
		}
		if !csrfOK(ss, apiCSRFToken(r)) {
			refusal := &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: gatehouse.ReasonCSRF}
			return nil, s.fail(nil, r, failure{shape: shapeDRF, scheme: gatehouse.SchemeSession}, refusal), nil
		}
	}
	return &gatehouse.Principal{User: *u, Scheme: gatehouse.SchemeSession, Issued: time.UnixMicro(ss.Issued)}, nil, nil
}

// pythonQuote percent-encodes like Python's urllib.parse.quote(s, safe="/"),
// which Django uses for the ?next= parameter.
func pythonQuote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("_.-~/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// redirectToLogin answers 302 to the login page with ?next= the request's
// path and query, as Django's login_required (both under the mount prefix).
func (s *Server) redirectToLogin(w http.ResponseWriter, r *http.Request) {
	s.redirectToLoginNext(w, r, r.URL.RequestURI())
}

// maxLoginRedirect bounds the login page's URL that redirectToLoginNext
// sends. The server reads at most 64 KiB of request line and headers
// (cmd/gatehouse), and the browser following the redirect adds its
// cookies; next is quoted once more in it, so a request of a few tens of
// KiB (a long query, or a POSTed authorization request of up to 64 KiB)
// would otherwise be sent back to a URL the server itself refuses.
const maxLoginRedirect = 32 << 10

// redirectToLoginNext answers 302 to the login page, which sends the user
// to next (a path under the mount prefix) after logging in. When that URL
// would pass maxLoginRedirect, it answers 400 instead: the request cannot
// be carried through the login.
func (s *Server) redirectToLoginNext(w http.ResponseWriter, r *http.Request, next string) {
	loc := s.url(s.ocfg.LoginURL) + "?next=" + pythonQuote(s.url(next))
	if len(loc) > maxLoginRedirect {
		s.errorPage(w, r, http.StatusBadRequest, "Bad Request",
			"This request is too long to be carried through the login page. Send it with fewer or shorter parameters.")
		return
	}
	w.Header().Set("Location", loc)
	emptyHTML(w, http.StatusFound)
}

// safeNext returns next when it is a local path (no scheme, no host, not
// protocol-relative), else "/": the login page is no open redirect.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}

const noCacheLogin = "max-age=0, no-cache, no-store, must-revalidate, private"

var loginTemplate = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Log in | gatehouse</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<h1>Log in</h1>
{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="csrfmiddlewaretoken" value="{{.CSRF}}">
<p><label for="id_username">Username:</label> <input type="text" name="username" id="id_username" value="{{.Username}}" autocomplete="username" autofocus required maxlength="254"></p>
<p><label for="id_password">Password:</label> <input type="password" name="password" id="id_password" autocomplete="current-password" required></p>
<input type="hidden" name="next" value="{{.Next}}">
<p><input type="submit" value="Log in"></p>
</form>
</body>
</html>
`))

// loginData is the login page's: the form's action, the CSRF token, the
// username to fill in, where to go after logging in, and why the last try
// was refused.
type loginData struct {
	pageBase
	Action, CSRF, Username, Next, Error string
}

// loginPage is the browser login form (GET) and its submission (POST).
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", noCacheLogin)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		s.loginSubmit(w, r)
		return
	default:
		w.Header().Set("Allow", "GET, POST, HEAD, OPTIONS")
		emptyHTML(w, http.StatusMethodNotAllowed)
		return
	}
	ss := s.readSession(r)
	if ss == nil {
		var err error
		if ss, err = s.newSession(0); err != nil {
			s.htmlFail(w, r, err)
			return
		}
		if err := s.writeSession(w, r, ss); err != nil {
			s.htmlFail(w, r, err)
			return
		}
	}
	next := safeNext(queryOf(r).Get("next"))
	s.renderLogin(w, r, http.StatusOK, loginData{CSRF: ss.CSRF, Next: next, Username: s.loginHint(next)})
}

// loginHint is the login_hint of the authorization request the login
// page will send the user back to, to fill in the username; "" when next
// is not one or the hint is no usable username.
func (s *Server) loginHint(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Path != s.url("/o/authorize/") {
		return ""
	}
	h := parseQuery(u.RawQuery).Get("login_hint")
	if gatehouse.Length(h) > gatehouse.MaxLoginName || !gatehouse.ValidText(h) {
		return ""
	}
	return h
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, d loginData) {
	d.Action = s.url(s.ocfg.LoginURL)
	s.render(w, r, status, brandLogin, &d)
}

func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	ss := s.readSession(r)
	if !s.readPageForm(w, r, ss) {
		return
	}
	// Django's LoginView: the posted next when there is one (an unsafe one
	// goes nowhere), else the query's; AuthenticationForm's username is a
	// CharField, trimmed; values are request.POST's, the last of each.
	next := safeNext(lastValue(queryOf(r), "next"))
	if v := lastValue(r.PostForm, "next"); v != "" {
		next = safeNext(v)
	}
	username, pw := strings.TrimSpace(lastValue(r.PostForm, "username")), lastValue(r.PostForm, "password")
	fail := func() {
		s.renderLogin(w, r, http.StatusOK, loginData{CSRF: ss.CSRF, Username: username, Next: next,
			Error: "Please enter a correct username and password. Note that both fields may be case-sensitive."})
	}
	if username == "" || pw == "" || gatehouse.Length(username) > gatehouse.MaxLoginName || gatehouse.Length(pw) > 4096 {
		fail()
		return
	}
	if err := s.throttleScope(r, throttle.ScopeLogin); err != nil {
		s.htmlFail(w, r, err)
		return
	}
	u, ok, err := s.accounts.CheckPassword(r.Context(), gatehouse.LoginPage, username, pw)
	if err != nil {
		s.htmlFail(w, r, err)
		return
	}
	if !ok {
		fail()
		return
	}
	setLogUser(r, u.ID)
	// A new session and a new CSRF token on login (no session fixation),
	// recorded so that it is listed and can be ended alone.
	nss, err := s.newSession(u.ID)
	if err == nil {
		err = s.authn.StartSession(r.Context(), nss.ID, u.ID, time.UnixMicro(nss.Issued), time.Unix(nss.Expires, 0), r.UserAgent())
	}
	if err == nil {
		err = s.writeSession(w, r, nss)
	}
	if err != nil {
		s.htmlFail(w, r, err)
		return
	}
	if err := s.accounts.TouchLogin(r.Context(), u.ID); err != nil {
		s.log.Warn("recording last login", "user_id", u.ID, "err", err)
	}
	w.Header().Set("Location", next)
	emptyHTML(w, http.StatusFound)
}

var errorTemplate = template.Must(template.New("error").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><h1>{{.Title}}</h1><p>{{.Message}}</p></body>
</html>
`))

// readPageForm reads the form a page posted (at most 64 KiB) and checks
// its CSRF token against the session's; when either fails it answers
// the page's 400 or 403 and returns false.
func (s *Server) readPageForm(w http.ResponseWriter, r *http.Request, ss *session) bool {
	if !readPostForm(w, r, 64<<10) {
		s.errorPage(w, r, http.StatusBadRequest, "Bad Request", "The form could not be read.")
		return false
	}
	if _, cross := s.crossOrigin(r); cross || !csrfOK(ss, pageCSRFToken(r)) {
		s.errorPage(w, r, http.StatusForbidden, "Forbidden", "CSRF verification failed. Request aborted.")
		return false
	}
	return true
}
