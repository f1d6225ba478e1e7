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

const siteListPageSize = 100

type siteGroupsData struct {
	Groups []gatehouse.Group
	Pager  *sitePager
}

// siteGroups lists the groups (admin.Groups).
func (s *Server) siteGroups(w http.ResponseWriter, r *http.Request, a *siteRequest) {
	groups, pager, ok := siteList(s, w, r, a, sitePrefix+"groups/", func(p admin.Page) (admin.Listing[gatehouse.Group], error) {
		return s.admin.Groups(r.Context(), a.actor, p)
	})
	if ok {
		s.siteRender(w, r, a, http.StatusOK, "groups", siteView{Title: "Groups", Section: "groups", Data: siteGroupsData{Groups: groups, Pager: pager}})
	}
}

type siteGroupData struct {
	Form  *siteForm
	Group gatehouse.Group
}

func siteGroupFields(g gatehouse.Group, c siteChoices) []siteField {
	return []siteField{
		{Name: "name", Label: "Name", Type: "text", Value: g.Name, Required: true, Autocomplete: "off", Help: "150 characters or fewer."},
		{Name: "permissions", Label: "Permissions", Type: "checklist", Options: c.permOptions(g.Permissions),
			Help: "Every member of the group holds these."},
	}
}

// siteGroupAdd creates a group (admin.CreateGroup).
func (s *Server) siteGroupAdd(w http.ResponseWriter, r *http.Request, a *siteRequest) {
	if !s.siteRequire(w, r, a, admin.PermAddGroup) {
		return
	}
	var g gatehouse.Group
	var err error
	if r.Method == http.MethodPost {
		g.Name = r.PostForm.Get("name")
		if g.Permissions, err = siteFormIDs(r.PostForm, "permissions"); err == nil {
			var created gatehouse.Group
			if created, err = s.admin.CreateGroup(r.Context(), a.actor, g.Name, g.Permissions); err == nil {
				s.siteRedirect(w, sitePrefix+"groups/"+strconv.FormatInt(created.ID, 10)+"/", "created", 0)
				return
			}
		}
		if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			s.siteFail(w, r, a, err)
			return
		}
	}
	status := http.StatusOK
	if err != nil {
		status = http.StatusBadRequest
	}
	d := siteGroupData{Form: newSiteForm(err, siteGroupFields(g, s.siteChoicesFor(r, a))...), Group: g}
	s.siteRender(w, r, a, status, "group_edit", siteView{Title: "Add group", Section: "groups", Data: d})
}

// siteGroupEdit shows and saves a group (admin.UpdateGroup).
func (s *Server) siteGroupEdit(w http.ResponseWriter, r *http.Request, a *siteRequest) {
	id, cur, ok := siteFetch(s, w, r, a, "group", func(id int64) (gatehouse.Group, error) { return s.admin.Group(r.Context(), a.actor, id) })
	if !ok {
		return
	}
	shown := cur
	var saveErr error
	if r.Method == http.MethodPost {
		shown.Name = r.PostForm.Get("name")
		if shown.Permissions, saveErr = siteFormIDs(r.PostForm, "permissions"); saveErr == nil {
			var p admin.GroupPatch
			if shown.Name != cur.Name {
				p.Name = &shown.Name
			}
			if !slices.Equal(shown.Permissions, cur.Permissions) {
				p.Permissions = &shown.Permissions
			}
			if _, saveErr = s.admin.UpdateGroup(r.Context(), a.actor, id, p); saveErr == nil {
				s.siteRedirect(w, sitePrefix+"groups/"+strconv.FormatInt(id, 10)+"/", "saved", 0)
				return
			}
		}
		if gatehouse.ErrorCode(saveErr) != gatehouse.EINVALID {
			s.siteFail(w, r, a, saveErr)
			return
		}
	}
	status := http.StatusOK
	if saveErr != nil {
		status = http.StatusBadRequest
	}
	d := siteGroupData{Form: newSiteForm(saveErr, siteGroupFields(shown, s.siteChoicesFor(r, a))...), Group: cur}
	s.siteRender(w, r, a, status, "group_edit", siteView{Title: "Change group " + cur.Name, Section: "groups", Data: d})
}

// siteGroupDelete asks to confirm (GET) and deletes a group (POST,
// admin.DeleteGroup).
func (s *Server) siteGroupDelete(w http.ResponseWriter, r *http.Request, a *siteRequest) {
	ctx := r.Context()
	siteConfirmDelete(s, w, r, a, "group", "groups", "group_delete", admin.PermDeleteGroup,
		func(id int64) (gatehouse.Group, error) { return s.admin.Group(ctx, a.actor, id) },
		func(id int64) error { return s.admin.DeleteGroup(ctx, a.actor, id) },
		func(g gatehouse.Group) string { return "Delete group " + g.Name })
}

type sitePermissionsData struct {
	Permissions []gatehouse.Permission
	Pager       *sitePager
}

// sitePermissions lists Django's permissions (admin.Permissions).
func (s *Server) sitePermissions(w http.ResponseWriter, r *http.Request, a *siteRequest) {
	perms, pager, ok := siteList(s, w, r, a, sitePrefix+"permissions/", func(p admin.Page) (admin.Listing[gatehouse.Permission], error) {
		return s.admin.Permissions(r.Context(), a.actor, p)
	})
	if ok {
		s.siteRender(w, r, a, http.StatusOK, "permissions", siteView{Title: "Permissions", Section: "permissions",
			Data: sitePermissionsData{Permissions: perms, Pager: pager}})
	}
}
