package server

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
)

// basicCredentials decodes "Authorization: Basic base64(id:secret)" as DOT
// does (the scheme word is case-sensitive; id and secret are
// form-urlencoded). present reports a Basic header at all, even a
// malformed one.
func basicCredentials(r *http.Request) (id, secret string, ok, present bool) {
	scheme, rest, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || scheme != "Basic" {
		return "", "", false, false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
	if err != nil {
		return "", "", false, true
	}
	i, sec, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", false, true
	}
	id, err1 := url.QueryUnescape(i)
	secret, err2 := url.QueryUnescape(sec)
	if err1 != nil || err2 != nil {
		return "", "", false, true
	}
	return id, secret, true, true
}

// authenticateClient identifies the calling client as DOT's validator
// does: HTTP Basic first, then client_id and client_secret in the body.
// Authentication is required when Basic is sent, when a secret is sent, or
// when the client is confidential or unknown; a public client otherwise
// needs only its client_id. Secrets are compared in constant time; a public
// client that sends a non-empty secret fails. The error is always
// invalid_client.
func (s *Server) authenticateClient(ctx context.Context, r *http.Request, form url.Values) (*gatehouse.Application, *oauthError, error) {
	bid, bsecret, bok, bpresent := basicCredentials(r)
	if bok {
		app, err := s.application(ctx, bid)
		if err != nil {
			return nil, nil, err
		}
		if app != nil && s.secrets.Verify(bsecret, app.SecretHash) && (app.IsPublic() || bsecret != "") {
			return app, nil, nil
		}
	}
	id := form.Get("client_id")
	secret, secretSent := form["client_secret"]
	if id == "" {
		return nil, errInvalidClient, nil
	}
	app, err := s.application(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if app == nil {
		return nil, errInvalidClient, nil
	}
	sec := ""
	if secretSent {
		sec = secret[len(secret)-1]
	}
	required := bpresent || sec != "" || !app.IsPublic()
	if !required {
		return app, nil, nil
	}
	if !secretSent || !s.secrets.Verify(sec, app.SecretHash) || (!app.IsPublic() && sec == "") {
		return nil, errInvalidClient, nil
	}
	return app, nil, nil
}

// application returns the client with that client_id, or nil when there is none.
func (s *Server) application(ctx context.Context, clientID string) (*gatehouse.Application, error) {
	if clientID == "" || len(clientID) > 255 {
		return nil, nil
	}
	if app, ok := s.apps.get(clientID); ok {
		return &app, nil
	}
	app, err := s.store.Application(ctx, clientID)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s.apps.put(app)
	return &app, nil
}

// requireClient authenticates the client of a token or revocation request
// and, when that fails, writes the answer itself (ok is false).
func (s *Server) requireClient(w http.ResponseWriter, r *http.Request, form url.Values) (*gatehouse.Application, bool) {
	app, oe, err := s.authenticateClient(r.Context(), r, form)
	if err != nil {
		s.oauthFail(w, r, err)
		return nil, false
	}
	if oe != nil {
		writeOAuthError(w, oe)
		return nil, false
	}
	return app, true
}
