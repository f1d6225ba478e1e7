package site_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/site"
)

// The wiring serves the admin API, and admin-clients reaches both the
// token endpoint (who may be granted the admin scope) and the admin
// service (whose admin tokens administer).
func TestAdminAPIWired(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			cfg := testConfig(t, backend)
			cfg.AdminClients = "ops, other-ops"
			s, err := site.Open(context.Background(), cfg, site.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			hs := httptest.NewServer(s.Handler())
			t.Cleanup(hs.Close)
			e := &embedded{t: t, site: s, url: hs.URL}
			ctx := context.Background()
			secrets := map[string]string{}
			for _, id := range []string{"ops", "app"} {
				_, sec, err := s.Clients.Create(ctx, oauth.ApplicationSpec{ClientID: id, Name: id, GrantTypes: []string{"client-credentials"}})
				if err != nil {
					t.Fatal(err)
				}
				secrets[id] = sec
			}
			token := func(id string) answer {
				return e.do("POST", "/o/token/", "", url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"},
					"client_id": {id}, "client_secret": {secrets[id]}})
			}
			if a := token("app"); a.status != 400 || a.body != `{"error": "invalid_scope"}` {
				t.Fatalf("app asking for admin: %+v", a)
			}
			a := token("ops")
			var tok struct {
				Access string `json:"access_token"`
				Scope  string `json:"scope"`
			}
			if err := json.Unmarshal([]byte(a.body), &tok); err != nil || tok.Scope != "admin" {
				t.Fatalf("ops: %+v", a)
			}
			if a := e.do("GET", "/api/admin/users/", "Bearer "+tok.Access, nil); a.status != 200 || a.body != `{"count":0,"next":null,"previous":null,"results":[]}` {
				t.Fatalf("the admin API: %+v", a)
			}
			if a := e.do("GET", "/api/admin/users/", "", nil); a.status != 401 {
				t.Fatalf("anonymous: %+v", a)
			}
			// The status sees this replica (its first heartbeat), the
			// backend, the cleanup and the throttles; the keys are the
			// site's signing keys.
			var st struct {
				Database   struct{ Backend string }
				Replicas   []struct{ Host, Version string }
				Cleanup    *struct{}
				Throttling *struct{}
			}
			host, _ := os.Hostname()
			for i := 0; ; i++ {
				a := e.do("GET", "/api/admin/status/", "Bearer "+tok.Access, nil)
				if a.status != 200 || json.Unmarshal([]byte(a.body), &st) != nil {
					t.Fatalf("status: %+v", a)
				}
				if len(st.Replicas) == 1 || i == 50 {
					break
				}
				time.Sleep(20 * time.Millisecond) // the heartbeat runs beside Open
			}
			if len(st.Replicas) != 1 || st.Replicas[0].Host != host || st.Database.Backend != backend || st.Cleanup == nil || st.Throttling == nil {
				t.Fatalf("status: %+v", st)
			}
			if a := e.do("GET", "/api/admin/keys/", "Bearer "+tok.Access, nil); a.status != 200 || !strings.Contains(a.body, `"state":"current"`) {
				t.Fatalf("keys: %+v", a)
			}
		})
	}
}
