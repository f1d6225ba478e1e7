package server

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/admin"
)

// The superusers' pages of the admin site: the audit log (filtered, a page
// at a time by cursor), the signing keys (with their rotation) and the
// status of the service.

// siteAuditRow is one event as the audit page shows it.
type siteAuditRow struct {
	gatehouse.AuditEvent
	UserHref, ActorHref string
	Details             string
}

type siteAuditData struct {
	Filters *siteForm
	Rows    []siteAuditRow
	Newest  string // the first page's link ("" on the first page)
	Older   string // the next page's link ("" on the last)
}

// siteTime reads a time filter: a date (midnight UTC) or a date and time
// (UTC), as the inputs' help says; "" is the zero time.
func siteTime(field, v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, gatehouse.Invalid(gatehouse.FieldError{Field: field, Code: gatehouse.FieldInvalid,
		Message: "Enter a date such as 2026-12-01, or a date and time such as 2026-12-01T15:04 (UTC)."})
}

// siteAudit is the audit log: GET /admin/audit/?user=&client_id=&event=&since=&until=&cursor=.
func (s *Server) siteAudit(w http.ResponseWriter, r *http.Request, a *siteRequest) {
	q := queryOf(r)
	aq := admin.AuditQuery{ClientID: strings.TrimSpace(q.Get("client_id")), Event: q.Get("event"), Cursor: q.Get("cursor"), Size: siteListPageSize}
	var err error
	if u := strings.TrimSpace(q.Get("user")); u != "" {
		aq.UserID, err = s.siteUserNamed(r, a, u)
	}
	if err == nil {
		aq.Since, err = siteTime("since", q.Get("since"))
	}
	if err == nil {
		aq.Until, err = siteTime("until", q.Get("until"))
	}
	var page admin.AuditPage
	if err == nil {
		page, err = s.admin.AuditLog(r.Context(), a.actor, aq)
	}
	status := http.StatusOK
	if err != nil {
		if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			s.siteFail(w, r, a, err)
			return
		}
		status = http.StatusBadRequest
	}
	events := []siteOption{{Value: "", Label: "Any", Selected: aq.Event == ""}}
	for _, e := range gatehouse.AuditEvents() {
		events = append(events, siteOption{Value: e, Label: e, Selected: e == aq.Event})
	}
	d := siteAuditData{Filters: newSiteForm(err,
		siteField{Name: "user", Label: "User", Type: "text", Value: q.Get("user"), Help: "Username or id of the user the event is about.", Autocomplete: "off"},
		siteField{Name: "client_id", Label: "Client id", Type: "text", Value: q.Get("client_id"), Autocomplete: "off"},
		siteField{Name: "event", Label: "Event", Type: "select", Options: events},
		siteField{Name: "since", Label: "Since", Type: "text", Value: q.Get("since"), Help: "UTC: 2026-12-01 or 2026-12-01T15:04.", Autocomplete: "off"},
		siteField{Name: "until", Label: "Until", Type: "text", Value: q.Get("until"), Help: "UTC, not included.", Autocomplete: "off"},
	)}
	link := func(cursor string) string {
		v := url.Values{}
		for _, k := range []string{"user", "client_id", "event", "since", "until"} {
			if x := q.Get(k); x != "" {
				v.Set(k, x)
			}
		}
		if cursor != "" {
			v.Set("cursor", cursor)
		}
		if len(v) == 0 {
			return s.url(sitePrefix + "audit/")
		}
		return s.url(sitePrefix+"audit/") + "?" + v.Encode()
	}
	if err == nil {
		for _, e := range page.Events {
			row := siteAuditRow{AuditEvent: e, Details: siteDetails(e.Detail)}
			if e.UserID != 0 {
				row.UserHref = s.url(siteUserHref(e.UserID))
			}
			if e.ActorID != 0 {
				row.ActorHref = s.url(siteUserHref(e.ActorID))
			}
			d.Rows = append(d.Rows, row)
		}
		if page.Next != "" {
			d.Older = link(page.Next)
		}
		if aq.Cursor != "" {
			d.Newest = link("")
		}
	}
	s.siteRender(w, r, a, status, "audit", siteView{Title: "Audit log", Section: "audit", Data: d})
}

// siteDetails writes an event's details as "key=value" pairs by key.
func siteDetails(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + "=" + m[k])
	}
	return b.String()
}

type siteKeysData struct {
	Keys    []admin.KeyInfo
	Problem string
}

// siteKeys lists the signing keys (admin.Keys); POST rotates
// (admin.RotateKey).
func (s *Server) siteKeys(w http.ResponseWriter, r *http.Request, a *siteRequest) {
	if r.Method == http.MethodPost {
		if _, err := s.admin.RotateKey(r.Context(), a.actor); err != nil {
			s.siteFail(w, r, a, err)
			return
		}
		s.siteRedirect(w, sitePrefix+"keys/", "keyrotated", 0)
		return
	}
	keys, err := s.admin.Keys(r.Context(), a.actor)
	var d siteKeysData
	switch {
	case gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND:
		d.Problem = "This server signs no tokens with asymmetric keys: no OpenID Connect and no JWT access tokens are configured."
	case err != nil:
		s.siteFail(w, r, a, err)
		return
	}
	d.Keys = keys
	s.siteRender(w, r, a, http.StatusOK, "keys", siteView{Title: "Signing keys", Section: "keys", Data: d})
}

type siteStatusData struct {
	admin.Status
	Tokens  []siteCount
	Removed []siteCount
}

// siteStatus is the status page (admin.Status).
func (s *Server) siteStatus(w http.ResponseWriter, r *http.Request, a *siteRequest) {
	st, err := s.admin.Status(r.Context(), a.actor)
	if err != nil {
		s.siteFail(w, r, a, err)
		return
	}
	d := siteStatusData{Status: st}
	for _, k := range siteTokenKinds[1:] {
		d.Tokens = append(d.Tokens, siteCount{Label: k.Label + "s", N: st.LiveTokens[k.Value]})
	}
	if st.Cleanup != nil {
		for k, n := range st.Cleanup.Removed {
			d.Removed = append(d.Removed, siteCount{Label: k, N: n})
		}
		sort.Slice(d.Removed, func(i, j int) bool { return d.Removed[i].Label < d.Removed[j].Label })
	}
	s.siteRender(w, r, a, http.StatusOK, "status", siteView{Title: "Status", Section: "status", Data: d})
}
