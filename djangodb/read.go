package djangodb

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/fixture"
)

// Batch is what one read of a step gives.
type Batch struct {
	// Objects are the rows as dumpdata objects: the step's rows, then the
	// rows attached to them.
	Objects []fixture.Object
	// Rows counts the rows of the step's own table read (Objects holds
	// more when rows are attached).
	Rows int
	// Last is the key of the last row read: the next read starts after
	// it. Empty when there were no rows.
	Last string
}

// Remaining counts the rows of st's table after the key after ("" for
// all), for a progress display.
func (s *Source) Remaining(ctx context.Context, st Step, after string) (int64, error) {
	if st.Absent != "" {
		return 0, nil
	}
	cond, args, err := afterKey(st.t, st.t.keyCol().col, after)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM "+st.t.name+" WHERE "+cond), args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("djangodb: counting %s: %w", st.t.name, err)
	}
	return n, nil
}

// Read returns up to limit rows of st's table whose key comes after after
// ("" for the first batch), in key order, with their many-to-many lists
// and attached rows. A batch without rows means the table is done.
func (s *Source) Read(ctx context.Context, st Step, after string, limit int) (Batch, error) {
	if st.Absent != "" {
		return Batch{}, nil
	}
	t := st.t
	key := t.keyCol()
	cond, args, err := afterKey(t, key.col, after)
	if err != nil {
		return Batch{}, err
	}
	sel := []string{ident(key.col), ident(t.pk.col)}
	for _, c := range st.cols {
		sel = append(sel, c.expr())
	}
	rows, err := s.query(ctx, t.name, "SELECT "+strings.Join(sel, ", ")+" FROM "+t.name+" WHERE "+cond+
		" ORDER BY "+ident(key.col)+" LIMIT ?", append(args, limit)...)
	if err != nil {
		return Batch{}, err
	}
	if len(rows) == 0 {
		return Batch{}, nil
	}
	b := Batch{Rows: len(rows)}
	if b.Last, err = keyString(rows[len(rows)-1][0], key.kind); err != nil {
		return Batch{}, fmt.Errorf("djangodb: %s: %w", t.name, err)
	}
	hi := rows[len(rows)-1][0]
	lists := make([]map[string][]int64, len(st.m2m))
	for i, m := range st.m2m {
		if lists[i], err = s.m2mLists(ctx, t, m, after, hi); err != nil {
			return Batch{}, err
		}
	}
	var more func(b []byte, owner string) []byte
	if len(st.m2m) > 0 {
		more = func(b []byte, owner string) []byte {
			for i, m := range st.m2m {
				b = append(b, ',')
				b = appendString(b, m.field)
				b = append(b, ':', '[')
				for j, id := range lists[i][owner] {
					if j > 0 {
						b = append(b, ',')
					}
					b = strconv.AppendInt(b, id, 10)
				}
				b = append(b, ']')
			}
			return b
		}
	}
	for _, r := range rows {
		o, err := object(t, st.cols, r[1], r[2:], more)
		if err != nil {
			return Batch{}, err
		}
		b.Objects = append(b.Objects, o)
	}
	if a := st.attach; a != nil {
		sel := []string{ident(a.t.pk.col)}
		for _, c := range st.acols {
			sel = append(sel, c.expr())
		}
		cond, args, err := afterKey(t, a.link, after)
		if err != nil {
			return Batch{}, err
		}
		arows, err := s.query(ctx, a.t.name, "SELECT "+strings.Join(sel, ", ")+" FROM "+a.t.name+
			" WHERE "+cond+" AND "+ident(a.link)+" <= ? ORDER BY "+ident(a.link), append(args, hi)...)
		if err != nil {
			return Batch{}, err
		}
		for _, r := range arows {
			o, err := object(a.t, st.acols, r[0], r[1:], nil)
			if err != nil {
				return Batch{}, err
			}
			b.Objects = append(b.Objects, o)
		}
	}
	return b, nil
}

// afterKey is the condition on col (t's key, or a column holding t's key)
// selecting the rows after the key after, with its argument; "" selects
// every row. t's extra condition applies to t's own rows.
func afterKey(t *table, col, after string) (string, []any, error) {
	cond, args := ident(col)+" IS NOT NULL", []any(nil)
	if after != "" {
		cond = ident(col) + " > ?"
		if t.keyCol().kind != kInt {
			args = []any{after}
		} else {
			n, err := strconv.ParseInt(after, 10, 64)
			if err != nil {
				return "", nil, fmt.Errorf("djangodb: %s: the import's progress %q is not a key of this table; start over (--restart)", t.name, after)
			}
			args = []any{n}
		}
	}
	if t.where != "" && col == t.keyCol().col {
		cond += " AND " + t.where
	}
	return cond, args, nil
}

// ident is a column's name quoted as SQL's standard quotes identifiers,
// which PostgreSQL, SQLite and MySQL in ANSI mode all read: DRF's token
// table has a column named key, a reserved word in MySQL.
func ident(col string) string { return `"` + col + `"` }

// keyString is a key of kind k as the import's progress records it and as
// m2mLists and object match an owner by: an integer in decimal, anything
// else as the driver gives it.
func keyString(v any, k kind) (string, error) {
	if k == kInt {
		n, err := toInt(v)
		return strconv.FormatInt(n, 10), err
	}
	str, ok := toString(v)
	if !ok {
		return "", fmt.Errorf("a key of type %T", v)
	}
	return str, nil
}

// q rewrites ? placeholders as $1, $2... for PostgreSQL.
func (s *Source) q(query string) string {
	if s.dialect != "postgres" {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// query runs a query of table and returns its rows as values.
func (s *Source) query(ctx context.Context, table, query string, args ...any) ([][]any, error) {
	rows, err := s.tx.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("djangodb: reading %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("djangodb: reading %s: %w", table, err)
		}
		if s.zone != nil && s.dialect != "postgres" {
			localTimes(vals, s.zone)
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("djangodb: reading %s: %w", table, err)
	}
	return out, nil
}

// m2mLists reads m's pairs for the owners (rows of t) after the key after
// up to hi: the targets of each owner, in order, by the owner's key
// (keyString).
func (s *Source) m2mLists(ctx context.Context, t *table, m m2m, after string, hi any) (map[string][]int64, error) {
	cond, args, err := afterKey(t, m.owner, after)
	if err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, m.table, "SELECT "+ident(m.owner)+", "+ident(m.target)+" FROM "+m.table+
		" WHERE "+cond+" AND "+ident(m.owner)+" <= ? ORDER BY "+ident(m.owner)+", "+ident(m.target), append(args, hi)...)
	if err != nil {
		return nil, err
	}
	lists := map[string][]int64{}
	for _, r := range rows {
		owner, err1 := keyString(r[0], t.pk.kind)
		target, err2 := toInt(r[1])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("djangodb: %s: a row that is not two ids", m.table)
		}
		lists[owner] = append(lists[owner], target)
	}
	return lists, nil
}

// object writes one row as a dumpdata object; more, when not nil, appends
// further fields given the row's primary key (keyString).
func object(t *table, cols []column, pk any, vals []any, more func(b []byte, owner string) []byte) (fixture.Object, error) {
	o := fixture.Object{Model: t.model}
	owner, err := keyString(pk, t.pk.kind)
	if err != nil {
		return o, fmt.Errorf("djangodb: %s: a primary key of type %T", t.name, pk)
	}
	switch t.pk.kind {
	case kInt:
		o.PK = []byte(owner)
	case kUUID: // dashed, as dumpdata writes a UUIDField
		if o.PK, err = appendValue(nil, kUUID, pk); err != nil {
			return o, fmt.Errorf("djangodb: %s: %w", t.name, err)
		}
	default:
		o.PK = appendString(nil, owner)
	}
	f := make([]byte, 0, 256)
	f = append(f, '{')
	for i, c := range cols {
		if i > 0 {
			f = append(f, ',')
		}
		f = appendString(f, c.field)
		f = append(f, ':')
		if f, err = appendValue(f, c.kind, vals[i]); err != nil {
			return o, fmt.Errorf("djangodb: %s %s: column %s: %w", t.name, pkText(t, o.PK), c.col, err)
		}
	}
	if more != nil {
		f = more(f, owner)
	}
	o.Fields = append(f, '}')
	return o, nil
}

// pkText is a primary key as an error may show it: never a DRF key or a
// knox digest.
func pkText(t *table, pk json.RawMessage) string {
	if t.pk.kind != kInt {
		return "(a row)"
	}
	return "id " + string(pk)
}

// appendValue writes v as dumpdata writes a value of kind k.
func appendValue(b []byte, k kind, v any) ([]byte, error) {
	if v == nil {
		return append(b, "null"...), nil
	}
	switch k {
	case kInt:
		n, err := toInt(v)
		if err != nil {
			return b, err
		}
		return strconv.AppendInt(b, n, 10), nil
	case kBool:
		switch x := v.(type) {
		case bool:
			return strconv.AppendBool(b, x), nil
		case int64: // SQLite's 0 or 1; MySQL's tinyint(1)
			return strconv.AppendBool(b, x != 0), nil
		case []byte: // MySQL's tinyint(1) read as text
			if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
				return strconv.AppendBool(b, n != 0), nil
			}
		}
		return b, fmt.Errorf("not a boolean (%T)", v)
	case kTime:
		t, err := toTime(v)
		if err != nil {
			return b, err
		}
		return appendTime(b, t), nil
	case kNatural:
		str, ok := toString(v)
		first, second, found := strings.Cut(str, ".")
		if !ok || !found {
			return b, fmt.Errorf("not a natural key (%T)", v)
		}
		b = append(b, '[')
		b = appendString(b, first)
		b = append(b, ',')
		b = appendString(b, second)
		return append(b, ']'), nil
	case kUserRef:
		str, ok := toString(v)
		switch {
		case ok && len(str) > 1 && str[0] == 'u':
			b = append(b, '[')
			b = appendString(b, str[1:])
			return append(b, ']'), nil
		case ok && str == "x":
			return b, errors.New("names a user that is not in the users' table")
		}
		return b, fmt.Errorf("not a user's natural key (%T)", v)
	case kUUID:
		str, ok := toString(v)
		if !ok {
			return b, fmt.Errorf("not a UUID (%T)", v)
		}
		if len(str) == 32 {
			if _, err := hex.DecodeString(str); err == nil {
				str = str[:8] + "-" + str[8:12] + "-" + str[12:16] + "-" + str[16:20] + "-" + str[20:]
			}
		}
		return appendString(b, str), nil
	}
	str, ok := toString(v)
	if !ok {
		return b, fmt.Errorf("not text (%T)", v)
	}
	return appendString(b, str), nil
}

// appendTime writes t as DjangoJSONEncoder does: ISO 8601 in UTC with
// "Z", the fraction cut to milliseconds and left out when the time has no
// microseconds (dumpdata loses the rest; so does the import, so that both
// paths store the same values).
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	b = append(b, '"')
	b = t.AppendFormat(b, "2006-01-02T15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		b = append(b, '.', byte('0'+us/100000), byte('0'+us/10000%10), byte('0'+us/1000%10))
	}
	return append(b, 'Z', '"')
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

func toInt(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case int32:
		return int64(x), nil
	case uint64: // MySQL's bigint unsigned (Django's PositiveBigIntegerField)
		if x > math.MaxInt64 {
			return 0, fmt.Errorf("an integer out of range (%d)", x)
		}
		return int64(x), nil
	case string:
		return strconv.ParseInt(x, 10, 64)
	case []byte:
		return strconv.ParseInt(string(x), 10, 64)
	}
	return 0, fmt.Errorf("not an integer (%T)", v)
}

func toString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	case [16]byte: // a PostgreSQL uuid, as some drivers give it
		return hex.EncodeToString(x[:]), true
	}
	return "", false
}

// localTimes reads the naive datetimes of a row (SQLite's and MySQL's
// columns have no zone; their drivers give the wall clock as UTC, or a
// string) as wall-clock times of zone, the project's TIME_ZONE without
// USE_TZ (Options.TimeZone). A value with an offset is left as it is.
func localTimes(vals []any, zone *time.Location) {
	for i, v := range vals {
		var t time.Time
		switch x := v.(type) {
		case time.Time:
			t = x
		case string, []byte:
			str, _ := toString(x)
			parsed := false
			for _, layout := range sqliteTimes {
				if strings.ContainsAny(layout, "Z") {
					continue // has an offset: an instant already
				}
				if p, err := time.Parse(layout, str); err == nil {
					t, parsed = p, true
					break
				}
			}
			if !parsed {
				continue
			}
		default:
			continue
		}
		vals[i] = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), zone)
	}
}

// sqliteTimes are the layouts Django's SQLite backend stores datetimes in
// (UTC and naive when USE_TZ is on), and the ISO forms a project may hold.
var sqliteTimes = []string{"2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02"}

func toTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x, nil
	case string, []byte:
		str, _ := toString(x)
		for _, layout := range sqliteTimes {
			if t, err := time.Parse(layout, str); err == nil {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("not a datetime: %q", str)
	}
	return time.Time{}, fmt.Errorf("not a datetime (%T)", v)
}
