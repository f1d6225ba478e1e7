package server

import "net/http"

func (s *Server) authorizeEndpoint(w http.ResponseWriter, r *http.Request)    { notFound(w) }
func (s *Server) applicationsPage(w http.ResponseWriter, r *http.Request)     { notFound(w) }
func (s *Server) authorizedTokensPage(w http.ResponseWriter, r *http.Request) { notFound(w) }
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request)            { notFound(w) }
