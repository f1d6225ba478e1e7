package server

// adminPages lists the pages of the admin site beyond the dashboard, each
// served by admin_html_*.go through the admin service.
func (s *Server) adminPages() []adminRoute {
	return nil
}
