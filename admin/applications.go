package admin

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
)

// OAuth applications (DOT's oauth2_provider.application). The rules of
// what an application may be are oauth.Clients' (the CLI's too); this
// file adds who may do what, and what a deletion takes with it.
//
// An application listed in the setting admin-clients administers with its
// own tokens as a superuser: only superusers may change, rotate the
// secret of or delete one, or a staff user with change_application could
// take its secret and with it every right.

// Django's names of the token models' permissions.
const (
	PermViewAccessToken    = "oauth2_provider.view_accesstoken"
	PermDeleteAccessToken  = "oauth2_provider.delete_accesstoken"
	PermViewRefreshToken   = "oauth2_provider.view_refreshtoken"
	PermDeleteRefreshToken = "oauth2_provider.delete_refreshtoken"
	PermViewDRFToken       = "authtoken.view_token"
	PermDeleteDRFToken     = "authtoken.delete_token"
	PermViewKnoxToken      = "knox.view_authtoken"
	PermDeleteKnoxToken    = "knox.delete_authtoken"
	PermViewJWTRefresh     = "token_blacklist.view_outstandingtoken"
	PermDeleteJWTRefresh   = "token_blacklist.delete_outstandingtoken"
	// Browser sessions: django.contrib.sessions' Session model.
	PermViewSession   = "sessions.view_session"
	PermDeleteSession = "sessions.delete_session"
)

// The token formats as the admin names them (gatehouse.TokenFormatOpaque
// is the empty string).
const (
	FormatOpaque = "opaque"
	FormatJWT    = "jwt"
)

// TokenFormatName is f as the admin shows it: "opaque" or "jwt".
func TokenFormatName(f string) string {
	if f == gatehouse.TokenFormatOpaque {
		return FormatOpaque
	}
	return f
}

// tokenFormat reads a format the admin names ("opaque", "jwt"; "" is
// opaque too); anything else passes on for oauth.Clients to refuse.
func tokenFormat(name string) string {
	if name == FormatOpaque {
		return gatehouse.TokenFormatOpaque
	}
	return name
}

// ApplicationDetail is an application with what it holds now: its live
// tokens by kind (gatehouse.CredentialOAuthAccess, ...Refresh) and its
// authorization codes and device grants not yet used.
type ApplicationDetail struct {
	Application gatehouse.Application
	LiveTokens  map[string]int64
	LiveGrants  int64
}

// Applications lists the OAuth applications by id, one page at a time.
// It needs oauth2_provider.view_application or change_application.
func (s *Service) Applications(ctx context.Context, a Actor, p Page) (Listing[gatehouse.Application], error) {
	if err := a.require(PermViewApplication, PermChangeApp); err != nil {
		return Listing[gatehouse.Application]{}, err
	}
	all, err := s.d.Applications.Applications(ctx)
	if err != nil {
		return Listing[gatehouse.Application]{}, err
	}
	slices.SortFunc(all, func(x, y gatehouse.Application) int { return int(x.ID - y.ID) })
	return paginate(all, p)
}

// application reads the application with that client id: ENOTFOUND when
// there is none.
func (s *Service) application(ctx context.Context, clientID string) (gatehouse.Application, error) {
	if clientID == "" || len(clientID) > gatehouse.MaxClientID || !gatehouse.ValidText(clientID) {
		return gatehouse.Application{}, gatehouse.Errorf(gatehouse.ENOTFOUND, "no such application")
	}
	app, err := s.d.Applications.Application(ctx, clientID)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return app, gatehouse.Errorf(gatehouse.ENOTFOUND, "no such application")
	}
	return app, err
}

// Application returns the application with that client id and the counts
// of what it holds now. It needs view_application or change_application;
// ENOTFOUND when there is none.
func (s *Service) Application(ctx context.Context, a Actor, clientID string) (ApplicationDetail, error) {
	if err := a.require(PermViewApplication, PermChangeApp); err != nil {
		return ApplicationDetail{}, err
	}
	app, err := s.application(ctx, clientID)
	if err != nil {
		return ApplicationDetail{}, err
	}
	return s.holdings(ctx, app)
}

// holdings counts app's live tokens and grants.
func (s *Service) holdings(ctx context.Context, app gatehouse.Application) (ApplicationDetail, error) {
	now := s.d.Now()
	live, err := s.d.Credentials.CountCredentials(ctx, gatehouse.CredentialFilter{ApplicationID: app.ID}, now)
	if err != nil {
		return ApplicationDetail{}, err
	}
	grants, err := s.d.Credentials.CountGrants(ctx, app.ID, now)
	if err != nil {
		return ApplicationDetail{}, err
	}
	return ApplicationDetail{Application: app, LiveTokens: live, LiveGrants: grants}, nil
}

// NewApplication is an application an administrator registers: the
// fields of oauth.ApplicationSpec the admin sets. TokenFormat is "opaque"
// (or "") or "jwt".
type NewApplication struct {
	ClientID               string // "": generated
	Name                   string
	ClientType             string // "": confidential
	GrantTypes             []string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	SkipAuthorization      bool
	AllowedOrigins         []string
	TokenFormat            string
}

// CreateApplication registers an application with oauth.Clients' rules
// and returns it with its secret (confidential clients; "" for public
// ones), which is stored only as a hash and never shown again. It needs
// oauth2_provider.add_application. A bad field is EINVALID naming it
// (a client id in use: field client_id), and then nothing is written;
// audited application.created.
func (s *Service) CreateApplication(ctx context.Context, a Actor, n NewApplication) (gatehouse.Application, string, error) {
	if err := a.require(PermAddApplication); err != nil {
		return gatehouse.Application{}, "", err
	}
	app, plain, err := s.d.Clients.Create(ctx, oauth.ApplicationSpec{ClientID: n.ClientID, Name: n.Name, ClientType: n.ClientType,
		GrantTypes: n.GrantTypes, RedirectURIs: n.RedirectURIs, PostLogoutRedirectURIs: n.PostLogoutRedirectURIs,
		SkipAuthorization: n.SkipAuthorization, AllowedOrigins: n.AllowedOrigins, TokenFormat: tokenFormat(n.TokenFormat)})
	if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
		return gatehouse.Application{}, "", gatehouse.Invalid(gatehouse.FieldError{Field: "client_id", Code: gatehouse.FieldUnique,
			Message: "application with this client id already exists."})
	}
	if err != nil {
		return gatehouse.Application{}, "", err
	}
	return app, plain, nil
}

// ApplicationPatch is a change of an application: nil fields stay.
type ApplicationPatch struct {
	Name                   *string
	ClientType             *string
	GrantTypes             *[]string
	RedirectURIs           *[]string
	PostLogoutRedirectURIs *[]string
	SkipAuthorization      *bool
	AllowedOrigins         *[]string
	TokenFormat            *string
}

// changeable reads the application with that client id for a change
// needing perm: EFORBIDDEN without it, ENOTFOUND when there is none,
// EFORBIDDEN when it is an admin client and a is no superuser.
func (s *Service) changeable(ctx context.Context, a Actor, clientID, perm string) (gatehouse.Application, error) {
	if err := a.require(perm); err != nil {
		return gatehouse.Application{}, err
	}
	app, err := s.application(ctx, clientID)
	if err != nil {
		return app, err
	}
	if !a.superuser && slices.Contains(s.d.Config.AdminClients, app.ClientID) {
		return app, forbidden()
	}
	return app, nil
}

// UpdateApplication applies p to the application with that client id,
// checked by oauth.Clients.Update as a new one is: a bad field is
// EINVALID naming it and nothing is written. Made confidential, the
// client gets a secret, returned once ("" otherwise); made public, it
// loses its secret. It needs oauth2_provider.change_application (and a
// superuser for an admin client); audited application.changed.
func (s *Service) UpdateApplication(ctx context.Context, a Actor, clientID string, p ApplicationPatch) (ApplicationDetail, string, error) {
	if _, err := s.changeable(ctx, a, clientID, PermChangeApp); err != nil {
		return ApplicationDetail{}, "", err
	}
	ch := oauth.ApplicationChange{Name: p.Name, ClientType: p.ClientType, GrantTypes: p.GrantTypes, RedirectURIs: p.RedirectURIs,
		PostLogoutRedirectURIs: p.PostLogoutRedirectURIs, SkipAuthorization: p.SkipAuthorization, AllowedOrigins: p.AllowedOrigins}
	if p.TokenFormat != nil {
		f := tokenFormat(*p.TokenFormat)
		ch.TokenFormat = &f
	}
	app, plain, err := s.d.Clients.Update(ctx, clientID, ch)
	s.d.ForgetApplication(clientID)
	if err != nil {
		return ApplicationDetail{}, "", err
	}
	d, err := s.holdings(ctx, app)
	return d, plain, err
}

// RotateApplicationSecret gives a confidential application a new secret,
// returned once; the old one stops working at once on this replica (on
// the others within the auth cache TTL). A public client is EINVALID.
// It needs oauth2_provider.change_application (and a superuser for an
// admin client); audited application.changed.
func (s *Service) RotateApplicationSecret(ctx context.Context, a Actor, clientID string) (string, error) {
	if _, err := s.changeable(ctx, a, clientID, PermChangeApp); err != nil {
		return "", err
	}
	plain, err := s.d.Clients.RotateSecret(ctx, clientID)
	s.d.ForgetApplication(clientID)
	return plain, err
}

// Removed is what deleting an application took with it: its live tokens
// by kind and its unused authorization codes and device grants.
type Removed struct {
	Tokens map[string]int64
	Grants int64
}

// DeleteApplication removes the application with that client id and
// everything issued to it. Its live tokens are revoked first, so that
// this replica refuses its access tokens at once (others within the auth
// cache TTL). It needs oauth2_provider.delete_application (and a
// superuser for an admin client); ENOTFOUND when there is none; audited
// application.deleted with what it removed.
func (s *Service) DeleteApplication(ctx context.Context, a Actor, clientID string) (Removed, error) {
	app, err := s.changeable(ctx, a, clientID, PermDeleteApp)
	if err != nil {
		return Removed{}, err
	}
	held, err := s.holdings(ctx, app)
	if err != nil {
		return Removed{}, err
	}
	_, revoked, err := s.d.Credentials.RevokeCredentials(ctx, gatehouse.CredentialFilter{ApplicationID: app.ID}, s.d.Now())
	s.d.ForgetAccess(revoked)
	if err != nil {
		return Removed{}, err
	}
	err = s.d.Clients.Delete(ctx, clientID)
	s.d.ForgetApplication(clientID)
	if err != nil {
		return Removed{}, err
	}
	detail := map[string]string{"grants": strconv.FormatInt(held.LiveGrants, 10)}
	for k, n := range held.LiveTokens {
		detail[k] = strconv.FormatInt(n, 10)
	}
	s.d.Audit.Record(ctx, gatehouse.AuditEvent{Event: gatehouse.AuditCredentialsRevoked, ClientID: clientID, Detail: detail})
	return Removed{Tokens: held.LiveTokens, Grants: held.LiveGrants}, nil
}
