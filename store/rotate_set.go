package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehouse-auth/gatehouse"
)

// applyRotationSet runs a group's OAuth rotations on PostgreSQL outside a
// transaction, in two statements over arrays for the whole group: one
// reads every token with its access token and its user, and one (a
// transaction of its own) revokes the old tokens, gives their access
// tokens the new keys in place (or deletes them and inserts new ones),
// and inserts the new refresh tokens. It does so only when the rotations
// are independent of each other: distinct tokens of distinct families,
// none already revoked (no reuse, no grace), distinct access tokens. Then
// the order they run in changes nothing, and each has exactly its lone
// outcome; those it settles get inSet. Refusals (unknown, expired,
// another client's, issue's error) write nothing, as alone, and are
// settled too. Otherwise it writes nothing and settles none: the caller
// applies them one by one in a transaction. A token not found under its
// key is left to the caller (it looks under the legacy key too,
// tokenKeys).
//
// The read takes no lock: the write is guarded instead. Its statement
// fails, writing nothing, unless it revoked every old token (none was
// revoked or rotated since the read) and found every access token it
// replaces under its old key (none was revoked or cleaned up since), and
// the rotations then go to the caller's transaction, whose locking reads
// see what changed (a concurrent rotation of the same token makes this
// one a reuse, as alone). A lone rotation reads the user without a lock
// as well.
//
// again gives a new session after an error. The read that fails is tried
// once more in one; a write that fails is followed there by a read of
// whether it committed (rotationSetCommitted).
func (s *Store) applyRotationSet(ctx context.Context, q querier, again func() (querier, error), rs []*rotation) error {
	hashes := make([][]byte, len(rs))
	for i, r := range rs {
		r.inSet, r.revoked, r.outcome, r.unknown = false, nil, nil, nil
		hashes[i] = r.hash
	}
	rows, err := q.QueryContext(ctx, s.q(readRefreshSetSQL), hashes)
	if err != nil {
		if q, err = again(); err != nil {
			return err
		}
		if rows, err = q.QueryContext(ctx, s.q(readRefreshSetSQL), hashes); err != nil {
			return err
		}
	}
	type found struct {
		t      gatehouse.RefreshToken
		fexp   *time.Time
		user   *gatehouse.User
		access accessRow
	}
	byHash := map[string]*found{}
	for rows.Next() {
		f := &found{}
		var u joinedUser
		if err := scanRefresh(scanWith{rows, append(f.access.dest(), u.dest()...)}, &f.t, &f.fexp); err != nil {
			rows.Close()
			return err
		}
		f.user = u.user()
		byHash[string(f.t.Hash)] = f
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	seenHash, seenFamily, seenAccess := map[string]bool{}, map[string]bool{}, map[int64]bool{}
	for _, r := range rs {
		f := byHash[string(r.hash)]
		if f == nil {
			continue
		}
		if f.t.Revoked != nil || seenHash[string(r.hash)] || seenFamily[f.t.Family] {
			return nil
		}
		seenHash[string(r.hash)], seenFamily[f.t.Family] = true, true
		if f.t.AccessTokenID != nil {
			if seenAccess[*f.t.AccessTokenID] {
				return nil
			}
			seenAccess[*f.t.AccessTokenID] = true
		}
	}

	var live []*setRotation
	var refused []*rotation
	for _, r := range rs {
		f := byHash[string(r.hash)]
		if f == nil && len(tokenKeys(r.hash)) > 1 {
			continue // perhaps stored under its legacy key: the caller's
		}
		if f == nil || f.t.ApplicationID != r.appID ||
			(f.t.Expires != nil && !r.now.Before(*f.t.Expires)) || (f.fexp != nil && !r.now.Before(*f.fexp)) {
			r.outcome = gatehouse.ErrInvalidGrant
			refused = append(refused, r)
			continue
		}
		rot := gatehouse.RefreshRotation{Old: f.t, FamilyExpires: f.fexp, User: f.user}
		at, rt, err := r.issue(rot)
		if err != nil {
			r.outcome = err
			refused = append(refused, r)
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
		p := &setRotation{r: r, old: f.t, access: f.access, at: at, rt: rt, fexp: f.fexp}
		p.replace = f.t.AccessTokenID != nil && f.access.holds(at)
		live = append(live, p)
	}
	if len(live) > 0 {
		// Rows in id order: two sets' statements that share a token lock
		// it in one order, rather than deadlock until PostgreSQL ends one.
		slices.SortFunc(live, func(a, b *setRotation) int { return cmp.Compare(a.old.ID, b.old.ID) })
		ok, err := s.writeRotationSet(ctx, q, live)
		if err != nil {
			if s.checkSetWrite(again, func(q querier) (err error) {
				cctx, cancel := checkContext(ctx)
				defer cancel()
				ok, err = s.rotationSetCommitted(cctx, q, live)
				return err
			}) == nil {
				err = nil
			}
		}
		if err != nil || !ok {
			for _, r := range rs {
				r.revoked, r.outcome = nil, nil
			}
			for _, p := range live {
				p.r.unknown = err // nil when the write is known not to have committed
			}
			return err
		}
	}
	for _, p := range live {
		p.r.inSet = true
	}
	for _, r := range refused {
		r.inSet = true
	}
	return nil
}

// setRotation is one rotation of a set being written.
type setRotation struct {
	r       *rotation
	old     gatehouse.RefreshToken
	access  accessRow // old's access token as read
	replace bool      // old's access token becomes the new one in place
	at      *gatehouse.AccessToken
	rt      *gatehouse.RefreshToken
	fexp    *time.Time
}

// accessRow is a refresh token's access token read with it (a LEFT JOIN:
// id is not valid when there is none).
type accessRow struct {
	id, app, user, grant sql.NullInt64
	hash                 []byte
	family               sql.NullString
}

func (a *accessRow) dest() []any {
	return []any{&a.id, &a.hash, &a.family, &a.app, &a.user, &a.grant}
}

// holds reports whether the row can become at in place (as replaceAccess
// decides alone): the same user, application, family and grant, so that
// a family's revocation still finds it (an access token imported from
// Django has a family of its own).
func (a *accessRow) holds(at *gatehouse.AccessToken) bool {
	same := func(n sql.NullInt64, id *int64) bool { return n.Valid == (id != nil) && (id == nil || n.Int64 == *id) }
	return a.id.Valid && a.app.Valid && a.app.Int64 == at.ApplicationID && a.family.String == at.Family &&
		same(a.user, at.UserID) && same(a.grant, at.GrantID)
}

// readRefreshSetSQL reads the refresh tokens with the keys given, each
// with its access token and its user.
var readRefreshSetSQL = "SELECT " + qualified("r", refreshCols) +
	", a.id, a.token_hash, a.family, a.application_id, a.user_id, a.grant_id, " + qualified("u", userCols) +
	" FROM oauth_refresh_tokens r LEFT JOIN oauth_access_tokens a ON a.id = r.access_token_id" +
	" LEFT JOIN users u ON u.id = r.user_id WHERE r.token_hash = ANY(?::bytea[])"

// writeRotationSetSQL writes a set in one statement, a transaction of its
// own: the old tokens revoked (each at its own request's time), their
// access tokens given the new keys in place (ra) or deleted (d) and new
// ones inserted (ia), and the new refresh tokens inserted pointing at
// them (joined on the access token's key). Its rows say what each part
// did: 'd' per deleted access token, 'a' and 'r' per new token, with
// their ids and keys. Its last row is the guard: a division by zero, which
// fails the statement and so undoes everything it wrote, unless it
// revoked every old token, replaced every access token it was to and
// inserted every new refresh token.
var writeRotationSetSQL = `WITH u AS (
		UPDATE oauth_refresh_tokens t SET revoked = v.at, access_token_id = NULL
		FROM unnest(?::bigint[], ?::bigint[]) AS v(id, at) WHERE t.id = v.id AND t.revoked IS NULL
		RETURNING t.id),
	ra AS (
		UPDATE oauth_access_tokens t SET token_hash = v.h, scope = v.scope, created = v.created, expires = v.exp
		FROM unnest(?::bigint[], ?::bytea[], ?::bytea[], ?::text[], ?::bigint[], ?::bigint[]) AS v(id, old, h, scope, created, exp)
		WHERE t.id = v.id AND t.token_hash = v.old
		RETURNING t.id, t.token_hash),
	d AS (DELETE FROM oauth_access_tokens WHERE id = ANY(?::bigint[]) RETURNING id, token_hash),
	ia AS (` + accessInsert + `SELECT * FROM unnest(?::bytea[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[])
		RETURNING id, token_hash),
	a AS (SELECT id, token_hash FROM ra UNION ALL SELECT id, token_hash FROM ia),
	r AS (INSERT INTO oauth_refresh_tokens (token_hash, access_token_id, user_id, application_id, scope, family, grant_id, created, expires, family_expires, auth_time)
		SELECT x.h, a.id, x.uid, x.app, x.scope, x.fam, x.gid, x.created, x.exp, x.fexp, x.auth
		FROM unnest(?::bytea[], ?::bytea[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[])
			AS x(h, ah, uid, app, scope, fam, gid, created, exp, fexp, auth)
		JOIN a ON a.token_hash = x.ah
		RETURNING id, token_hash)
	SELECT 'd', id, token_hash FROM d UNION ALL SELECT 'a', id, token_hash FROM a UNION ALL SELECT 'r', id, token_hash FROM r
	UNION ALL SELECT 'g', (1 / ((SELECT count(*) FROM u) = ?::bigint AND (SELECT count(*) FROM ra) = ?::bigint
		AND (SELECT count(*) FROM r) = ?::bigint)::int)::bigint, NULL::bytea`

// writeRotationSet writes live (writeRotationSetSQL) and sets each
// rotation's revoked and its tokens' ids; false when the guard failed
// (the statement wrote nothing).
func (s *Store) writeRotationSet(ctx context.Context, q querier, live []*setRotation) (bool, error) {
	n := len(live)
	var (
		ids, nows              = make([]int64, n), make([]int64, n)
		repIDs, deleteIDs      []int64
		repOld, repHash        [][]byte
		repScope               []string
		repCreated, repExpires []int64
		hs                     [][]byte
		uids, gids             []*int64
		apps                   []int64
		scopes, fams           []string
		created, expires       []int64
		byHash                 = make(map[string]*setRotation, 2*n)
		rhs, rahs              = make([][]byte, n), make([][]byte, n)
		ruids, rgids           = make([]*int64, n), make([]*int64, n)
		rapps                  = make([]int64, n)
		rscopes, rfams         = make([]string, n), make([]string, n)
		rcreated               = make([]int64, n)
		rexp, rfexp, rauth     = make([]*int64, n), make([]*int64, n), make([]*int64, n)
	)
	for i, p := range live {
		ids[i], nows[i] = p.old.ID, micros(p.r.now)
		t := p.at
		if p.replace {
			repIDs, repOld, repHash = append(repIDs, p.access.id.Int64), append(repOld, p.access.hash), append(repHash, t.Hash)
			repScope, repCreated, repExpires = append(repScope, t.Scope), append(repCreated, micros(t.Created)), append(repExpires, micros(t.Expires))
		} else {
			if p.access.id.Valid {
				deleteIDs = append(deleteIDs, p.access.id.Int64)
			}
			hs, uids, gids, apps = append(hs, t.Hash), append(uids, t.UserID), append(gids, t.GrantID), append(apps, t.ApplicationID)
			scopes, fams = append(scopes, t.Scope), append(fams, t.Family)
			created, expires = append(created, micros(t.Created)), append(expires, micros(t.Expires))
		}
		rt := p.rt
		rhs[i], rahs[i], ruids[i], rgids[i], rapps[i], rscopes[i], rfams[i] = rt.Hash, t.Hash, rt.UserID, rt.GrantID, rt.ApplicationID, rt.Scope, rt.Family
		rcreated[i], rexp[i], rfexp[i], rauth[i] = micros(rt.Created), microsPtr(rt.Expires), microsPtr(p.fexp), microsPtr(rt.AuthTime)
		byHash[string(t.Hash)], byHash[string(rt.Hash)] = p, p
	}
	gone := map[int64][]byte{}
	err := s.runSetWrite(func() error {
		rows, err := q.QueryContext(ctx, s.q(writeRotationSetSQL),
			ids, nows,
			repIDs, repOld, repHash, repScope, repCreated, repExpires,
			deleteIDs,
			hs, uids, apps, scopes, fams, gids, created, expires,
			rhs, rahs, ruids, rapps, rscopes, rfams, rgids, rcreated, rexp, rfexp, rauth,
			n, len(repIDs), n)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var kind string
			var id sql.NullInt64
			var h []byte
			if err := rows.Scan(&kind, &id, &h); err != nil {
				return err
			}
			switch kind {
			case "d":
				gone[id.Int64] = h
			case "a":
				if p := byHash[string(h)]; p != nil {
					p.at.ID = id.Int64
				}
			case "r":
				if p := byHash[string(h)]; p != nil {
					p.rt.ID = id.Int64
				}
			}
		}
		return rows.Err()
	})
	if isGuardFailure(err) {
		return false, nil
	}
	if err != nil {
		return false, s.conflict(err)
	}
	for i, p := range live {
		if p.at.ID == 0 || p.rt.ID == 0 {
			return false, fmt.Errorf("store: grouped token pair %d not returned", i)
		}
		p.rt.AccessTokenID = &p.at.ID
		switch {
		case p.replace:
			p.r.revoked = gatehouse.RevokedAccess{p.access.hash}
		case p.access.id.Valid:
			if h, ok := gone[p.access.id.Int64]; ok {
				p.r.revoked = gatehouse.RevokedAccess{h}
			}
		}
	}
	return true, nil
}

// rotationSetCommitted reads whether the write of live committed after
// all, its statement having failed: whether its new refresh tokens are
// stored (a statement commits all of them or none). When they are, it
// sets what writeRotationSet would have: the tokens' ids and each
// rotation's revoked access token (the one read with the old token: the
// statement gave it the new key or deleted it).
func (s *Store) rotationSetCommitted(ctx context.Context, q querier, live []*setRotation) (bool, error) {
	hashes := make([][]byte, len(live))
	byHash := make(map[string]*setRotation, len(live))
	for i, p := range live {
		hashes[i] = p.rt.Hash
		byHash[string(p.rt.Hash)] = p
	}
	rows, err := q.QueryContext(ctx, s.q("SELECT id, token_hash, access_token_id FROM oauth_refresh_tokens WHERE token_hash = ANY(?::bytea[])"), hashes)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	found := 0
	for rows.Next() {
		var id int64
		var h []byte
		var access sql.NullInt64
		if err := rows.Scan(&id, &h, &access); err != nil {
			return false, err
		}
		if p := byHash[string(h)]; p != nil && access.Valid {
			p.rt.ID, p.at.ID = id, access.Int64
			found++
		}
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	switch found {
	case 0:
		return false, nil
	case len(live):
	default:
		return false, fmt.Errorf("store: %d of %d refresh tokens of one statement stored", found, len(live))
	}
	for _, p := range live {
		p.rt.AccessTokenID = &p.at.ID
		if p.access.id.Valid {
			p.r.revoked = gatehouse.RevokedAccess{p.access.hash}
		}
	}
	return true, nil
}

// isGuardFailure reports the failure of writeRotationSetSQL's guard.
func isGuardFailure(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "22012" // division_by_zero
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
