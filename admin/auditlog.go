package admin

import (
	"context"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// The audit log (audit.go's events, kept by the gatehouse.AuditStore for
// the retention the setting audit-retention gives): read by superusers
// only, newest first, a page at a time by cursor. A cursor stays valid
// while events are appended: a page continues after the last event of
// the one before, whatever came since.

// AuditQuery selects audit events: zero fields select all.
type AuditQuery struct {
	UserID   int64  // the user the event is about
	ClientID string // exact
	Event    string // one of gatehouse.AuditEvents
	// Since and Until bound the time: Since <= at < Until.
	Since, Until time.Time
	// Cursor is the Next of the page before ("": the newest events).
	Cursor string
	Size   int // 1 to MaxPageSize; 0: DefaultPageSize
}

// AuditPage is a page of audit events; Next is the cursor of the next
// page, "" when this one is the last.
type AuditPage struct {
	Events []gatehouse.AuditEvent
	Next   string
}

// cursorOf is the cursor that continues after e: its time and id, opaque.
func cursorOf(e gatehouse.AuditEvent) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(e.At.UnixMicro(), 10) + "." + strconv.FormatInt(e.ID, 10)))
}

// parseCursor reads a cursor made by cursorOf.
func parseCursor(c string) (*gatehouse.AuditEvent, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, false
	}
	at, id, ok := strings.Cut(string(raw), ".")
	if !ok {
		return nil, false
	}
	us, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || n < 0 {
		return nil, false
	}
	return &gatehouse.AuditEvent{At: time.UnixMicro(us), ID: n}, true
}

// AuditLog returns a page of the audit events q selects, newest first.
// Superusers only. An unknown event name, a bad cursor or page size is
// EINVALID naming the field (event, cursor, page_size).
func (s *Service) AuditLog(ctx context.Context, a Actor, q AuditQuery) (AuditPage, error) {
	if err := a.requireSuperuser(); err != nil {
		return AuditPage{}, err
	}
	p, err := Page{Size: q.Size}.check()
	if err != nil {
		return AuditPage{}, err
	}
	if q.Event != "" && !slices.Contains(gatehouse.AuditEvents(), q.Event) {
		return AuditPage{}, gatehouse.Invalid(gatehouse.FieldError{Field: "event", Code: gatehouse.FieldInvalid,
			Message: "Select a valid choice. " + q.Event + " is not one of the available choices."})
	}
	f := gatehouse.AuditFilter{UserID: q.UserID, ClientID: q.ClientID, Event: q.Event, Since: q.Since, Until: q.Until, Limit: p.Size + 1}
	if q.Cursor != "" {
		after, ok := parseCursor(q.Cursor)
		if !ok {
			return AuditPage{}, gatehouse.Invalid(gatehouse.FieldError{Field: "cursor", Code: gatehouse.FieldInvalid, Message: "Invalid cursor."})
		}
		f.After = after
	}
	events, err := s.d.AuditLog.AuditEvents(ctx, f)
	if err != nil {
		return AuditPage{}, err
	}
	out := AuditPage{Events: events}
	if len(events) > p.Size {
		out.Events = events[:p.Size]
		out.Next = cursorOf(out.Events[p.Size-1])
	}
	if out.Events == nil {
		out.Events = []gatehouse.AuditEvent{}
	}
	return out, nil
}
