package server

// adminPages lists the pages of the admin site beyond the dashboard, each
// served by admin_html_*.go through the admin service. A pattern that
// changes something takes POST (with the session's CSRF token, checked by
// adminHandler before the page runs).
func (s *Server) adminPages() []adminRoute {
	return []adminRoute{
		{"users/{$}", "GET", s.adminUsers},
		{"users/add/{$}", "GET, POST", s.adminUserAdd},
		{"users/{id}/{$}", "GET, POST", s.adminUserEdit},
		{"users/{id}/password/{$}", "POST", s.adminUserPassword},
		{"users/{id}/active/{$}", "POST", s.adminUserActive},
		{"users/{id}/logout-everywhere/{$}", "POST", s.adminUserLogout},
		{"users/{id}/revoke/{$}", "POST", s.adminUserRevoke},
		{"users/{id}/delete/{$}", "GET, POST", s.adminUserDelete},
		{"groups/{$}", "GET", s.adminGroups},
		{"groups/add/{$}", "GET, POST", s.adminGroupAdd},
		{"groups/{id}/{$}", "GET, POST", s.adminGroupEdit},
		{"groups/{id}/delete/{$}", "GET, POST", s.adminGroupDelete},
		{"permissions/{$}", "GET", s.adminPermissions},
	}
}
