package store

import (
	"bytes"
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
	looks := make([][]refreshLookup, len(rs)) // each rotation's keys; the first is the one read here
	for i, r := range rs {
		r.inSet, r.revoked, r.outcome, r.unknown = false, nil, nil, nil
		looks[i] = refreshLookups(r.hash)
		hashes[i] = looks[i][0].key
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
		ip     inPlace
		fexp   *time.Time
		user   *gatehouse.User
		access accessRow
	}
	byHash := map[string]*found{}
	for rows.Next() {
		f := &found{}
		var u joinedUser
		if err := scanRefresh(scanWith{rows, append(f.access.dest(), u.dest()...)}, &f.t, &f.fexp, &f.ip); err != nil {
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
	// Each rotation's token as presented (inPlace.present): the row's own,
	// or one its row rotated away from, which is a reuse or a grace and
	// leaves the set to the caller.
	olds := make([]*gatehouse.RefreshToken, len(rs))
	seenRow, seenFamily, seenAccess := map[int64]bool{}, map[string]bool{}, map[int64]bool{}
	for i := range rs {
		f := byHash[string(looks[i][0].key)]
		if f == nil {
			continue
		}
		t := f.t
		if !f.ip.present(&t, looks[i][0].verifier) {
			continue // not its row: the caller looks further
		}
		if t.Revoked != nil || seenRow[t.ID] || seenFamily[t.Family] {
			return nil
		}
		seenRow[t.ID], seenFamily[t.Family] = true, true
		if t.AccessTokenID != nil {
			if seenAccess[*t.AccessTokenID] {
				return nil
			}
			seenAccess[*t.AccessTokenID] = true
		}
		olds[i] = &t
	}

	var live []*setRotation
	var refused []*rotation
	for i, r := range rs {
		f, old := byHash[string(looks[i][0].key)], olds[i]
		if old == nil && len(looks[i]) > 1 {
			continue // perhaps stored under another of its keys: the caller's
		}
		if old == nil || old.ApplicationID != r.appID ||
			(old.Expires != nil && !r.now.Before(*old.Expires)) || (f.fexp != nil && !r.now.Before(*f.fexp)) {
			r.outcome = gatehouse.ErrInvalidGrant
			refused = append(refused, r)
			continue
		}
		rot := gatehouse.RefreshRotation{Old: *old, FamilyExpires: f.fexp, User: f.user, InPlace: rotatesInPlace(old)}
		at, rt, err := r.issue(rot)
		if err != nil {
			r.outcome = err
			refused = append(refused, r)
			continue
		}
		keepFamily(old, at, rt)
		if at.Created.IsZero() {
			at.Created = s.now()
		}
		if rt.Created.IsZero() {
			rt.Created = s.now()
		}
		p := &setRotation{r: r, old: *old, access: f.access, at: at, rt: rt, fexp: f.fexp}
		p.replace = old.AccessTokenID != nil && f.access.holds(at)
		p.inPlace = keepsRow(old, rt)
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
	inPlace bool      // rt takes old's row (keepsRow)
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
// own: the rows of split tokens rotated in place (ip: the new secret, the
// old one kept as the previous, the new token's scope and times, the row's
// access token), the other old tokens revoked (u, each at its own
// request's time), their access tokens given the new keys in place (ra)
// or deleted (d) and new ones inserted (ia), and the other new refresh
// tokens inserted pointing at them (r; joined on the access token's key).
// Its rows say what each part did: 'd' per deleted access token, 'a' and
// 'r' per new token, with their ids and keys. Its last row is the guard: a
// division by zero, which fails the statement and so undoes everything it
// wrote, unless it rotated every row in place and revoked every old token
// it was to, replaced every access token it was to and inserted every new
// refresh token.
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
	ip AS (
		UPDATE oauth_refresh_tokens t SET secret = v.s, previous_secret = t.secret, previous_expires = t.expires, rotated = v.at, scope = v.scope, created = v.created,
			expires = v.exp, auth_time = v.auth, access_token_id = a.id
		FROM unnest(?::bigint[], ?::bytea[], ?::bytea[], ?::bigint[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bytea[])
			AS v(id, old, s, at, scope, created, exp, auth, ah)
		JOIN a ON a.token_hash = v.ah
		WHERE t.id = v.id AND t.secret = v.old AND t.revoked IS NULL
		RETURNING t.id),
	r AS (INSERT INTO oauth_refresh_tokens (token_hash, access_token_id, user_id, application_id, scope, family, grant_id, created, expires, family_expires, auth_time, secret)
		SELECT x.h, a.id, x.uid, x.app, x.scope, x.fam, x.gid, x.created, x.exp, x.fexp, x.auth, x.sec
		FROM unnest(?::bytea[], ?::bytea[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bytea[])
			AS x(h, ah, uid, app, scope, fam, gid, created, exp, fexp, auth, sec)
		JOIN a ON a.token_hash = x.ah
		RETURNING id, token_hash)
	SELECT 'd', id, token_hash FROM d UNION ALL SELECT 'a', id, token_hash FROM a UNION ALL SELECT 'r', id, token_hash FROM r
	UNION ALL SELECT 'g', (1 / ((SELECT count(*) FROM u) = ?::bigint AND (SELECT count(*) FROM ra) = ?::bigint
		AND (SELECT count(*) FROM r) = ?::bigint AND (SELECT count(*) FROM ip) = ?::bigint)::int)::bigint, NULL::bytea`

// writeInPlaceSetSQL is writeRotationSetSQL for a set whose every
// rotation is in place with its access token replaced in place (the usual
// case: a client rotating a token gatehouse issued): the two updates
// alone, which PostgreSQL sets up for less than the statement of six
// parts (docs/performance.md, twenty-second and twenty-fourth rounds). The
// refresh tokens' rows already name their access tokens' rows.
const writeInPlaceSetSQL = `WITH ra AS (
		UPDATE oauth_access_tokens t SET token_hash = v.h, scope = v.scope, created = v.created, expires = v.exp
		FROM unnest(?::bigint[], ?::bytea[], ?::bytea[], ?::text[], ?::bigint[], ?::bigint[]) AS v(id, old, h, scope, created, exp)
		WHERE t.id = v.id AND t.token_hash = v.old
		RETURNING t.id),
	ip AS (
		UPDATE oauth_refresh_tokens t SET secret = v.s, previous_secret = t.secret, previous_expires = t.expires, rotated = v.at, scope = v.scope, created = v.created,
			expires = v.exp, auth_time = v.auth
		FROM unnest(?::bigint[], ?::bytea[], ?::bytea[], ?::bigint[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[])
			AS v(id, old, s, at, scope, created, exp, auth)
		WHERE t.id = v.id AND t.secret = v.old AND t.revoked IS NULL
		RETURNING t.id)
	SELECT (1 / ((SELECT count(*) FROM ra) = ?::bigint AND (SELECT count(*) FROM ip) = ?::bigint)::int)::bigint`

// replaceArrays are the arrays of a set statement's ra part: the access
// tokens given their new keys in place.
type replaceArrays struct {
	ids, created, expires []int64
	old, hash             [][]byte
	scope                 []string
}

func (a *replaceArrays) add(p *setRotation) {
	t := p.at
	a.ids, a.old, a.hash = append(a.ids, p.access.id.Int64), append(a.old, p.access.hash), append(a.hash, t.Hash)
	a.scope, a.created, a.expires = append(a.scope, t.Scope), append(a.created, micros(t.Created)), append(a.expires, micros(t.Expires))
}

func (a *replaceArrays) args() []any {
	return []any{a.ids, a.old, a.hash, a.scope, a.created, a.expires}
}

// inPlaceArrays are the arrays of a set statement's ip part: the rows of
// split tokens rotated in place, and (for writeRotationSetSQL, whose ip
// part joins the access tokens it wrote) the new access tokens' keys.
type inPlaceArrays struct {
	ids, nows, created     []int64
	old, secret, accessKey [][]byte
	scope                  []string
	expires, authTime      []*int64
}

func (a *inPlaceArrays) add(p *setRotation) {
	rt := p.rt
	a.ids, a.nows, a.created = append(a.ids, p.old.ID), append(a.nows, micros(p.r.now)), append(a.created, micros(rt.Created))
	a.old, a.secret, a.accessKey = append(a.old, p.old.Secret), append(a.secret, rt.Secret), append(a.accessKey, p.at.Hash)
	a.scope, a.expires, a.authTime = append(a.scope, rt.Scope), append(a.expires, microsPtr(rt.Expires)), append(a.authTime, microsPtr(rt.AuthTime))
}

func (a *inPlaceArrays) args(withAccess bool) []any {
	args := []any{a.ids, a.old, a.secret, a.nows, a.scope, a.created, a.expires, a.authTime}
	if withAccess {
		args = append(args, a.accessKey)
	}
	return args
}

// setWritten is a set write's answer from its statement's error: false
// (and no error) when the statement wrote nothing (wroteNothing); its
// rotations then run in the group's transaction, where one whose key
// clashes fails alone (gatehouse.ErrConflict) and the others are written.
// Any other error may have followed a commit whose reply was lost.
func (s *Store) setWritten(err error) (bool, error) {
	if s.wroteNothing(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// writeInPlaceSet writes live, every rotation of which is in place with
// its access token replaced (writeInPlaceSetSQL), as writeRotationSet.
func (s *Store) writeInPlaceSet(ctx context.Context, q querier, live []*setRotation) (bool, error) {
	var ra replaceArrays
	var ip inPlaceArrays
	for _, p := range live {
		ra.add(p)
		ip.add(p)
	}
	args := append(append(ra.args(), ip.args(false)...), len(live), len(live))
	ok, err := s.setWritten(s.runSetWrite(func() error {
		rows, err := q.QueryContext(ctx, s.q(writeInPlaceSetSQL), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() { // the guard's row: its division fails the statement, or it is 1
		}
		return rows.Err()
	}))
	if !ok {
		return false, err
	}
	for _, p := range live {
		p.at.ID, p.rt.ID = p.access.id.Int64, p.old.ID
		p.rt.AccessTokenID = &p.at.ID
		p.r.revoked = gatehouse.RevokedAccess{p.access.hash}
	}
	return true, nil
}

// writeRotationSet writes live (writeRotationSetSQL, or writeInPlaceSetSQL
// when it can) and sets each rotation's revoked and its tokens' ids; false
// when the guard failed (the statement wrote nothing).
func (s *Store) writeRotationSet(ctx context.Context, q querier, live []*setRotation) (bool, error) {
	if !slices.ContainsFunc(live, func(p *setRotation) bool { return !p.inPlace || !p.replace }) {
		return s.writeInPlaceSet(ctx, q, live)
	}
	n := len(live)
	var (
		ids, nows          []int64
		ra                 replaceArrays
		ip                 inPlaceArrays
		deleteIDs          []int64
		hs                 [][]byte
		uids, gids         []*int64
		apps               []int64
		scopes, fams       []string
		created, expires   []int64
		byHash             = make(map[string]*setRotation, 2*n)
		rhs, rahs, rsecs   [][]byte
		ruids, rgids       []*int64
		rapps              []int64
		rscopes, rfams     []string
		rcreated           []int64
		rexp, rfexp, rauth []*int64
	)
	for _, p := range live {
		t := p.at
		if p.replace {
			ra.add(p)
		} else {
			if p.access.id.Valid {
				deleteIDs = append(deleteIDs, p.access.id.Int64)
			}
			hs, uids, gids, apps = append(hs, t.Hash), append(uids, t.UserID), append(gids, t.GrantID), append(apps, t.ApplicationID)
			scopes, fams = append(scopes, t.Scope), append(fams, t.Family)
			created, expires = append(created, micros(t.Created)), append(expires, micros(t.Expires))
		}
		byHash[string(t.Hash)] = p
		rt := p.rt
		if p.inPlace {
			ip.add(p)
			continue
		}
		ids, nows = append(ids, p.old.ID), append(nows, micros(p.r.now))
		rhs, rahs, rsecs = append(rhs, rt.Hash), append(rahs, t.Hash), append(rsecs, rt.Secret)
		ruids, rgids, rapps = append(ruids, rt.UserID), append(rgids, rt.GrantID), append(rapps, rt.ApplicationID)
		rscopes, rfams, rcreated = append(rscopes, rt.Scope), append(rfams, rt.Family), append(rcreated, micros(rt.Created))
		rexp, rfexp, rauth = append(rexp, microsPtr(rt.Expires)), append(rfexp, microsPtr(p.fexp)), append(rauth, microsPtr(rt.AuthTime))
		byHash[string(rt.Hash)] = p
	}
	args := append([]any{ids, nows}, ra.args()...)
	args = append(args, deleteIDs, hs, uids, apps, scopes, fams, gids, created, expires)
	args = append(args, ip.args(true)...)
	args = append(args, rhs, rahs, ruids, rapps, rscopes, rfams, rgids, rcreated, rexp, rfexp, rauth, rsecs,
		len(ids), len(ra.ids), len(ids), len(ip.ids))
	gone := map[int64][]byte{}
	err := s.runSetWrite(func() error {
		rows, err := q.QueryContext(ctx, s.q(writeRotationSetSQL), args...)
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
	if ok, err := s.setWritten(err); !ok {
		return false, err
	}
	for i, p := range live {
		if p.inPlace {
			p.rt.ID = p.old.ID
		}
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
	rows, err := q.QueryContext(ctx, s.q("SELECT id, token_hash, access_token_id, secret FROM oauth_refresh_tokens WHERE token_hash = ANY(?::bytea[])"), hashes)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	found := 0
	for rows.Next() {
		var id int64
		var h, sec []byte
		var access sql.NullInt64
		if err := rows.Scan(&id, &h, &access, &sec); err != nil {
			return false, err
		}
		// A row rotated in place holds the new secret once written, and a
		// new row its own: a row found under a new token's key without it
		// is another's (a selector drawn twice), not this write's.
		if p := byHash[string(h)]; p != nil && access.Valid && bytes.Equal(sec, p.rt.Secret) {
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

// wroteNothing reports a set statement's error that says it wrote
// nothing (each is a transaction of its own), so that no read of whether
// it committed need follow: its guard failed, or a new token's key was
// taken (two split tokens that drew the same selector in the same
// millisecond).
func (s *Store) wroteNothing(err error) bool {
	return isGuardFailure(err) || s.d.isConflict(err)
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
