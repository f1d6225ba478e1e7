package server

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/oidc"
)

// redirectTo sends the user agent back to the client.
func redirectTo(w http.ResponseWriter, loc string) {
	w.Header().Set("Location", loc)
	emptyHTML(w, http.StatusFound)
}

var consentTemplate = template.Must(template.New("consent").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Authorize {{.App}} | gatehouse</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<h1>Authorize {{.App}}?</h1>
<p>Signed in as <strong>{{.User}}</strong>. The application requires the following permissions:</p>
<ul>{{range .Scopes}}<li>{{.}}</li>{{end}}</ul>
<form method="post" action="{{.Action}}">
<input type="hidden" name="csrfmiddlewaretoken" value="{{.CSRF}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<p><input type="submit" name="cancel" value="{{.Deny}}"> <input type="submit" name="allow" value="Authorize"></p>
</form>
</body>
</html>
`))

type hiddenField struct{ Name, Value string }

// consentData is what the consent page shows: the application, the user,
// the scopes, and the form's action, CSRF token, hidden fields and the
// label of the refusing button. The authorization endpoint and the
// device verification page (html_device.go) both show it.
type consentData struct {
	pageBase
	App, User, CSRF, Action, Deny string
	Scopes                        []string
	Hidden                        []hiddenField
}

// authorizeEndpoint is /o/authorize/: GET shows the consent page to a
// logged-in user (anonymous users go to the login page first), POST with
// "allow" issues a code and redirects to the client. OpenID Connect's
// parameters are checked on GET, against the session: prompt=none never
// shows a page (login_required, consent_required), prompt=login and a
// login older than max_age send the user to log in again, an
// id_token_hint must be this provider's, for this client, and name the
// logged-in user.
func (s *Server) authorizeEndpoint(w http.ResponseWriter, r *http.Request) {
	if !getHeadPost(w, r) {
		return
	}
	ss := s.readSession(r)
	u, err := s.sessionUser(r, ss)
	if err != nil {
		s.htmlFail(w, r, err)
		return
	}
	params := queryOf(r)
	// A POST carrying the page's CSRF token or one of its buttons is the
	// consent form's answer (and needs the token); any other is an
	// authorization request sent as a form, which OpenID Connect Core
	// 3.1.2.1 asks a provider to take as a GET.
	consent := false
	if r.Method == http.MethodPost {
		if !readPostForm(w, r, 64<<10) {
			s.errorPage(w, r, http.StatusBadRequest, "Bad Request", "The form could not be read.")
			return
		}
		for _, f := range []string{csrfField, "allow", "cancel"} {
			if _, ok := r.PostForm[f]; ok {
				consent = true
			}
		}
		if !consent {
			params = r.PostForm
		}
	}
	if u == nil {
		if !consent && slices.Contains(strings.Fields(params.Get("prompt")), oauth.PromptNone) {
			// No page may be shown: the client hears that a login is needed.
			a, err := s.oauth.ParseAuthorize(r.Context(), params)
			if err == nil {
				err = oauth.ErrLoginRequired
			}
			s.authorizeFail(w, r, a, err)
			return
		}
		switch {
		case r.Method == http.MethodPost && !consent:
			// An authorization request sent as a form: back to it as a GET.
			s.redirectToLoginNext(w, r, requestWith(r.URL.Path, params))
		case !consent && asksLogin(params):
			// The login about to happen is the one prompt=login or max_age
			// asks for: back without them, or the request would send the
			// user to log in once more (max_age=0: for ever).
			s.redirectToLoginNext(w, r, requestWith(r.URL.Path, params))
		default:
			s.redirectToLogin(w, r) // the request as it was sent, as Django's login_required
		}
		return
	}
	setLogUser(r, u.ID)
	if consent {
		if !s.readPageForm(w, r, ss) {
			return
		}
		params = r.PostForm
	}
	a, err := s.oauth.ParseAuthorize(r.Context(), params)
	if err != nil {
		s.authorizeFail(w, r, a, err)
		return
	}
	authTime := time.UnixMicro(ss.Issued)
	if !consent {
		// The consent form carries none of these: they were checked when
		// the page was shown.
		relogin, err := s.checkOpenID(r, a, u, authTime)
		if err != nil {
			s.authorizeFail(w, r, a, err)
			return
		}
		if relogin {
			s.redirectToLoginNext(w, r, requestWith(r.URL.Path, params))
			return
		}
		if a.Prompt[oauth.PromptNone] && a.ConsentRequired() {
			s.authorizeFail(w, r, a, oauth.ErrConsentRequired)
			return
		}
	}
	if r.Method == http.MethodHead && !a.ConsentRequired() {
		// HEAD answers what GET would without its effect: no code is issued.
		emptyHTML(w, http.StatusOK)
		return
	}
	if consent || !a.ConsentRequired() {
		if consent && params.Get("allow") == "" {
			redirectTo(w, a.ErrorURL(oauth.ErrAccessDenied))
			return
		}
		if err := s.accounts.CheckFresh(r.Context(), u.ID, authTime); err != nil {
			s.htmlFail(w, r, err)
			return
		}
		code, err := s.oauth.IssueCode(r.Context(), a, u, authTime)
		if err != nil {
			s.authorizeFail(w, r, a, err) // a refusal goes back to the client
			return
		}
		noStore(w)
		redirectTo(w, a.RedirectURL(url.Values{"code": {code}}))
		return
	}
	d := consentData{App: a.App.Name, User: u.Username, CSRF: ss.CSRF, Action: s.url("/o/authorize/"), Deny: "Cancel"}
	if d.App == "" {
		d.App = a.App.ClientID
	}
	for _, sc := range a.Scope {
		d.Scopes = append(d.Scopes, s.ocfg.Scopes.Description(sc))
	}
	if a.RedirectSent {
		d.Hidden = append(d.Hidden, hiddenField{"redirect_uri", a.RedirectURI})
	}
	d.Hidden = append(d.Hidden, hiddenField{"scope", strings.Join(a.Scope, " ")}, hiddenField{"client_id", a.App.ClientID},
		hiddenField{"state", a.State}, hiddenField{"response_type", a.ResponseType})
	if a.Challenge != "" {
		d.Hidden = append(d.Hidden, hiddenField{"code_challenge", a.Challenge}, hiddenField{"code_challenge_method", a.ChallengeMethod})
	}
	if a.Nonce != "" {
		d.Hidden = append(d.Hidden, hiddenField{"nonce", a.Nonce})
	}
	noStore(w) // the page carries the session's CSRF token
	s.render(w, r, http.StatusOK, brandConsent, &d)
}

// checkOpenID applies the request's OpenID Connect parameters to the
// session's user u, logged in at authTime: relogin is set when u must log
// in again first (prompt=login or select_account, a login older than
// max_age, an id_token_hint naming someone else); with prompt=none that
// is login_required instead. An id_token_hint that is not this
// provider's id_token for this client is invalid_request. Without OpenID
// Connect the hint is not read, as DOT ignores it.
func (s *Server) checkOpenID(r *http.Request, a *oauth.AuthorizeRequest, u *gatehouse.User, authTime time.Time) (relogin bool, err error) {
	relogin = a.LoginRequired(authTime, s.now())
	if a.IDTokenHint != "" && s.oidc != nil {
		hint, err := s.oidc.CheckHint(r.Context(), a.IDTokenHint, a.App.ClientID)
		if err != nil {
			return false, oauth.ErrInvalidRequest("The id_token_hint is not an id_token issued to this client.")
		}
		if hint.Subject != oidc.Subject(u) {
			relogin = true
		}
	}
	if relogin && a.Prompt[oauth.PromptNone] {
		return false, oauth.ErrLoginRequired
	}
	return relogin, nil
}

// requestWith is the authorization request at path with params as a
// local URL, for the login page to send the user back to (as a GET),
// without what asks for the login about to happen (prompt's login and
// select_account, max_age), so that it is not asked for again.
func requestWith(path string, params url.Values) string {
	q := url.Values{}
	for k, v := range params {
		q[k] = v
	}
	// A login that recent meets any max_age (auth_time says when it was).
	q.Del("max_age")
	if p, ok := q["prompt"]; ok && len(p) == 1 {
		var keep []string
		for _, v := range strings.Fields(p[0]) {
			if v != oauth.PromptLogin && v != oauth.PromptSelectAccount {
				keep = append(keep, v)
			}
		}
		if len(keep) == 0 {
			q.Del("prompt")
		} else {
			q.Set("prompt", strings.Join(keep, " "))
		}
	}
	return path + "?" + q.Encode()
}

// asksLogin reports whether an authorization request asks for a fresh
// login: prompt=login or select_account, or a max_age.
func asksLogin(params url.Values) bool {
	if params.Get("max_age") != "" {
		return true
	}
	for _, p := range strings.Fields(params.Get("prompt")) {
		if p == oauth.PromptLogin || p == oauth.PromptSelectAccount {
			return true
		}
	}
	return false
}

// pageUser returns the logged-in user of a browser page; without one it
// redirects to the login page (ok is false).
func (s *Server) pageUser(w http.ResponseWriter, r *http.Request) (*gatehouse.User, bool) {
	u, err := s.sessionUser(r, s.readSession(r))
	if err != nil {
		s.htmlFail(w, r, err)
		return nil, false
	}
	if u == nil {
		s.redirectToLogin(w, r)
		return nil, false
	}
	return u, true
}

// applicationsPage lists the applications the logged-in user owns (DOT's
// /o/applications/); management is done with the CLI.
func (s *Server) applicationsPage(w http.ResponseWriter, r *http.Request) {
	u, ok := s.pageUser(w, r)
	if !ok {
		return
	}
	apps, err := s.oauth.ApplicationsOf(r.Context(), u.ID)
	if err != nil {
		s.htmlFail(w, r, err)
		return
	}
	var mine []string
	for _, a := range apps {
		mine = append(mine, a.ClientID+" ("+a.Name+")")
	}
	s.render(w, r, http.StatusOK, brandList, &listData{Title: "Your applications", Items: mine,
		Empty: "No applications. Create one with: gatehouse applications create"})
}

// authorizedTokensPage is DOT's /o/authorized_tokens/; gatehouse shows
// only where to revoke them.
func (s *Server) authorizedTokensPage(w http.ResponseWriter, r *http.Request) {
	_, ok := s.pageUser(w, r)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, brandList, &listData{Title: "Authorized tokens",
		Empty: "Clients revoke their tokens at " + s.url("/o/revoke_token/") + "; changing your password revokes them all."})
}

var listTemplate = template.Must(template.New("list").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} | gatehouse</title></head>
<body><h1>{{.Title}}</h1>{{if .Items}}<ul>{{range .Items}}<li>{{.}}</li>{{end}}</ul>{{else}}<p>{{.Empty}}</p>{{end}}</body></html>
`))
