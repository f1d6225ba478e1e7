package store

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// Refresh-token rotation (RotateRefreshToken), grouped: concurrent
// rotations run one after the other inside one transaction, so that they
// share one commit. Before grouping, a rotation was a transaction of its
// own: on SQLite each waited for the one write lock in the busy handler's
// sleeps (a p99 of 58 ms at 16 connections) and wrote the WAL frames of
// the same pages again; on PostgreSQL each waited for its own WAL flush.
//
// The outcome of each rotation is exactly that of a lone one: its reads
// see the rotations before it in the group (two presentations of one
// token in a group: the second is a reuse, and revokes the family), and
// every caller returns only after the transaction holding its rotation
// committed. A rotation that is refused (unknown, expired, another
// client's, issue's error) wrote nothing; a reuse's family revocation
// commits with the group. A database error aborts the group, whose
// rotations then run again one transaction each, so that each caller gets
// its own answer.

// rotation is one RotateRefreshToken call.
type rotation struct {
	hash  []byte
	appID int64
	now   time.Time
	grace time.Duration
	issue func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error)

	revoked gatehouse.RevokedAccess
	outcome error         // the rotation's answer: nil, ErrInvalidGrant, *TokenReuse, issue's error
	done    chan struct{} // closed when outcome is final
}

// maxRotations bounds a group: its transaction holds the row locks of
// every token in it until the commit.
const maxRotations = 32

// rotator runs the groups, one at a time, on one goroutine.
type rotator struct {
	s    *Store
	reqs chan *rotation // unbuffered: a rotation sent is a rotation answered
	stop chan struct{}
	done chan struct{}

	grouped atomic.Int64 // rotations committed in groups of more than one (for tests)
}

func newRotator(s *Store) *rotator {
	w := &rotator{s: s, reqs: make(chan *rotation), stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

func (w *rotator) close() {
	close(w.stop)
	<-w.done
}

// rotate hands r to the group writer and waits for its outcome (or for
// ctx: then the rotation may still commit, like an answer lost on its way).
func (w *rotator) rotate(ctx context.Context, r *rotation) (gatehouse.RevokedAccess, error) {
	if err := w.s.faulted(); err != nil {
		return nil, err
	}
	r.done = make(chan struct{})
	select {
	case w.reqs <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-w.stop:
		return nil, errClosed
	}
	select {
	case <-r.done:
		return r.revoked, r.outcome
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (w *rotator) loop() {
	defer close(w.done)
	batch := make([]*rotation, 0, maxRotations)
	ctx := context.Background() // one caller's cancellation must not fail the others
	for {
		batch = batch[:0]
		select {
		case <-w.stop:
			return
		case r := <-w.reqs:
			batch = append(batch, r)
		}
		gather(w.reqs, &batch, maxRotations)
		err := w.s.tx(ctx, func(tx *sql.Tx) error {
			for _, r := range batch {
				if err := w.s.applyRotation(ctx, tx, r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil && len(batch) > 1 {
			// Each on its own: the rotation that failed fails alone.
			for _, r := range batch {
				r.outcome = w.s.rotateAlone(ctx, r)
				close(r.done)
			}
			continue
		}
		if err == nil && len(batch) > 1 {
			w.grouped.Add(int64(len(batch)))
		}
		for _, r := range batch {
			if err != nil {
				r.revoked, r.outcome = nil, err
			}
			close(r.done)
		}
	}
}

// rotateAlone runs r in a transaction of its own and returns its outcome.
func (s *Store) rotateAlone(ctx context.Context, r *rotation) error {
	if err := s.tx(ctx, func(tx *sql.Tx) error { return s.applyRotation(ctx, tx, r) }); err != nil {
		r.revoked = nil
		return err
	}
	return r.outcome
}

// applyRotation rotates r's token inside tx (RotateRefreshToken's rules),
// setting r.revoked and r.outcome. It returns only a database error, after
// which tx must be rolled back; a refusal is an outcome and writes
// nothing, issue being called before any write.
func (s *Store) applyRotation(ctx context.Context, tx *sql.Tx, r *rotation) error {
	r.revoked, r.outcome = nil, nil
	var old gatehouse.RefreshToken
	var fexp *time.Time
	err := scanRefresh(s.queryRow(ctx, tx, "SELECT "+refreshCols+" FROM oauth_refresh_tokens WHERE token_hash = ?"+s.forUpdate(), r.hash), &old, &fexp)
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
	rot := gatehouse.RefreshRotation{Old: old, FamilyExpires: fexp}
	if old.Revoked != nil {
		if r.grace <= 0 || r.now.Sub(*old.Revoked) >= r.grace {
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
	if old.UserID != nil {
		if rot.User, err = s.userTx(ctx, tx, *old.UserID); err != nil {
			return err
		}
	}
	at, rt, err := r.issue(rot)
	if err != nil {
		r.outcome = err
		return nil
	}
	if !rot.InGrace {
		res, err := tx.ExecContext(ctx, s.q("UPDATE oauth_refresh_tokens SET revoked = ? WHERE id = ? AND revoked IS NULL"), micros(r.now), old.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			r.outcome = gatehouse.ErrInvalidGrant // lost a race the lock should have prevented
			return nil
		}
		if old.AccessTokenID != nil {
			if r.revoked, err = s.deleteAccessWhere(ctx, tx, "id = ?", *old.AccessTokenID); err != nil {
				return err
			}
		}
	}
	at.Family, rt.Family = old.Family, old.Family
	at.GrantID, rt.GrantID = old.GrantID, old.GrantID
	if err := s.insertPair(ctx, tx, at, rt, fexp); err != nil {
		return err
	}
	return nil
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
