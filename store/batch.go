package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"gatehouse"
)

// accessWriter groups concurrent inserts of lone access tokens (the
// client_credentials grant) into one transaction and one commit
// (insertAccessGroup: one statement on PostgreSQL, one or a few multi-row
// INSERTs on SQLite). On SQLite, which runs
// one writer at a time anyway, the profile of an issuance was its commit:
// the WAL frames of every page the row dirties, one pwrite each; a group
// writes each page once. On PostgreSQL each commit waits for its WAL flush
// and costs a round trip; a group shares both. Every caller returns only
// after the statement holding its row committed, so an issued token is
// exactly as durable as before.
type accessWriter struct {
	s    *Store
	reqs chan *accessReq // unbuffered: a request sent is a request answered
	stop chan struct{}
	done chan struct{}

	grouped atomic.Int64 // rows stored by multi-row statements (for tests)
}

type accessReq struct {
	at  *gatehouse.AccessToken
	err chan error // buffered: the writer never blocks on a caller gone
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
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *accessWriter) close() {
	close(w.stop)
	<-w.done
}

// gather adds to batch the requests that are waiting, then yields the
// processor and looks again, until a look after a yield finds none: the
// goroutines that were runnable (requests on their way to an insert) get
// to send theirs, so that under load a group holds most of the concurrent
// issuances rather than the one or two that happened to be waiting. A lone
// request costs one yield, which returns at once when nothing else is
// runnable.
func (w *accessWriter) gather(batch *[]*accessReq) {
	w.drain(batch)
	for len(*batch) < maxBatch {
		n := len(*batch)
		runtime.Gosched()
		w.drain(batch)
		if len(*batch) == n {
			return
		}
	}
}

// drain adds the requests waiting now, without blocking.
func (w *accessWriter) drain(batch *[]*accessReq) {
	for len(*batch) < maxBatch {
		select {
		case r := <-w.reqs:
			*batch = append(*batch, r)
		default:
			return
		}
	}
}

func (w *accessWriter) loop() {
	defer close(w.done)
	batch := make([]*accessReq, 0, maxBatch)
	ctx := context.Background() // one caller's cancellation must not fail the others
	for {
		batch = batch[:0]
		select {
		case <-w.stop:
			return
		case r := <-w.reqs:
			batch = append(batch, r)
		}
		w.gather(&batch)
		if err := w.s.insertAccessGroup(ctx, batch); err == nil {
			if len(batch) > 1 {
				w.grouped.Add(int64(len(batch)))
			}
			for _, r := range batch {
				r.err <- nil
			}
			continue
		}
		// One row failed (a conflict, say) and took the batch with it:
		// each on its own, so that every caller gets its own answer.
		for _, r := range batch {
			r.at.ID = 0
			r.err <- w.s.insertAccess(ctx, nil, r.at)
		}
	}
}

// insertAccessGroup stores the tokens of batch together and sets their ids.
// The statements have a bounded number of shapes, since every shape is a
// prepared statement on each pooled connection: on PostgreSQL one INSERT
// over unnest of one array per column, on SQLite (no arrays) multi-row
// INSERTs of power-of-two sizes in one transaction.
func (s *Store) insertAccessGroup(ctx context.Context, batch []*accessReq) error {
	if len(batch) == 1 {
		return s.insertAccess(ctx, nil, batch[0].at)
	}
	byHash := make(map[string]*gatehouse.AccessToken, len(batch))
	for _, r := range batch {
		if r.at.Created.IsZero() {
			r.at.Created = time.Now()
		}
		byHash[string(r.at.Hash)] = r.at
	}
	n := 0
	scan := func(rows *sql.Rows) error {
		defer rows.Close()
		for rows.Next() {
			var id int64
			var hash []byte
			if err := rows.Scan(&id, &hash); err != nil {
				return err
			}
			// RETURNING gives its rows in no promised order: match by hash.
			if t := byHash[string(hash)]; t != nil {
				t.ID = id
				n++
			}
		}
		return s.conflict(rows.Err())
	}
	var err error
	if s.d.dollar {
		err = s.insertAccessArrays(ctx, batch, scan)
	} else if bits.OnesCount(uint(len(batch))) == 1 {
		err = s.insertAccessRows(ctx, nil, batch, scan) // one statement: no BEGIN and COMMIT
	} else {
		err = s.tx(ctx, func(tx *sql.Tx) error {
			for rest := batch; len(rest) > 0; {
				k := 1 << (bits.Len(uint(len(rest))) - 1) // the largest power of two ≤ len(rest)
				if err := s.insertAccessRows(ctx, tx, rest[:k], scan); err != nil {
					return err
				}
				rest = rest[k:]
			}
			return nil
		})
	}
	if err != nil {
		return err
	}
	if n != len(batch) {
		return fmt.Errorf("store: %d of %d grouped access tokens returned", n, len(batch))
	}
	return nil
}

const accessInsert = "INSERT INTO oauth_access_tokens (token_hash, user_id, application_id, scope, family, grant_id, created, expires) "

// insertAccessRows stores batch with one multi-row INSERT, inside tx when
// tx is not nil.
func (s *Store) insertAccessRows(ctx context.Context, tx *sql.Tx, batch []*accessReq, scan func(*sql.Rows) error) error {
	var q strings.Builder
	q.WriteString(accessInsert + "VALUES ")
	args := make([]any, 0, 8*len(batch))
	for i, r := range batch {
		t := r.at
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, t.Hash, nullID(t.UserID), t.ApplicationID, t.Scope, t.Family, nullID(t.GrantID), micros(t.Created), micros(t.Expires))
	}
	q.WriteString(" RETURNING id, token_hash")
	st, err := s.prepared(ctx, q.String())
	if err != nil {
		return err
	}
	if tx != nil {
		st = tx.StmtContext(ctx, st)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return s.conflict(err)
	}
	return scan(rows)
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
