package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// applyRotationSet runs a group of rotations on PostgreSQL with one
// statement per step for the whole group instead of seven round trips per
// rotation: read every token (locked, in id order), read their users,
// then revoke the old tokens, delete their access tokens and insert the
// new pairs, each step one statement over arrays. It does so only when the
// rotations are independent of each other: distinct tokens of distinct
// families, none already revoked (no reuse, no grace). Then the order they
// run in changes nothing, and each has exactly its lone outcome. Otherwise
// it returns false having written nothing, and the caller applies them
// one by one in the same transaction. Refusals (unknown, expired, another
// client's, issue's error) write nothing, as alone.
func (s *Store) applyRotationSet(ctx context.Context, tx *sql.Tx, rs []*rotation) (bool, error) {
	hashes := make([][]byte, len(rs))
	for i, r := range rs {
		hashes[i] = r.hash
	}
	rows, err := tx.QueryContext(ctx, s.q("SELECT "+refreshCols+" FROM oauth_refresh_tokens WHERE token_hash = ANY(?::bytea[]) ORDER BY id FOR UPDATE"), hashes)
	if err != nil {
		return false, err
	}
	type found struct {
		t    gatehouse.RefreshToken
		fexp *time.Time
	}
	byHash := map[string]*found{}
	for rows.Next() {
		f := &found{}
		if err := scanRefresh(rows, &f.t, &f.fexp); err != nil {
			rows.Close()
			return false, err
		}
		byHash[string(f.t.Hash)] = f
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	seenHash, seenFamily := map[string]bool{}, map[string]bool{}
	var userIDs []int64
	for _, r := range rs {
		f := byHash[string(r.hash)]
		if f == nil {
			continue
		}
		if f.t.Revoked != nil || seenHash[string(r.hash)] || seenFamily[f.t.Family] {
			return false, nil
		}
		seenHash[string(r.hash)], seenFamily[f.t.Family] = true, true
		if f.t.UserID != nil {
			userIDs = append(userIDs, *f.t.UserID)
		}
	}
	users := map[int64]*gatehouse.User{}
	if len(userIDs) > 0 {
		rows, err := tx.QueryContext(ctx, s.q("SELECT "+userCols+" FROM users WHERE id = ANY(?::bigint[])"), userIDs)
		if err != nil {
			return false, err
		}
		for rows.Next() {
			u := &gatehouse.User{}
			if err := scanUser(rows, u); err != nil {
				rows.Close()
				return false, err
			}
			users[u.ID] = u
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return false, err
		}
	}

	type pair struct {
		r    *rotation
		old  gatehouse.RefreshToken
		at   *gatehouse.AccessToken
		rt   *gatehouse.RefreshToken
		fexp *time.Time
	}
	var live []pair
	for _, r := range rs {
		r.revoked, r.outcome = nil, nil
		f := byHash[string(r.hash)]
		if f == nil || f.t.ApplicationID != r.appID ||
			(f.t.Expires != nil && !r.now.Before(*f.t.Expires)) || (f.fexp != nil && !r.now.Before(*f.fexp)) {
			r.outcome = gatehouse.ErrInvalidGrant
			continue
		}
		rot := gatehouse.RefreshRotation{Old: f.t, FamilyExpires: f.fexp}
		if f.t.UserID != nil {
			if u := users[*f.t.UserID]; u != nil {
				cp := *u
				rot.User = &cp
			}
		}
		at, rt, err := r.issue(rot)
		if err != nil {
			r.outcome = err
			continue
		}
		at.Family, rt.Family = f.t.Family, f.t.Family
		at.GrantID, rt.GrantID = f.t.GrantID, f.t.GrantID
		if at.Created.IsZero() {
			at.Created = s.now()
		}
		if rt.Created.IsZero() {
			rt.Created = s.now()
		}
		live = append(live, pair{r: r, old: f.t, at: at, rt: rt, fexp: f.fexp})
	}
	if len(live) == 0 {
		return true, nil
	}

	// Revoke the old tokens, each at its own request's time.
	ids, nows := make([]int64, len(live)), make([]int64, len(live))
	var accessIDs []int64
	for i, p := range live {
		ids[i], nows[i] = p.old.ID, micros(p.r.now)
		if p.old.AccessTokenID != nil {
			accessIDs = append(accessIDs, *p.old.AccessTokenID)
		}
	}
	res, err := tx.ExecContext(ctx, s.q(`UPDATE oauth_refresh_tokens t SET revoked = u.at
		FROM unnest(?::bigint[], ?::bigint[]) AS u(id, at) WHERE t.id = u.id AND t.revoked IS NULL`), ids, nows)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n != int64(len(live)) {
		return false, fmt.Errorf("store: %d of %d grouped refresh tokens revoked", n, len(live))
	}
	gone := map[int64][]byte{}
	if len(accessIDs) > 0 {
		rows, err := tx.QueryContext(ctx, s.q("DELETE FROM oauth_access_tokens WHERE id = ANY(?::bigint[]) RETURNING id, token_hash"), accessIDs)
		if err != nil {
			return false, err
		}
		for rows.Next() {
			var id int64
			var h []byte
			if err := rows.Scan(&id, &h); err != nil {
				rows.Close()
				return false, err
			}
			gone[id] = h
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return false, err
		}
	}

	// The new access tokens, then the refresh tokens pointing at them.
	n := len(live)
	var (
		hs                 = make([][]byte, n)
		uids, gids         = make([]*int64, n), make([]*int64, n)
		apps               = make([]int64, n)
		scopes, fams       = make([]string, n), make([]string, n)
		created, expires   = make([]int64, n), make([]int64, n)
		atByHash           = make(map[string]*gatehouse.AccessToken, n)
		rtByHash           = make(map[string]*gatehouse.RefreshToken, n)
		rhs                = make([][]byte, n)
		atIDs              = make([]int64, n)
		ruids, rgids       = make([]*int64, n), make([]*int64, n)
		rapps              = make([]int64, n)
		rscopes, rfams     = make([]string, n), make([]string, n)
		rcreated           = make([]int64, n)
		rexp, rfexp, rauth = make([]*int64, n), make([]*int64, n), make([]*int64, n)
	)
	for i, p := range live {
		t := p.at
		hs[i], uids[i], gids[i], apps[i], scopes[i], fams[i] = t.Hash, t.UserID, t.GrantID, t.ApplicationID, t.Scope, t.Family
		created[i], expires[i] = micros(t.Created), micros(t.Expires)
		atByHash[string(t.Hash)] = t
	}
	rows, err = tx.QueryContext(ctx, s.q(accessInsert+`SELECT * FROM unnest(?::bytea[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[])
		RETURNING id, token_hash`), hs, uids, apps, scopes, fams, gids, created, expires)
	if err != nil {
		return false, s.conflict(err)
	}
	if err := scanIDs(rows, func(id int64, h []byte) {
		if t := atByHash[string(h)]; t != nil {
			t.ID = id
		}
	}); err != nil {
		return false, s.conflict(err)
	}
	for i, p := range live {
		if p.at.ID == 0 {
			return false, fmt.Errorf("store: grouped access token %d not returned", i)
		}
		t := p.rt
		t.AccessTokenID = &p.at.ID
		rhs[i], atIDs[i], ruids[i], rgids[i], rapps[i], rscopes[i], rfams[i] = t.Hash, p.at.ID, t.UserID, t.GrantID, t.ApplicationID, t.Scope, t.Family
		rcreated[i], rexp[i], rfexp[i], rauth[i] = micros(t.Created), microsPtr(t.Expires), microsPtr(p.fexp), microsPtr(t.AuthTime)
		rtByHash[string(t.Hash)] = t
	}
	rows, err = tx.QueryContext(ctx, s.q(`INSERT INTO oauth_refresh_tokens (token_hash, access_token_id, user_id, application_id, scope, family, grant_id, created, expires, family_expires, auth_time)
		SELECT * FROM unnest(?::bytea[], ?::bigint[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[])
		RETURNING id, token_hash`), rhs, atIDs, ruids, rapps, rscopes, rfams, rgids, rcreated, rexp, rfexp, rauth)
	if err != nil {
		return false, s.conflict(err)
	}
	if err := scanIDs(rows, func(id int64, h []byte) {
		if t := rtByHash[string(h)]; t != nil {
			t.ID = id
		}
	}); err != nil {
		return false, s.conflict(err)
	}
	for _, p := range live {
		if p.rt.ID == 0 {
			return false, fmt.Errorf("store: a grouped refresh token was not returned")
		}
		if p.old.AccessTokenID != nil {
			if h, ok := gone[*p.old.AccessTokenID]; ok {
				p.r.revoked = gatehouse.RevokedAccess{h}
			}
		}
	}
	return true, nil
}

// scanIDs reads (id, token_hash) rows into each, and closes them.
func scanIDs(rows *sql.Rows, each func(id int64, hash []byte)) error {
	defer rows.Close()
	for rows.Next() {
		var id int64
		var h []byte
		if err := rows.Scan(&id, &h); err != nil {
			return err
		}
		each(id, h)
	}
	return rows.Err()
}

// microsPtr is t in microseconds, nil for nil (an array element NULL).
func microsPtr(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	v := micros(*t)
	return &v
}
