package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// verifyOAuth returns the principal of a valid OAuth2 access token, or nil
// when the token is unknown, revoked, expired, has no user (a
// client_credentials token), or its user is inactive. Lookups are cached
// for the auth cache TTL; revocations through this replica drop the entry.
func (s *Server) verifyOAuth(ctx context.Context, token string) (*principal, error) {
	// A JWT (it has dots) or an oversized value is never an OAuth token:
	// skip the database.
	if strings.Contains(token, ".") || len(token) > 255 {
		return nil, nil
	}
	hash := secret.Hash(token)
	ck := "o:" + string(hash)
	e, ok := s.cache.get(ck)
	if !ok {
		g, err := s.store.AccessTokenByHash(ctx, hash)
		if errors.Is(err, gatehouse.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if g.User == nil {
			return nil, nil
		}
		exp := g.Token.Expires
		e = cacheEntry{user: *g.User, tokenID: g.Token.ID, scope: g.Token.Scope, appID: g.Token.ApplicationID, tokExp: &exp}
		s.cache.put(ck, e)
	}
	if e.tokExp != nil && !s.now().Before(*e.tokExp) {
		return nil, nil
	}
	if !e.user.IsActive {
		return nil, nil
	}
	return &principal{user: e.user, kind: "oauth", tokenID: e.tokenID, scope: e.scope, appID: e.appID}, nil
}

// tokenHasScope is DOT's TokenHasScope permission: a request authenticated
// by an OAuth token passes only when the token has every required scope.
// Other schemes (DRF token, JWT, session) carry no scopes and pass.
func tokenHasScope(p *principal, required ...string) bool {
	if p == nil || p.kind != "oauth" {
		return true
	}
	return gatehouse.HasScope(p.scope, required...)
}

// tokenHasReadWriteScope is DOT's TokenHasReadWriteScope: "read" for safe
// methods, "write" for the others, plus any extra required scopes.
func tokenHasReadWriteScope(p *principal, method string, extra ...string) bool {
	rw := "write"
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		rw = "read"
	}
	return tokenHasScope(p, append([]string{rw}, extra...)...)
}

// checkOAuthScope applies the RequireScopes setting to an authenticated
// DRF view request: nil when allowed, else DRF's 403.
func (s *Server) checkOAuthScope(p *principal, method string) *apiError {
	if !s.cfg.OAuth.RequireScopes || tokenHasReadWriteScope(p, method) {
		return nil
	}
	return &apiError{status: http.StatusForbidden, body: detailOnly{Detail: "You do not have permission to perform this action."}}
}
