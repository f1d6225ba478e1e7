package storetest

import (
	"fmt"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// auditEpoch is a time off the microsecond, as the services' clocks give.
var auditEpoch = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)

func appendAudit(t *testing.T, s gatehouse.AuditStore, events ...gatehouse.AuditEvent) {
	t.Helper()
	if err := s.AppendAudit(t.Context(), events); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
}

func auditEvents(t *testing.T, s gatehouse.AuditStore, f gatehouse.AuditFilter) []gatehouse.AuditEvent {
	t.Helper()
	if f.Limit == 0 {
		f.Limit = 1000
	}
	got, err := s.AuditEvents(t.Context(), f)
	if err != nil {
		t.Fatalf("AuditEvents(%+v): %v", f, err)
	}
	return got
}

// names lists the Detail["n"] of events, the tests' handle on each.
func names(events []gatehouse.AuditEvent) []string {
	out := []string{}
	for _, e := range events {
		out = append(out, e.Detail["n"])
	}
	return out
}

// Every field comes back as stored: the time to the microsecond, both
// address families, no address, text beyond ASCII; an empty detail is nil.
func testAuditRoundTrip(t *testing.T, s gatehouse.Store) {
	in := []gatehouse.AuditEvent{
		{At: auditEpoch, Event: gatehouse.AuditLoginFailed, UserID: 7, ActorID: 0, ClientID: "",
			Source: netip.MustParseAddr("203.0.113.9"), RequestID: "req-1",
			Detail: map[string]string{"via": "drf_token", "username": "zoë", "reason": "bad_password"}},
		{At: auditEpoch.Add(time.Second), Event: gatehouse.AuditTokenIssued, ClientID: "svc-ü",
			Source: netip.MustParseAddr("2001:db8::1"), RequestID: "req-2", Detail: map[string]string{"grant": "client_credentials", "quote": `"\n`}},
		{At: auditEpoch.Add(2 * time.Second), Event: gatehouse.AuditPasswordChanged, UserID: 7, ActorID: 3},
	}
	appendAudit(t, s, in...)
	got := auditEvents(t, s, gatehouse.AuditFilter{})
	if len(got) != 3 {
		t.Fatalf("%d events, want 3: %+v", len(got), got)
	}
	ids := map[int64]bool{}
	for i, g := range got {
		want := in[2-i] // newest first
		if g.ID <= 0 || ids[g.ID] {
			t.Errorf("event %d: id %d, want a positive id of its own", i, g.ID)
		}
		ids[g.ID] = true
		want.ID, want.At = g.ID, micro(want.At)
		if !reflect.DeepEqual(g, want) {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, g, want)
		}
	}
	if err := s.AppendAudit(t.Context(), nil); err != nil {
		t.Errorf("appending nothing: %v", err)
	}
}

// A batch larger than one statement's rows is stored whole.
func testAuditLargeBatch(t *testing.T, s gatehouse.Store) {
	var in []gatehouse.AuditEvent
	for i := range 2500 {
		in = append(in, gatehouse.AuditEvent{At: auditEpoch.Add(time.Duration(i) * time.Millisecond), Event: gatehouse.AuditTokenIssued,
			ClientID: "svc", Detail: map[string]string{"n": fmt.Sprint(i)}})
	}
	appendAudit(t, s, in...)
	got := auditEvents(t, s, gatehouse.AuditFilter{Limit: 5000})
	if len(got) != 2500 || got[0].Detail["n"] != "2499" || got[2499].Detail["n"] != "0" {
		t.Fatalf("%d events, newest %v, oldest %v", len(got), got[0].Detail, got[len(got)-1].Detail)
	}
}

// The filters select by user (the subject, not the actor), client, event
// and time (Since inclusive, Until exclusive), alone and together.
func testAuditFilters(t *testing.T, s gatehouse.Store) {
	at := func(sec int) time.Time { return auditEpoch.Add(time.Duration(sec) * time.Second) }
	ev := func(n string, sec int, event string, user, actor int64, client string) gatehouse.AuditEvent {
		return gatehouse.AuditEvent{At: at(sec), Event: event, UserID: user, ActorID: actor, ClientID: client, Detail: map[string]string{"n": n}}
	}
	appendAudit(t, s,
		ev("a", 0, gatehouse.AuditLoginSucceeded, 1, 0, ""),
		ev("b", 1, gatehouse.AuditTokenIssued, 1, 0, "web"),
		ev("c", 2, gatehouse.AuditTokenIssued, 0, 0, "svc"),
		ev("d", 3, gatehouse.AuditTokenRevoked, 2, 1, "web"),
		ev("e", 4, gatehouse.AuditLoginFailed, 0, 0, ""),
		ev("f", 5, gatehouse.AuditTokenIssued, 2, 0, "web"),
	)
	for _, c := range []struct {
		name string
		f    gatehouse.AuditFilter
		want []string
	}{
		{"all", gatehouse.AuditFilter{}, []string{"f", "e", "d", "c", "b", "a"}},
		{"user 1 (not as actor)", gatehouse.AuditFilter{UserID: 1}, []string{"b", "a"}},
		{"user 2", gatehouse.AuditFilter{UserID: 2}, []string{"f", "d"}},
		{"unknown user", gatehouse.AuditFilter{UserID: 99}, []string{}},
		{"client web", gatehouse.AuditFilter{ClientID: "web"}, []string{"f", "d", "b"}},
		{"client svc", gatehouse.AuditFilter{ClientID: "svc"}, []string{"c"}},
		{"event", gatehouse.AuditFilter{Event: gatehouse.AuditTokenIssued}, []string{"f", "c", "b"}},
		{"since is inclusive", gatehouse.AuditFilter{Since: at(4)}, []string{"f", "e"}},
		{"until is exclusive", gatehouse.AuditFilter{Until: at(2)}, []string{"b", "a"}},
		{"range", gatehouse.AuditFilter{Since: at(1), Until: at(4)}, []string{"d", "c", "b"}},
		{"range off the microsecond", gatehouse.AuditFilter{Since: at(1).Add(time.Microsecond), Until: at(3).Add(time.Microsecond)}, []string{"d", "c"}},
		{"user, client, event, range", gatehouse.AuditFilter{UserID: 2, ClientID: "web", Event: gatehouse.AuditTokenIssued, Since: at(1)}, []string{"f"}},
		{"limit keeps the newest", gatehouse.AuditFilter{Event: gatehouse.AuditTokenIssued, Limit: 2}, []string{"f", "c"}},
	} {
		if got := names(auditEvents(t, s, c.f)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if _, err := s.AuditEvents(t.Context(), gatehouse.AuditFilter{}); err == nil {
		t.Error("a listing without a limit was answered")
	}
}

// Events of the same microsecond are ordered by id, and paging with After
// visits every event once, also across such ties.
func testAuditPaging(t *testing.T, s gatehouse.Store) {
	var in []gatehouse.AuditEvent
	for i := range 25 {
		in = append(in, gatehouse.AuditEvent{At: auditEpoch.Add(time.Duration(i/4) * time.Second), Event: gatehouse.AuditLoginFailed,
			Detail: map[string]string{"n": fmt.Sprintf("%02d", i)}})
	}
	appendAudit(t, s, in[:10]...)
	appendAudit(t, s, in[10:]...)
	var seen []string
	f := gatehouse.AuditFilter{Limit: 3}
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatalf("paging does not end: %v", seen)
		}
		page := auditEvents(t, s, f)
		if len(page) == 0 {
			break
		}
		seen = append(seen, names(page)...)
		f.After = &page[len(page)-1]
	}
	var want []string
	for i := 24; i >= 0; i-- {
		want = append(want, fmt.Sprintf("%02d", i))
	}
	if !reflect.DeepEqual(seen, want) {
		t.Fatalf("pages gave %v\nwant %v", seen, want)
	}
	// After combines with the filters.
	f = gatehouse.AuditFilter{Since: auditEpoch.Add(4 * time.Second), Limit: 100}
	all := auditEvents(t, s, f)
	f.After = &all[1]
	if got := names(auditEvents(t, s, f)); !reflect.DeepEqual(got, names(all[2:])) {
		t.Fatalf("after the second of %v: %v", names(all), got)
	}
}

// DeleteAuditBefore removes only events older than the time, at most
// limit at a time, and reports how many.
func testAuditDeleteBefore(t *testing.T, s gatehouse.Store) {
	cut := auditEpoch.Add(time.Hour)
	var in []gatehouse.AuditEvent
	for i := range 7 {
		in = append(in, gatehouse.AuditEvent{At: cut.Add(-time.Duration(i+1) * time.Microsecond), Event: gatehouse.AuditLoginFailed,
			Detail: map[string]string{"n": "old"}})
	}
	in = append(in,
		gatehouse.AuditEvent{At: cut, Event: gatehouse.AuditLoginFailed, Detail: map[string]string{"n": "at the cut"}},
		gatehouse.AuditEvent{At: cut.Add(time.Hour), Event: gatehouse.AuditLoginFailed, Detail: map[string]string{"n": "new"}})
	appendAudit(t, s, in...)
	var counts []int64
	for {
		n, err := s.DeleteAuditBefore(t.Context(), cut, 3)
		if err != nil {
			t.Fatal(err)
		}
		counts = append(counts, n)
		if n == 0 || len(counts) > 5 {
			break
		}
	}
	if !reflect.DeepEqual(counts, []int64{3, 3, 1, 0}) {
		t.Errorf("deleted %v per call, want [3 3 1 0]", counts)
	}
	if got := names(auditEvents(t, s, gatehouse.AuditFilter{})); !reflect.DeepEqual(got, []string{"new", "at the cut"}) {
		t.Errorf("left %v", got)
	}
}

// Events outlive the user and the application they name.
func testAuditOutlivesUsers(t *testing.T, s gatehouse.Store) {
	u := newUser(t, s, "alice")
	app := newApp(t, s, "c1")
	appendAudit(t, s, gatehouse.AuditEvent{At: auditEpoch, Event: gatehouse.AuditTokenIssued, UserID: u.ID, ActorID: u.ID, ClientID: app.ClientID})
	if err := s.DeleteApplication(t.Context(), app.ClientID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(t.Context(), u.ID); err != nil {
		t.Fatal(err)
	}
	if got := auditEvents(t, s, gatehouse.AuditFilter{UserID: u.ID, ClientID: "c1"}); len(got) != 1 {
		t.Fatalf("events of a deleted user and application: %+v", got)
	}
}
