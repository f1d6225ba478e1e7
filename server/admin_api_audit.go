package server

import (
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/admin"
)

// The admin API's audit log (docs/admin-api.md): GET /api/admin/audit/,
// superusers only, paginated by cursor as DRF's CursorPagination:
// {"next", "previous": null, "results"}.

type adminAuditOut struct {
	ID        int64             `json:"id"`
	At        time.Time         `json:"at"`
	Event     string            `json:"event"`
	User      *int64            `json:"user"`
	Actor     *int64            `json:"actor"`
	ClientID  string            `json:"client_id"`
	Source    string            `json:"source"`
	RequestID string            `json:"request_id"`
	Detail    map[string]string `json:"detail"`
}

func idPtr(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func toAdminAudit(e gatehouse.AuditEvent) adminAuditOut {
	out := adminAuditOut{ID: e.ID, At: e.At.UTC(), Event: e.Event, User: idPtr(e.UserID), Actor: idPtr(e.ActorID), ClientID: e.ClientID,
		RequestID: e.RequestID, Detail: e.Detail}
	if e.Source.IsValid() {
		out.Source = e.Source.String()
	}
	if out.Detail == nil {
		out.Detail = map[string]string{}
	}
	return out
}

func (s *Server) adminAuditView() http.Handler {
	return s.adminView("Admin Audit Log", map[string]adminHandler{"GET": (*Server).adminAuditLog})
}

// queryTime reads a time filter: RFC 3339 (or a date, midnight UTC).
func queryTime(c *call, errs *fieldErrors, name string) time.Time {
	v := lastQuery(c, name)
	if v == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t
		}
	}
	errs.add(name, "Enter a valid date/time.")
	return time.Time{}
}

// adminAuditLog: GET /api/admin/audit/?user=&client_id=&event=&since=
// &until=&cursor=&page_size=.
func (s *Server) adminAuditLog(c *call, a admin.Actor) *apiError {
	errs := &fieldErrors{}
	q := admin.AuditQuery{UserID: queryID(c, errs, "user"), ClientID: lastQuery(c, "client_id"), Event: lastQuery(c, "event"),
		Since: queryTime(c, errs, "since"), Until: queryTime(c, errs, "until"), Cursor: lastQuery(c, "cursor")}
	if v := lastQuery(c, "page_size"); v != "" {
		if n, ok := pythonInt(v); ok && n > 0 {
			q.Size = min(n, admin.MaxPageSize)
		}
	}
	if !errs.empty() {
		return badRequest(errs)
	}
	page, err := s.admin.AuditLog(c.r.Context(), a, q)
	if err != nil {
		return s.internal(c, err)
	}
	out := struct {
		Next     *string         `json:"next"`
		Previous *string         `json:"previous"`
		Results  []adminAuditOut `json:"results"`
	}{Results: make([]adminAuditOut, 0, len(page.Events))}
	for _, e := range page.Events {
		out.Results = append(out.Results, toAdminAudit(e))
	}
	if page.Next != "" {
		v := queryOf(c.r)
		v.Set("cursor", page.Next)
		next := s.absoluteURL(c.r) + "?" + v.Encode()
		out.Next = &next
	}
	c.respond(http.StatusOK, out)
	return nil
}
