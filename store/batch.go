package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"gatehouse"
)

// accessWriter groups concurrent inserts of lone access tokens (the
// client_credentials grant) into one multi-row INSERT: one statement, so
// one transaction and one commit for the whole group. On SQLite, which runs
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
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-w.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
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

// insertAccessGroup stores the tokens of batch with one INSERT statement
// and sets their ids.
func (s *Store) insertAccessGroup(ctx context.Context, batch []*accessReq) error {
	if len(batch) == 1 {
		return s.insertAccess(ctx, nil, batch[0].at)
	}
	var q strings.Builder
	q.WriteString("INSERT INTO oauth_access_tokens (token_hash, user_id, application_id, scope, family, grant_id, created, expires) VALUES ")
	args := make([]any, 0, 8*len(batch))
	byHash := make(map[string]*gatehouse.AccessToken, len(batch))
	for i, r := range batch {
		t := r.at
		if t.Created.IsZero() {
			t.Created = time.Now()
		}
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, t.Hash, nullID(t.UserID), t.ApplicationID, t.Scope, t.Family, nullID(t.GrantID), micros(t.Created), micros(t.Expires))
		byHash[string(t.Hash)] = t
	}
	// RETURNING gives its rows in no promised order: match them by hash.
	q.WriteString(" RETURNING id, token_hash")
	st, err := s.prepared(ctx, q.String())
	if err != nil {
		return err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return s.conflict(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id int64
		var hash []byte
		if err := rows.Scan(&id, &hash); err != nil {
			return err
		}
		if t := byHash[string(hash)]; t != nil {
			t.ID = id
			n++
		}
	}
	if err := rows.Err(); err != nil {
		return s.conflict(err)
	}
	if n != len(batch) {
		return fmt.Errorf("store: %d of %d grouped access tokens returned", n, len(batch))
	}
	return nil
}
