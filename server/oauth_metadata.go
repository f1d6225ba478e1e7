package server

import (
	"bytes"
	"net/http"
)

// metadataHandler serves /.well-known/oauth-authorization-server (RFC
// 8414): what the provider offers and where, under the configured issuer,
// encoded once (it changes only with the settings). The JWKS is listed
// when it holds a public key (asymmetric simplejwt signing).
func (s *Server) metadataHandler() (http.HandlerFunc, error) {
	jwks := ""
	if s.oidc != nil {
		jwks = s.cfg.Issuer + jwksPath
	} else if s.pairs != nil {
		b, err := s.pairs.JWKS()
		if err != nil {
			return nil, err
		}
		if bytes.Contains(b, []byte(`"kty"`)) {
			jwks = s.cfg.Issuer + jwksPath
		}
	}
	body, err := marshal(s.oauth.Metadata(s.cfg.Issuer, jwks))
	if err != nil {
		return nil, err
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeJSON(w, http.StatusMethodNotAllowed, detailOnly{Detail: `Method "` + r.Method + `" not allowed.`})
			return
		}
		h := w.Header()
		h["Content-Type"] = hvJSON
		h.Set("Cache-Control", "public, max-age=3600")
		w.Write(body)
	}, nil
}
