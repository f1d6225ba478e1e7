package server

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse"
)

// checkOAuthScope applies the RequireScopes setting to an authenticated
// DRF view request: nil when allowed, else DRF's 403.
func (s *Server) checkOAuthScope(p *gatehouse.Principal, method string) *apiError {
	if !s.ocfg.RequireScopes || p.HasReadWriteScope(safeMethod(method)) {
		return nil
	}
	return &apiError{status: http.StatusForbidden, body: detailOnly{Detail: "You do not have permission to perform this action."}}
}

// safeMethod reports whether method is one DRF and DOT treat as read-only.
func safeMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}
