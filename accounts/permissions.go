package accounts

import (
	"context"
	"slices"

	"github.com/gatehouse-auth/gatehouse"
)

// Permissions returns what u holds, as Django's ModelBackend computes it
// (user.get_all_permissions(), and the names of u's groups): nothing for an
// inactive user, every stored permission for an active superuser, else
// the permissions granted to u directly or through a group. Without a
// permission store (Deps.Permissions) nobody holds any.
func (s *Service) Permissions(ctx context.Context, u gatehouse.User) (gatehouse.UserPermissions, error) {
	if !u.IsActive || s.perms == nil {
		return gatehouse.UserPermissions{}, nil
	}
	held, err := s.perms.UserPermissions(ctx, u.ID)
	if err != nil || !u.IsSuperuser {
		return held, err
	}
	all, err := s.perms.Permissions(ctx)
	if err != nil {
		return gatehouse.UserPermissions{}, err
	}
	keys := make([]string, len(all))
	for i, p := range all {
		keys[i] = p.Key()
	}
	slices.Sort(keys)
	held.Permissions = slices.Compact(keys)
	return held, nil
}

// HasPerm is Django's user.has_perms(perms) (has_perm for one): whether u
// holds every one of perms (gatehouse.User.HasPerms). The store is asked
// only when the answer depends on it: an inactive user holds nothing and
// an active superuser everything.
func (s *Service) HasPerm(ctx context.Context, u gatehouse.User, perms ...string) (bool, error) {
	if !u.IsActive || u.IsSuperuser || len(perms) == 0 {
		return u.HasPerms(gatehouse.UserPermissions{}, perms...), nil
	}
	held, err := s.Permissions(ctx, u)
	if err != nil {
		return false, err
	}
	return u.HasPerms(held, perms...), nil
}
