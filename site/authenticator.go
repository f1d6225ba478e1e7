package site

import "github.com/gatehouse-auth/gatehouse/guard"

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
func (s *Site) Authenticator() guard.Authenticator { return s.srv }
