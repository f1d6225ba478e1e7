package server

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/admin"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// The applications pages of the admin site: the list, registration (the
// secret shown once, with a copy button), the change page (redirect URIs,
// grant types, client type, skip authorization, allowed origins, token
// format), the secret's rotation, and deletion after a page that says
// what it ends. Each calls one operation of the admin service.

// siteAppHref is the page of the application clientID (under the site).
func siteAppHref(clientID string) string {
	return sitePrefix + "applications/" + url.PathEscape(clientID) + "/"
}

// siteAppRow is one application in the list.
type siteAppRow struct {
	gatehouse.Application
	Href string
}

type siteAppsData struct {
	Apps  []siteAppRow
	Pager *sitePager
}

// siteApps lists the applications (admin.Applications).
func (s *Server) siteApps(w http.ResponseWriter, r *http.Request, a *siteRequest) {
	apps, pager, ok := siteList(s, w, r, a, sitePrefix+"applications/", func(p admin.Page) (admin.Listing[gatehouse.Application], error) {
		return s.admin.Applications(r.Context(), a.actor, p)
	})
	if !ok {
		return
	}
	d := siteAppsData{Pager: pager}
	for _, app := range apps {
		d.Apps = append(d.Apps, siteAppRow{Application: app, Href: s.url(siteAppHref(app.ClientID))})
	}
	s.siteRender(w, r, a, http.StatusOK, "applications", siteView{Title: "Applications", Section: "applications", Data: d})
}

// siteGrantTypes are the grant types an application may be given, with
// their names in the form.
var siteGrantTypes = []siteOption{
	{Value: gatehouse.GrantAuthorizationCode, Label: "Authorization code"},
	{Value: gatehouse.GrantPassword, Label: "Resource owner password-based"},
	{Value: gatehouse.GrantClientCredentials, Label: "Client credentials"},
	{Value: gatehouse.GrantDeviceCode, Label: "Device code (RFC 8628)"},
}

// siteAppFields are the fields of the application forms, filled from app.
func siteAppFields(app gatehouse.Application, create bool) []siteField {
	opt := func(opts []siteOption, selected ...string) []siteOption {
		out := slices.Clone(opts)
		for i := range out {
			out[i].Selected = slices.Contains(selected, out[i].Value)
		}
		return out
	}
	format := app.TokenFormat
	if format == "" {
		format = gatehouse.TokenFormatOpaque
	}
	var f []siteField
	f = append(f, siteField{Name: "name", Label: "Name", Type: "text", Value: app.Name, Autocomplete: "off"})
	if create {
		f = append(f, siteField{Name: "client_id", Label: "Client id", Type: "text", Value: app.ClientID, Autocomplete: "off",
			Help: "Leave empty to have one generated."})
	}
	return append(f,
		siteField{Name: "client_type", Label: "Client type", Type: "select", Options: opt([]siteOption{
			{Value: gatehouse.ClientConfidential, Label: "Confidential (has a secret: a server-side application)"},
			{Value: gatehouse.ClientPublic, Label: "Public (no secret: a browser or mobile application)"}}, app.ClientType),
			Help: "Made confidential, the application gets a secret, shown once; made public, it loses its secret."},
		siteField{Name: "grant_types", Label: "Grant types", Type: "checklist", Options: opt(siteGrantTypes, app.GrantTypes...)},
		siteField{Name: "redirect_uris", Label: "Redirect URIs", Type: "textarea", Value: strings.Join(app.RedirectURIs, "\n"),
			Help: "One per line; the authorization code grant needs at least one. Compared exactly."},
		siteField{Name: "post_logout_redirect_uris", Label: "Post-logout redirect URIs", Type: "textarea", Rows: 2,
			Value: strings.Join(app.PostLogoutRedirectURIs, "\n"), Help: "One per line: where OpenID Connect's logout may send the browser back to."},
		siteField{Name: "allowed_origins", Label: "Allowed origins (CORS)", Type: "textarea", Rows: 2, Value: strings.Join(app.AllowedOrigins, "\n"),
			Help: "One per line, such as https://app.example.com: browser pages on these origins may call the token, revocation and introspection endpoints."},
		siteField{Name: "skip_authorization", Label: "Skip authorization", Type: "checkbox", Checked: app.SkipAuthorization,
			Help: "Users are not asked to approve the application's access."},
		siteField{Name: "token_format", Label: "Access token format", Type: "select", Options: opt([]siteOption{
			{Value: gatehouse.TokenFormatOpaque, Label: "Opaque (as Django OAuth Toolkit)"},
			{Value: gatehouse.TokenFormatJWT, Label: "JWT (RFC 9068)"}}, format)},
	)
}

// siteLines reads a textarea of one value a line, without blank lines.
func siteLines(v string) []string {
	out := []string{}
	for _, l := range strings.Split(v, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// siteAppFromForm reads the application forms.
func siteAppFromForm(v url.Values) gatehouse.Application {
	grants := []string{}
	for _, g := range v["grant_types"] {
		if !slices.Contains(grants, g) {
			grants = append(grants, g)
		}
	}
	return gatehouse.Application{Name: v.Get("name"), ClientID: strings.TrimSpace(v.Get("client_id")), ClientType: v.Get("client_type"),
		GrantTypes: grants, RedirectURIs: siteLines(v.Get("redirect_uris")), PostLogoutRedirectURIs: siteLines(v.Get("post_logout_redirect_uris")),
		AllowedOrigins: siteLines(v.Get("allowed_origins")), SkipAuthorization: siteFormBool(v, "skip_authorization"), TokenFormat: v.Get("token_format")}
}

type siteAppData struct {
	Form   *siteForm
	App    gatehouse.Application
	Detail admin.ApplicationDetail
	Href   string // the application's page
}

// siteSecretData is the page that shows a secret once.
type siteSecretData struct {
	App    gatehouse.Application
	Secret string
	Href   string
	Why    string // "created", "rotated", "confidential"
}

// siteAppAdd registers an application (admin.CreateApplication) and shows
// its secret once.
func (s *Server) siteAppAdd(w http.ResponseWriter, r *http.Request, a *siteRequest) {
	if !s.siteRequire(w, r, a, admin.PermAddApplication) {
		return
	}
	app := gatehouse.Application{ClientType: gatehouse.ClientConfidential, GrantTypes: []string{gatehouse.GrantAuthorizationCode}}
	var err error
	if r.Method != http.MethodPost {
		// The form comes with a client id, as DOT's admin: the form sent
		// twice (a reload of the page that shows the secret) is refused as
		// a taken client id instead of making a second application.
		if app.ClientID, err = secret.Alnum(nil, 40); err != nil {
			s.siteFail(w, r, a, err)
			return
		}
	}
	if r.Method == http.MethodPost {
		app = siteAppFromForm(r.PostForm)
		created, secret, cerr := s.admin.CreateApplication(r.Context(), a.actor, admin.NewApplication{ClientID: app.ClientID, Name: app.Name,
			ClientType: app.ClientType, GrantTypes: app.GrantTypes, RedirectURIs: app.RedirectURIs, PostLogoutRedirectURIs: app.PostLogoutRedirectURIs,
			SkipAuthorization: app.SkipAuthorization, AllowedOrigins: app.AllowedOrigins, TokenFormat: app.TokenFormat})
		if cerr == nil {
			s.siteShowSecret(w, r, a, created, secret, "created")
			return
		}
		if gatehouse.ErrorCode(cerr) != gatehouse.EINVALID {
			s.siteFail(w, r, a, cerr)
			return
		}
		err = cerr
	}
	status := http.StatusOK
	if err != nil {
		status = http.StatusBadRequest
	}
	d := siteAppData{Form: newSiteForm(err, siteAppFields(app, true)...), App: app}
	s.siteRender(w, r, a, status, "application_edit", siteView{Title: "Add application", Section: "applications", Data: d})
}

// siteShowSecret answers the page that shows an application's new secret,
// the one time it is shown (never in a URL: this page answers the POST).
func (s *Server) siteShowSecret(w http.ResponseWriter, r *http.Request, a *siteRequest, app gatehouse.Application, secret, why string) {
	title := "Application " + app.ClientID
	switch why {
	case "created":
		title = "Application created"
	case "rotated":
		title = "New secret"
	}
	s.siteRender(w, r, a, http.StatusOK, "application_secret", siteView{Title: title, Section: "applications",
		Data: siteSecretData{App: app, Secret: secret, Href: s.url(siteAppHref(app.ClientID)), Why: why}})
}

// siteAppEdit is an application's change page (admin.Application, and
// admin.UpdateApplication with what changed).
func (s *Server) siteAppEdit(w http.ResponseWriter, r *http.Request, a *siteRequest) {
	clientID := r.PathValue("client_id")
	cur, err := s.admin.Application(r.Context(), a.actor, clientID)
	if err != nil {
		s.siteFail(w, r, a, err)
		return
	}
	shown := cur.Application
	var saveErr error
	if r.Method == http.MethodPost {
		posted := siteAppFromForm(r.PostForm)
		detail, secret, uerr := s.admin.UpdateApplication(r.Context(), a.actor, clientID, siteAppPatch(cur.Application, posted))
		if uerr == nil {
			if secret != "" {
				s.siteShowSecret(w, r, a, detail.Application, secret, "confidential")
				return
			}
			s.siteRedirect(w, siteAppHref(clientID), "saved", 0)
			return
		}
		if gatehouse.ErrorCode(uerr) != gatehouse.EINVALID {
			s.siteFail(w, r, a, uerr)
			return
		}
		saveErr = uerr
		posted.ClientID, posted.ID = cur.Application.ClientID, cur.Application.ID
		shown = posted
	}
	status := http.StatusOK
	if saveErr != nil {
		status = http.StatusBadRequest
	}
	d := siteAppData{Form: newSiteForm(saveErr, siteAppFields(shown, false)...), App: cur.Application, Detail: cur,
		Href: s.url(siteAppHref(clientID))}
	s.siteRender(w, r, a, status, "application_edit", siteView{Title: "Application " + siteAppTitle(cur.Application), Section: "applications", Data: d})
}

// siteAppTitle names an application: its name, else its client id.
func siteAppTitle(app gatehouse.Application) string {
	if app.Name != "" {
		return app.Name
	}
	return app.ClientID
}

// siteAppPatch is the change from cur to posted: only what differs.
func siteAppPatch(cur, posted gatehouse.Application) admin.ApplicationPatch {
	var p admin.ApplicationPatch
	list := func(old, new []string) *[]string {
		if slices.Equal(old, new) || len(old) == 0 && len(new) == 0 {
			return nil
		}
		return &new
	}
	if posted.Name != cur.Name {
		p.Name = &posted.Name
	}
	if posted.ClientType != cur.ClientType {
		p.ClientType = &posted.ClientType
	}
	og, ng := slices.Clone(cur.GrantTypes), slices.Clone(posted.GrantTypes)
	slices.Sort(og)
	slices.Sort(ng)
	if !slices.Equal(og, ng) {
		p.GrantTypes = &posted.GrantTypes
	}
	p.RedirectURIs = list(cur.RedirectURIs, posted.RedirectURIs)
	p.PostLogoutRedirectURIs = list(cur.PostLogoutRedirectURIs, posted.PostLogoutRedirectURIs)
	p.AllowedOrigins = list(cur.AllowedOrigins, posted.AllowedOrigins)
	if posted.SkipAuthorization != cur.SkipAuthorization {
		p.SkipAuthorization = &posted.SkipAuthorization
	}
	curFormat := cur.TokenFormat
	if curFormat == "" {
		curFormat = gatehouse.TokenFormatOpaque
	}
	if posted.TokenFormat != curFormat {
		p.TokenFormat = &posted.TokenFormat
	}
	return p
}

// siteAppRotate gives a confidential application a new secret
// (admin.RotateApplicationSecret) and shows it once.
func (s *Server) siteAppRotate(w http.ResponseWriter, r *http.Request, a *siteRequest) {
	clientID := r.PathValue("client_id")
	cur, err := s.admin.Application(r.Context(), a.actor, clientID)
	if err != nil {
		s.siteFail(w, r, a, err)
		return
	}
	if r.PostForm.Get("secret_version") != secretVersion(cur.Application) {
		// The form was sent again (a reload of the page that showed the
		// new secret): rotating once more would end the secret just shown.
		s.siteErrorPage(w, r, a, http.StatusConflict, "Conflict",
			"The secret was changed after this page was shown (was the form sent twice?); the secret shown then is the current one. Open the application's page to rotate it again.")
		return
	}
	plain, err := s.admin.RotateApplicationSecret(r.Context(), a.actor, clientID)
	if err != nil {
		s.siteFail(w, r, a, err)
		return
	}
	s.siteShowSecret(w, r, a, cur.Application, plain, "rotated")
}

// secretVersion names an application's current secret without telling
// anything of it: a digest of its stored hash, for the rotate form to
// say which secret it rotates.
func secretVersion(app gatehouse.Application) string {
	sum := sha256.Sum256(app.SecretHash)
	return hex.EncodeToString(sum[:8])
}

// SecretVersion is secretVersion of the page's application.
func (d siteAppData) SecretVersion() string { return secretVersion(d.App) }

type siteAppDeleteData struct {
	Detail admin.ApplicationDetail
	Href   string
	Kinds  []siteCount
}

// siteCount is a count with its label.
type siteCount struct {
	Label string
	N     int64
}

// siteAppDelete shows what deleting an application ends (GET), and
// deletes it (POST, admin.DeleteApplication).
func (s *Server) siteAppDelete(w http.ResponseWriter, r *http.Request, a *siteRequest) {
	if !s.siteRequire(w, r, a, admin.PermDeleteApp) {
		return
	}
	clientID := r.PathValue("client_id")
	cur, err := s.admin.Application(r.Context(), a.actor, clientID)
	if err != nil {
		s.siteFail(w, r, a, err)
		return
	}
	if r.Method == http.MethodPost {
		removed, err := s.admin.DeleteApplication(r.Context(), a.actor, clientID)
		if err != nil {
			s.siteFail(w, r, a, err)
			return
		}
		var n int64
		for _, c := range removed.Tokens {
			n += c
		}
		s.siteRedirect(w, sitePrefix+"applications/", "appdeleted", int(n))
		return
	}
	d := siteAppDeleteData{Detail: cur, Href: s.url(siteAppHref(clientID)), Kinds: []siteCount{
		{"live access tokens", cur.LiveTokens[gatehouse.CredentialOAuthAccess]},
		{"live refresh tokens", cur.LiveTokens[gatehouse.CredentialOAuthRefresh]},
		{"unused authorization codes and device grants", cur.LiveGrants},
	}}
	s.siteRender(w, r, a, http.StatusOK, "application_delete", siteView{Title: "Delete application " + siteAppTitle(cur.Application),
		Section: "applications", Data: d})
}
