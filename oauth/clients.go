package oauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
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
}

// ClientStore is the storage Clients needs.
type ClientStore interface {
	gatehouse.ApplicationStore
	UserByUsername(ctx context.Context, username string) (gatehouse.User, error)
}

// Clients registers OAuth2 clients.
type Clients struct {
	store   ClientStore
	scopes  gatehouse.Scopes
	secrets *gatehouse.SecretHasher
	now     func() time.Time
	random  io.Reader
}

// NewClients returns a Clients. secrets hashes client secrets; scopes are
// the configured scopes that default scopes must be among; now nil means
// time.Now, random nil crypto/rand.
func NewClients(store ClientStore, secrets *gatehouse.SecretHasher, scopes gatehouse.Scopes, now func() time.Time, random io.Reader) *Clients {
	if now == nil {
		now = time.Now
	}
	return &Clients{store: store, scopes: scopes, secrets: secrets, now: now, random: random}
}

func invalid(format string, args ...any) error {
	return gatehouse.Errorf(gatehouse.EINVALID, fmt.Sprintf(format, args...))
}

// Create validates spec and stores the application. For a confidential
// client it returns the generated secret, which is stored only as a hash
// and cannot be shown again. A bad spec is an EINVALID *gatehouse.Error, a
// taken client id ECONFLICT, an unknown owner ENOTFOUND.
func (s *Clients) Create(ctx context.Context, spec ApplicationSpec) (gatehouse.Application, string, error) {
	a := gatehouse.Application{ClientID: spec.ClientID, Name: spec.Name, ClientType: spec.ClientType,
		GrantTypes: spec.GrantTypes, RedirectURIs: spec.RedirectURIs, SkipAuthorization: spec.SkipAuthorization,
		DefaultScopes: spec.DefaultScopes, ResourceServer: spec.ResourceServer}
	if len(a.ClientID) > gatehouse.MaxClientID || !utf8.ValidString(a.ClientID) ||
		strings.ContainsFunc(a.ClientID, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return a, "", invalid("client id must be at most %d characters, without spaces or control characters", gatehouse.MaxClientID)
	}
	if a.ClientType == "" {
		a.ClientType = gatehouse.ClientConfidential
	}
	if a.ClientType != gatehouse.ClientConfidential && a.ClientType != gatehouse.ClientPublic {
		return a, "", invalid("client type must be %s or %s", gatehouse.ClientConfidential, gatehouse.ClientPublic)
	}
	if len(a.GrantTypes) == 0 {
		return a, "", invalid("at least one grant type is required")
	}
	for _, g := range a.GrantTypes {
		switch g {
		case gatehouse.GrantAuthorizationCode, gatehouse.GrantPassword:
		case gatehouse.GrantClientCredentials:
			if a.ClientType == gatehouse.ClientPublic {
				return a, "", invalid("a public client cannot use client-credentials")
			}
		default:
			return a, "", invalid("unknown grant type %q (authorization-code, password, client-credentials)", g)
		}
	}
	for _, u := range a.RedirectURIs {
		// White space would split the URI in the store's space-separated
		// column; an empty fragment ("cb#") would still carry the code.
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || strings.Contains(u, "#") ||
			strings.ContainsFunc(u, unicode.IsSpace) {
			return a, "", invalid("redirect URI %q: must be an absolute http(s) URL without a fragment or white space", u)
		}
	}
	if a.Allows(gatehouse.GrantAuthorizationCode) && len(a.RedirectURIs) == 0 {
		return a, "", invalid("the authorization-code grant needs at least one redirect URI")
	}
	if !s.scopes.Valid(a.DefaultScopes) {
		return a, "", invalid("default scopes must be among %s", strings.Join(s.scopes.Names(), " "))
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
	var err error
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
	return a, plain, nil
}
