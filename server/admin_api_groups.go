package server

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/admin"
)

// The admin API's groups and permissions (docs/admin-api.md):
// /api/admin/groups/ and /api/admin/permissions/.

type adminGroupOut struct {
	ID          int64   `json:"id"`
	Name        string  `json:"name"`
	Permissions []int64 `json:"permissions"`
}

func toAdminGroup(g gatehouse.Group) adminGroupOut {
	perms := g.Permissions
	if perms == nil {
		perms = []int64{}
	}
	return adminGroupOut{ID: g.ID, Name: g.Name, Permissions: perms}
}

type adminPermissionOut struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Codename string `json:"codename"`
	AppLabel string `json:"app_label"`
	Model    string `json:"model"`
}

func toAdminPermission(p gatehouse.Permission) adminPermissionOut {
	return adminPermissionOut{ID: p.ID, Name: p.Name, Codename: p.Codename, AppLabel: p.AppLabel, Model: p.Model}
}

func (s *Server) adminGroupsView() http.Handler {
	return s.adminView("Admin Group List", map[string]adminHandler{"GET": (*Server).adminListGroups, "POST": (*Server).adminCreateGroup})
}

func (s *Server) adminGroupView() http.Handler {
	return s.adminView("Admin Group Detail", map[string]adminHandler{"GET": byID((*Server).adminGetGroup),
		"PATCH": byID((*Server).adminPatchGroup), "DELETE": byID((*Server).adminDeleteGroup)})
}

func (s *Server) adminPermissionsView() http.Handler {
	return s.adminView("Admin Permission List", map[string]adminHandler{"GET": (*Server).adminListPermissions})
}

// adminListGroups: GET /api/admin/groups/.
func (s *Server) adminListGroups(c *call, a admin.Actor) *apiError {
	page, e := adminPage(c)
	if e != nil {
		return e
	}
	l, err := s.admin.Groups(c.r.Context(), a, page)
	if err != nil {
		return s.internal(c, err)
	}
	return respondListing(s, c, l, toAdminGroup)
}

// adminCreateGroup: POST /api/admin/groups/ {"name", "permissions"} → 201.
func (s *Server) adminCreateGroup(c *call, a admin.Actor) *apiError {
	p, errs, e := adminBody(c)
	if e != nil {
		return e
	}
	name, _ := charField(p, errs, "name", true, false, gatehouse.MaxGroupName)
	perms := idsField(p, errs, "permissions")
	if !errs.empty() {
		return badRequest(errs)
	}
	var ids []int64
	if perms != nil {
		ids = *perms
	}
	g, err := s.admin.CreateGroup(c.r.Context(), a, name, ids)
	return s.answer(c, err, http.StatusCreated, toAdminGroup(g))
}

// adminGetGroup: GET /api/admin/groups/{id}/.
func (s *Server) adminGetGroup(c *call, a admin.Actor, id int64) *apiError {
	g, err := s.admin.Group(c.r.Context(), a, id)
	return s.answer(c, err, http.StatusOK, toAdminGroup(g))
}

// adminPatchGroup: PATCH /api/admin/groups/{id}/ {"name"?, "permissions"?}.
func (s *Server) adminPatchGroup(c *call, a admin.Actor, id int64) *apiError {
	p, errs, e := adminBody(c)
	if e != nil {
		return e
	}
	patch := admin.GroupPatch{Name: optChar(p, errs, "name", false, gatehouse.MaxGroupName), Permissions: idsField(p, errs, "permissions")}
	if !errs.empty() {
		return badRequest(errs)
	}
	g, err := s.admin.UpdateGroup(c.r.Context(), a, id, patch)
	return s.answer(c, err, http.StatusOK, toAdminGroup(g))
}

// adminDeleteGroup: DELETE /api/admin/groups/{id}/ → 204.
func (s *Server) adminDeleteGroup(c *call, a admin.Actor, id int64) *apiError {
	return s.answer(c, s.admin.DeleteGroup(c.r.Context(), a, id), http.StatusNoContent, nil)
}

// adminListPermissions: GET /api/admin/permissions/.
func (s *Server) adminListPermissions(c *call, a admin.Actor) *apiError {
	page, e := adminPage(c)
	if e != nil {
		return e
	}
	l, err := s.admin.Permissions(c.r.Context(), a, page)
	if err != nil {
		return s.internal(c, err)
	}
	return respondListing(s, c, l, toAdminPermission)
}
