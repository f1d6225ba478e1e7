package admin

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
)

// Groups and permissions (Django's auth.group and auth.permission). The
// permissions themselves are Django's, imported with its database
// (gatehouse import, loaddata): the admin lists them and hands them out,
// it does not invent new ones.

// Groups lists the groups by id, one page at a time. It needs
// auth.view_group or auth.change_group.
func (s *Service) Groups(ctx context.Context, a Actor, p Page) (Listing[gatehouse.Group], error) {
	if err := a.require(PermViewGroup, PermChangeGroup); err != nil {
		return Listing[gatehouse.Group]{}, err
	}
	all, err := s.d.Permissions.Groups(ctx)
	if err != nil {
		return Listing[gatehouse.Group]{}, err
	}
	for i := range all {
		if all[i].Permissions == nil {
			all[i].Permissions = []int64{}
		}
	}
	return paginate(all, p)
}

// group reads group id: ENOTFOUND when there is none.
func (s *Service) group(ctx context.Context, id int64) (gatehouse.Group, error) {
	all, err := s.d.Permissions.Groups(ctx)
	if err != nil {
		return gatehouse.Group{}, err
	}
	for _, g := range all {
		if g.ID == id {
			if g.Permissions == nil {
				g.Permissions = []int64{}
			}
			return g, nil
		}
	}
	return gatehouse.Group{}, gatehouse.Errorf(gatehouse.ENOTFOUND, "no such group")
}

// Group returns group id. It needs auth.view_group or auth.change_group;
// ENOTFOUND when there is no such group.
func (s *Service) Group(ctx context.Context, a Actor, id int64) (gatehouse.Group, error) {
	if err := a.require(PermViewGroup, PermChangeGroup); err != nil {
		return gatehouse.Group{}, err
	}
	return s.group(ctx, id)
}

// checkGroup checks a group's name and permissions (unknown ids are field
// errors; a non-superuser may add or remove only permissions they hold:
// EFORBIDDEN). old is the group's permissions before (nil for a new one).
func (s *Service) checkGroup(ctx context.Context, a Actor, name *string, old []int64, perms *[]int64) ([]gatehouse.FieldError, error) {
	var errs []gatehouse.FieldError
	if name != nil {
		switch n := strings.TrimSpace(*name); {
		case n == "":
			errs = append(errs, gatehouse.FieldError{Field: "name", Code: gatehouse.FieldBlank, Message: "required"})
		case gatehouse.Length(n) > gatehouse.MaxGroupName:
			errs = append(errs, gatehouse.FieldError{Field: "name", Code: gatehouse.FieldMaxLength, Message: "at most 150 characters"})
		case !gatehouse.ValidText(n):
			errs = append(errs, gatehouse.FieldError{Field: "name", Code: gatehouse.FieldInvalid, Message: gatehouse.MsgNullCharacters})
		}
	}
	if perms == nil {
		return errs, nil
	}
	keyOf, err := s.permissionKeys(ctx)
	if err != nil {
		return nil, err
	}
	for _, id := range *perms {
		if _, ok := keyOf[id]; !ok {
			errs = append(errs, gatehouse.FieldError{Field: "permissions", Code: gatehouse.FieldInvalid, Message: invalidPK(id)})
		}
	}
	if len(errs) > 0 {
		return errs, nil
	}
	for _, id := range symmetricDifference(old, *perms) {
		if !a.Can(keyOf[id]) {
			return nil, forbidden()
		}
	}
	return nil, nil
}

// groupTaken is the field error of a group name in use, in Django's words.
var groupTaken = gatehouse.FieldError{Field: "name", Code: gatehouse.FieldUnique, Message: "group with this name already exists."}

// groupError turns the store's refusals of a group into field errors: a
// name in use, a permission deleted meanwhile.
func groupError(err error) error {
	switch {
	case errors.Is(err, gatehouse.ErrConflict):
		return gatehouse.Invalid(groupTaken)
	case errors.Is(err, gatehouse.ErrNotFound):
		return gatehouse.Invalid(gatehouse.FieldError{Field: "permissions", Code: gatehouse.FieldInvalid,
			Message: "A permission named no longer exists."})
	}
	return err
}

// CreateGroup creates a group named name (trimmed; unique, at most 150
// characters) with those permissions. It needs auth.add_group, and a
// non-superuser may give only permissions they hold. Problems are one
// EINVALID error with field errors; then nothing is written.
func (s *Service) CreateGroup(ctx context.Context, a Actor, name string, perms []int64) (gatehouse.Group, error) {
	if err := a.require(PermAddGroup); err != nil {
		return gatehouse.Group{}, err
	}
	errs, err := s.checkGroup(ctx, a, &name, nil, &perms)
	if err != nil {
		return gatehouse.Group{}, err
	}
	if len(errs) > 0 {
		return gatehouse.Group{}, gatehouse.Invalid(errs...)
	}
	g := gatehouse.Group{Name: strings.TrimSpace(name), Permissions: sortedIDs(perms)}
	if err := s.d.Permissions.CreateGroup(ctx, &g); err != nil {
		return gatehouse.Group{}, groupError(err)
	}
	s.auditGroup(ctx, a, gatehouse.AuditGroupCreated, g)
	return g, nil
}

// GroupPatch is a change of a group: nil fields stay as they are.
type GroupPatch struct {
	Name        *string
	Permissions *[]int64
}

// UpdateGroup renames group id or sets its permissions (which reach its
// members at once), in one transaction. It needs auth.change_group; a
// non-superuser may add or remove only permissions they hold. ENOTFOUND
// when there is no such group; problems are EINVALID with field errors,
// and then nothing is written.
func (s *Service) UpdateGroup(ctx context.Context, a Actor, id int64, p GroupPatch) (gatehouse.Group, error) {
	if err := a.require(PermChangeGroup); err != nil {
		return gatehouse.Group{}, err
	}
	g, err := s.group(ctx, id)
	if err != nil {
		return g, err
	}
	errs, err := s.checkGroup(ctx, a, p.Name, g.Permissions, p.Permissions)
	if err != nil {
		return gatehouse.Group{}, err
	}
	if len(errs) > 0 {
		return gatehouse.Group{}, gatehouse.Invalid(errs...)
	}
	if p.Name != nil {
		g.Name = strings.TrimSpace(*p.Name)
	}
	if p.Permissions != nil {
		g.Permissions = sortedIDs(*p.Permissions)
	}
	if err := s.d.Permissions.UpdateGroup(ctx, g); err != nil {
		if errors.Is(err, gatehouse.ErrNotFound) {
			if _, gerr := s.group(ctx, id); gerr != nil {
				return gatehouse.Group{}, gerr // deleted meanwhile
			}
		}
		return gatehouse.Group{}, groupError(err)
	}
	s.auditGroup(ctx, a, gatehouse.AuditGroupChanged, g)
	return g, nil
}

// DeleteGroup deletes group id; its members leave it (and lose what it
// gave them). It needs auth.delete_group, and a non-superuser may delete
// only a group whose permissions they all hold. ENOTFOUND when there is
// no such group.
func (s *Service) DeleteGroup(ctx context.Context, a Actor, id int64) error {
	if err := a.require(PermDeleteGroup); err != nil {
		return err
	}
	g, err := s.group(ctx, id)
	if err != nil {
		return err
	}
	if _, err := s.checkGroup(ctx, a, nil, g.Permissions, &[]int64{}); err != nil {
		return err
	}
	if err := s.d.Permissions.DeleteGroup(ctx, id); err != nil {
		if errors.Is(err, gatehouse.ErrNotFound) {
			return gatehouse.Errorf(gatehouse.ENOTFOUND, "no such group")
		}
		return err
	}
	s.record(ctx, a, gatehouse.AuditEvent{Event: gatehouse.AuditGroupDeleted,
		Detail: map[string]string{"group_id": strconv.FormatInt(g.ID, 10), "name": g.Name}})
	return nil
}

func (s *Service) auditGroup(ctx context.Context, a Actor, event string, g gatehouse.Group) {
	ids := make([]string, len(g.Permissions))
	for i, p := range g.Permissions {
		ids[i] = strconv.FormatInt(p, 10)
	}
	s.record(ctx, a, gatehouse.AuditEvent{Event: event,
		Detail: map[string]string{"group_id": strconv.FormatInt(g.ID, 10), "name": g.Name, "permissions": strings.Join(ids, ",")}})
}

// Permissions lists Django's permissions by id, one page at a time. It
// needs auth.view_permission, or any of the user and group permissions
// (who hands out permissions must see them).
func (s *Service) Permissions(ctx context.Context, a Actor, p Page) (Listing[gatehouse.Permission], error) {
	if err := a.require(PermViewPermission, PermChangeUser, PermAddGroup, PermChangeGroup, PermViewGroup, PermViewUser); err != nil {
		return Listing[gatehouse.Permission]{}, err
	}
	all, err := s.d.Permissions.Permissions(ctx)
	if err != nil {
		return Listing[gatehouse.Permission]{}, err
	}
	return paginate(all, p)
}
