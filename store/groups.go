package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/fixture"
)

// Django's permissions and groups (gatehouse.PermissionStore), and their
// part of Load.

const permissionCols = "id, name, codename, app_label, model"

// CreatePermission inserts p and sets p.ID.
func (s *Store) CreatePermission(ctx context.Context, p *gatehouse.Permission) (err error) {
	defer s.classified(&err)
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q("INSERT INTO auth_permissions (name, codename, app_label, model) VALUES (?, ?, ?, ?) RETURNING id"),
			p.Name, p.Codename, p.AppLabel, p.Model).Scan(&p.ID)
		return s.conflict(err)
	})
}

// Permissions lists every permission by id.
func (s *Store) Permissions(ctx context.Context) (_ []gatehouse.Permission, err error) {
	defer s.classified(&err)
	return s.permissions(ctx, s.db)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *Store) permissions(ctx context.Context, q querier) ([]gatehouse.Permission, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+permissionCols+" FROM auth_permissions ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []gatehouse.Permission
	for rows.Next() {
		var p gatehouse.Permission
		if err := rows.Scan(&p.ID, &p.Name, &p.Codename, &p.AppLabel, &p.Model); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// DeletePermission removes a permission from the groups and users holding
// it, and then itself.
func (s *Store) DeletePermission(ctx context.Context, id int64) (err error) {
	defer s.classified(&err)
	return s.deleteByID(ctx, "auth_permissions", id)
}

// DeleteGroup removes a group; its users leave it.
func (s *Store) DeleteGroup(ctx context.Context, id int64) (err error) {
	defer s.classified(&err)
	return s.deleteByID(ctx, "auth_groups", id)
}

func (s *Store) deleteByID(ctx context.Context, table string, id int64) error {
	res, err := s.exec(ctx, "DELETE FROM "+table+" WHERE id = ?", id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return gatehouse.ErrNotFound
	}
	return nil
}

// CreateGroup inserts g with its permissions and sets g.ID.
func (s *Store) CreateGroup(ctx context.Context, g *gatehouse.Group) (err error) {
	defer s.classified(&err)
	return s.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, s.q("INSERT INTO auth_groups (name) VALUES (?) RETURNING id"), g.Name).Scan(&id); err != nil {
			return s.conflict(err)
		}
		if err := s.replaceLinks(ctx, tx, groupPermissions, id, g.Permissions); err != nil {
			return err
		}
		g.ID = id
		return nil
	})
}

// UpdateGroup replaces a group's name and permissions.
func (s *Store) UpdateGroup(ctx context.Context, g gatehouse.Group) (err error) {
	defer s.classified(&err)
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("UPDATE auth_groups SET name = ? WHERE id = ?"), g.Name, g.ID)
		if err != nil {
			return s.conflict(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return gatehouse.ErrNotFound
		}
		return s.replaceLinks(ctx, tx, groupPermissions, g.ID, g.Permissions)
	})
}

// Groups lists every group by id with its permissions, in one query.
func (s *Store) Groups(ctx context.Context) (_ []gatehouse.Group, err error) {
	defer s.classified(&err)
	rows, err := s.db.QueryContext(ctx, `SELECT g.id, g.name, gp.permission_id FROM auth_groups g
		LEFT JOIN auth_group_permissions gp ON gp.group_id = g.id ORDER BY g.id, gp.permission_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []gatehouse.Group
	for rows.Next() {
		var id int64
		var name string
		var perm sql.NullInt64
		if err := rows.Scan(&id, &name, &perm); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].ID != id {
			out = append(out, gatehouse.Group{ID: id, Name: name})
		}
		if perm.Valid {
			out[len(out)-1].Permissions = append(out[len(out)-1].Permissions, perm.Int64)
		}
	}
	return out, rows.Err()
}

// SetUserGroups replaces the user's groups.
func (s *Store) SetUserGroups(ctx context.Context, userID int64, groupIDs []int64) (err error) {
	defer s.classified(&err)
	return s.setUserLinks(ctx, userGroups, userID, groupIDs)
}

// SetUserPermissions replaces the user's direct permissions.
func (s *Store) SetUserPermissions(ctx context.Context, userID int64, permissionIDs []int64) (err error) {
	defer s.classified(&err)
	return s.setUserLinks(ctx, userPermissions, userID, permissionIDs)
}

func (s *Store) setUserLinks(ctx context.Context, l link, userID int64, ids []int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, s.q("SELECT 1 FROM users WHERE id = ?"), userID).Scan(&one); err != nil {
			return s.notFound(err)
		}
		return s.replaceLinks(ctx, tx, l, userID, ids)
	})
}

// UserLinks returns the ids of the user's groups and direct permissions,
// each ascending, in one query.
func (s *Store) UserLinks(ctx context.Context, userID int64) (groupIDs, permissionIDs []int64, err error) {
	defer s.classified(&err)
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT 0, group_id FROM user_groups WHERE user_id = ?
		UNION ALL SELECT 1, permission_id FROM user_permissions WHERE user_id = ?`), userID, userID)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	groupIDs, permissionIDs = []int64{}, []int64{}
	for rows.Next() {
		var kind int
		var id int64
		if err := rows.Scan(&kind, &id); err != nil {
			return nil, nil, err
		}
		if kind == 0 {
			groupIDs = append(groupIDs, id)
		} else {
			permissionIDs = append(permissionIDs, id)
		}
	}
	slices.Sort(groupIDs)
	slices.Sort(permissionIDs)
	return groupIDs, permissionIDs, rows.Err()
}

// userPermissionsQuery reads a user's group names (kind 0) and their
// permissions, direct or through a group (kind 1).
const userPermissionsQuery = `
	SELECT 0, g.name, '' FROM user_groups ug JOIN auth_groups g ON g.id = ug.group_id WHERE ug.user_id = ?
	UNION ALL
	SELECT 1, p.app_label, p.codename FROM auth_permissions p
	WHERE p.id IN (SELECT permission_id FROM user_permissions WHERE user_id = ?)
	   OR p.id IN (SELECT gp.permission_id FROM auth_group_permissions gp
	               JOIN user_groups ug ON ug.group_id = gp.group_id WHERE ug.user_id = ?)`

// UserPermissions returns the user's groups and the permissions they hold
// directly or through a group, in one query (prepared: with the settings
// that carry them, introspection and token issuance run it).
func (s *Store) UserPermissions(ctx context.Context, userID int64) (_ gatehouse.UserPermissions, err error) {
	defer s.classified(&err)
	var out gatehouse.UserPermissions
	var rows *sql.Rows
	st, err := s.prepared(ctx, userPermissionsQuery)
	if err == nil {
		rows, err = st.QueryContext(ctx, userID, userID, userID)
	}
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		var kind int
		var a, b string
		if err := rows.Scan(&kind, &a, &b); err != nil {
			return out, err
		}
		if kind == 0 {
			out.Groups = append(out.Groups, a)
		} else {
			out.Permissions = append(out.Permissions, a+"."+b)
		}
	}
	if err := rows.Err(); err != nil {
		return out, err
	}
	// Sorted here, not by SQL: the backends' collations differ. Two models
	// of one app may share a codename, and has_perm cannot tell them apart.
	slices.Sort(out.Groups)
	slices.Sort(out.Permissions)
	out.Permissions = slices.Compact(out.Permissions)
	return out, nil
}

// link is one of the many-to-many tables: owner id to target id.
type link struct {
	table, owner, target string // table, its owner and target columns
	targets              string // the table the targets are in
	what                 string // the target's name in messages
}

var (
	groupPermissions = link{"auth_group_permissions", "group_id", "permission_id", "auth_permissions", "permission"}
	userGroups       = link{"user_groups", "user_id", "group_id", "auth_groups", "group"}
	userPermissions  = link{"user_permissions", "user_id", "permission_id", "auth_permissions", "permission"}
)

// replaceLinks makes ids (any order, repeats allowed) the targets of owner
// in l, or, when one does not exist, returns ErrNotFound.
func (s *Store) replaceLinks(ctx context.Context, tx *sql.Tx, l link, owner int64, ids []int64) error {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(ids) > 0 {
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		var n int
		q := "SELECT COUNT(*) FROM " + l.targets + " WHERE id IN (?" + strings.Repeat(", ?", len(ids)-1) + ")"
		if err := tx.QueryRowContext(ctx, s.qVarying(q), args...).Scan(&n); err != nil {
			return err
		}
		if n != len(ids) {
			return fmt.Errorf("store: a %s does not exist: %w", l.what, gatehouse.ErrNotFound)
		}
	}
	if _, err := tx.ExecContext(ctx, s.q("DELETE FROM "+l.table+" WHERE "+l.owner+" = ?"), owner); err != nil {
		return err
	}
	return s.insertLinks(ctx, tx, l, owner, ids)
}

// insertLinks adds (owner, id) rows to l, in statements of up to 200 rows.
func (s *Store) insertLinks(ctx context.Context, tx *sql.Tx, l link, owner int64, ids []int64) error {
	for len(ids) > 0 {
		n := min(len(ids), 200)
		args := make([]any, 0, 2*n)
		for _, id := range ids[:n] {
			args = append(args, owner, id)
		}
		q := "INSERT INTO " + l.table + " (" + l.owner + ", " + l.target + ") VALUES (?, ?)" + strings.Repeat(", (?, ?)", n-1)
		if _, err := tx.ExecContext(ctx, s.qVarying(q), args...); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// loadGroups stores, in Load's transaction, the permissions, groups and
// memberships of set, as Django's loaddata does: an object with a primary
// key is created or overwritten under it; one without (--natural-primary)
// is the one with its natural key, created when there is none. A group's
// permissions, and a user's groups and direct permissions, become what the
// file lists. So loading a file twice leaves what loading it once did.
// References name objects of the file or of the database; one found in
// neither is an error naming the object and the reference.
func (s *Store) loadGroups(ctx context.Context, tx *sql.Tx, set fixture.Set) error {
	if len(set.Permissions)+len(set.Groups)+len(set.Memberships) == 0 {
		return nil
	}
	// Rows with their primary keys first, then the sequence past them, then
	// the rows dumped without one (as loadUsers does).
	for _, withPK := range []bool{true, false} {
		for _, p := range set.Permissions {
			if (p.ID != 0) != withPK {
				continue
			}
			var err error
			if withPK {
				_, err = tx.ExecContext(ctx, s.q(`INSERT INTO auth_permissions (id, name, codename, app_label, model) VALUES (?, ?, ?, ?, ?)
					ON CONFLICT (id) DO UPDATE SET name = excluded.name, codename = excluded.codename, app_label = excluded.app_label, model = excluded.model`),
					p.ID, p.Name, p.Codename, p.AppLabel, p.Model)
			} else {
				_, err = tx.ExecContext(ctx, s.q(`INSERT INTO auth_permissions (name, codename, app_label, model) VALUES (?, ?, ?, ?)
					ON CONFLICT (app_label, model, codename) DO UPDATE SET name = excluded.name`),
					p.Name, p.Codename, p.AppLabel, p.Model)
			}
			if err = s.conflict(err); errors.Is(err, gatehouse.ErrConflict) {
				return fmt.Errorf("auth.permission %s (%s.%s of model %s): another permission in the database has its content type and codename: %w",
					pkText(p.ID), p.AppLabel, p.Codename, p.Model, err)
			} else if err != nil {
				return fmt.Errorf("auth.permission %s: %w", pkText(p.ID), err)
			}
		}
		if withPK {
			if err := s.realign(ctx, tx, "auth_permissions"); err != nil {
				return err
			}
		}
	}
	perms, err := s.permissionIDs(ctx, tx)
	if err != nil {
		return err
	}
	for _, withPK := range []bool{true, false} {
		for _, g := range set.Groups {
			if (g.ID != 0) != withPK {
				continue
			}
			var err error
			if withPK {
				_, err = tx.ExecContext(ctx, s.q("INSERT INTO auth_groups (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name"), g.ID, g.Name)
			} else {
				_, err = tx.ExecContext(ctx, s.q("INSERT INTO auth_groups (name) VALUES (?) ON CONFLICT (name) DO NOTHING"), g.Name)
			}
			if err = s.conflict(err); errors.Is(err, gatehouse.ErrConflict) {
				return fmt.Errorf("auth.group %s %q: another group in the database has its name: %w", pkText(g.ID), g.Name, err)
			} else if err != nil {
				return fmt.Errorf("auth.group %s %q: %w", pkText(g.ID), g.Name, err)
			}
		}
		if withPK {
			if err := s.realign(ctx, tx, "auth_groups"); err != nil {
				return err
			}
		}
	}
	groups, err := s.groupIDs(ctx, tx)
	if err != nil {
		return err
	}
	for _, g := range set.Groups {
		if g.Permissions == nil {
			continue
		}
		ids, err := perms.resolve(fmt.Sprintf("auth.group %q", g.Name), g.Permissions)
		if err != nil {
			return err
		}
		id := g.ID
		if id == 0 {
			id = groups.byName[g.Name]
		}
		if err := s.replaceLinks(ctx, tx, groupPermissions, id, ids); err != nil {
			return fmt.Errorf("auth.group %q: %w", g.Name, err)
		}
	}
	return s.loadMemberships(ctx, tx, set.Memberships, perms, groups)
}

// loadMemberships replaces the listed groups and direct permissions of
// each user of ms, who was loaded before.
func (s *Store) loadMemberships(ctx context.Context, tx *sql.Tx, ms []fixture.Membership, perms permissionIndex, groups groupIndex) error {
	// A user can hold rows to replace only when the tables held some when
	// the load began, or an earlier object of the file gave them some. On
	// a fresh database a user with empty lists (most of them) costs
	// nothing, and one with some costs their inserts.
	var heldBefore bool
	if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM user_groups) OR EXISTS (SELECT 1 FROM user_permissions)").Scan(&heldBefore); err != nil {
		return err
	}
	given := map[string]bool{} // users this load gave rows
	byName, err := tx.PrepareContext(ctx, s.q("SELECT id FROM users WHERE username = ?"))
	if err != nil {
		return err
	}
	defer byName.Close()
	for _, m := range ms {
		mayHold := heldBefore || given[m.Username]
		if !mayHold && len(m.Groups) == 0 && len(m.Permissions) == 0 {
			continue
		}
		var uid int64
		if err := byName.QueryRowContext(ctx, m.Username).Scan(&uid); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("auth.user %q: no such user in the files or the database", m.Username)
			}
			return fmt.Errorf("auth.user %q: %w", m.Username, err)
		}
		groupIDs, err := groups.resolve(fmt.Sprintf("auth.user %q (groups)", m.Username), m.Groups)
		if err != nil {
			return err
		}
		permIDs, err := perms.resolve(fmt.Sprintf("auth.user %q (user_permissions)", m.Username), m.Permissions)
		if err != nil {
			return err
		}
		for _, r := range []struct {
			l    link
			list bool // the file lists them
			ids  []int64
		}{{userGroups, m.Groups != nil, groupIDs}, {userPermissions, m.Permissions != nil, permIDs}} {
			if !r.list {
				continue
			}
			if mayHold {
				if _, err := tx.ExecContext(ctx, s.q("DELETE FROM "+r.l.table+" WHERE user_id = ?"), uid); err != nil {
					return err
				}
			}
			// The ids exist: resolve found them in this transaction.
			if err := s.insertLinks(ctx, tx, r.l, uid, slices.Compact(slices.Sorted(slices.Values(r.ids)))); err != nil {
				return fmt.Errorf("auth.user %q: %w", m.Username, err)
			}
		}
		given[m.Username] = true
	}
	return nil
}

// permissionIndex finds the stored permissions by id and natural key.
type permissionIndex struct {
	ids   map[int64]bool
	byKey map[[3]string]int64 // codename, app_label, model
}

func (s *Store) permissionIDs(ctx context.Context, tx *sql.Tx) (permissionIndex, error) {
	ps, err := s.permissions(ctx, tx)
	if err != nil {
		return permissionIndex{}, err
	}
	x := permissionIndex{ids: make(map[int64]bool, len(ps)), byKey: make(map[[3]string]int64, len(ps))}
	for _, p := range ps {
		x.ids[p.ID] = true
		x.byKey[[3]string{p.Codename, p.AppLabel, p.Model}] = p.ID
	}
	return x, nil
}

// resolve gives the ids of refs, or an error naming from, the referring
// object, and the first reference found nowhere.
func (x permissionIndex) resolve(from string, refs []fixture.PermissionRef) ([]int64, error) {
	ids := make([]int64, 0, len(refs))
	for _, r := range refs {
		id := r.ID
		if id == 0 {
			id = x.byKey[[3]string{r.Codename, r.AppLabel, r.Model}]
		}
		if !x.ids[id] {
			return nil, fmt.Errorf("%s refers to auth.permission %s, which is neither in the files nor in the database", from, r)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// groupIndex finds the stored groups by id and name.
type groupIndex struct {
	ids    map[int64]bool
	byName map[string]int64
}

func (s *Store) groupIDs(ctx context.Context, tx *sql.Tx) (groupIndex, error) {
	x := groupIndex{ids: map[int64]bool{}, byName: map[string]int64{}}
	rows, err := tx.QueryContext(ctx, "SELECT id, name FROM auth_groups")
	if err != nil {
		return x, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return x, err
		}
		x.ids[id], x.byName[name] = true, id
	}
	return x, rows.Err()
}

// resolve gives the ids of refs, or an error naming from, the referring
// object, and the first reference found nowhere.
func (x groupIndex) resolve(from string, refs []fixture.GroupRef) ([]int64, error) {
	ids := make([]int64, 0, len(refs))
	for _, r := range refs {
		id := r.ID
		if id == 0 {
			id = x.byName[r.Name]
		}
		if !x.ids[id] {
			return nil, fmt.Errorf("%s refers to auth.group %s, which is neither in the files nor in the database", from, r)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// pkText names an object by primary key in a message.
func pkText(id int64) string {
	if id == 0 {
		return "(without pk)"
	}
	return fmt.Sprintf("pk %d", id)
}
