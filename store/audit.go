package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// auditChunk bounds the rows of one INSERT on SQLite: at 8 parameters a
// row, 8,000 parameters stay well below its limit per statement (32,766).
const auditChunk = 1000

// AppendAudit stores events in one transaction.
//
// On PostgreSQL that is one INSERT over unnest of one array per column:
// one statement text whatever the batch's size. A multi-row VALUES list
// there was a new text for each size, and each text stayed in memory for
// the life of the process: rewritten for PostgreSQL's placeholders (Store.q)
// and prepared and kept by pgx on each pooled connection. Under steady
// traffic the audit batches took every size up to 1,000, about 20 MB of
// live heap in the benchmark, so that the soft memory limit left the
// password hashes too little room (docs/performance.md, twelfth round).
//
// On SQLite, which has no arrays and keeps no statement it is not asked to
// prepare, a batch of at most auditChunk rows is one multi-row statement,
// so one implicit transaction and one commit.
func (s *Store) AppendAudit(ctx context.Context, events []gatehouse.AuditEvent) (err error) {
	defer s.classified(&err)
	switch {
	case len(events) == 0:
		return nil
	case s.d.dollar:
		return s.appendAuditArrays(ctx, events)
	case len(events) <= auditChunk:
		q, args, err := auditInsert(events)
		if err != nil {
			return err
		}
		_, err = s.exec(ctx, q, args...)
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for len(events) > 0 {
			n := min(len(events), auditChunk)
			q, args, err := auditInsert(events[:n])
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.q(q), args...); err != nil {
				return err
			}
			events = events[n:]
		}
		return nil
	})
}

const auditColumns = "INSERT INTO audit_events (at, event, user_id, actor_id, client_id, source, request_id, detail) "

// appendAuditArrays is AppendAudit on PostgreSQL. unnest gives the rows
// in the arrays' order, so their ids ascend as the events came, as with
// VALUES.
func (s *Store) appendAuditArrays(ctx context.Context, events []gatehouse.AuditEvent) error {
	var (
		n                 = len(events)
		at, users, actors = make([]int64, n), make([]int64, n), make([]int64, n)
		names, clients    = make([]string, n), make([]string, n)
		sources, requests = make([]string, n), make([]string, n)
		details           = make([]string, n)
	)
	for i, e := range events {
		src, detail, err := auditText(e)
		if err != nil {
			return err
		}
		at[i], names[i], users[i], actors[i], clients[i], sources[i], requests[i], details[i] = micros(e.At), e.Event, e.UserID, e.ActorID, e.ClientID, src, e.RequestID, detail
	}
	if err := s.faulted(); err != nil {
		return err
	}
	st, err := s.prepared(ctx, auditColumns+"SELECT * FROM unnest(?::bigint[], ?::text[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[])")
	if err != nil {
		return s.classify(err)
	}
	_, err = st.ExecContext(ctx, at, names, users, actors, clients, sources, requests, details)
	return s.classify(err)
}

// auditInsert is the INSERT of events, written with ?.
func auditInsert(events []gatehouse.AuditEvent) (string, []any, error) {
	var b strings.Builder
	b.WriteString(auditColumns + "VALUES ")
	args := make([]any, 0, 8*len(events))
	for i, e := range events {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
		src, detail, err := auditText(e)
		if err != nil {
			return "", nil, err
		}
		args = append(args, micros(e.At), e.Event, e.UserID, e.ActorID, e.ClientID, src, e.RequestID, detail)
	}
	return b.String(), args, nil
}

// auditText is e's source and detail as stored: the address as text ("" for
// none) and the detail as a JSON object.
func auditText(e gatehouse.AuditEvent) (src, detail string, err error) {
	if e.Source.IsValid() {
		src = e.Source.String()
	}
	detail, err = encodeDetail(e.Detail)
	return src, detail, err
}

func encodeDetail(d map[string]string) (string, error) {
	if len(d) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(d) // keys sorted
	if err != nil {
		return "", fmt.Errorf("store: audit detail: %w", err)
	}
	return string(b), nil
}

// AuditEvents lists the events f selects, newest first.
func (s *Store) AuditEvents(ctx context.Context, f gatehouse.AuditFilter) (_ []gatehouse.AuditEvent, err error) {
	defer s.classified(&err)
	if f.Limit <= 0 {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "an audit listing needs a positive limit")
	}
	var where []string
	var args []any
	// The user and client conditions repeat the partial indexes' own
	// (migration 00008), so that both backends may use them.
	if f.UserID != 0 {
		where, args = append(where, "user_id = ? AND user_id <> 0"), append(args, f.UserID)
	}
	if f.ClientID != "" {
		where, args = append(where, "client_id = ? AND client_id <> ''"), append(args, f.ClientID)
	}
	if f.Event != "" {
		where, args = append(where, "event = ?"), append(args, f.Event)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, micros(f.Since))
	}
	if !f.Until.IsZero() {
		where, args = append(where, "at < ?"), append(args, micros(f.Until))
	}
	if f.After != nil {
		at := micros(f.After.At)
		where, args = append(where, "(at < ? OR (at = ? AND id < ?))"), append(args, at, at, f.After.ID)
	}
	q := "SELECT id, at, event, user_id, actor_id, client_id, source, request_id, detail FROM audit_events"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY at DESC, id DESC LIMIT ?"
	args = append(args, f.Limit)
	rows, err := s.db.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, s.classify(err)
	}
	defer rows.Close()
	var out []gatehouse.AuditEvent
	for rows.Next() {
		var e gatehouse.AuditEvent
		var at int64
		var src, detail string
		if err := rows.Scan(&e.ID, &at, &e.Event, &e.UserID, &e.ActorID, &e.ClientID, &src, &e.RequestID, &detail); err != nil {
			return nil, s.classify(err)
		}
		e.At = fromMicros(at)
		if src != "" {
			e.Source, _ = netip.ParseAddr(src)
		}
		if detail != "" && detail != "{}" {
			if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
				return nil, fmt.Errorf("store: audit event %d: detail: %w", e.ID, err)
			}
		}
		out = append(out, e)
	}
	return out, s.classify(rows.Err())
}

// DeleteAuditBefore removes up to limit events older than t.
func (s *Store) DeleteAuditBefore(ctx context.Context, t time.Time, limit int) (_ int64, err error) {
	defer s.classified(&err)
	res, err := s.exec(ctx, "DELETE FROM audit_events WHERE id IN ("+expiredAuditSQL+")", micros(t), limit)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
