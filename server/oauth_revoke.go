package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// revokeEndpoint is POST /o/revoke_token/ (RFC 7009). A client may revoke
// only tokens issued to it; another client's token, like an unknown one,
// is answered 200 and left alone (DOT revokes it). Revoking a refresh
// token also revokes its access token.
func (s *Server) revokeEndpoint(w http.ResponseWriter, r *http.Request) {
	if r.URL.RawQuery != "" {
		writeOAuthError(w, errInvalidRequest("URL query parameters are not allowed"))
		return
	}
	form, ok := readOAuthForm(w, r)
	if !ok {
		return
	}
	token := form.Get("token")
	if token == "" {
		writeOAuthError(w, errInvalidRequest("Missing token parameter."))
		return
	}
	ctx := r.Context()
	app, ok := s.requireClient(w, r, form)
	if !ok {
		return
	}
	if len(token) <= 255 {
		hash := secret.Hash(token)
		revokeAccess := func() (bool, error) {
			done, err := s.store.RevokeAccessToken(ctx, hash, app.ID)
			if done {
				s.forgetAccess(gatehouse.RevokedAccess{hash})
			}
			return done, err
		}
		revokeRefresh := func() (bool, error) {
			revoked, found, err := s.store.RevokeRefreshToken(ctx, hash, app.ID, s.now())
			s.forgetAccess(revoked)
			return found, err
		}
		order := []func() (bool, error){revokeAccess, revokeRefresh}
		if form.Get("token_type_hint") == "refresh_token" {
			order[0], order[1] = order[1], order[0]
		}
		for _, f := range order {
			done, err := f()
			if err != nil {
				s.oauthFail(w, r, err)
				return
			}
			if done {
				break
			}
		}
	}
	emptyHTML(w, http.StatusOK)
}

// introspectEndpoint is /o/introspect/ (RFC 7662), GET ?token= or POST.
// The caller authenticates as a confidential client, or with a bearer
// token that has the "introspection" scope (a resource server). A client
// sees only its own tokens unless its application is a resource server;
// any other token is reported inactive. Anything else is 403, as DOT.
func (s *Server) introspectEndpoint(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var token string
	form, ok := readOAuthForm(w, r)
	if !ok {
		return
	}
	if r.Method == http.MethodGet {
		token = r.URL.Query().Get("token")
	} else {
		token = form.Get("token")
	}
	seesAll := false
	app, oe, err := s.authenticateClient(ctx, r, form)
	if err != nil {
		s.oauthFail(w, r, err)
		return
	}
	if oe != nil || app.IsPublic() {
		app = nil
		fields := strings.Fields(r.Header.Get("Authorization"))
		if len(fields) == 2 && strings.EqualFold(fields[0], "bearer") && !strings.Contains(fields[1], ".") && len(fields[1]) <= 255 {
			g, err := s.store.AccessTokenByHash(ctx, secret.Hash(fields[1]))
			if err != nil && !errors.Is(err, gatehouse.ErrNotFound) {
				s.oauthFail(w, r, err)
				return
			}
			if err == nil && !g.Token.Expired(s.now()) && gatehouse.HasScope(g.Token.Scope, "introspection") {
				seesAll = true
			}
		}
		if !seesAll {
			emptyHTML(w, http.StatusForbidden)
			return
		}
	} else {
		seesAll = app.ResourceServer
	}
	if token == "" {
		writeOAuthError(w, errInvalidRequest("Missing token parameter."))
		return
	}
	inactive := func() { writeDOTJSON(w, http.StatusOK, false, kv{"active", false}) }
	if len(token) > 255 || strings.Contains(token, ".") {
		inactive()
		return
	}
	g, err := s.store.AccessTokenByHash(ctx, secret.Hash(token))
	if errors.Is(err, gatehouse.ErrNotFound) {
		inactive()
		return
	}
	if err != nil {
		s.oauthFail(w, r, err)
		return
	}
	if g.Token.Expired(s.now()) || (!seesAll && g.Token.ApplicationID != app.ID) || (g.User != nil && !g.User.IsActive) {
		inactive()
		return
	}
	body := []kv{{"active", true}, {"scope", g.Token.Scope}, {"exp", g.Token.Expires.Unix()}, {"client_id", g.ClientID}}
	if g.User != nil {
		body = append(body, kv{"username", g.User.Username})
	}
	writeDOTJSON(w, http.StatusOK, false, body...)
}
