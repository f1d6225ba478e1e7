package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gatehouse-auth/gatehouse/admin"
)

// The admin API's credentials of every kind (docs/admin-api.md):
// GET /api/admin/credentials/ and POST /api/admin/credentials/revoke/.

func (s *Server) adminCredentialsView() http.Handler {
	return s.adminView("Admin Credential List", map[string]adminHandler{"GET": (*Server).adminListCredentials})
}

func (s *Server) adminRevokeCredentialsView() http.Handler {
	return s.adminView("Admin Credential Revoke", map[string]adminHandler{"POST": (*Server).adminRevokeCredentials})
}

// lastQuery is the last value of the query parameter name ("" when absent).
func lastQuery(c *call, name string) string { return lastValue(queryOf(c.r), name) }

// queryID reads an id filter (?user=3): 0 when absent or empty; anything
// but a positive number is a field error.
func queryID(c *call, errs *fieldErrors, name string) int64 {
	v := lastQuery(c, name)
	if v == "" {
		return 0
	}
	n, ok := pythonInt(v)
	if !ok || n < 1 {
		errs.add(name, "Select a valid choice. That choice is not one of the available choices.")
		return 0
	}
	return int64(n)
}

// adminListCredentials: GET /api/admin/credentials/?user=&client_id=
// &kind=&state=live|ended|all&page=&page_size=.
func (s *Server) adminListCredentials(c *call, a admin.Actor) *apiError {
	page, e := adminPage(c)
	if e != nil {
		return e
	}
	errs := &fieldErrors{}
	q := admin.CredentialQuery{UserID: queryID(c, errs, "user"), ClientID: lastQuery(c, "client_id"), Kind: lastQuery(c, "kind"), State: lastQuery(c, "state")}
	if !errs.empty() {
		return badRequest(errs)
	}
	l, err := s.admin.Credentials(c.r.Context(), a, q, page)
	if err != nil {
		return s.internal(c, err)
	}
	return respondListing(s, c, l, toAdminCredential)
}

// adminRevokeCredentials: POST /api/admin/credentials/revoke/ with either
// {"ids": [{"kind", "id"}, ...]} or a filter {"user"?, "client_id"?,
// "kind"?} → {"revoked": n}.
func (s *Server) adminRevokeCredentials(c *call, a admin.Actor) *apiError {
	p, errs, e := adminBody(c)
	if e != nil {
		return e
	}
	var r admin.Revocation
	if raw, ok := p.obj["ids"]; ok {
		var refs []struct {
			Kind *string `json:"kind"`
			ID   any     `json:"id"`
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &refs) != nil {
			errs.add("ids", `Expected a list of {"kind", "id"} objects.`)
		} else if len(refs) == 0 {
			errs.add("ids", "This list may not be empty.")
		}
		for _, ref := range refs {
			var id string
			switch v := ref.ID.(type) {
			case string:
				id = v
			case float64:
				id = strconv.FormatFloat(v, 'f', -1, 64)
			}
			if ref.Kind == nil || id == "" {
				errs.add("ids", `Each item needs a "kind" and an "id".`)
				break
			}
			r.IDs = append(r.IDs, admin.CredentialRef{Kind: *ref.Kind, ID: id})
		}
		for _, k := range []string{"user", "client_id", "kind"} {
			if _, ok := p.obj[k]; ok {
				errs.add(k, "Give ids or a filter, not both.")
			}
		}
	} else {
		q := admin.CredentialQuery{}
		if v := optChar(p, errs, "user", true, 20); v != nil && *v != "" {
			if n, ok := pythonInt(*v); ok && n > 0 {
				q.UserID = int64(n)
			} else {
				errs.add("user", `Invalid pk "`+*v+`" - object does not exist.`)
			}
		}
		if v := optChar(p, errs, "client_id", true, 255); v != nil {
			q.ClientID = *v
		}
		if v := optChar(p, errs, "kind", true, 32); v != nil {
			q.Kind = *v
		}
		r.Query = &q
	}
	if !errs.empty() {
		return badRequest(errs)
	}
	n, err := s.admin.RevokeCredentials(c.r.Context(), a, r)
	if err != nil {
		return s.internal(c, err)
	}
	c.respond(http.StatusOK, map[string]int64{"revoked": n})
	return nil
}
