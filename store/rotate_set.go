package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// applyRotationSet runs a group of rotations on PostgreSQL with two
// statements over arrays for the whole group instead of six round trips
// per rotation: read every token with its user (locked, in id order),
// then one statement revokes the old tokens, deletes their access tokens
// and inserts the new pairs. It does so only when the
// rotations are independent of each other: distinct tokens of distinct
// families, none already revoked (no reuse, no grace). Then the order they
// run in changes nothing, and each has exactly its lone outcome. Otherwise
// it returns false having written nothing, and the caller applies them
// one by one in the same transaction. Refusals (unknown, expired, another
// client's, issue's error) write nothing, as alone. A token not found
// under its key is left to the caller to run alone (r.alone), which looks
// it up under its legacy key too (tokenKeys).
func (s *Store) applyRotationSet(ctx context.Context, tx *sql.Tx, rs []*rotation) (bool, error) {
	hashes := make([][]byte, len(rs))
	for i, r := range rs {
		hashes[i] = r.hash
	}
	rows, err := tx.QueryContext(ctx, s.q(lockRefreshSetSQL), hashes)
	if err != nil {
		return false, err
	}
	type found struct {
		t    gatehouse.RefreshToken
		fexp *time.Time
		user *gatehouse.User
	}
	byHash := map[string]*found{}
	for rows.Next() {
		f := &found{}
		var u joinedUser
		if err := scanRefresh(scanWith{rows, u.dest()}, &f.t, &f.fexp); err != nil {
			rows.Close()
			return false, err
		}
		f.user = u.user()
		byHash[string(f.t.Hash)] = f
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	seenHash, seenFamily := map[string]bool{}, map[string]bool{}
	for _, r := range rs {
		f := byHash[string(r.hash)]
		if f == nil {
			continue
		}
		if f.t.Revoked != nil || seenHash[string(r.hash)] || seenFamily[f.t.Family] {
			return false, nil
		}
		seenHash[string(r.hash)], seenFamily[f.t.Family] = true, true
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
		r.revoked, r.outcome, r.alone = nil, nil, false
		f := byHash[string(r.hash)]
		if f == nil && len(tokenKeys(r.hash)) > 1 {
			// Perhaps stored under its legacy key: the caller runs it
			// alone, after the set (an order lone rotations could have had).
			r.alone = true
			continue
		}
		if f == nil || f.t.ApplicationID != r.appID ||
			(f.t.Expires != nil && !r.now.Before(*f.t.Expires)) || (f.fexp != nil && !r.now.Before(*f.fexp)) {
			r.outcome = gatehouse.ErrInvalidGrant
			continue
		}
		rot := gatehouse.RefreshRotation{Old: f.t, FamilyExpires: f.fexp, User: f.user}
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

	// One statement writes the group: the old tokens revoked (each at its
	// own request's time), their access tokens deleted, the new access
	// tokens inserted and the refresh tokens pointing at them (joined on
	// the access token's hash). Its rows say what each part did: "u" per
	// revoked token, "d" per deleted access token, "a" and "r" per new
	// token, with their ids.
	n := len(live)
	var (
		ids, nows          = make([]int64, n), make([]int64, n)
		accessIDs          []int64
		hs                 = make([][]byte, n)
		uids, gids         = make([]*int64, n), make([]*int64, n)
		apps               = make([]int64, n)
		scopes, fams       = make([]string, n), make([]string, n)
		created, expires   = make([]int64, n), make([]int64, n)
		pairs              = make(map[string]*pair, 2*n)
		rhs                = make([][]byte, n)
		ruids, rgids       = make([]*int64, n), make([]*int64, n)
		rapps              = make([]int64, n)
		rscopes, rfams     = make([]string, n), make([]string, n)
		rcreated           = make([]int64, n)
		rexp, rfexp, rauth = make([]*int64, n), make([]*int64, n), make([]*int64, n)
	)
	for i := range live {
		p := &live[i]
		ids[i], nows[i] = p.old.ID, micros(p.r.now)
		if p.old.AccessTokenID != nil {
			accessIDs = append(accessIDs, *p.old.AccessTokenID)
		}
		t := p.at
		hs[i], uids[i], gids[i], apps[i], scopes[i], fams[i] = t.Hash, t.UserID, t.GrantID, t.ApplicationID, t.Scope, t.Family
		created[i], expires[i] = micros(t.Created), micros(t.Expires)
		rt := p.rt
		rhs[i], ruids[i], rgids[i], rapps[i], rscopes[i], rfams[i] = rt.Hash, rt.UserID, rt.GrantID, rt.ApplicationID, rt.Scope, rt.Family
		rcreated[i], rexp[i], rfexp[i], rauth[i] = micros(rt.Created), microsPtr(rt.Expires), microsPtr(p.fexp), microsPtr(rt.AuthTime)
		pairs[string(t.Hash)], pairs[string(rt.Hash)] = p, p
	}
	rows, err = tx.QueryContext(ctx, s.q(`WITH u AS (
			UPDATE oauth_refresh_tokens t SET revoked = v.at, access_token_id = NULL
			FROM unnest(?::bigint[], ?::bigint[]) AS v(id, at) WHERE t.id = v.id AND t.revoked IS NULL
			RETURNING t.id),
		d AS (DELETE FROM oauth_access_tokens WHERE id = ANY(?::bigint[]) RETURNING id, token_hash),
		a AS (`+accessInsert+`SELECT * FROM unnest(?::bytea[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[])
			RETURNING id, token_hash),
		r AS (INSERT INTO oauth_refresh_tokens (token_hash, access_token_id, user_id, application_id, scope, family, grant_id, created, expires, family_expires, auth_time)
			SELECT x.h, a.id, x.uid, x.app, x.scope, x.fam, x.gid, x.created, x.exp, x.fexp, x.auth
			FROM unnest(?::bytea[], ?::bytea[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[])
				AS x(h, ah, uid, app, scope, fam, gid, created, exp, fexp, auth)
			JOIN a ON a.token_hash = x.ah
			RETURNING id, token_hash)
		SELECT 'u', id, NULL::bytea FROM u UNION ALL SELECT 'd', id, token_hash FROM d
		UNION ALL SELECT 'a', id, token_hash FROM a UNION ALL SELECT 'r', id, token_hash FROM r`),
		ids, nows, accessIDs,
		hs, uids, apps, scopes, fams, gids, created, expires,
		rhs, hs, ruids, rapps, rscopes, rfams, rgids, rcreated, rexp, rfexp, rauth)
	if err != nil {
		return false, s.conflict(err)
	}
	revokedN := 0
	gone := map[int64][]byte{}
	err = func() error {
		defer rows.Close()
		for rows.Next() {
			var kind string
			var id int64
			var h []byte
			if err := rows.Scan(&kind, &id, &h); err != nil {
				return err
			}
			switch kind {
			case "u":
				revokedN++
			case "d":
				gone[id] = h
			case "a":
				if p := pairs[string(h)]; p != nil {
					p.at.ID = id
				}
			case "r":
				if p := pairs[string(h)]; p != nil {
					p.rt.ID = id
				}
			}
		}
		return rows.Err()
	}()
	if err != nil {
		return false, s.conflict(err)
	}
	if revokedN != n {
		return false, fmt.Errorf("store: %d of %d grouped refresh tokens revoked", revokedN, n)
	}
	for i := range live {
		p := &live[i]
		if p.at.ID == 0 || p.rt.ID == 0 {
			return false, fmt.Errorf("store: grouped token pair %d not returned", i)
		}
		p.rt.AccessTokenID = &p.at.ID
		if p.old.AccessTokenID != nil {
			if h, ok := gone[*p.old.AccessTokenID]; ok {
				p.r.revoked = gatehouse.RevokedAccess{h}
			}
		}
	}
	return true, nil
}

// lockRefreshSetSQL reads and locks the refresh tokens with the keys
// given, with their users, in id order (so that two groups lock rows in
// one order).
var lockRefreshSetSQL = "SELECT " + qualified("r", refreshCols) + ", " + qualified("u", userCols) +
	" FROM oauth_refresh_tokens r LEFT JOIN users u ON u.id = r.user_id WHERE r.token_hash = ANY(?::bytea[]) ORDER BY r.id FOR UPDATE OF r"

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
