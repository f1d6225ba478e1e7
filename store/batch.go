package store

import (
	"context"
	"database/sql"
	"errors"

	"gatehouse"
)

// accessWriter groups concurrent inserts of lone access tokens (the
// client_credentials grant) into one SQLite transaction. SQLite runs one
// writer at a time anyway, and the profile of an issuance was its commit:
// the WAL frames of every page the row dirties (the table, four indexes,
// sqlite_sequence), one pwrite each. A batch writes each page once. Every
// caller returns only after the transaction holding its row committed, so
// an issued token is exactly as durable as before.
type accessWriter struct {
	s    *Store
	reqs chan *accessReq // unbuffered: a request sent is a request answered
	stop chan struct{}
	done chan struct{}
}

type accessReq struct {
	at  *gatehouse.AccessToken
	err chan error // buffered: the writer never blocks on a caller gone
}

// maxBatch bounds one transaction, so that its write lock is short.
const maxBatch = 128

var errClosed = errors.New("store: closed")

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
		err := w.s.tx(ctx, func(tx *sql.Tx) error {
			for _, r := range batch {
				if err := w.s.insertAccess(ctx, tx, r.at); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
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
