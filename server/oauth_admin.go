package server

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

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

// CreateApplication validates spec and stores the application. For a
// confidential client it returns the generated secret, which is stored only
// as a hash and cannot be shown again.
func (s *Server) CreateApplication(ctx context.Context, spec ApplicationSpec) (gatehouse.Application, string, error) {
	a := gatehouse.Application{ClientID: spec.ClientID, Name: spec.Name, ClientType: spec.ClientType,
		GrantTypes: spec.GrantTypes, RedirectURIs: spec.RedirectURIs, SkipAuthorization: spec.SkipAuthorization,
		DefaultScopes: spec.DefaultScopes, ResourceServer: spec.ResourceServer}
	if a.ClientType == "" {
		a.ClientType = gatehouse.ClientConfidential
	}
	if a.ClientType != gatehouse.ClientConfidential && a.ClientType != gatehouse.ClientPublic {
		return a, "", fmt.Errorf("client type must be %s or %s", gatehouse.ClientConfidential, gatehouse.ClientPublic)
	}
	if len(a.GrantTypes) == 0 {
		return a, "", errors.New("at least one grant type is required")
	}
	for _, g := range a.GrantTypes {
		switch g {
		case gatehouse.GrantAuthorizationCode, gatehouse.GrantPassword:
		case gatehouse.GrantClientCredentials:
			if a.ClientType == gatehouse.ClientPublic {
				return a, "", errors.New("a public client cannot use client-credentials")
			}
		default:
			return a, "", fmt.Errorf("unknown grant type %q (authorization-code, password, client-credentials)", g)
		}
	}
	for _, u := range a.RedirectURIs {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.Fragment != "" {
			return a, "", fmt.Errorf("redirect URI %q: must be an absolute http(s) URL without a fragment", u)
		}
	}
	if a.Allows(gatehouse.GrantAuthorizationCode) && len(a.RedirectURIs) == 0 {
		return a, "", errors.New("the authorization-code grant needs at least one redirect URI")
	}
	if !s.cfg.OAuth.Scopes.Valid(a.DefaultScopes) {
		return a, "", fmt.Errorf("default scopes must be among %s", strings.Join(s.cfg.OAuth.Scopes.Names(), " "))
	}
	if spec.Owner != "" {
		u, err := s.store.UserByUsername(ctx, spec.Owner)
		if err != nil {
			return a, "", fmt.Errorf("owner %q: %w", spec.Owner, err)
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
			return a, "", fmt.Errorf("client id %q is taken", a.ClientID)
		}
		return a, "", err
	}
	return a, plain, nil
}

// ClearTokensNow removes every expired OAuth row (gatehouse cleartokens).
func (s *Server) ClearTokensNow(ctx context.Context) (int64, error) {
	return s.ClearTokens(ctx, nil)
}
