package djangodb

import (
	"context"
	"fmt"
	"strings"

	"github.com/gatehouse-auth/gatehouse/fixture"
)

// A custom user model may have a primary key that is not an integer (a
// UUIDField, Django's uuid type on PostgreSQL and char(32) on SQLite and
// MySQL). gatehouse gives such users new integer ids, as loaddata does, so
// the rows that name a user cannot name it by that key: they are read
// naming it by its USERNAME_FIELD instead, as `dumpdata
// --natural-foreign` writes them, and the converter and the store find
// the user by username, in this batch or in one stored before.

// userKeys reads the users' table's primary key. When it is not an
// integer, the users are read in the order of that key (given as a
// string, in its dashed form for a UUID), their many-to-many rows by it,
// and every other table's user column as the user's natural key.
func (s *Source) userKeys(ctx context.Context) error {
	col, typ, err := s.primaryKey(ctx, s.users.name)
	if err != nil {
		return err
	}
	if col == "" || (col == s.users.pk.col && integerType(typ)) {
		return nil
	}
	u := *s.users
	u.pk = req("", col, kInt)
	if integerType(typ) { // an integer key of another name
		s.replaceUsers(&u)
		return nil
	}
	u.pk.kind = kUUID
	field := s.usernameField
	if field == "" {
		field = fixture.DefaultUsernameField(func(c string) bool { return s.columns[u.name][c] })
	}
	if !identifier.MatchString(field) || !s.columns[u.name][field] {
		return fmt.Errorf("djangodb: the users' table %s of %s has no column %s to name its users by (its primary key %s is not an integer): "+
			"GATEHOUSE_USERNAME_FIELD (or --username-field) names the model's USERNAME_FIELD", u.name, s.name, field, col)
	}
	s.replaceUsers(&u)
	for i, t := range s.plan {
		if t != s.users {
			s.plan[i] = byUsername(t, &u, field)
		}
	}
	return nil
}

// replaceUsers puts u in the users' place in the plan.
func (s *Source) replaceUsers(u *table) {
	for i, t := range s.plan {
		if t == s.users {
			s.plan[i] = u
		}
	}
	s.users = u
}

// byUsername is t with each column naming a user (user_id) read as that
// user's natural key: the value of the column field of u's row, marked
// 'u', or 'x' for a key that names no row (written as an error, not as
// null: a token without its user would be another client's token). A
// table ordered by its user column (DRF's tokens) is ordered by the key
// as a string.
func byUsername(t, u *table, field string) *table {
	c := *t
	c.cols = make([]column, len(t.cols))
	for i, col := range t.cols {
		c.cols[i] = col
		if col.col == "user_id" && col.kind == kInt {
			ref := ident(c.name) + "." + ident(col.col)
			c.cols[i].kind = kUserRef
			c.cols[i].sel = "CASE WHEN " + ref + " IS NULL THEN NULL ELSE COALESCE((SELECT 'u' || u." + ident(field) +
				" FROM " + ident(u.name) + " u WHERE u." + ident(u.pk.col) + " = " + ref + "), 'x') END"
		}
	}
	if c.key.col == "user_id" {
		c.key.kind = kStr
	}
	if t.attach != nil {
		a := *t.attach
		a.t = byUsername(a.t, u, field)
		c.attach = &a
	}
	return &c
}

// primaryKey returns the column of table's primary key and its declared
// type; "" when the source gives none (or several).
func (s *Source) primaryKey(ctx context.Context, table string) (col, typ string, err error) {
	q := "SELECT name, type FROM pragma_table_info(?) WHERE pk > 0"
	switch s.dialect {
	case "postgres":
		q = "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid " +
			"AND a.attnum = ANY(i.indkey) WHERE i.indrelid = to_regclass($1) AND i.indisprimary"
	case "mysql":
		q = "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_key = 'PRI'"
	}
	rows, err := s.tx.QueryContext(ctx, q, table)
	if err != nil {
		return "", "", fmt.Errorf("djangodb: reading the primary key of %s: %w", table, err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var c, t []byte // MySQL's information_schema may give either as bytes
		if err := rows.Scan(&c, &t); err != nil {
			return "", "", err
		}
		col, typ = string(c), string(t)
		n++
	}
	if err := rows.Err(); err != nil {
		return "", "", err
	}
	if n != 1 {
		return "", "", nil
	}
	return col, typ, nil
}

// integerType says whether a column's declared type holds integers: int,
// integer, bigint, smallint, ... in every dialect.
func integerType(typ string) bool {
	return strings.Contains(strings.ToLower(typ), "int")
}
