package server

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/admin"
)

// The admin API's signing keys (docs/admin-api.md): GET /api/admin/keys/
// and POST /api/admin/keys/rotate/, superusers only; never a private key.

type adminKeyOut struct {
	KID            string          `json:"kid"`
	Algorithm      string          `json:"algorithm"`
	State          string          `json:"state"`
	Created        time.Time       `json:"created"`
	SignsFrom      time.Time       `json:"signs_from"`
	SignsUntil     *time.Time      `json:"signs_until"`
	PublishedUntil *time.Time      `json:"published_until"`
	PublicKey      json.RawMessage `json:"public_jwk"`
}

func toAdminKey(k admin.KeyInfo) adminKeyOut {
	out := adminKeyOut{KID: k.Key.KID, Algorithm: k.Key.Algorithm, State: k.State, Created: k.Key.Created.UTC(), SignsFrom: k.Key.SignsFrom.UTC(),
		SignsUntil: utcPtr(k.Key.SignsUntil), PublishedUntil: utcPtr(k.Key.PublishedUntil), PublicKey: json.RawMessage("null")}
	if json.Valid(k.Key.PublicKey) {
		out.PublicKey = k.Key.PublicKey
	}
	return out
}

func (s *Server) adminKeysView() http.Handler {
	return s.adminView("Admin Signing Keys", map[string]adminHandler{"GET": (*Server).adminListKeys})
}

func (s *Server) adminRotateKeyView() http.Handler {
	return s.adminView("Admin Signing Key Rotate", map[string]adminHandler{"POST": (*Server).adminRotateKey})
}

// adminListKeys: GET /api/admin/keys/ → {"results": [...]} (404 when the
// server has no signing keys).
func (s *Server) adminListKeys(c *call, a admin.Actor) *apiError {
	keys, err := s.admin.Keys(c.r.Context(), a)
	if err != nil {
		return s.internal(c, err)
	}
	out := make([]adminKeyOut, len(keys))
	for i, k := range keys {
		out[i] = toAdminKey(k)
	}
	c.respond(http.StatusOK, map[string]any{"results": out})
	return nil
}

// adminRotateKey: POST /api/admin/keys/rotate/ → 201 and the new key.
func (s *Server) adminRotateKey(c *call, a admin.Actor) *apiError {
	k, err := s.admin.RotateKey(c.r.Context(), a)
	if err != nil {
		return s.internal(c, err)
	}
	c.respond(http.StatusCreated, toAdminKey(k))
	return nil
}
