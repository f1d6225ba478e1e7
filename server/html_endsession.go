package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-auth/gatehouse/oidc"
)

// endSession is OpenID Connect RP-Initiated Logout 1.0 at /o/logout/ (the
// discovery document's end_session_endpoint). A client sends the user
// agent here with id_token_hint, client_id, post_logout_redirect_uri and
// state (GET, or POST as a form). The user agent is sent back only to a
// post_logout_redirect_uri registered for that client, compared exactly;
// any other is refused with a page, never redirected to. The session
// ends at once when a valid id_token_hint names the logged-in user (the
// client proves it signed this user in); otherwise the user confirms
// with a form (CSRF-protected), so that a link on another site cannot log
// anyone out.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", noCacheLogin)
	var params url.Values
	ss := s.readSession(r)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		params = queryOf(r)
	case http.MethodPost:
		if !readPostForm(w, r, 64<<10) {
			s.errorPage(w, r, http.StatusBadRequest, "Bad Request", "The form could not be read.")
			return
		}
		params = r.PostForm
	default:
		getHeadPost(w, r) // OPTIONS: 200, else 405, each with Allow
		return
	}
	for _, name := range []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state", "logout_hint"} {
		if len(params[name]) > 1 {
			s.errorPage(w, r, http.StatusBadRequest, "Error: invalid_request", "Duplicate "+name+" parameter.")
			return
		}
	}
	back, hintSubject, msg := s.logoutTarget(r, params)
	if msg != "" {
		s.errorPage(w, r, http.StatusBadRequest, "Error: invalid_request", msg)
		return
	}
	u, err := s.sessionUser(r, ss)
	if err != nil {
		s.htmlFail(w, r, err)
		return
	}
	confirmed := r.Method == http.MethodPost && params.Get("confirm") != ""
	if confirmed && !csrfOK(ss, params.Get(csrfField)) {
		s.errorPage(w, r, http.StatusForbidden, "Forbidden", "CSRF verification failed. Request aborted.")
		return
	}
	if u != nil && !confirmed && (hintSubject == "" || hintSubject != oidc.Subject(u)) {
		d := logoutData{Action: s.url(oidc.EndSessionPath), User: u.Username, CSRF: ss.CSRF}
		for _, name := range []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state"} {
			if v := params.Get(name); v != "" {
				d.Hidden = append(d.Hidden, hiddenField{name, v})
			}
		}
		d.Hidden = append(d.Hidden, hiddenField{"confirm", "1"})
		setLogUser(r, u.ID)
		s.renderLogout(w, r, d)
		return
	}
	if r.Method == http.MethodHead {
		emptyHTML(w, http.StatusOK)
		return
	}
	if u != nil && !s.endBrowserSession(w, r, ss) {
		return
	}
	if back != "" {
		if st := params.Get("state"); st != "" {
			sep := "?"
			if strings.Contains(back, "?") {
				sep = "&"
			}
			back += sep + "state=" + url.QueryEscape(st)
		}
		redirectTo(w, back)
		return
	}
	s.renderLogout(w, r, logoutData{Login: s.url(s.ocfg.LoginURL), Message: "You are logged out."})
}

// logoutTarget checks an RP-initiated logout's parameters: the
// id_token_hint (this provider's, for client_id when both are sent), and
// the post_logout_redirect_uri, registered for the client the request
// names. It returns where to send the user agent after the logout ("":
// show the logged-out page), the hint's subject, or why the request is
// refused.
func (s *Server) logoutTarget(r *http.Request, params url.Values) (back, subject, refusal string) {
	clientID := params.Get("client_id")
	if h := params.Get("id_token_hint"); h != "" {
		if len(h) > 8192 {
			return "", "", "The id_token_hint is not an id_token of this provider."
		}
		hint, err := s.oidc.CheckHint(r.Context(), h, clientID)
		if err != nil {
			return "", "", "The id_token_hint is not an id_token of this provider for this client."
		}
		subject = hint.Subject
		if clientID == "" && len(hint.Audience) == 1 {
			clientID = hint.Audience[0]
		}
	}
	uri := params.Get("post_logout_redirect_uri")
	if uri == "" {
		return "", subject, ""
	}
	if clientID == "" {
		return "", "", "A post_logout_redirect_uri needs the client_id or an id_token_hint naming the client."
	}
	app, err := s.oauth.Application(r.Context(), clientID)
	if err != nil || app == nil {
		return "", "", "Invalid client_id parameter value."
	}
	for _, registered := range app.PostLogoutRedirectURIs {
		if registered == uri && s.ocfg.RedirectSchemeAllowed(uri) {
			return uri, subject, ""
		}
	}
	return "", "", "The post_logout_redirect_uri is not registered for this client."
}
