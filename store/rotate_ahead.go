package store

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// applyAheadSet writes, on PostgreSQL, the group's rotations whose new
// pair was made ahead (gatehouse.RefreshAhead) in one statement and one
// round trip, before the set's read: each rotation whose token passes the
// checks RefreshAhead lists, read in the same statement, has its refresh
// token's row rotated in place and its access token's row given the new
// key, and its old row comes back to call issue with. The rotations it
// leaves (a token not found so, presented twice in the group, or the
// statement's guard failed) go on to applyRotationSet and the group's
// transaction, whose reads see what it wrote: a token presented twice is
// then a replay, as the second of two lone rotations.
//
// A statement that fails is followed by a read of whether it committed
// (aheadSetCommitted): the rotations it wrote are answered from that
// read, those it did not go on; when that read fails too, every rotation
// the statement might have written is left unknown (answered with the
// error, never run again). A rotation answered from that read does not
// know its old access token's key (the row now holds the new one): this
// replica's authentication cache drops it at its bound, as the other
// replicas' do.
func (s *Store) applyAheadSet(ctx context.Context, q querier, again func() (querier, error), rs []*rotation) error {
	byKey := map[string]*rotation{}
	type sent struct {
		key, ver []byte
		r        *rotation
	}
	var sends []sent
	for _, r := range rs {
		if r.ahead == nil {
			continue
		}
		sel, ver, _, split := secret.SplitRef(r.hash)
		if !split || byKey[string(sel)] != nil {
			continue // presented twice: the second goes on, and finds the first's rotation
		}
		r.inSet, r.revoked, r.outcome, r.unknown = false, nil, nil, nil
		byKey[string(sel)] = r
		sends = append(sends, sent{sel, ver, r})
	}
	if len(sends) == 0 {
		return nil
	}
	// Rows in key order: two statements that share a token (presented to
	// two replicas at once) lock its rows in one order.
	slices.SortFunc(sends, func(x, y sent) int { return bytes.Compare(x.key, y.key) })
	var a aheadArrays
	for _, x := range sends {
		a.add(x.key, x.ver, x.r)
	}
	var done []aheadRow
	err := s.runSetWrite(func() error {
		rows, err := q.QueryContext(ctx, s.q(aheadSetSQL), a.args()...)
		if err != nil {
			return err
		}
		done, err = scanAheadRows(rows)
		return err
	})
	if s.wroteNothing(err) {
		return nil // every rotation goes on
	}
	if err != nil {
		werr := s.conflict(err)
		if s.checkSetWrite(again, func(q querier) error {
			cctx, cancel := checkContext(ctx)
			defer cancel()
			var err error
			done, err = s.aheadSetCommitted(cctx, q, &a)
			return err
		}) != nil {
			for _, r := range byKey {
				r.unknown = werr
			}
			return werr
		}
	}
	for i := range done {
		d := &done[i]
		r := byKey[string(d.old.Hash)]
		if r == nil {
			return fmt.Errorf("store: a rotation written ahead came back under a key not sent")
		}
		s.settleAhead(r, d)
	}
	return nil
}

// settleAhead answers r, whose pair d's statement wrote: issue builds the
// answer and must return the pair written.
func (s *Store) settleAhead(r *rotation, d *aheadRow) {
	r.inSet = true
	at, rt, err := r.issue(gatehouse.RefreshRotation{Old: d.old, FamilyExpires: d.fexp, User: d.user, InPlace: true})
	if err != nil && d.readBack {
		// Read back after a lost reply: the user may have changed since
		// the write (deactivated, a new password), and the refusal is the
		// answer now; the pair written ended with that change.
		r.outcome = err
		return
	}
	if err == nil && !r.ahead.Matches(&d.old, at, rt) {
		err = fmt.Errorf("store: the pair issued is not the one written ahead")
	}
	if err != nil {
		// The rotation is written: a refusal now would leave the client
		// without the tokens it was given. RefreshAhead's checks are
		// issue's, so this is a defect, answered as one.
		r.outcome = fmt.Errorf("store: rotation written ahead, then refused: %v", err) // not unwrapped: no refusal
		return
	}
	s.groups.ahead.Add(1)
	at.ID, rt.ID = d.accessID, d.old.ID
	keepFamily(&d.old, at, rt)
	rt.AccessTokenID = &at.ID
	if d.oldAccess != nil {
		r.revoked = gatehouse.RevokedAccess{d.oldAccess}
	}
}

// aheadArrays are the arrays of aheadSetSQL: one element per rotation.
type aheadArrays struct {
	keys, verifiers, access, secrets [][]byte
	apps, nows, accessExp, created   []int64
	refreshExp                       []*int64
}

func (a *aheadArrays) add(sel, ver []byte, r *rotation) {
	x := r.ahead
	a.keys, a.verifiers, a.access, a.secrets = append(a.keys, sel), append(a.verifiers, ver), append(a.access, x.AccessHash), append(a.secrets, x.Secret)
	a.apps, a.nows, a.accessExp, a.created = append(a.apps, r.appID), append(a.nows, micros(r.now)), append(a.accessExp, micros(x.AccessExpires)), append(a.created, micros(x.Created))
	a.refreshExp = append(a.refreshExp, microsPtr(x.RefreshExpires))
}

func (a *aheadArrays) args() []any {
	return []any{a.keys, a.verifiers, a.apps, a.nows, a.access, a.accessExp, a.secrets, a.created, a.refreshExp}
}

// aheadUserCols are userCols as cur names them in aheadSetSQL.
var aheadUserCols = func() string {
	parts := strings.Split(userCols, ", ")
	for i, c := range parts {
		parts[i] = "u." + c + " AS u_" + c
	}
	return strings.Join(parts, ", ")
}()

// aheadSetSQL rotates, in one statement that is its own transaction, every
// token of its arrays that passes gatehouse.RefreshAhead's checks (cur:
// read in the statement's snapshot, with its access token and its user):
// the refresh token's row rotated in place as rotateInPlaceSQL does, its
// scope and auth time kept, and its access token's row given the new key,
// the old token's scope and the new times. It returns cur's rows, the old
// tokens as they were, with the old access token's key and the user. Each
// update checks again what it replaces (the presented secret, not revoked;
// the old access key), and the guard, a division by zero in every row,
// fails the statement, writing nothing, unless both updated every row of
// cur: a concurrent change since the snapshot (another replica's rotation
// of the same token, a revocation) sends every rotation on to the read.
var aheadSetSQL = `WITH cur AS (
		SELECT ` + qualified("r", refreshCols) + `, a.token_hash AS old_access, ` + aheadUserCols + `,
			v.vnow, v.ah, v.aexp, v.sec, v.ncreated, v.rexp
		FROM unnest(?::bytea[], ?::bytea[], ?::bigint[], ?::bigint[], ?::bytea[], ?::bigint[], ?::bytea[], ?::bigint[], ?::bigint[])
			AS v(key, ver, app, vnow, ah, aexp, sec, ncreated, rexp)
		JOIN oauth_refresh_tokens r ON r.token_hash = v.key
		JOIN oauth_access_tokens a ON a.id = r.access_token_id
		LEFT JOIN users u ON u.id = r.user_id
		WHERE r.secret = v.ver AND r.revoked IS NULL AND r.application_id = v.app
			AND (r.expires IS NULL OR r.expires > v.vnow) AND (r.family_expires IS NULL OR r.family_expires > v.vnow)
			AND a.application_id = r.application_id AND a.family = r.family
			AND a.user_id IS NOT DISTINCT FROM r.user_id AND a.grant_id IS NOT DISTINCT FROM r.grant_id
			AND (r.user_id IS NULL OR (u.is_active AND r.created >= u.auth_epoch))),
	ra AS (
		UPDATE oauth_access_tokens t SET token_hash = cur.ah, scope = cur.scope, created = cur.ncreated, expires = cur.aexp
		FROM cur WHERE t.id = cur.access_token_id AND t.token_hash = cur.old_access
		RETURNING t.id),
	ip AS (
		UPDATE oauth_refresh_tokens t SET secret = cur.sec, previous_secret = t.secret, previous_expires = t.expires, rotated = cur.vnow,
			created = cur.ncreated, expires = cur.rexp
		FROM cur WHERE t.id = cur.id AND t.secret = cur.secret AND t.revoked IS NULL
		RETURNING t.id),
	n AS (SELECT count(*) AS n FROM cur)
	SELECT ` + refreshCols + `, old_access, ` + prefixedCols("u_", userCols) + `,
		(SELECT 1 / ((SELECT count(*) FROM ra) = n.n AND (SELECT count(*) FROM ip) = n.n)::int FROM n)
	FROM cur`

// aheadCommittedSQL reads, after aheadSetSQL failed, the rows it would
// have rotated: those of its keys whose current secret is the one written
// ahead and whose previous one the one presented. The old token is read
// back from the row (its secret and expiry kept as the previous ones);
// its creation is not kept, so the row's, the new token's, stands in (the
// statement checked the old one's against its user's epoch).
var aheadCommittedSQL = `SELECT r.id, r.token_hash, r.access_token_id, r.user_id, r.application_id, r.scope, r.family, r.grant_id, r.created,
		r.previous_expires, r.revoked, r.family_expires, r.auth_time, r.previous_secret, NULL::bytea, NULL::bigint, NULL::bigint,
		NULL::bytea, ` + qualified("u", userCols) + `, 1
	FROM unnest(?::bytea[], ?::bytea[], ?::bytea[]) AS v(key, ver, sec)
	JOIN oauth_refresh_tokens r ON r.token_hash = v.key AND r.secret = v.sec AND r.previous_secret = v.ver
	LEFT JOIN users u ON u.id = r.user_id`

// prefixedCols is cols (a comma-separated list) each prefixed with p.
func prefixedCols(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, c := range parts {
		parts[i] = p + c
	}
	return strings.Join(parts, ", ")
}

// aheadSetCommitted reads whether the failed aheadSetSQL committed, and
// the rows it rotated when it did.
func (s *Store) aheadSetCommitted(ctx context.Context, q querier, a *aheadArrays) ([]aheadRow, error) {
	rows, err := q.QueryContext(ctx, s.q(aheadCommittedSQL), a.keys, a.verifiers, a.secrets)
	if err != nil {
		return nil, err
	}
	done, err := scanAheadRows(rows)
	for i := range done {
		done[i].readBack = true
	}
	return done, err
}

// aheadRow is one row of aheadSetSQL (or aheadCommittedSQL): an old token
// rotated ahead.
type aheadRow struct {
	old       gatehouse.RefreshToken
	fexp      *time.Time
	user      *gatehouse.User
	accessID  int64
	oldAccess []byte // nil when read back after the write (aheadCommittedSQL)
	readBack  bool   // read by aheadCommittedSQL
}

// scanAheadRows reads aheadSetSQL's (or aheadCommittedSQL's) rows and
// closes them.
func scanAheadRows(rows *sql.Rows) ([]aheadRow, error) {
	defer rows.Close()
	var out []aheadRow
	for rows.Next() {
		var d aheadRow
		var ip inPlace
		var u joinedUser
		var guard int64
		dest := append(append([]any{&d.oldAccess}, u.dest()...), &guard)
		if err := scanRefresh(scanWith{rows, dest}, &d.old, &d.fexp, &ip); err != nil {
			return nil, err
		}
		d.old.Secret = ip.secret
		if d.old.AccessTokenID == nil || d.old.Secret == nil {
			return nil, fmt.Errorf("store: a rotation written ahead has no access token or secret")
		}
		d.accessID = *d.old.AccessTokenID
		d.user = u.user()
		out = append(out, d)
	}
	return out, rows.Err()
}
