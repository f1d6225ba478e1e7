package oauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// ApplicationSpec describes a new OAuth2 application.
type ApplicationSpec struct {
	ClientID          string // generated when empty
	Name              string
	ClientType        string // confidential (default) or public
	GrantTypes        []string
	RedirectURIs      []string
	Owner             string // username; empty: no owner
	SkipAuthorization bool
	DefaultScopes     []string
	ResourceServer    bool
	// PostLogoutRedirectURIs are where OpenID Connect's RP-initiated
	// logout may send the user agent back to, compared exactly.
	PostLogoutRedirectURIs []string
	// TokenFormat is how the application's access tokens are made:
	// gatehouse.TokenFormatOpaque or gatehouse.TokenFormatJWT (RFC 9068).
	TokenFormat string
	// AllowedOrigins are the browser origins that may call the token,
	// revocation and introspection endpoints as this client (CORS); see
	// Clients.Origins for the rule.
	AllowedOrigins []string
}

// ClientStore is the storage Clients needs.
type ClientStore interface {
	gatehouse.ApplicationStore
	UserByUsername(ctx context.Context, username string) (gatehouse.User, error)
}

// Clients registers and removes OAuth2 clients.
type Clients struct {
	store   ClientStore
	scopes  gatehouse.Scopes
	schemes []string
	secrets *gatehouse.SecretHasher
	now     func() time.Time
	random  io.Reader
	audit   gatehouse.Auditor
}

// NewClients returns a Clients. secrets hashes client secrets; cfg gives
// the scopes that default scopes must be among and the schemes redirect
// URIs may have; now nil means time.Now, random nil crypto/rand; audit
// (nil: none) records each registration and removal.
func NewClients(store ClientStore, secrets *gatehouse.SecretHasher, cfg Config, now func() time.Time, random io.Reader,
	audit gatehouse.Auditor) *Clients {
	cfg = cfg.WithDefaults()
	if now == nil {
		now = time.Now
	}
	if audit == nil {
		audit = gatehouse.NoAudit{}
	}
	return &Clients{store: store, scopes: cfg.Scopes, schemes: cfg.RedirectSchemes, secrets: secrets, now: now, random: random, audit: audit}
}

// redirectURIValid reports whether u may be registered as a redirect
// URI. White space would split the URI in the store's space-separated
// column; an empty fragment ("cb#") would still carry the code. Another
// scheme (a native app's private-use scheme, RFC 8252 7.1) needs no host;
// http(s) does.
func (s *Clients) redirectURIValid(u string) bool {
	p, err := url.Parse(u)
	web := p != nil && (p.Scheme == "https" || p.Scheme == "http")
	return err == nil && slices.Contains(s.schemes, p.Scheme) && !(web && p.Host == "") && !strings.Contains(u, "#") &&
		!strings.ContainsFunc(u, unicode.IsSpace)
}

// MaxApplicationName is the longest application name, DOT's
// Application.name max_length.
const MaxApplicationName = 255

// check validates an application as Create and Update store it; the
// allowed origins are normalised by Origins before.
func (s *Clients) check(a *gatehouse.Application) error {
	// A value listed twice (--grant-types password,password, a redirect
	// URI given twice) is kept once, in the order first given: stored
	// twice, it showed twice everywhere the application is listed.
	a.GrantTypes, a.RedirectURIs = uniq(a.GrantTypes), uniq(a.RedirectURIs)
	a.PostLogoutRedirectURIs, a.DefaultScopes = uniq(a.PostLogoutRedirectURIs), uniq(a.DefaultScopes)
	if a.TokenFormat != gatehouse.TokenFormatOpaque && a.TokenFormat != gatehouse.TokenFormatJWT {
		return invalidField("token_format", "token format must be %q (opaque) or %q (RFC 9068 JWT), not %q", gatehouse.TokenFormatOpaque, gatehouse.TokenFormatJWT, a.TokenFormat)
	}
	if len(a.ClientID) > gatehouse.MaxClientID || !utf8.ValidString(a.ClientID) ||
		strings.ContainsFunc(a.ClientID, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return invalid("client id must be at most %d characters, without spaces or control characters", gatehouse.MaxClientID)
	}
	if a.ClientID == "." || a.ClientID == ".." {
		// A URL path segment of its own would be resolved away: the admin
		// pages of such a client could not be reached.
		return invalidField("client_id", "client id %q is a path segment every URL resolves away: choose another", a.ClientID)
	}
	if !gatehouse.ValidText(a.Name) || gatehouse.Length(a.Name) > MaxApplicationName {
		return invalidField("name", "name must be at most %d characters, without null characters", MaxApplicationName)
	}
	if a.ClientType != gatehouse.ClientConfidential && a.ClientType != gatehouse.ClientPublic {
		return invalidField("client_type", "client type must be %s or %s", gatehouse.ClientConfidential, gatehouse.ClientPublic)
	}
	if len(a.GrantTypes) == 0 {
		return invalidField("authorization_grant_type", "at least one grant type is required")
	}
	for _, g := range a.GrantTypes {
		switch g {
		case gatehouse.GrantAuthorizationCode, gatehouse.GrantPassword, gatehouse.GrantDeviceCode:
		case gatehouse.GrantClientCredentials:
			if a.ClientType == gatehouse.ClientPublic {
				return invalidField("authorization_grant_type", "a public client cannot use client-credentials")
			}
		default:
			return invalidField("authorization_grant_type", "unknown grant type %q (authorization-code, password, client-credentials, %s)", g, gatehouse.GrantDeviceCode)
		}
	}
	for _, u := range a.RedirectURIs {
		if !s.redirectURIValid(u) {
			return invalidField("redirect_uris", "redirect URI %q: must be an absolute URL whose scheme is one of %s, without a fragment or white space", u, strings.Join(s.schemes, ", "))
		}
	}
	for _, u := range a.PostLogoutRedirectURIs {
		if !s.redirectURIValid(u) {
			return invalidField("post_logout_redirect_uris", "post-logout redirect URI %q: must be an absolute URL whose scheme is one of %s, without a fragment or white space", u, strings.Join(s.schemes, ", "))
		}
	}
	if a.Allows(gatehouse.GrantAuthorizationCode) && len(a.RedirectURIs) == 0 {
		return invalidField("redirect_uris", "the authorization-code grant needs at least one redirect URI")
	}
	if !s.scopes.Valid(a.DefaultScopes) {
		return invalidField("default_scopes", "default scopes must be among %s", strings.Join(s.scopes.Names(), " "))
	}
	return nil
}

func invalid(format string, args ...any) error {
	return gatehouse.Errorf(gatehouse.EINVALID, fmt.Sprintf(format, args...))
}

// invalidField is invalid naming the field at fault (as the admin API
// calls it, DOT's model field), so that an API answers a field error; the
// message is the same.
func invalidField(field, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return &gatehouse.Error{Code: gatehouse.EINVALID, Message: msg,
		Fields: []gatehouse.FieldError{{Field: field, Code: gatehouse.FieldInvalid, Message: msg}}}
}

// Create validates spec and stores the application. For a confidential
// client it returns the generated secret, which is stored only as a hash
// and cannot be shown again. A bad spec is an EINVALID *gatehouse.Error, a
// taken client id ECONFLICT, an unknown owner ENOTFOUND.
func (s *Clients) Create(ctx context.Context, spec ApplicationSpec) (gatehouse.Application, string, error) {
	a := gatehouse.Application{ClientID: spec.ClientID, Name: spec.Name, ClientType: spec.ClientType,
		GrantTypes: spec.GrantTypes, RedirectURIs: spec.RedirectURIs, SkipAuthorization: spec.SkipAuthorization,
		DefaultScopes: spec.DefaultScopes, ResourceServer: spec.ResourceServer, PostLogoutRedirectURIs: spec.PostLogoutRedirectURIs, TokenFormat: spec.TokenFormat}
	if a.ClientType == "" {
		a.ClientType = gatehouse.ClientConfidential
	}
	var err error
	if a.AllowedOrigins, err = s.Origins(spec.AllowedOrigins); err != nil {
		return a, "", err
	}
	if err := s.check(&a); err != nil {
		return a, "", err
	}
	if spec.Owner != "" {
		u, err := s.store.UserByUsername(ctx, spec.Owner)
		if errors.Is(err, gatehouse.ErrNotFound) {
			return a, "", &gatehouse.Error{Code: gatehouse.ENOTFOUND, Message: fmt.Sprintf("owner %q does not exist", spec.Owner), Err: err}
		}
		if err != nil {
			return a, "", err
		}
		a.UserID = &u.ID
	}
	if a.ClientID == "" {
		if a.ClientID, err = secret.Alnum(s.random, 40); err != nil {
			return a, "", err
		}
	}
	plain := ""
	if a.ClientType == gatehouse.ClientConfidential {
		if plain, err = secret.Alnum(s.random, 64); err != nil {
			return a, "", err
		}
		a.SecretHash = s.secrets.Hash(plain)
	}
	a.Created = s.now()
	a.Updated = a.Created
	if err := s.store.CreateApplication(ctx, &a); err != nil {
		if errors.Is(err, gatehouse.ErrConflict) {
			return a, "", &gatehouse.Error{Code: gatehouse.ECONFLICT, Message: fmt.Sprintf("client id %q is taken", a.ClientID), Err: err}
		}
		return a, "", err
	}
	d := map[string]string{"client_type": a.ClientType, "grant_types": strings.Join(a.GrantTypes, ","),
		"redirect_uris": strings.Join(a.RedirectURIs, " "), "default_scopes": strings.Join(a.DefaultScopes, " "), "name": a.Name,
		"skip_authorization": strconv.FormatBool(a.SkipAuthorization), "resource_server": strconv.FormatBool(a.ResourceServer),
		"allowed_origins": strings.Join(a.AllowedOrigins, " ")}
	e := gatehouse.AuditEvent{Event: gatehouse.AuditApplicationCreated, ClientID: a.ClientID, Detail: d}
	if a.UserID != nil {
		e.UserID = *a.UserID // the owner
	}
	s.audit.Record(ctx, e)
	return a, plain, nil
}

// Origins checks a list of allowed origins (gatehouse.ParseOrigin) and
// returns them normalised, without duplicates. Origins are https; http
// only when the redirect URI schemes allow http (as by default), the
// rule DOT applies to allowed_origins with its ALLOWED_SCHEMES. A bad one
// is an EINVALID *gatehouse.Error naming it.
func (s *Clients) Origins(origins []string) ([]string, error) {
	var out []string
	for _, o := range origins {
		n, err := gatehouse.ParseOrigin(o, slices.Contains(s.schemes, "http"))
		if err != nil {
			return nil, invalidField("allowed_origins", "allowed %s", err.Error())
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// SetAllowedOrigins replaces the allowed origins of the application with
// that client id (none: no browser origin may call as it). A bad origin is
// EINVALID and changes nothing; an unknown client id is ENOTFOUND.
func (s *Clients) SetAllowedOrigins(ctx context.Context, clientID string, origins []string) ([]string, error) {
	norm, err := s.Origins(origins)
	if err != nil {
		return nil, err
	}
	err = s.store.SetAllowedOrigins(ctx, clientID, norm, s.now())
	if errors.Is(err, gatehouse.ErrNotFound) {
		return nil, &gatehouse.Error{Code: gatehouse.ENOTFOUND, Message: fmt.Sprintf("application %q does not exist", clientID), Err: err}
	}
	if err != nil {
		return nil, err
	}
	s.audit.Record(ctx, gatehouse.AuditEvent{Event: gatehouse.AuditApplicationChanged, ClientID: clientID,
		Detail: map[string]string{"allowed_origins": strings.Join(norm, " ")}})
	return norm, nil
}

// ApplicationChange is what Update changes: each field set replaces the
// application's, nil keeps it.
type ApplicationChange struct {
	Name *string
	// ClientType confidential or public: a client made public loses its
	// secret, one made confidential is given one (Update returns it).
	ClientType             *string
	GrantTypes             *[]string
	RedirectURIs           *[]string
	PostLogoutRedirectURIs *[]string
	SkipAuthorization      *bool
	DefaultScopes          *[]string
	AllowedOrigins         *[]string
	TokenFormat            *string
}

// Update changes the application with that client id as ch says, checked
// as Create checks a new one: a bad value is EINVALID (naming the field)
// and nothing is written; an unknown client id is ENOTFOUND. When the
// change makes a public client confidential, the secret it is given is
// returned, to be shown once ("" otherwise). Other replicas see the
// change once their application cache expires (the auth cache TTL).
func (s *Clients) Update(ctx context.Context, clientID string, ch ApplicationChange) (gatehouse.Application, string, error) {
	a, err := s.application(ctx, clientID)
	if err != nil {
		return a, "", err
	}
	changed := map[string]string{}
	if ch.Name != nil {
		a.Name, changed["name"] = *ch.Name, *ch.Name
	}
	plain := ""
	if ch.ClientType != nil && *ch.ClientType != a.ClientType {
		a.ClientType, changed["client_type"] = *ch.ClientType, *ch.ClientType
		switch a.ClientType {
		case gatehouse.ClientPublic:
			a.SecretHash = nil
		case gatehouse.ClientConfidential:
			if plain, err = secret.Alnum(s.random, 64); err != nil {
				return a, "", err
			}
			a.SecretHash, changed["secret"] = s.secrets.Hash(plain), "created"
		}
	}
	if ch.GrantTypes != nil {
		a.GrantTypes, changed["grant_types"] = *ch.GrantTypes, strings.Join(*ch.GrantTypes, ",")
	}
	if ch.RedirectURIs != nil {
		a.RedirectURIs, changed["redirect_uris"] = *ch.RedirectURIs, strings.Join(*ch.RedirectURIs, " ")
	}
	if ch.PostLogoutRedirectURIs != nil {
		a.PostLogoutRedirectURIs, changed["post_logout_redirect_uris"] = *ch.PostLogoutRedirectURIs, strings.Join(*ch.PostLogoutRedirectURIs, " ")
	}
	if ch.SkipAuthorization != nil {
		a.SkipAuthorization, changed["skip_authorization"] = *ch.SkipAuthorization, strconv.FormatBool(*ch.SkipAuthorization)
	}
	if ch.DefaultScopes != nil {
		a.DefaultScopes, changed["default_scopes"] = *ch.DefaultScopes, strings.Join(*ch.DefaultScopes, " ")
	}
	if ch.TokenFormat != nil {
		a.TokenFormat, changed["token_format"] = *ch.TokenFormat, *ch.TokenFormat
	}
	if ch.AllowedOrigins != nil {
		if a.AllowedOrigins, err = s.Origins(*ch.AllowedOrigins); err != nil {
			return a, "", err
		}
		changed["allowed_origins"] = strings.Join(a.AllowedOrigins, " ")
	}
	if len(changed) == 0 {
		return a, "", invalid("nothing to change")
	}
	if err := s.check(&a); err != nil {
		return a, "", err
	}
	a.Updated = s.now()
	if err := s.store.UpdateApplication(ctx, &a); err != nil {
		return a, "", s.notFound(clientID, err)
	}
	s.audit.Record(ctx, gatehouse.AuditEvent{Event: gatehouse.AuditApplicationChanged, ClientID: clientID, Detail: changed})
	return a, plain, nil
}

// RotateSecret gives a confidential application a new secret and returns
// it, to be shown once; the old one stops working (on other replicas once
// their application cache expires). A public client has none to rotate
// (EINVALID); an unknown client id is ENOTFOUND.
func (s *Clients) RotateSecret(ctx context.Context, clientID string) (string, error) {
	a, err := s.application(ctx, clientID)
	if err != nil {
		return "", err
	}
	if a.IsPublic() {
		return "", invalid("application %q is public: it has no secret", clientID)
	}
	plain, err := secret.Alnum(s.random, 64)
	if err != nil {
		return "", err
	}
	a.SecretHash, a.Updated = s.secrets.Hash(plain), s.now()
	if err := s.store.UpdateApplication(ctx, &a); err != nil {
		return "", s.notFound(clientID, err)
	}
	s.audit.Record(ctx, gatehouse.AuditEvent{Event: gatehouse.AuditApplicationChanged, ClientID: clientID,
		Detail: map[string]string{"secret": "rotated"}})
	return plain, nil
}

// application reads the application with that client id; none is
// ENOTFOUND.
func (s *Clients) application(ctx context.Context, clientID string) (gatehouse.Application, error) {
	a, err := s.store.Application(ctx, clientID)
	return a, s.notFound(clientID, err)
}

// notFound words a store's ErrNotFound about clientID; other errors pass.
func (s *Clients) notFound(clientID string, err error) error {
	if errors.Is(err, gatehouse.ErrNotFound) {
		return &gatehouse.Error{Code: gatehouse.ENOTFOUND, Message: fmt.Sprintf("application %q does not exist", clientID), Err: err}
	}
	return err
}

// Delete removes the application with that client id and everything
// issued to it. An unknown client id is ENOTFOUND.
func (s *Clients) Delete(ctx context.Context, clientID string) error {
	err := s.store.DeleteApplication(ctx, clientID)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return &gatehouse.Error{Code: gatehouse.ENOTFOUND, Message: fmt.Sprintf("application %q does not exist", clientID), Err: err}
	}
	if err != nil {
		return err
	}
	s.audit.Record(ctx, gatehouse.AuditEvent{Event: gatehouse.AuditApplicationDeleted, ClientID: clientID})
	return nil
}

// uniq is list without its repeated values, in order (nil stays nil).
func uniq(list []string) []string {
	var out []string
	for i, v := range list {
		if !slices.Contains(list[:i], v) {
			out = append(out, v)
		}
	}
	if list != nil && out == nil {
		out = []string{}
	}
	return out
}
