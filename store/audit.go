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

// auditChunk bounds the rows of one INSERT: at 8 parameters a row, 8,000
// parameters stay well below both backends' limits per statement (SQLite
// 32,766, PostgreSQL 65,535).
const auditChunk = 1000

// AppendAudit stores events in one transaction. A batch of at most
// auditChunk rows (what audit.Recorder writes) is one statement, so one
// implicit transaction and one commit.
func (s *Store) AppendAudit(ctx context.Context, events []gatehouse.AuditEvent) error {
	switch {
	case len(events) == 0:
		return nil
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

// auditInsert is the INSERT of events, written with ?.
func auditInsert(events []gatehouse.AuditEvent) (string, []any, error) {
	var b strings.Builder
	b.WriteString("INSERT INTO audit_events (at, event, user_id, actor_id, client_id, source, request_id, detail) VALUES ")
	args := make([]any, 0, 8*len(events))
	for i, e := range events {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
		detail, err := encodeDetail(e.Detail)
		if err != nil {
			return "", nil, err
		}
		src := ""
		if e.Source.IsValid() {
			src = e.Source.String()
		}
		args = append(args, micros(e.At), e.Event, e.UserID, e.ActorID, e.ClientID, src, e.RequestID, detail)
	}
	return b.String(), args, nil
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
func (s *Store) AuditEvents(ctx context.Context, f gatehouse.AuditFilter) ([]gatehouse.AuditEvent, error) {
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
func (s *Store) DeleteAuditBefore(ctx context.Context, t time.Time, limit int) (int64, error) {
	res, err := s.exec(ctx, "DELETE FROM audit_events WHERE id IN ("+expiredAuditSQL+")", micros(t), limit)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
