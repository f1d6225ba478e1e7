package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/admin"
)

// The admin API's OAuth applications (docs/admin-api.md):
// /api/admin/applications/ and below, by client_id.

// adminApplicationOut is an application as the admin API shows it: never
// its secret's hash.
type adminApplicationOut struct {
	ID                     int64     `json:"id"`
	ClientID               string    `json:"client_id"`
	Name                   string    `json:"name"`
	ClientType             string    `json:"client_type"`
	GrantTypes             []string  `json:"authorization_grant_type"`
	RedirectURIs           []string  `json:"redirect_uris"`
	PostLogoutRedirectURIs []string  `json:"post_logout_redirect_uris"`
	SkipAuthorization      bool      `json:"skip_authorization"`
	AllowedOrigins         []string  `json:"allowed_origins"`
	TokenFormat            string    `json:"token_format"`
	User                   *int64    `json:"user"`
	Created                time.Time `json:"created"`
	Updated                time.Time `json:"updated"`
}

// adminApplicationDetailOut adds what the application holds now, and the
// secret in the one answer that shows it.
type adminApplicationDetailOut struct {
	adminApplicationOut
	LiveTokens   map[string]int64 `json:"live_tokens"`
	LiveGrants   int64            `json:"live_grants"`
	ClientSecret *string          `json:"client_secret,omitempty"`
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func toAdminApplication(a gatehouse.Application) adminApplicationOut {
	return adminApplicationOut{ID: a.ID, ClientID: a.ClientID, Name: a.Name, ClientType: a.ClientType, GrantTypes: nonNil(a.GrantTypes),
		RedirectURIs: nonNil(a.RedirectURIs), PostLogoutRedirectURIs: nonNil(a.PostLogoutRedirectURIs), SkipAuthorization: a.SkipAuthorization,
		AllowedOrigins: nonNil(a.AllowedOrigins), TokenFormat: admin.TokenFormatName(a.TokenFormat), User: a.UserID,
		Created: a.Created.UTC(), Updated: a.Updated.UTC()}
}

func toAdminApplicationDetail(d admin.ApplicationDetail, secret string) adminApplicationDetailOut {
	live := map[string]int64{gatehouse.CredentialOAuthAccess: 0, gatehouse.CredentialOAuthRefresh: 0}
	for k, n := range d.LiveTokens {
		live[k] = n
	}
	out := adminApplicationDetailOut{adminApplicationOut: toAdminApplication(d.Application), LiveTokens: live, LiveGrants: d.LiveGrants}
	if secret != "" {
		out.ClientSecret = &secret
	}
	return out
}

func (s *Server) adminApplicationsView() http.Handler {
	return s.adminView("Admin Application List", map[string]adminHandler{"GET": (*Server).adminListApplications, "POST": (*Server).adminCreateApplication})
}

func (s *Server) adminApplicationView() http.Handler {
	return s.adminView("Admin Application Detail", map[string]adminHandler{"GET": (*Server).adminGetApplication,
		"PATCH": (*Server).adminPatchApplication, "DELETE": (*Server).adminDeleteApplication})
}

func (s *Server) adminApplicationSecretView() http.Handler {
	return s.adminView("Admin Application Rotate Secret", map[string]adminHandler{"POST": (*Server).adminRotateSecret})
}

// adminListApplications: GET /api/admin/applications/.
func (s *Server) adminListApplications(c *call, a admin.Actor) *apiError {
	page, e := adminPage(c)
	if e != nil {
		return e
	}
	l, err := s.admin.Applications(c.r.Context(), a, page)
	if err != nil {
		return s.internal(c, err)
	}
	return respondListing(s, c, l, toAdminApplication)
}

// strsField reads a JSON body's list of strings: nil when absent; a list
// of strings, or one string of space-separated items (DOT's
// redirect_uris); anything else is a field error in DRF's words.
func strsField(p *payload, errs *fieldErrors, name string) *[]string {
	raw, ok := p.obj[name]
	if !ok {
		return nil
	}
	raw = bytes.TrimSpace(raw)
	switch {
	case string(raw) == "null":
		errs.add(name, msgNull)
		return nil
	case len(raw) > 0 && raw[0] == '"':
		var v string
		if json.Unmarshal(raw, &v) != nil {
			errs.add(name, "Not a valid string.")
			return nil
		}
		out := strings.Fields(v)
		return &out
	case len(raw) > 0 && raw[0] == '[':
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			errs.add(name, "Not a valid string.")
			return nil
		}
		out := make([]string, 0, len(items))
		for _, it := range items {
			var v string
			if json.Unmarshal(it, &v) != nil {
				errs.add(name, "Not a valid string.")
				return nil
			}
			out = append(out, strings.TrimSpace(v))
		}
		return &out
	}
	errs.add(name, `Expected a list of items but got type "`+jsonTypeName(raw)+`".`)
	return nil
}

// adminApplicationFields reads an application's writable fields.
func adminApplicationFields(p *payload, errs *fieldErrors) admin.ApplicationPatch {
	return admin.ApplicationPatch{
		Name:                   optChar(p, errs, "name", true, 255),
		ClientType:             optChar(p, errs, "client_type", false, 32),
		GrantTypes:             strsField(p, errs, "authorization_grant_type"),
		RedirectURIs:           strsField(p, errs, "redirect_uris"),
		PostLogoutRedirectURIs: strsField(p, errs, "post_logout_redirect_uris"),
		SkipAuthorization:      boolField(p, errs, "skip_authorization"),
		AllowedOrigins:         strsField(p, errs, "allowed_origins"),
		TokenFormat:            optChar(p, errs, "token_format", true, 16),
	}
}

// adminCreateApplication: POST /api/admin/applications/ → 201, the
// application and its client_secret (confidential clients), shown once.
func (s *Server) adminCreateApplication(c *call, a admin.Actor) *apiError {
	p, errs, e := adminBody(c)
	if e != nil {
		return e
	}
	f := adminApplicationFields(p, errs)
	clientID := optChar(p, errs, "client_id", false, gatehouse.MaxClientID)
	if f.GrantTypes == nil {
		if _, present := p.obj["authorization_grant_type"]; !present {
			errs.add("authorization_grant_type", msgRequired)
		}
	}
	if !errs.empty() {
		return badRequest(errs)
	}
	deref := func(v *string) string {
		if v == nil {
			return ""
		}
		return *v
	}
	list := func(v *[]string) []string {
		if v == nil {
			return nil
		}
		return *v
	}
	n := admin.NewApplication{ClientID: deref(clientID), Name: deref(f.Name), ClientType: deref(f.ClientType), GrantTypes: list(f.GrantTypes),
		RedirectURIs: list(f.RedirectURIs), PostLogoutRedirectURIs: list(f.PostLogoutRedirectURIs), AllowedOrigins: list(f.AllowedOrigins),
		TokenFormat: deref(f.TokenFormat)}
	if f.SkipAuthorization != nil {
		n.SkipAuthorization = *f.SkipAuthorization
	}
	app, secret, err := s.admin.CreateApplication(c.r.Context(), a, n)
	if err != nil {
		return s.internal(c, err)
	}
	noStore(c.w)
	c.respond(http.StatusCreated, toAdminApplicationDetail(admin.ApplicationDetail{Application: app}, secret))
	return nil
}

// adminGetApplication: GET /api/admin/applications/{client_id}/.
func (s *Server) adminGetApplication(c *call, a admin.Actor) *apiError {
	d, err := s.admin.Application(c.r.Context(), a, c.r.PathValue("client_id"))
	if err != nil {
		return s.internal(c, err)
	}
	c.respond(http.StatusOK, toAdminApplicationDetail(d, ""))
	return nil
}

// adminPatchApplication: PATCH /api/admin/applications/{client_id}/ →
// the application as changed (with a client_secret when it was made
// confidential).
func (s *Server) adminPatchApplication(c *call, a admin.Actor) *apiError {
	p, errs, e := adminBody(c)
	if e != nil {
		return e
	}
	f := adminApplicationFields(p, errs)
	if _, present := p.obj["client_id"]; present {
		errs.add("client_id", "The client id cannot be changed.")
	}
	if !errs.empty() {
		return badRequest(errs)
	}
	d, secret, err := s.admin.UpdateApplication(c.r.Context(), a, c.r.PathValue("client_id"), f)
	if err != nil {
		return s.internal(c, err)
	}
	if secret != "" {
		noStore(c.w)
	}
	c.respond(http.StatusOK, toAdminApplicationDetail(d, secret))
	return nil
}

// adminDeleteApplication: DELETE /api/admin/applications/{client_id}/ →
// 200 and what went with it.
func (s *Server) adminDeleteApplication(c *call, a admin.Actor) *apiError {
	clientID := c.r.PathValue("client_id")
	r, err := s.admin.DeleteApplication(c.r.Context(), a, clientID)
	if err != nil {
		return s.internal(c, err)
	}
	tokens := map[string]int64{gatehouse.CredentialOAuthAccess: 0, gatehouse.CredentialOAuthRefresh: 0}
	for k, n := range r.Tokens {
		tokens[k] = n
	}
	c.respond(http.StatusOK, map[string]any{"client_id": clientID, "removed": map[string]any{"tokens": tokens, "grants": r.Grants}})
	return nil
}

// adminRotateSecret: POST /api/admin/applications/{client_id}/rotate-secret/
// → {"client_id", "client_secret"}, shown once.
func (s *Server) adminRotateSecret(c *call, a admin.Actor) *apiError {
	clientID := c.r.PathValue("client_id")
	secret, err := s.admin.RotateApplicationSecret(c.r.Context(), a, clientID)
	if err != nil {
		return s.internal(c, err)
	}
	noStore(c.w)
	c.respond(http.StatusOK, map[string]string{"client_id": clientID, "client_secret": secret})
	return nil
}
