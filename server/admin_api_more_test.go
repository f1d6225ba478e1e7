package server_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/keys"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// The audit log: superusers only, filters, pages by cursor.
func TestAdminAuditLog(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		ctx := context.Background()
		t0 := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
		var events []gatehouse.AuditEvent
		for i := range 5 {
			events = append(events, gatehouse.AuditEvent{At: t0.Add(time.Duration(i) * time.Minute), Event: gatehouse.AuditLoginFailed,
				UserID: f.users["plain"].ID, Source: netip.MustParseAddr("192.0.2.1"), Detail: map[string]string{"n": string(rune('a' + i))}})
		}
		events = append(events, gatehouse.AuditEvent{At: t0.Add(10 * time.Minute), Event: gatehouse.AuditApplicationCreated, ClientID: "shop",
			ActorID: f.users["root"].ID})
		if err := e.store.AppendAudit(ctx, events); err != nil {
			t.Fatal(err)
		}
		const u = "/api/admin/audit/"
		expect(t, f.do("", "GET", u, nil), 401, msgNoCreds)
		expect(t, f.do(f.viewer, "GET", u, nil), 403, msgDenied)
		expect(t, f.do(f.plain, "GET", u, nil), 403, msgDenied)

		r := f.do(f.root, "GET", u+"?client_id=shop", nil)
		expect(t, r, 200, "")
		m := r.json(t)
		res := m["results"].([]any)
		if len(res) != 1 || m["next"] != nil {
			t.Fatalf("by client: %s", r.body)
		}
		if ev := res[0].(map[string]any); ev["event"] != "application.created" || ev["actor"] != float64(f.users["root"].ID) || ev["user"] != nil {
			t.Fatalf("event: %v", ev)
		}
		// Pages of two by cursor, newest first, within the time bounds.
		var seen []string
		next := u + "?event=login.failed&page_size=2&since=2026-04-01T10:01:00Z&until=2026-04-01T10:04:30Z"
		for next != "" {
			r := f.do(f.root, "GET", strings.TrimPrefix(next, e.http.URL), nil)
			expect(t, r, 200, "")
			m := r.json(t)
			for _, it := range m["results"].([]any) {
				ev := it.(map[string]any)
				seen = append(seen, ev["detail"].(map[string]any)["n"].(string))
				if ev["source"] != "192.0.2.1" || ev["user"] != float64(f.users["plain"].ID) {
					t.Fatalf("event %v", ev)
				}
			}
			next, _ = m["next"].(string)
			if len(seen) > 10 {
				t.Fatal("no end to the pages")
			}
		}
		if strings.Join(seen, "") != "edcb" {
			t.Fatalf("events by cursor %q, want edcb", strings.Join(seen, ""))
		}
		for q, field := range map[string]string{"event=nope": "event", "cursor=notacursor": "cursor", "cursor=!!": "cursor", "since=yesterday": "since", "user=x": "user"} {
			r := f.do(f.root, "GET", u+"?"+q, nil)
			expect(t, r, 400, "")
			if r.json(t)[field] == nil {
				t.Fatalf("?%s: %s", q, r.body)
			}
		}
	})
}

// Signing keys: 404 without a key manager; with one, listed without
// private material and rotated by superusers only.
func TestAdminKeys(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		expect(t, f.do(f.root, "GET", "/api/admin/keys/", nil), 404, msgNotFound)
		expect(t, f.do(f.root, "POST", "/api/admin/keys/rotate/", nil), 404, msgNotFound)
	})
	eachWith(t, func(w *wiring) {
		box, err := secret.NewBox("test-server-secret-0123456789")
		if err != nil {
			t.Fatal(err)
		}
		m, err := keys.New(context.Background(), keys.Deps{Store: w.Server.Store.(gatehouse.SigningKeyStore), Box: box, Algorithm: keys.ES256})
		if err != nil {
			t.Fatal(err)
		}
		w.Keys = m
	}, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		expect(t, f.do("", "GET", "/api/admin/keys/", nil), 401, msgNoCreds)
		expect(t, f.do(f.viewer, "GET", "/api/admin/keys/", nil), 403, msgDenied)
		expect(t, f.do(f.viewer, "POST", "/api/admin/keys/rotate/", nil), 403, msgDenied)
		r := f.do(f.root, "GET", "/api/admin/keys/", nil)
		expect(t, r, 200, "")
		list := r.json(t)["results"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["state"] != gatehouse.KeyCurrent || list[0].(map[string]any)["algorithm"] != "ES256" {
			t.Fatalf("keys: %s", r.body)
		}
		if strings.Contains(string(r.body), `"d":`) || strings.Contains(string(r.body), "sealed") || strings.Contains(string(r.body), "private") {
			t.Fatalf("private material: %s", r.body)
		}
		r = f.do(f.root, "POST", "/api/admin/keys/rotate/", nil)
		expect(t, r, 201, "")
		if k := r.json(t); k["state"] != gatehouse.KeyNext || k["kid"] == list[0].(map[string]any)["kid"] {
			t.Fatalf("rotated: %s", r.body)
		}
		if got := f.do(f.root, "GET", "/api/admin/keys/", nil).json(t)["results"].([]any); len(got) != 2 {
			t.Fatalf("after rotation %d keys", len(got))
		}
	})
}

// Status: superusers only; the backend, counts, replicas seen, cleanup
// and throttling.
func TestAdminStatus(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		const u = "/api/admin/status/"
		expect(t, f.do("", "GET", u, nil), 401, msgNoCreds)
		expect(t, f.do(f.viewer, "GET", u, nil), 403, msgDenied)
		now := e.clock.now()
		if err := e.store.SeeReplica(context.Background(), gatehouse.Replica{ID: "r1", Host: "web-1", Version: "v9", Started: now.Add(-time.Hour), LastSeen: now}, now.Add(-gatehouse.ReplicaExpiry)); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			r := e.do("POST", "/api-token-auth/", map[string]string{"username": "plain", "password": "wrong"})
			expect(t, r, 400, "")
		}
		r := f.do(f.root, "GET", u, nil)
		expect(t, r, 200, "")
		var st struct {
			Version  map[string]string
			Database struct {
				Backend   string
				Reachable bool
			}
			Replicas []struct{ ID, Host, Version string }
			Counts   struct {
				Users        int
				ActiveUsers  int `json:"active_users"`
				Applications int
				LiveTokens   map[string]int64 `json:"live_tokens"`
			}
			Cleanup    *struct{ Passes uint64 }
			Throttling *struct {
				Counters        int64
				FailingAccounts int64 `json:"failing_accounts"`
			}
		}
		decode(t, r, &st)
		backend := "sqlite"
		if strings.HasPrefix(e.dbURL, "postgres") {
			backend = "postgres"
		}
		if st.Version["version"] == "" || st.Version["go"] == "" || st.Database.Backend != backend || !st.Database.Reachable {
			t.Fatalf("status: %s", r.body)
		}
		if st.Counts.Users != 4 || st.Counts.ActiveUsers != 4 || st.Counts.Applications != 0 || st.Counts.LiveTokens[gatehouse.CredentialDRF] < 4 {
			t.Fatalf("counts: %s", r.body)
		}
		if len(st.Replicas) != 1 || st.Replicas[0].Host != "web-1" || st.Cleanup == nil {
			t.Fatalf("replicas, cleanup: %s", r.body)
		}
		if st.Throttling == nil || st.Throttling.FailingAccounts != 1 || st.Throttling.Counters < 1 {
			t.Fatalf("throttling: %s", r.body)
		}
	})
}
