package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// Credentials of every kind, for administrators: listing (never a secret)
// and revocation by user, client, kind or id.

// credentialTable is how one kind is stored: its table, the columns that
// name it, its user, its client and its times, and how a live row is told
// from an ended one.
type credentialTable struct {
	kind, table, id, label string
	client                 string // the application id column, "" for none
	expires, revoked       string // columns, "" for none
	created                string
	end                    string // how RevokeCredentials ends a row: "delete", or the column to set
	intID                  bool
	// session: the row also ends when its user's auth epoch passes its
	// creation (a password change, deactivation, "log out everywhere"),
	// and it has a last_seen and a source.
	session bool
}

// sessionEpoch is the condition a browser session's record meets while its
// user's auth epoch has not passed it (gatehouse.User.Accepts).
const sessionEpoch = "t.created >= (SELECT u2.auth_epoch FROM users u2 WHERE u2.id = t.user_id)"

var credentialTables = []credentialTable{
	{kind: gatehouse.CredentialDRF, table: "drf_tokens", id: "t.id", label: "t.prefix || ' ' || t.name", expires: "t.expires", created: "t.created", end: "delete", intID: true},
	{kind: gatehouse.CredentialKnox, table: "knox_tokens", id: "t.token_key", label: "t.token_key", expires: "t.expiry", created: "t.created", end: "delete"},
	{kind: gatehouse.CredentialJWTRefresh, table: "jwt_tokens", id: "t.id", label: "COALESCE(t.current_jti, t.jti)", expires: "COALESCE(t.current_expires, t.expires)", revoked: "t.blacklisted_at", created: "t.created", end: "blacklisted_at", intID: true},
	{kind: gatehouse.CredentialOAuthAccess, table: "oauth_access_tokens", id: "t.id", label: "t.scope", client: "t.application_id", expires: "t.expires", created: "t.created", end: "delete", intID: true},
	{kind: gatehouse.CredentialOAuthRefresh, table: "oauth_refresh_tokens", id: "t.id", label: "t.scope", client: "t.application_id", expires: "t.expires", revoked: "t.revoked", created: "t.created", end: "revoked", intID: true},
	{kind: gatehouse.CredentialSession, table: "sessions", id: "t.id", label: "t.user_agent", expires: "t.expires", revoked: "t.revoked", created: "t.created", end: "revoked", intID: true, session: true},
}

// where is the condition f puts on c's rows (alias t) and its arguments;
// ok is false when f selects none of c's rows.
func (c credentialTable) where(f gatehouse.CredentialFilter, now time.Time, live bool) (string, []any, bool) {
	if len(f.Kinds) > 0 && !slices.Contains(f.Kinds, c.kind) {
		return "", nil, false
	}
	conds, args := []string{"1 = 1"}, []any{}
	if f.UserID != 0 {
		conds, args = append(conds, "t.user_id = ?"), append(args, f.UserID)
	}
	if f.ApplicationID != 0 {
		if c.client == "" {
			return "", nil, false
		}
		conds, args = append(conds, c.client+" = ?"), append(args, f.ApplicationID)
	}
	if f.ID != "" {
		if c.intID {
			n, err := strconv.ParseInt(f.ID, 10, 64)
			if err != nil {
				return "", nil, false
			}
			conds, args = append(conds, c.id+" = ?"), append(args, n)
		} else {
			conds, args = append(conds, c.id+" = ?"), append(args, f.ID)
		}
	}
	if f.Ended && f.EndedOnly {
		ended := []string{}
		if c.expires != "" {
			ended, args = append(ended, "("+c.expires+" IS NOT NULL AND "+c.expires+" <= ?)"), append(args, micros(now))
		}
		if c.revoked != "" {
			ended = append(ended, c.revoked+" IS NOT NULL")
		}
		if c.session {
			ended = append(ended, "NOT ("+sessionEpoch+")")
		}
		if len(ended) == 0 {
			return "", nil, false
		}
		conds = append(conds, "("+strings.Join(ended, " OR ")+")")
	}
	if live {
		if c.expires != "" {
			conds, args = append(conds, "("+c.expires+" IS NULL OR "+c.expires+" > ?)"), append(args, micros(now))
		}
		if c.revoked != "" {
			conds = append(conds, c.revoked+" IS NULL")
		}
		if c.session {
			conds = append(conds, sessionEpoch)
		}
	}
	return strings.Join(conds, " AND "), args, true
}

// ListCredentials lists what f selects, newest first within each kind.
func (s *Store) ListCredentials(ctx context.Context, f gatehouse.CredentialFilter, now time.Time) (_ []gatehouse.CredentialInfo, err error) {
	defer s.classified(&err)
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	out := []gatehouse.CredentialInfo{}
	for _, c := range credentialTables {
		cond, args, ok := c.where(f, now, !f.Ended)
		if !ok {
			continue
		}
		client, revoked, expires := "NULL", "NULL", "NULL"
		if c.client != "" {
			client = "a.client_id"
		}
		if c.revoked != "" {
			revoked = c.revoked
		}
		if c.session {
			// A session its user's auth epoch passed ended then.
			revoked = "COALESCE(t.revoked, (SELECT u2.auth_epoch FROM users u2 WHERE u2.id = t.user_id AND u2.auth_epoch > t.created))"
		}
		if c.expires != "" {
			expires = c.expires
		}
		seen, source := "NULL", "NULL"
		if c.session {
			seen, source = "t.last_seen", "t.source"
		}
		join := ""
		if c.client != "" {
			join = " LEFT JOIN oauth_applications a ON a.id = " + c.client
		}
		q := "SELECT CAST(" + c.id + " AS TEXT), t.user_id, u.username, " + client + ", " + c.label + ", " + c.created + ", " + expires + ", " + revoked + ", " + seen + ", " + source +
			" FROM " + c.table + " t LEFT JOIN users u ON u.id = t.user_id" + join + " WHERE " + cond +
			" ORDER BY " + c.created + " DESC, " + c.id + " DESC LIMIT ? OFFSET ?"
		rows, err := s.db.QueryContext(ctx, s.q(q), append(args, limit, max(0, f.Offset))...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var in gatehouse.CredentialInfo
			var uid, exp, rev, seen sql.NullInt64
			var username, clientID, label, source sql.NullString
			var created int64
			if err := rows.Scan(&in.ID, &uid, &username, &clientID, &label, &created, &exp, &rev, &seen, &source); err != nil {
				rows.Close()
				return nil, err
			}
			in.Kind, in.UserID, in.Username, in.ClientID, in.Label = c.kind, uid.Int64, username.String, clientID.String, strings.TrimSpace(label.String)
			in.Created, in.Expires, in.Revoked = fromMicros(created), fromNullMicros(exp), fromNullMicros(rev)
			in.LastSeen, in.Source = fromNullMicros(seen), source.String
			out = append(out, in)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RevokeCredentials ends every live credential f selects, in one
// transaction.
func (s *Store) RevokeCredentials(ctx context.Context, f gatehouse.CredentialFilter, now time.Time) (_ int64, _ gatehouse.RevokedAccess, err error) {
	defer s.classified(&err)
	if f.ID != "" && len(f.Kinds) != 1 {
		return 0, nil, errors.New("store: revoking by id needs exactly one kind")
	}
	var total int64
	var revoked gatehouse.RevokedAccess
	err = s.tx(ctx, func(tx *sql.Tx) error {
		total, revoked = 0, nil
		for _, c := range credentialTables {
			cond, args, ok := c.where(f, now, true)
			if !ok {
				continue
			}
			sub := "SELECT t.id FROM " + c.table + " t WHERE " + cond
			if !c.intID {
				sub = "SELECT t.digest FROM " + c.table + " t WHERE " + cond
			}
			switch {
			case c.kind == gatehouse.CredentialOAuthAccess:
				gone, err := s.deleteAccessWhere(ctx, tx, "id IN ("+sub+")", args...)
				if err != nil {
					return err
				}
				total += int64(len(gone))
				revoked = append(revoked, gone...)
			case c.kind == gatehouse.CredentialOAuthRefresh:
				// Their access tokens go first, then the refresh tokens are marked.
				gone, err := s.deleteAccessWhere(ctx, tx, "id IN (SELECT t.access_token_id FROM oauth_refresh_tokens t WHERE "+cond+")", args...)
				if err != nil {
					return err
				}
				revoked = append(revoked, gone...)
				res, err := tx.ExecContext(ctx, s.q("UPDATE oauth_refresh_tokens SET revoked = ?"+endFamily+" WHERE id IN ("+sub+")"),
					append([]any{micros(now), micros(now), micros(now)}, args...)...)
				if err != nil {
					return err
				}
				n, _ := res.RowsAffected()
				total += n
			case c.end == "delete":
				key := "id"
				if !c.intID {
					key = "digest"
				}
				res, err := tx.ExecContext(ctx, s.q("DELETE FROM "+c.table+" WHERE "+key+" IN ("+sub+")"), args...)
				if err != nil {
					return err
				}
				n, _ := res.RowsAffected()
				total += n
			default:
				res, err := tx.ExecContext(ctx, s.q("UPDATE "+c.table+" SET "+c.end+" = ? WHERE id IN ("+sub+")"), append([]any{micros(now)}, args...)...)
				if err != nil {
					return err
				}
				n, _ := res.RowsAffected()
				total += n
			}
		}
		return nil
	})
	return total, revoked, err
}

// CountCredentials counts what f selects, by kind.
func (s *Store) CountCredentials(ctx context.Context, f gatehouse.CredentialFilter, now time.Time) (_ map[string]int64, err error) {
	defer s.classified(&err)
	out := map[string]int64{}
	for _, c := range credentialTables {
		cond, args, ok := c.where(f, now, !f.Ended)
		if !ok {
			continue
		}
		var n int64
		if err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM "+c.table+" t WHERE "+cond), args...).Scan(&n); err != nil {
			return nil, err
		}
		out[c.kind] = n
	}
	return out, nil
}

// CountGrants counts the application's unused, unexpired authorization
// codes and device grants.
func (s *Store) CountGrants(ctx context.Context, applicationID int64, now time.Time) (_ int64, err error) {
	defer s.classified(&err)
	var n int64
	err = s.db.QueryRowContext(ctx, s.q(`SELECT
		(SELECT COUNT(*) FROM oauth_grants WHERE application_id = ? AND used_at IS NULL AND expires > ?) +
		(SELECT COUNT(*) FROM oauth_device_grants WHERE application_id = ? AND redeemed_at IS NULL AND expires > ?)`),
		applicationID, micros(now), applicationID, micros(now)).Scan(&n)
	return n, err
}
