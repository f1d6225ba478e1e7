package server

// sitePages lists the pages of the admin site beyond the dashboard, each
// served by admin_html_*.go through the admin service. A pattern that
// changes something takes POST (with the session's CSRF token, checked by
// siteHandler before the page runs).
func (s *Server) sitePages() []siteRoute {
	return []siteRoute{
		{"users/{$}", "GET", s.siteUsers},
		{"users/add/{$}", "GET, POST", s.siteUserAdd},
		{"users/{id}/{$}", "GET, POST", s.siteUserEdit},
		{"users/{id}/password/{$}", "POST", s.siteUserPassword},
		{"users/{id}/active/{$}", "POST", s.siteUserAction("saved", 0, s.siteUserActive)},
		{"users/{id}/logout-everywhere/{$}", "POST", s.siteUserAction("loggedout", 0, s.siteUserLogout)},
		{"users/{id}/revoke/{$}", "POST", s.siteUserAction("revoked", 1, s.siteUserRevoke)},
		{"users/{id}/delete/{$}", "GET, POST", s.siteUserDelete},
		{"groups/{$}", "GET", s.siteGroups},
		{"groups/add/{$}", "GET, POST", s.siteGroupAdd},
		{"groups/{id}/{$}", "GET, POST", s.siteGroupEdit},
		{"groups/{id}/delete/{$}", "GET, POST", s.siteGroupDelete},
		{"permissions/{$}", "GET", s.sitePermissions},
		{"applications/{$}", "GET", s.siteApps},
		{"applications/add/{$}", "GET, POST", s.siteAppAdd},
		{"applications/{client_id}/{$}", "GET, POST", s.siteAppEdit},
		{"applications/{client_id}/rotate-secret/{$}", "POST", s.siteAppRotate},
		{"applications/{client_id}/delete/{$}", "GET, POST", s.siteAppDelete},
		{"tokens/{$}", "GET", s.siteTokens},
		{"tokens/revoke/{$}", "POST", s.siteTokensRevoke},
		{"audit/{$}", "GET", s.siteAudit},
		{"keys/{$}", "GET, POST", s.siteKeys},
		{"status/{$}", "GET", s.siteStatus},
	}
}
