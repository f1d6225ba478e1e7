package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/gatehouse-auth/gatehouse"
)

// accessWriter groups concurrent inserts of lone access tokens (the
// client_credentials grant) into one statement and so one commit
// (insertGroup). On SQLite, which runs one writer at a time anyway, the
// profile of an issuance was its commit: the WAL frames of every page the
// row dirties, one pwrite each; a group writes each page once. On PostgreSQL each commit waits for its WAL flush
// and costs a round trip; a group shares both. Every caller returns only
// after the statement holding its row committed, so an issued token is
// exactly as durable as before.
type accessWriter struct {
	s    *Store
	reqs chan *accessReq // unbuffered: a request sent is a request answered
	stop chan struct{}
	done chan struct{}

	grouped atomic.Int64 // rows stored by multi-row statements (for tests)

	// SQLite: the writer keeps one connection of its own, with one
	// prepared INSERT per group size. Its page cache stays warm (no other
	// connection's commit invalidates it under this load), and a group of
	// any size is one statement, so one implicit transaction: no BEGIN and
	// COMMIT round trips through the driver.
	conn  *sql.Conn
	sizes map[int]*sql.Stmt
}

type accessReq struct {
	at          *gatehouse.AccessToken
	err         chan error // buffered: the writer never blocks on a caller gone
	mayBeStored bool       // its group failed after its statement may have committed
}

// maxBatch bounds one transaction, so that its write lock is short.
const maxBatch = 128

var errClosed = errors.New("store: closed")

// newAccessWriter starts the one goroutine that writes the groups. One
// writer is also the faster choice on PostgreSQL: while a group waits for
// its commit the next one grows, and on this project's 2-core machine 1
// writer issued 6,100 tokens/s, 2 writers 5,800/s and 8 writers 3,600/s
// (docs/performance.md).
func newAccessWriter(s *Store) *accessWriter {
	w := &accessWriter{s: s, reqs: make(chan *accessReq), stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

// insert stores at and returns when it is committed (or ctx ends first,
// in which case the row may still be committed, like a lost answer).
func (w *accessWriter) insert(ctx context.Context, at *gatehouse.AccessToken) error {
	if err := w.s.faulted(); err != nil {
		return err
	}
	r := &accessReq{at: at, err: make(chan error, 1)}
	select {
	case w.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.stop:
		return errClosed
	}
	select {
	case err := <-r.err:
		return w.s.classify(err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *accessWriter) close() {
	close(w.stop)
	<-w.done
}

func (w *accessWriter) loop() {
	defer close(w.done)
	defer w.release()
	ctx := context.Background() // one caller's cancellation must not fail the others
	// A failed group, even of one, is tried again row by row on the pool:
	// one row failed (a conflict, say) and took the group with it. When
	// the group failed otherwise (a lost connection), its statement may
	// have committed with its reply lost: a row then found stored already
	// is the group's (a token's key is its own 256 random bits).
	serveGroups(w.reqs, w.stop, maxBatch, 1, &w.grouped,
		func(batch []*accessReq) error {
			err := w.insertGroup(ctx, batch)
			if err == nil && w.s.accessGroupDone != nil {
				err = w.s.accessGroupDone()
			}
			if err != nil && !errors.Is(w.s.conflict(err), gatehouse.ErrConflict) {
				for _, r := range batch {
					r.mayBeStored = true
				}
			}
			return err
		},
		func(r *accessReq) error {
			r.at.ID = 0
			err := w.s.insertAccess(ctx, nil, r.at)
			if r.mayBeStored && errors.Is(err, gatehouse.ErrConflict) {
				return w.s.storedAccess(ctx, r.at)
			}
			return err
		},
		func(r *accessReq, err error) { r.err <- err })
}

// storedAccess sets at's id from the row stored under its key, the one a
// group's statement stored when its reply was lost; gatehouse.ErrConflict
// when that row is not at's (another application's or time's).
func (s *Store) storedAccess(ctx context.Context, at *gatehouse.AccessToken) error {
	var id, app, created int64
	err := s.queryRow(ctx, nil, "SELECT id, application_id, created FROM oauth_access_tokens WHERE token_hash = ?", at.Hash).Scan(&id, &app, &created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return gatehouse.ErrConflict
	case err != nil:
		return err
	case app != at.ApplicationID || created != micros(at.Created):
		return gatehouse.ErrConflict
	}
	at.ID = id
	return nil
}

// insertGroup stores the tokens of batch together, in one statement and so
// one commit, and sets their ids: on PostgreSQL one INSERT over unnest of
// one array per column (one shape whatever the size, on any pooled
// connection), on SQLite (no arrays) one multi-row INSERT on the writer's
// own connection.
func (w *accessWriter) insertGroup(ctx context.Context, batch []*accessReq) error {
	s := w.s
	if s.d.dollar {
		if len(batch) == 1 {
			return s.insertAccess(ctx, nil, batch[0].at)
		}
		return s.matchIDs(batch, func(scan func(*sql.Rows) error) error { return s.insertAccessArrays(ctx, batch, scan) })
	}
	err := s.matchIDs(batch, func(scan func(*sql.Rows) error) error { return w.insertRows(ctx, batch, scan) })
	if err != nil {
		w.release() // a broken connection is not kept; a new one is taken for the next group
	}
	return err
}

// matchIDs runs insert, whose statement returns (id, token_hash) for each
// row of batch, and sets each token's id from its row.
func (s *Store) matchIDs(batch []*accessReq, insert func(scan func(*sql.Rows) error) error) error {
	byHash := make(map[string]*gatehouse.AccessToken, len(batch))
	for _, r := range batch {
		if r.at.Created.IsZero() {
			r.at.Created = s.now()
		}
		byHash[string(r.at.Hash)] = r.at
	}
	n := 0
	scan := func(rows *sql.Rows) error {
		// RETURNING gives its rows in no promised order: match by hash.
		return s.conflict(scanIDs(rows, func(id int64, hash []byte) {
			if t := byHash[string(hash)]; t != nil {
				t.ID = id
				n++
			}
		}))
	}
	if err := insert(scan); err != nil {
		return err
	}
	if n != len(batch) {
		return fmt.Errorf("store: %d of %d grouped access tokens returned", n, len(batch))
	}
	return nil
}

const accessInsert = "INSERT INTO oauth_access_tokens (token_hash, user_id, application_id, scope, family, grant_id, created, expires) "

// insertRows stores batch with one multi-row INSERT on the writer's own
// SQLite connection (taken at the first group), prepared once per size.
func (w *accessWriter) insertRows(ctx context.Context, batch []*accessReq, scan func(*sql.Rows) error) error {
	if w.conn == nil {
		c, err := w.s.db.Conn(ctx)
		if err != nil {
			return err
		}
		w.conn, w.sizes = c, make(map[int]*sql.Stmt)
	}
	st := w.sizes[len(batch)]
	if st == nil {
		var q strings.Builder
		q.WriteString(accessInsert + "VALUES ")
		for i := range batch {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
		}
		q.WriteString(" RETURNING id, token_hash")
		var err error
		if st, err = w.conn.PrepareContext(ctx, q.String()); err != nil {
			return err
		}
		w.sizes[len(batch)] = st
	}
	args := make([]any, 0, 8*len(batch))
	for _, r := range batch {
		t := r.at
		args = append(args, t.Hash, nullID(t.UserID), t.ApplicationID, t.Scope, t.Family, nullID(t.GrantID), micros(t.Created), micros(t.Expires))
	}
	if err := w.s.writes.enter(ctx); err != nil {
		return err
	}
	defer w.s.writes.leave()
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return w.s.conflict(err)
	}
	return scan(rows)
}

// release gives the writer's connection and its statements back.
func (w *accessWriter) release() {
	for _, st := range w.sizes {
		st.Close()
	}
	if w.conn != nil {
		w.conn.Close()
	}
	w.conn, w.sizes = nil, nil
}

// insertAccessArrays stores batch with one INSERT of PostgreSQL arrays,
// one per column: one statement, so one commit, whatever the batch's size.
func (s *Store) insertAccessArrays(ctx context.Context, batch []*accessReq, scan func(*sql.Rows) error) error {
	var (
		hashes           = make([][]byte, len(batch))
		users, grants    = make([]*int64, len(batch)), make([]*int64, len(batch))
		apps             = make([]int64, len(batch))
		scopes, families = make([]string, len(batch)), make([]string, len(batch))
		created, expires = make([]int64, len(batch)), make([]int64, len(batch))
	)
	for i, r := range batch {
		t := r.at
		hashes[i], users[i], apps[i], scopes[i], families[i], grants[i] = t.Hash, t.UserID, t.ApplicationID, t.Scope, t.Family, t.GrantID
		created[i], expires[i] = micros(t.Created), micros(t.Expires)
	}
	st, err := s.prepared(ctx, accessInsert+`SELECT * FROM unnest(?::bytea[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[])
		RETURNING id, token_hash`)
	if err != nil {
		return err
	}
	rows, err := st.QueryContext(ctx, hashes, users, apps, scopes, families, grants, created, expires)
	if err != nil {
		return s.conflict(err)
	}
	return scan(rows)
}
