package server

import (
	"bytes"
	"net/http"
)

// metadata is /.well-known/oauth-authorization-server (RFC 8414): what
// the provider offers and where, under the configured issuer. The JWKS is
// listed when it holds a public key (asymmetric simplejwt signing).
func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, detailOnly{Detail: `Method "` + r.Method + `" not allowed.`})
		return
	}
	jwks := ""
	if s.pairs != nil {
		b, err := s.pairs.JWKS()
		if err != nil {
			s.documentFail(w, r, err)
			return
		}
		if bytes.Contains(b, []byte(`"kty"`)) {
			jwks = s.cfg.Issuer + "/.well-known/jwks.json"
		}
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	writeJSON(w, http.StatusOK, s.oauth.Metadata(s.cfg.Issuer, jwks))
}
