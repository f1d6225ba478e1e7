package server

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// authRequest is an authorization request (RFC 6749 4.1.1, RFC 7636 4.3)
// parsed once from the query (GET) or the consent form (POST).
type authRequest struct {
	app             *gatehouse.Application
	responseType    string
	redirectURI     string // the one codes and errors go to
	redirectSent    bool   // redirect_uri was in the request (then the token request must repeat it)
	scope           []string
	state           string
	challenge       string
	challengeMethod string
}

// parseAuthRequest validates params. An error before a trusted redirect
// URI is known is an HTML page (fatal true); later errors are redirected
// to the client with error and state.
func (s *Server) parseAuthRequest(r *http.Request, params url.Values) (*authRequest, *oauthError, bool, error) {
	a := &authRequest{responseType: params.Get("response_type"), state: params.Get("state"),
		challenge: params.Get("code_challenge"), challengeMethod: params.Get("code_challenge_method")}
	for _, p := range []string{"client_id", "redirect_uri", "response_type", "state", "scope", "code_challenge", "code_challenge_method"} {
		if len(params[p]) > 1 {
			return nil, errInvalidRequest("Duplicate " + p + " parameter."), true, nil
		}
	}
	app, err := s.application(r.Context(), params.Get("client_id"))
	if err != nil {
		return nil, nil, true, err
	}
	if app == nil {
		return nil, &oauthError{Code: "invalid_client_id", Description: "Invalid client_id parameter value.", Status: http.StatusBadRequest}, true, nil
	}
	a.app = app
	if uri, sent := params["redirect_uri"]; sent {
		a.redirectURI, a.redirectSent = uri[0], true
		if !app.RedirectURIAllowed(a.redirectURI) {
			return nil, &oauthError{Code: "invalid_request", Description: "Mismatching redirect URI.", Status: http.StatusBadRequest}, true, nil
		}
	} else {
		uri, ok := app.DefaultRedirectURI()
		if !ok {
			return nil, &oauthError{Code: "invalid_request", Description: "Missing redirect URI.", Status: http.StatusBadRequest}, true, nil
		}
		a.redirectURI = uri
	}
	// From here on, errors go back to the client.
	switch {
	case a.responseType == "":
		return a, errInvalidRequest("Missing response_type parameter."), false, nil
	case a.responseType != "code":
		return a, &oauthError{Code: "unsupported_response_type", Status: http.StatusBadRequest}, false, nil
	case !app.Allows(gatehouse.GrantAuthorizationCode):
		return a, errUnauthorizedClient, false, nil
	}
	if a.challenge != "" {
		if a.challengeMethod == "" {
			a.challengeMethod = "plain" // RFC 7636 4.3 default, refused below
		}
		if a.challengeMethod != "S256" {
			return a, errInvalidRequest("Transform algorithm not supported."), false, nil
		}
		if !validVerifier(a.challenge) || len(a.challenge) != 43 {
			return a, errInvalidRequest("Invalid code_challenge parameter."), false, nil
		}
	} else if app.IsPublic() || s.cfg.OAuth.RequirePKCE {
		return a, errInvalidRequest("Code challenge required."), false, nil
	} else if a.challengeMethod != "" {
		return a, errInvalidRequest("Missing code_challenge parameter."), false, nil
	}
	_, sent := params["scope"]
	scope, oe := s.requestedScope(app, params.Get("scope"), sent)
	if oe != nil {
		return a, oe, false, nil
	}
	a.scope = scope
	return a, nil, false, nil
}

// redirect sends the user agent back to the client with the given
// parameters and state.
func (a *authRequest) redirect(w http.ResponseWriter, params url.Values) {
	if a.state != "" {
		params.Set("state", a.state)
	}
	loc := a.redirectURI
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	// code (or error) first, then state, as oauthlib orders them.
	var parts []string
	for _, k := range []string{"code", "error", "error_description", "state"} {
		if v, ok := params[k]; ok {
			parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v[0]))
		}
	}
	w.Header().Set("Location", loc+sep+strings.Join(parts, "&"))
	emptyHTML(w, http.StatusFound)
}

func (a *authRequest) redirectError(w http.ResponseWriter, e *oauthError) {
	p := url.Values{"error": {e.Code}}
	if e.Description != "" {
		p.Set("error_description", e.Description)
	}
	a.redirect(w, p)
}

var consentTemplate = template.Must(template.New("consent").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Authorize {{.App}} | gatehouse</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<h1>Authorize {{.App}}?</h1>
<p>Signed in as <strong>{{.User}}</strong>. The application requires the following permissions:</p>
<ul>{{range .Scopes}}<li>{{.}}</li>{{end}}</ul>
<form method="post" action="/o/authorize/">
<input type="hidden" name="csrfmiddlewaretoken" value="{{.CSRF}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<p><input type="submit" name="cancel" value="Cancel"> <input type="submit" name="allow" value="Authorize"></p>
</form>
</body>
</html>
`))

type hiddenField struct{ Name, Value string }

// authorizeEndpoint is /o/authorize/: GET shows the consent page to a
// logged-in user (anonymous users go to the login page first), POST with
// "allow" issues a code and redirects to the client.
func (s *Server) authorizeEndpoint(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, POST, HEAD, OPTIONS")
		emptyHTML(w, http.StatusMethodNotAllowed)
		return
	}
	ss := s.readSession(r)
	u, err := s.sessionUser(r, ss)
	if err != nil {
		s.htmlFail(w, r, err)
		return
	}
	if u == nil {
		s.redirectToLogin(w, r)
		return
	}
	setLogUser(r, u.ID)
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			htmlError(w, http.StatusBadRequest, "Bad Request", "The form could not be read.")
			return
		}
		if !csrfOK(ss, r.PostForm.Get(csrfField)) {
			htmlError(w, http.StatusForbidden, "Forbidden", "CSRF verification failed. Request aborted.")
			return
		}
		params = r.PostForm
	}
	a, oe, fatal, err := s.parseAuthRequest(r, params)
	if err != nil {
		s.htmlFail(w, r, err)
		return
	}
	if oe != nil {
		if fatal {
			htmlError(w, http.StatusBadRequest, "Error: "+oe.Code, oe.Description)
			return
		}
		a.redirectError(w, oe)
		return
	}
	if r.Method == http.MethodPost || a.app.SkipAuthorization {
		if r.Method == http.MethodPost && params.Get("allow") == "" {
			a.redirectError(w, &oauthError{Code: "access_denied"})
			return
		}
		s.issueCode(w, r, a, u)
		return
	}
	d := struct {
		App, User, CSRF string
		Scopes          []string
		Hidden          []hiddenField
	}{App: a.app.Name, User: u.Username, CSRF: ss.CSRF}
	if d.App == "" {
		d.App = a.app.ClientID
	}
	for _, sc := range a.scope {
		d.Scopes = append(d.Scopes, s.cfg.OAuth.Scopes.Description(sc))
	}
	if a.redirectSent {
		d.Hidden = append(d.Hidden, hiddenField{"redirect_uri", a.redirectURI})
	}
	d.Hidden = append(d.Hidden, hiddenField{"scope", strings.Join(a.scope, " ")}, hiddenField{"client_id", a.app.ClientID},
		hiddenField{"state", a.state}, hiddenField{"response_type", a.responseType})
	if a.challenge != "" {
		d.Hidden = append(d.Hidden, hiddenField{"code_challenge", a.challenge}, hiddenField{"code_challenge_method", a.challengeMethod})
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		consentTemplate.Execute(w, d)
	}
}

// issueCode stores a new single-use authorization code and redirects to
// the client with it.
func (s *Server) issueCode(w http.ResponseWriter, r *http.Request, a *authRequest, u *gatehouse.User) {
	code, err := secret.Alnum(s.random, 30)
	if err != nil {
		s.htmlFail(w, r, err)
		return
	}
	now := s.now()
	g := gatehouse.Grant{CodeHash: secret.Hash(code), ApplicationID: a.app.ID, UserID: u.ID, Scope: strings.Join(a.scope, " "),
		CodeChallenge: a.challenge, CodeChallengeMethod: a.challengeMethod, Created: now, Expires: now.Add(s.cfg.OAuth.CodeLifetime)}
	if a.redirectSent {
		g.RedirectURI = a.redirectURI
	}
	if a.challenge == "" {
		g.CodeChallengeMethod = ""
	}
	if err := s.store.CreateGrant(r.Context(), &g); err != nil {
		s.htmlFail(w, r, err)
		return
	}
	a.redirect(w, url.Values{"code": {code}})
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
	apps, err := s.store.Applications(r.Context())
	if err != nil {
		s.htmlFail(w, r, err)
		return
	}
	var mine []string
	for _, a := range apps {
		if a.UserID != nil && *a.UserID == u.ID {
			mine = append(mine, a.ClientID+" ("+a.Name+")")
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	listTemplate.Execute(w, struct {
		Title string
		Items []string
		Empty string
	}{"Your applications", mine, "No applications. Create one with: gatehouse createapplication"})
}

// authorizedTokensPage is DOT's /o/authorized_tokens/; gatehouse shows
// only where to revoke them.
func (s *Server) authorizedTokensPage(w http.ResponseWriter, r *http.Request) {
	_, ok := s.pageUser(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	listTemplate.Execute(w, struct {
		Title string
		Items []string
		Empty string
	}{"Authorized tokens", nil, "Clients revoke their tokens at /o/revoke_token/; changing your password revokes them all."})
}

var listTemplate = template.Must(template.New("list").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} | gatehouse</title></head>
<body><h1>{{.Title}}</h1>{{if .Items}}<ul>{{range .Items}}<li>{{.}}</li>{{end}}</ul>{{else}}<p>{{.Empty}}</p>{{end}}</body></html>
`))
