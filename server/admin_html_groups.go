package server

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/admin"
)

// The groups and permissions pages of the admin site: Django's groups
// (listed, created, changed, deleted) and its permissions (listed; they
// come with the imported database and are handed out, not made here).

const adminListPageSize = 100

type adminGroupsData struct {
	Groups []gatehouse.Group
	Pager  *adminPager
}

// adminGroups lists the groups (admin.Groups).
func (s *Server) adminGroups(w http.ResponseWriter, r *http.Request, a *adminRequest) {
	number, last := pageNumber(r.URL.Query())
	l, err := s.admin.Groups(r.Context(), a.actor, admin.Page{Number: number, Size: adminListPageSize, Last: last})
	if err != nil {
		s.adminFail(w, r, a, err)
		return
	}
	if l.OutOfRange() {
		s.adminErrorPage(w, r, a, http.StatusNotFound, "Not found", "Invalid page.")
		return
	}
	d := adminGroupsData{Groups: l.Items, Pager: newAdminPager(s.url(adminPrefix+"groups/"), r.URL.Query(), l.Page.Number, l.Page.Size, l.Count)}
	s.adminRender(w, r, a, http.StatusOK, "groups", adminView{Title: "Groups", Section: "groups", Data: d})
}

type adminGroupData struct {
	Form  *adminForm
	Group gatehouse.Group
}

func adminGroupFields(g gatehouse.Group, c adminChoices) []adminField {
	return []adminField{
		{Name: "name", Label: "Name", Type: "text", Value: g.Name, Required: true, Autocomplete: "off", Help: "150 characters or fewer."},
		{Name: "permissions", Label: "Permissions", Type: "checklist", Options: c.permOptions(g.Permissions),
			Help: "Every member of the group holds these."},
	}
}

// adminGroupAdd creates a group (admin.CreateGroup).
func (s *Server) adminGroupAdd(w http.ResponseWriter, r *http.Request, a *adminRequest) {
	var g gatehouse.Group
	var err error
	if r.Method == http.MethodPost {
		g.Name = r.PostForm.Get("name")
		if g.Permissions, err = formIDs(r.PostForm, "permissions"); err == nil {
			var created gatehouse.Group
			if created, err = s.admin.CreateGroup(r.Context(), a.actor, g.Name, g.Permissions); err == nil {
				s.adminRedirect(w, adminPrefix+"groups/"+strconv.FormatInt(created.ID, 10)+"/", "created", 0)
				return
			}
		}
		if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			s.adminFail(w, r, a, err)
			return
		}
	}
	status := http.StatusOK
	if err != nil {
		status = http.StatusBadRequest
	}
	d := adminGroupData{Form: newAdminForm(err, adminGroupFields(g, s.adminChoicesFor(r, a))...), Group: g}
	s.adminRender(w, r, a, status, "group_edit", adminView{Title: "Add group", Section: "groups", Data: d})
}

// adminGroupID reads the {id} of the path.
func (s *Server) adminGroupID(w http.ResponseWriter, r *http.Request, a *adminRequest) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.adminErrorPage(w, r, a, http.StatusNotFound, "Not found", "There is no such group.")
		return 0, false
	}
	return id, true
}

// adminGroupEdit shows and saves a group (admin.UpdateGroup).
func (s *Server) adminGroupEdit(w http.ResponseWriter, r *http.Request, a *adminRequest) {
	id, ok := s.adminGroupID(w, r, a)
	if !ok {
		return
	}
	cur, err := s.admin.Group(r.Context(), a.actor, id)
	if err != nil {
		s.adminFail(w, r, a, err)
		return
	}
	shown := cur
	var saveErr error
	if r.Method == http.MethodPost {
		shown.Name = r.PostForm.Get("name")
		if shown.Permissions, saveErr = formIDs(r.PostForm, "permissions"); saveErr == nil {
			var p admin.GroupPatch
			if shown.Name != cur.Name {
				p.Name = &shown.Name
			}
			if !slices.Equal(shown.Permissions, cur.Permissions) {
				p.Permissions = &shown.Permissions
			}
			if _, saveErr = s.admin.UpdateGroup(r.Context(), a.actor, id, p); saveErr == nil {
				s.adminRedirect(w, adminPrefix+"groups/"+strconv.FormatInt(id, 10)+"/", "saved", 0)
				return
			}
		}
		if gatehouse.ErrorCode(saveErr) != gatehouse.EINVALID {
			s.adminFail(w, r, a, saveErr)
			return
		}
	}
	status := http.StatusOK
	if saveErr != nil {
		status = http.StatusBadRequest
	}
	d := adminGroupData{Form: newAdminForm(saveErr, adminGroupFields(shown, s.adminChoicesFor(r, a))...), Group: cur}
	s.adminRender(w, r, a, status, "group_edit", adminView{Title: "Change group " + cur.Name, Section: "groups", Data: d})
}

// adminGroupDelete asks to confirm (GET) and deletes a group (POST,
// admin.DeleteGroup).
func (s *Server) adminGroupDelete(w http.ResponseWriter, r *http.Request, a *adminRequest) {
	id, ok := s.adminGroupID(w, r, a)
	if !ok {
		return
	}
	cur, err := s.admin.Group(r.Context(), a.actor, id)
	if err != nil {
		s.adminFail(w, r, a, err)
		return
	}
	if r.Method == http.MethodPost {
		if err := s.admin.DeleteGroup(r.Context(), a.actor, id); err != nil {
			s.adminFail(w, r, a, err)
			return
		}
		s.adminRedirect(w, adminPrefix+"groups/", "deleted", 0)
		return
	}
	s.adminRender(w, r, a, http.StatusOK, "group_delete", adminView{Title: "Delete group " + cur.Name, Section: "groups", Data: cur})
}

type adminPermissionsData struct {
	Permissions []gatehouse.Permission
	Pager       *adminPager
}

// adminPermissions lists Django's permissions (admin.Permissions).
func (s *Server) adminPermissions(w http.ResponseWriter, r *http.Request, a *adminRequest) {
	number, last := pageNumber(r.URL.Query())
	l, err := s.admin.Permissions(r.Context(), a.actor, admin.Page{Number: number, Size: adminListPageSize, Last: last})
	if err != nil {
		s.adminFail(w, r, a, err)
		return
	}
	if l.OutOfRange() {
		s.adminErrorPage(w, r, a, http.StatusNotFound, "Not found", "Invalid page.")
		return
	}
	d := adminPermissionsData{Permissions: l.Items, Pager: newAdminPager(s.url(adminPrefix+"permissions/"), r.URL.Query(), l.Page.Number, l.Page.Size, l.Count)}
	s.adminRender(w, r, a, http.StatusOK, "permissions", adminView{Title: "Permissions", Section: "permissions", Data: d})
}
