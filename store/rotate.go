package store

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehouse-auth/gatehouse"
)

// Refresh-token rotations (RotateRefreshToken, and simplejwt's
// RotateRefresh), grouped: concurrent rotations run inside one
// transaction (txGroups), so that they share one commit; on PostgreSQL a
// group of independent OAuth rotations also shares its statements
// (applyRotationSet, rotate_set.go). Before grouping, a rotation was a
// transaction of its own: on SQLite each waited for the one write lock in
// the busy handler's sleeps (a p99 of 58 ms at 16 connections) and wrote
// the WAL frames of the same pages again; on PostgreSQL each waited for
// its own WAL flush.
//
// The outcome of each rotation is exactly that of a lone one: its reads
// see the rotations before it in the group (two presentations of one
// token in a group: the second is a reuse, and revokes the family), and
// every caller returns only after the transaction holding its rotation
// committed. A rotation that is refused (unknown, expired, another
// client's, issue's error) wrote nothing; a reuse's family revocation
// commits with the group. A database error aborts the group, whose
// rotations then run again one transaction each, so that each caller gets
// its own answer; a rotation a set statement already committed is settled
// and never runs again.
//
// On PostgreSQL the set paths run before the group's transaction, each
// as one statement that is its own transaction (groupWriter.sets): the
// OAuth rotations whose pair was made ahead are one statement that reads
// and writes them (applyAheadSet, rotate_ahead.go), the others a read and
// a guarded write, two round trips, and simplejwt's one, instead of the
// same inside BEGIN and COMMIT (four and three round trips:
// docs/performance.md, fourteenth round). What they leave (a reuse, a
// token presented twice, one never recorded, a set whose tokens changed
// between its read and its write) runs one rotation after the other in
// the group's transaction, as before.

// rotation is one RotateRefreshToken call.
type rotation struct {
	hash  []byte
	appID int64
	now   time.Time
	grace time.Duration
	ahead *gatehouse.RefreshAhead // may be nil
	issue func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error)

	revoked gatehouse.RevokedAccess
	outcome error // the rotation's answer: nil, ErrInvalidGrant, *TokenReuse, issue's error
	inSet   bool  // applyRotationSet settled it: outcome and revoked are final
	// unknown is the error of a set write that failed when whether it
	// committed could not be read either: the rotation is answered with
	// it and never run again, which would take the set's own commit for a
	// reuse and revoke the family.
	unknown error
}

// maxGroup bounds a group: its transaction holds the row locks of every
// token in it until the commit.
const maxGroup = 32

// txGroups runs the short write transactions of concurrent callers (the
// rotations of OAuth and simplejwt refresh tokens) together, one group
// per transaction, on its writers' goroutines.
type txGroups struct {
	s    *Store
	reqs chan *groupedTx // unbuffered: a request sent is a request answered
	// rots takes the rotations (OAuth and simplejwt); on PostgreSQL a
	// writer of their own serves it (rotationWriters), elsewhere it is
	// reqs.
	rots chan *groupedTx
	stop chan struct{}
	done chan struct{}

	grouped  atomic.Int64 // requests committed in groups of more than one (for tests)
	together atomic.Int64 // rotations the set paths ran, OAuth and simplejwt (for tests)
	ahead    atomic.Int64 // OAuth rotations written ahead (applyAheadSet; for tests)
}

// groupedTx is one caller's part of a group: apply runs it inside the
// group's transaction. apply returns only a database error (after which
// the transaction is rolled back) and keeps the caller's answer itself; it
// may run twice (the group's transaction failed, then its own), so it
// sets that answer afresh each time.
type groupedTx struct {
	apply func(context.Context, *sql.Tx) error
	// lost is the error of a group transaction's COMMIT: the commit may
	// have happened, so the request is answered with it and never run
	// again (a run would find its own write and take it for a replay).
	lost error
	rot  *rotation    // set for an OAuth rotation, which a group may run with others (applyRotationSet)
	jwt  *jwtRotation // set for a simplejwt rotation, likewise (applyJWTRotationSet)
	// deadline is the caller's (zero: none). The work of a group ends
	// settleMargin before its earliest caller's deadline, its statements
	// cancelled in PostgreSQL, so that no write commits after its caller
	// was answered that the database did not answer in time (groupContext).
	deadline time.Time
	expired  bool // the deadline had passed before the group began: not run
	err      error
	done     chan struct{} // closed when err and apply's answer are final
}

// settled reports whether a set statement committed r's rotation (or
// refused it without writing), or left it unknown whether it did: its
// answer is final and apply never runs.
func (r *groupedTx) settled() bool {
	return r.unknown() != nil || (r.rot != nil && r.rot.inSet) || (r.jwt != nil && r.jwt.inSet)
}

// unknown is the error of the set write or the COMMIT that left it unknown
// whether r's write committed; nil otherwise.
func (r *groupedTx) unknown() error {
	switch {
	case r.lost != nil:
		return r.lost
	case r.rot != nil:
		return r.rot.unknown
	case r.jwt != nil:
		return r.jwt.unknown
	}
	return nil
}

// groupWriters is how many groups run at once: on SQLite one (it has
// one writer anyway); on PostgreSQL two for the code redemptions, whose
// group is a transaction of several round trips, each mostly waiting
// (in-process, BenchmarkOAuthRefresh before the set statements: 1, 2, 4
// and 8 writers took 1.23, 0.99, 0.97 and 1.18 ms per rotation), and
// rotationWriters for the rotations.
func groupWriters(dialect string) int {
	if dialect == "postgres" {
		return 2
	}
	return 1
}

// rotationWriters is how many writers serve the rotations on PostgreSQL
// alone: one. A group of rotations is mostly one statement of its own
// (the set paths), and one writer makes larger groups of them: 202-240
// µs a rotation in-process against 221-291 with two writers shared with
// the redemptions (docs/performance.md, twenty-sixth round).
const rotationWriters = 1

func newTxGroups(s *Store, writers int) *txGroups {
	g := &txGroups{s: s, reqs: make(chan *groupedTx), stop: make(chan struct{}), done: make(chan struct{})}
	g.rots = g.reqs
	var wg sync.WaitGroup
	if s.d.dollar {
		g.rots = make(chan *groupedTx)
		for range rotationWriters {
			wg.Go(func() { g.loop(g.rots) })
		}
	}
	for range writers {
		wg.Go(func() { g.loop(g.reqs) })
	}
	go func() { wg.Wait(); close(g.done) }()
	return g
}

func (g *txGroups) close() {
	close(g.stop)
	<-g.done
}

// run has apply run in a group's transaction and returns when that
// committed (nil), with the database error that failed it, or when ctx
// ends first (then apply's writes may still commit, like an answer lost on
// its way; the caller must not read apply's answer).
func (g *txGroups) run(ctx context.Context, apply func(context.Context, *sql.Tx) error) error {
	return g.send(ctx, &groupedTx{apply: apply, done: make(chan struct{})})
}

// rotate runs the OAuth rotation r in a group.
func (g *txGroups) rotate(ctx context.Context, r *rotation) error {
	return g.send(ctx, &groupedTx{apply: func(ctx context.Context, tx *sql.Tx) error { return g.s.applyRotation(ctx, tx, r) },
		rot: r, done: make(chan struct{})})
}

// rotateJWT runs the simplejwt rotation r in a group.
func (g *txGroups) rotateJWT(ctx context.Context, r *jwtRotation) error {
	return g.send(ctx, &groupedTx{apply: func(ctx context.Context, tx *sql.Tx) error { return g.s.applyJWTRotation(ctx, tx, r) },
		jwt: r, done: make(chan struct{})})
}

// send hands r to a writer and returns its answer. A caller whose
// deadline passes while its group runs still waits, up to settleWait, for
// the group's outcome: the group stops before that deadline
// (groupContext), so the answer is the truth (committed, or refused and
// written nothing) rather than a timeout after which the write commits
// and the client's retry is taken for a replay of its own token. A caller
// that is cancelled (its client went away) returns at once.
func (g *txGroups) send(ctx context.Context, r *groupedTx) error {
	if err := g.s.faulted(); err != nil {
		return err
	}
	r.deadline, _ = ctx.Deadline()
	reqs := g.reqs
	if r.rot != nil || r.jwt != nil {
		reqs = g.rots
	}
	select {
	case reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-g.stop:
		return errClosed
	}
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ctx.Err()
	}
	t := time.NewTimer(settleWait)
	defer t.Stop()
	select {
	case <-r.done:
		return r.err
	case <-t.C:
		return ctx.Err()
	}
}

// groupTimeout bounds one attempt at a group's transaction, so that a
// frozen database fails it instead of holding the writer forever; a
// group whose callers have deadlines ends sooner (groupContext). One
// caller's cancellation must not fail the others: no caller's context is
// used, only their deadlines.
const groupTimeout = 30 * time.Second

// settleMargin is how long before its earliest caller's deadline a group's
// work ends, and settleWait how long past its deadline a caller waits for
// its group's outcome: enough for PostgreSQL to act on the cancel request
// and answer (the pool's context handler, openPostgres), so that a caller
// is never answered a timeout for a write that then commits.
const (
	settleMargin = 250 * time.Millisecond
	settleWait   = 2 * time.Second
)

// groupContext is the context of a group's work for callers whose earliest
// deadline is until (zero: none): it ends settleMargin before until, or
// after groupTimeout, whichever comes first.
func groupContext(until time.Time) (context.Context, context.CancelFunc) {
	if !until.IsZero() {
		if end := until.Add(-settleMargin); time.Until(end) < groupTimeout {
			return context.WithDeadline(context.Background(), end)
		}
	}
	return context.WithTimeout(context.Background(), groupTimeout)
}

// earliest is the earliest deadline of the batch's callers (zero: none
// has one).
func earliest(batch []*groupedTx) time.Time {
	var first time.Time
	for _, r := range batch {
		if !r.deadline.IsZero() && (first.IsZero() || r.deadline.Before(first)) {
			first = r.deadline
		}
	}
	return first
}

// late reports whether r's deadline is too near for any work to be done
// for it: its group would be stopped before it began.
func (r *groupedTx) late() bool {
	return !r.deadline.IsZero() && time.Until(r.deadline) <= settleMargin
}

// groupWriter is one of txGroups' writers. On PostgreSQL it keeps a
// session of its own (conn) whose sequential scans are off: every
// statement of a group finds its rows by an index at any table size (ids,
// hashes, families, grants), and the plans of statements over arrays that
// were cached while the tables were small (a new database, or before
// autovacuum's next ANALYZE) scanned them whole: measured in the
// benchmark's first seconds, 333 blocks and 1 ms per group for the
// revocation and 0.8 ms for the locking read, against 0.14 and 0.05 ms
// with their indexes. (Planning each run instead, plan_cache_mode =
// force_custom_plan, was a quarter of PostgreSQL's CPU in the OAuth
// refresh case; SET LOCAL in each group's transaction was one round trip
// more per group, docs/performance.md, thirteenth round.)
type groupWriter struct {
	g    *txGroups
	conn *sql.Conn // PostgreSQL: the session, nil until the first group and after a failed one
}

// inTx runs fn in one transaction, ended settleMargin before until, the
// earliest deadline of its callers, or after groupTimeout (groupContext).
//
// On SQLite the transaction's statements run under a context that cannot
// end: for one that can, modernc.org/sqlite starts a goroutine per
// statement to interrupt it (38,500 in 2 s of the OAuth refresh case, about
// a tenth of the writer's CPU; docs/performance.md, thirteenth round).
// SQLite's statements here are point reads and writes by index and its
// lock is waited for up to the busy timeout; the write gate is still
// waited for under the timeout. On PostgreSQL the timeout stays on the
// statements: it is what ends a round trip to a server that stopped
// answering.
//
// An error of the COMMIT itself (fn returned nil) leaves it unknown
// whether the transaction committed: a reply lost after the commit looks
// the same as a commit refused. It comes back as *commitUnknown.
func (w *groupWriter) inTx(until time.Time, fn func(context.Context, *sql.Tx) error) error {
	ctx, cancel := groupContext(until)
	defer cancel()
	s := w.g.s
	fnCtx, begin := ctx, func() (*sql.Tx, error) { return w.begin(ctx) }
	if !s.d.dollar {
		fnCtx = context.WithoutCancel(ctx)
		begin = func() (*sql.Tx, error) { return s.db.BeginTx(fnCtx, nil) }
	}
	applied := false
	err := s.txWith(ctx, begin, func(tx *sql.Tx) error { err := fn(fnCtx, tx); applied = err == nil; return err })
	if err != nil && !applied && isDeadlock(err) {
		// PostgreSQL ended this transaction to break a deadlock with
		// another replica's (the same token presented to three at once):
		// nothing of it was written, and run again it finds the other's
		// rotation, a replay, as a lone one would (it was a 503; found by
		// a multi-replica pass).
		w.drop()
		err = s.txWith(ctx, begin, func(tx *sql.Tx) error { err := fn(fnCtx, tx); applied = err == nil; return err })
	}
	if err != nil && s.d.dollar {
		// The session may be broken (the database restarted, a timeout
		// cut a statement off): the next group starts a new one.
		w.drop()
	}
	if err == nil && applied && s.groupCommitted != nil {
		err = s.groupCommitted()
	}
	if err != nil && applied {
		return &commitUnknown{err}
	}
	return err
}

// isDeadlock reports PostgreSQL's deadlock_detected: the transaction was
// rolled back whole, and may run again.
func isDeadlock(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "40P01"
}

// commitUnknown is the error of a group transaction's COMMIT.
type commitUnknown struct{ err error }

func (e *commitUnknown) Error() string { return e.err.Error() }
func (e *commitUnknown) Unwrap() error { return e.err }

// begin starts a transaction in the writer's session, opening the session
// first if there is none; a session found broken is replaced once.
func (w *groupWriter) begin(ctx context.Context) (*sql.Tx, error) {
	for try := 0; ; try++ {
		c, err := w.session(ctx)
		if err != nil {
			return nil, err
		}
		tx, err := c.BeginTx(ctx, nil)
		if err == nil || try > 0 {
			return tx, err
		}
		w.drop()
	}
}

// session is the writer's session, opened when there is none. Besides
// sequential scans, the plans made for one run's particular values are
// off in it (plan_cache_mode): its statements are the same few, prepared
// once per session, and their values never change the best plan (point
// reads and writes by index), while the planner kept planning the OAuth
// set's read anew for its values in 1,530 of 5,442 runs, as much of
// PostgreSQL's time as running it (docs/performance.md, fourteenth round).
func (w *groupWriter) session(ctx context.Context) (*sql.Conn, error) {
	if w.conn != nil {
		return w.conn, nil
	}
	c, err := w.g.s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	w.conn = c
	if _, err := c.ExecContext(ctx, "SET enable_seqscan = off; SET plan_cache_mode = force_generic_plan"); err != nil {
		w.drop()
		return nil, err
	}
	return c, nil
}

// again replaces the writer's session with a new one: after an error the
// session may be broken (its backend ended, a timeout cut a statement off).
func (w *groupWriter) again(ctx context.Context) (querier, error) {
	w.drop()
	return w.session(ctx)
}

// sets runs, on PostgreSQL, the group's OAuth rotations and its simplejwt
// rotations through their set statements in the writer's session, outside
// a transaction, settling those they commit or refuse, and returns the
// requests left for the group's transaction. A set statement that fails
// is followed by a read in a new session of whether it committed all the
// same (its reply lost, the session's backend gone): only a rotation
// known not to have committed runs again, so that an answer lost on its
// way is never mistaken for a reuse. A database error it cannot resolve
// so drops the session; the requests not settled by then are the group's
// to retry.
func (w *groupWriter) sets(batch []*groupedTx, until time.Time) ([]*groupedTx, error) {
	var rots []*rotation
	var jwts []*jwtRotation
	for _, r := range batch {
		if r.rot != nil {
			rots = append(rots, r.rot)
		}
		if r.jwt != nil {
			jwts = append(jwts, r.jwt)
		}
	}
	if len(rots) == 0 && len(jwts) == 0 {
		return batch, nil
	}
	ctx, cancel := groupContext(until)
	defer cancel()
	s := w.g.s
	err := func() error {
		c, err := w.session(ctx)
		if err != nil {
			return err
		}
		// A new session is opened under a bound of its own: after a write
		// stopped at the group's end, whether it committed is still read
		// (setCheck).
		again := func() (querier, error) {
			octx, cancel := context.WithTimeout(context.Background(), setCheckTimeout)
			defer cancel()
			return w.again(octx)
		}
		if len(rots) > 0 {
			if err := s.applyAheadSet(ctx, c, again, rots); err != nil {
				return err
			}
			rest := rots[:0:0]
			for _, r := range rots {
				if !r.inSet && r.unknown == nil {
					rest = append(rest, r)
				}
			}
			if len(rest) > 0 {
				if c, err = w.session(ctx); err != nil {
					return err
				}
				if err := s.applyRotationSet(ctx, c, again, rest); err != nil {
					return err
				}
			}
		}
		if len(jwts) > 0 {
			if c, err = w.session(ctx); err != nil {
				return err
			}
			return s.applyJWTRotationSet(ctx, c, again, jwts)
		}
		return nil
	}()
	rest := batch[:0:0]
	for _, r := range batch {
		if r.settled() {
			if r.unknown() == nil {
				s.groups.together.Add(1)
			}
			continue
		}
		rest = append(rest, r)
	}
	if err != nil {
		w.drop()
	}
	return rest, err
}

// drop ends the writer's session: its connection is closed, not returned
// to the pool, which must not hand its setting to other statements.
func (w *groupWriter) drop() {
	if w.conn == nil {
		return
	}
	w.conn.Raw(func(any) error { return driver.ErrBadConn })
	w.conn.Close()
	w.conn = nil
}

func (g *txGroups) loop(reqs chan *groupedTx) {
	w := &groupWriter{g: g}
	defer w.drop()
	serveGroups(reqs, g.stop, maxGroup, 2, &g.grouped,
		func(batch []*groupedTx) error {
			// A caller out of time is answered so, not run: it would
			// stop its whole group at once.
			run := batch[:0:0]
			for _, r := range batch {
				if r.expired = r.late(); !r.expired {
					run = append(run, r)
				}
			}
			batch = run
			if len(batch) == 0 {
				return nil
			}
			until := earliest(batch)
			if g.s.d.dollar {
				var err error
				if batch, err = w.sets(batch, until); err != nil || len(batch) == 0 {
					return err
				}
			}
			err := w.inTx(until, func(ctx context.Context, tx *sql.Tx) error {
				for _, r := range batch {
					if err := r.apply(ctx, tx); err != nil {
						return err
					}
				}
				return nil
			})
			if cu, ok := errors.AsType[*commitUnknown](err); ok {
				// Not run again one by one: each would find the group's
				// writes, if they committed, and take them for replays.
				for _, r := range batch {
					r.lost = cu.err
				}
			}
			return err
		},
		func(r *groupedTx) error { // its own transaction: the one that failed fails alone
			if r.settled() || r.expired {
				return nil
			}
			err := w.inTx(r.deadline, r.apply)
			if cu, ok := errors.AsType[*commitUnknown](err); ok {
				return cu.err
			}
			return err
		},
		func(r *groupedTx, err error) {
			switch u := r.unknown(); {
			case r.expired:
				r.err = context.DeadlineExceeded
			case u != nil:
				r.err = u
			case !r.settled():
				r.err = err
			}
			close(r.done)
		})
}

// serveGroups serves the requests sent on reqs in groups until stop
// closes: it takes the first request, gathers those on their way (gather,
// up to limit) and runs them together; when that fails for a group of at
// least retryFrom requests, each runs alone, so that every caller gets
// its own answer. answer gives one caller its answer; grouped counts the
// requests answered from groups of more than one.
func serveGroups[T any](reqs chan T, stop <-chan struct{}, limit, retryFrom int, grouped *atomic.Int64,
	together func([]T) error, alone func(T) error, answer func(T, error)) {
	batch := make([]T, 0, limit)
	for {
		batch = batch[:0]
		select {
		case <-stop:
			return
		case r := <-reqs:
			batch = append(batch, r)
		}
		gather(reqs, &batch, limit)
		err := together(batch)
		if err != nil && len(batch) >= retryFrom {
			for _, r := range batch {
				answer(r, alone(r))
			}
			continue
		}
		if err == nil && len(batch) > 1 {
			grouped.Add(int64(len(batch)))
		}
		for _, r := range batch {
			answer(r, err)
		}
	}
}

// applyRotation rotates r's token inside tx (RotateRefreshToken's rules),
// setting r.revoked and r.outcome afresh. It returns only a database
// error, after which tx must be rolled back; a refusal is an outcome and
// writes nothing, issue being called before any write.
func (s *Store) applyRotation(ctx context.Context, tx *sql.Tx, r *rotation) error {
	r.revoked, r.outcome = nil, nil
	var old gatehouse.RefreshToken
	var fexp *time.Time
	var oldAccess []byte // the key of old's access token; nil when it has none
	user, err := s.lockRefresh(ctx, tx, r.hash, &old, &fexp, &oldAccess)
	if errors.Is(err, sql.ErrNoRows) {
		r.outcome = gatehouse.ErrInvalidGrant
		return nil
	}
	if err != nil {
		return err
	}
	if old.ApplicationID != r.appID ||
		(old.Expires != nil && !r.now.Before(*old.Expires)) || (fexp != nil && !r.now.Before(*fexp)) {
		r.outcome = gatehouse.ErrInvalidGrant
		return nil
	}
	rot := gatehouse.RefreshRotation{Old: old, FamilyExpires: fexp, User: user}
	if old.Revoked != nil {
		replay := r.grace <= 0 || r.now.Sub(*old.Revoked) >= r.grace
		if !replay && old.Family != "" {
			// Within the grace period a rotated token is accepted again
			// only while its family lives: a rotation leaves its successor
			// live, while a family whose every token was revoked was ended
			// (by a replica of a build older than ebeee3a, which did not
			// end the family's lifetime with it; found by a rolling-upgrade
			// pass). The family's partial index of live tokens answers it.
			var live bool
			if err := tx.QueryRowContext(ctx, s.q("SELECT EXISTS (SELECT 1 FROM oauth_refresh_tokens WHERE family = ? AND revoked IS NULL)"), old.Family).Scan(&live); err != nil {
				return err
			}
			replay = !live
		}
		if replay {
			reused := &gatehouse.TokenReuse{Family: old.Family}
			if old.UserID != nil {
				reused.UserID = *old.UserID
			}
			if r.revoked, err = s.revokeFamily(ctx, tx, old.Family, r.now); err != nil {
				return err
			}
			r.outcome = reused
			return nil
		}
		rot.InGrace = true
	}
	rot.InPlace = rotatesInPlace(&old)
	at, rt, err := r.issue(rot)
	if err != nil {
		r.outcome = err
		return nil
	}
	keepFamily(&old, at, rt)
	if rot.InGrace {
		return s.insertPair(ctx, tx, at, rt, fexp)
	}
	if keepsRow(&old, rt) {
		return s.rotateInPlace(ctx, tx, r, &old, oldAccess, at, rt)
	}
	// The old token no longer names an access token (DOT's revoke() sets
	// it to None): its access token becomes the new one.
	res, err := s.execTx(ctx, tx, "UPDATE oauth_refresh_tokens SET revoked = ?, access_token_id = NULL WHERE id = ? AND revoked IS NULL", micros(r.now), old.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		r.outcome = gatehouse.ErrInvalidGrant // lost a race the lock should have prevented
		return nil
	}
	if _, err := s.renewAccess(ctx, tx, r, &old, oldAccess, at); err != nil {
		return err
	}
	rt.AccessTokenID = &at.ID
	return s.insertRefresh(ctx, tx, rt, fexp)
}

// keepFamily puts a rotation's new pair at, rt in the family and grant of
// old, the token rotated.
func keepFamily(old *gatehouse.RefreshToken, at *gatehouse.AccessToken, rt *gatehouse.RefreshToken) {
	at.Family, rt.Family = old.Family, old.Family
	at.GrantID, rt.GrantID = old.GrantID, old.GrantID
}

// renewAccess makes at the access token of a rotation of old, whose own
// access token's key is oldAccess (nil when it has none): old's access
// token's row becomes at in place when it can (replaceAccess), else it is
// deleted and at inserted. It sets r.revoked to the key that ended, and
// reports whether the row was replaced (at then has its id).
func (s *Store) renewAccess(ctx context.Context, tx *sql.Tx, r *rotation, old *gatehouse.RefreshToken, oldAccess []byte,
	at *gatehouse.AccessToken) (replaced bool, err error) {
	if old.AccessTokenID != nil && oldAccess != nil {
		if replaced, err = s.replaceAccess(ctx, tx, *old.AccessTokenID, at); err != nil {
			return false, err
		}
		if replaced {
			r.revoked = gatehouse.RevokedAccess{oldAccess}
			return true, nil
		}
	}
	if old.AccessTokenID != nil {
		if r.revoked, err = s.deleteAccess(ctx, tx, *old.AccessTokenID); err != nil {
			return false, err
		}
	}
	return false, s.insertAccess(ctx, tx, at)
}

// rotatesInPlace reports whether old, as presented, is rotated in its own
// row: a split token presented as its row's current one (present), not
// revoked.
func rotatesInPlace(old *gatehouse.RefreshToken) bool { return old.Secret != nil && old.Revoked == nil }

// keepsRow reports whether rt, issued for old's rotation, takes old's row
// in place: old rotates in place and rt has its selector.
func keepsRow(old *gatehouse.RefreshToken, rt *gatehouse.RefreshToken) bool {
	return rotatesInPlace(old) && rt.Secret != nil && bytes.Equal(old.Hash, rt.Hash)
}

// rotateInPlace ends applyRotation for a split token presented as its
// row's current one (keepsRow): the row takes rt's secret, keeping old's
// as the previous one, and rt's scope, times and access token, under the
// same selector; its access token becomes at as for any rotation. The
// update names no indexed column but the expiry (when refresh tokens
// expire), so PostgreSQL makes it without index entries.
func (s *Store) rotateInPlace(ctx context.Context, tx *sql.Tx, r *rotation, old *gatehouse.RefreshToken, oldAccess []byte,
	at *gatehouse.AccessToken, rt *gatehouse.RefreshToken) error {
	if rt.Created.IsZero() {
		rt.Created = s.now()
	}
	res, err := s.execTx(ctx, tx, rotateInPlaceSQL, rt.Secret, micros(r.now), rt.Scope, micros(rt.Created), nullMicros(rt.Expires),
		nullMicros(rt.AuthTime), old.ID, old.Secret)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		r.outcome = gatehouse.ErrInvalidGrant // lost a race the lock should have prevented
		return nil
	}
	replaced, err := s.renewAccess(ctx, tx, r, old, oldAccess, at)
	if err != nil {
		return err
	}
	if !replaced {
		if _, err := s.execTx(ctx, tx, "UPDATE oauth_refresh_tokens SET access_token_id = ? WHERE id = ?", at.ID, old.ID); err != nil {
			return err
		}
	}
	rt.ID, rt.AccessTokenID = old.ID, &at.ID
	return nil
}

// rotateInPlaceSQL is rotateInPlace's update of the row; the secret it
// replaces guards it.
const rotateInPlaceSQL = `UPDATE oauth_refresh_tokens SET secret = ?, previous_secret = secret, previous_expires = expires, rotated = ?, scope = ?, created = ?,
	expires = ?, auth_time = ? WHERE id = ? AND secret = ? AND revoked IS NULL`

// replaceAccess makes the access token with that id the new one, at, in
// place, when the row already has at's user, application, family and
// grant: a rotation's old access token ends as it would deleted (its key
// is gone), and the row keeps its id, so that of its seven index entries
// only the key's and the expiry's change; deleting it and inserting at
// wrote all fourteen (docs/performance.md, ninth round). at.ID is set;
// false when there is no such row: gone (expired and cleaned up, or
// revoked alone), or of another family (an access token imported from
// Django has one of its own), which the caller deletes, so that a
// family's revocation always reaches its access tokens.
func (s *Store) replaceAccess(ctx context.Context, tx *sql.Tx, id int64, at *gatehouse.AccessToken) (bool, error) {
	if at.Created.IsZero() {
		at.Created = s.now()
	}
	var uid, gid int64 // ids are positive: 0 stands for none
	if at.UserID != nil {
		uid = *at.UserID
	}
	if at.GrantID != nil {
		gid = *at.GrantID
	}
	res, err := s.execTx(ctx, tx, `UPDATE oauth_access_tokens SET token_hash = ?, scope = ?, created = ?, expires = ?
		WHERE id = ? AND family = ? AND application_id = ? AND COALESCE(user_id, 0) = ? AND COALESCE(grant_id, 0) = ?`,
		at.Hash, at.Scope, micros(at.Created), micros(at.Expires), id, at.Family, at.ApplicationID, uid, gid)
	if err != nil {
		return false, s.conflict(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return false, nil
	}
	at.ID = id
	return true, nil
}

// gather adds to batch the requests waiting on reqs, then yields the
// processor and looks again, until a look after a yield finds none: the
// goroutines that were runnable (requests on their way) get to send
// theirs, so that under load a group holds most of the concurrent requests
// rather than the one or two that happened to be waiting. A lone request
// costs one yield, which returns at once when nothing else is runnable.
func gather[T any](reqs chan T, batch *[]T, limit int) {
	drain(reqs, batch, limit)
	for len(*batch) < limit {
		n := len(*batch)
		runtime.Gosched()
		drain(reqs, batch, limit)
		if len(*batch) == n {
			return
		}
	}
}

// drain adds the requests waiting now, without blocking.
func drain[T any](reqs chan T, batch *[]T, limit int) {
	for len(*batch) < limit {
		select {
		case r := <-reqs:
			*batch = append(*batch, r)
		default:
			return
		}
	}
}
