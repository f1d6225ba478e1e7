package site

import (
	"context"
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/accounts"
	"github.com/gatehouse-auth/gatehouse/guard"
	"github.com/gatehouse-auth/gatehouse/server"
)

// Authenticator returns the guard.Authenticator of an embedding program:
// it authenticates a request's credential in-process, with the chain of
// gatehouse's own views (server.Authenticate: OAuth2 bearer, simplejwt,
// DRF or knox token; the same caches, so a revocation is seen within
// GATEHOUSE_AUTH_CACHE_TTL as on gatehouse's views, and a password change
// or deactivation at once on this process). It reads the Authorization
// header only: not the browser session, whose cookie belongs to the mount
// prefix, nor ?access_token=, which leaks tokens into logs.
//
// A principal carries the user's identity (username, email, staff and
// superuser flags, the OAuth token's scopes and client_id); its groups and
// permissions are read from the database on the first check that needs
// them (guard.HasPermission), once per request.
func (s *Site) Authenticator() guard.Authenticator {
	return inProcess{srv: s.srv, accounts: s.Accounts}
}

type inProcess struct {
	srv      *server.Server
	accounts *accounts.Service
}

func (a inProcess) Authenticate(r *http.Request) (*guard.Principal, error) {
	p, refused, err := a.srv.Authenticate(r)
	switch {
	case err != nil:
		return nil, err
	case refused != nil:
		return nil, &guard.Refusal{Keyword: refused.Keyword, Reason: refused.Reason}
	case p == nil:
		return nil, nil
	}
	return a.principal(p), nil
}

// principal turns gatehouse's principal into guard's.
func (a inProcess) principal(p *gatehouse.Principal) *guard.Principal {
	u := p.User
	gp := &guard.Principal{UserID: u.ID, Username: u.Username, Email: u.Email, IsStaff: u.IsStaff, IsSuperuser: u.IsSuperuser,
		Kind: guard.Kind(p.Scheme), Known: guard.FieldUsername | guard.FieldEmail | guard.FieldStaff}
	if p.Scheme == gatehouse.SchemeOAuth {
		gp.Scopes, gp.ClientID = strings.Fields(p.Scope), p.ClientID
	}
	if p.HasUser() {
		gp.LoadPermissions = func(ctx context.Context) ([]string, []string, error) {
			held, err := a.accounts.Permissions(ctx, u)
			return held.Groups, held.Permissions, err
		}
	}
	return gp
}
