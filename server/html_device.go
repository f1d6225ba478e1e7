package server

import (
	"html/template"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
)

// The verification page of the device flow (RFC 8628 3.3), /o/device/: a
// logged-in user enters the code their device shows (GET shows the form,
// prefilled from ?user_code=, as verification_uri_complete links it), then
// approves or denies on the consent page of /o/authorize/. Anonymous users
// go to the login page first and come back. Every POST carries the
// session's CSRF token; wrong codes count against the user and source in
// the provider's Guard (oauth.Provider.DeviceConsentFor).

var deviceTemplate = template.Must(template.New("device").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Connect a device | gatehouse</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<h1>Connect a device</h1>
<p>Signed in as <strong>{{.User}}</strong>. Enter the code shown on your device.</p>
{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="csrfmiddlewaretoken" value="{{.CSRF}}">
<p><label for="id_user_code">Code:</label> <input type="text" name="user_code" id="id_user_code" value="{{.Code}}" autocomplete="off" autocapitalize="characters" spellcheck="false" autofocus required maxlength="20"></p>
<p><input type="submit" value="Continue"></p>
</form>
</body>
</html>
`))

var deviceDoneTemplate = template.Must(template.New("device-done").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Title}} | gatehouse</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>{{.Title}}</h1><p>{{.Message}}</p></body>
</html>
`))

// deviceData is the device verification page's: the user, the form's
// action and CSRF token, the code typed (or linked), and why it was
// refused.
type deviceData struct {
	pageBase
	User, Action, CSRF, Code, Error string
}

// devicePage is /o/device/.
func (s *Server) devicePage(w http.ResponseWriter, r *http.Request) {
	if !getHeadPost(w, r) {
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
	if r.Method != http.MethodPost {
		code := queryOf(r).Get("user_code")
		if len(code) > 20 {
			code = ""
		}
		s.renderDevice(w, r, http.StatusOK, deviceData{User: u.Username, CSRF: ss.CSRF, Code: code})
		return
	}
	if !s.readPageForm(w, r, ss) {
		return
	}
	typed := r.PostForm.Get("user_code")
	_, allow := r.PostForm["allow"]
	_, cancel := r.PostForm["cancel"]
	if !allow && !cancel {
		c, err := s.oauth.DeviceConsentFor(r.Context(), u, typed)
		if err != nil {
			s.deviceFail(w, r, ss, u, typed, err)
			return
		}
		d := consentData{App: c.App.Name, User: u.Username, CSRF: ss.CSRF, Action: s.url("/o/device/"), Deny: "Deny",
			Hidden: []hiddenField{{"user_code", c.UserCode}}}
		if d.App == "" {
			d.App = c.App.ClientID
		}
		for _, sc := range c.Scope {
			d.Scopes = append(d.Scopes, s.ocfg.Scopes.Description(sc))
		}
		noStore(w) // the page carries the session's CSRF token
		s.render(w, r, http.StatusOK, brandConsent, &d)
		return
	}
	if allow {
		if err := s.accounts.CheckFresh(r.Context(), u.ID, time.UnixMicro(ss.Issued)); err != nil {
			s.htmlFail(w, r, err)
			return
		}
	}
	c, err := s.oauth.DecideDevice(r.Context(), u, typed, allow)
	if err != nil {
		s.deviceFail(w, r, ss, u, typed, err)
		return
	}
	name := c.App.Name
	if name == "" {
		name = c.App.ClientID
	}
	done := deviceDoneData{Title: "Device connected", Message: name + " can now act for you. You can return to your device.", App: name, Allowed: true}
	if !allow {
		done = deviceDoneData{Title: "Access denied", Message: name + " was not connected. You can close this page.", App: name}
	}
	noStore(w)
	s.render(w, r, http.StatusOK, brandDeviceDone, &done)
}

// deviceFail answers a refused user code with the form again and the
// reason (400), anything else through errors.go (a throttled try: 429).
func (s *Server) deviceFail(w http.ResponseWriter, r *http.Request, ss *session, u *gatehouse.User, typed string, err error) {
	if !oauth.IsUserCodeRefused(err) {
		s.htmlFail(w, r, err)
		return
	}
	if len(typed) > 20 {
		typed = ""
	}
	s.renderDevice(w, r, http.StatusBadRequest, deviceData{User: u.Username, CSRF: ss.CSRF, Code: typed, Error: gatehouse.ErrorMessage(err)})
}

func (s *Server) renderDevice(w http.ResponseWriter, r *http.Request, status int, d deviceData) {
	d.Action = s.url("/o/device/")
	noStore(w)
	s.render(w, r, status, brandDevice, &d)
}
