package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/server"
)

// TestUserListAccess: Config.UserList (GATEHOUSE_USER_LIST) decides who
// sees whom on GET /api/users/: everyone to any authenticated user (the
// default, as the reference), everyone to staff only (others get DRF's
// permission-denied 403), or each caller their own record; filters and
// pages apply within what the caller may see.
func TestUserListAccess(t *testing.T) {
	const denied = `{"detail":"You do not have permission to perform this action."}`
	for _, access := range []gatehouse.UserListAccess{"", gatehouse.UserListAll, gatehouse.UserListStaff, gatehouse.UserListSelf} {
		name := string(access)
		if name == "" {
			name = "unset"
		}
		t.Run(name, func(t *testing.T) {
			each(t, func(c *config) {
				if access != "" {
					c.UserList = access
				}
			}, func(t *testing.T, e *env) {
				h, err := password.New(fastParams, nil).Hash("staffpass")
				if err != nil {
					t.Fatal(err)
				}
				staff := gatehouse.User{Username: "staffer", Email: "staffer@example.com", Password: h, IsActive: true, IsStaff: true, DateJoined: time.Now()}
				if err := e.accounts.Insert(context.Background(), &staff); err != nil {
					t.Fatal(err)
				}
				alice := e.user("alice", "alicepass")
				e.user("bob", "bobpass")
				as := func(who, pw string) []string { return []string{"Authorization", "Token " + e.tokenOf(who, pw)} }
				aliceAuth, staffAuth := as("alice", "alicepass"), as("staffer", "staffpass")
				everyone := `{"count":3,"next":null,"previous":null,"results":[` +
					`{"id":1,"username":"staffer","email":"staffer@example.com","first_name":"","last_name":""},` +
					`{"id":2,"username":"alice","email":"alice@example.com","first_name":"","last_name":""},` +
					`{"id":3,"username":"bob","email":"bob@example.com","first_name":"","last_name":""}]}`
				onlyAlice := `{"count":1,"next":null,"previous":null,"results":[{"id":2,"username":"alice","email":"alice@example.com","first_name":"","last_name":""}]}`
				none := `{"count":0,"next":null,"previous":null,"results":[]}`
				if alice.ID != 2 {
					t.Fatalf("alice is user %d", alice.ID)
				}
				switch access {
				case "", gatehouse.UserListAll:
					expect(t, e.do("GET", "/api/users/", nil, aliceAuth...), 200, everyone)
					expect(t, e.do("GET", "/api/users/", nil, staffAuth...), 200, everyone)
				case gatehouse.UserListStaff:
					for _, q := range []string{"", "?username=alice", "?page=2"} {
						expect(t, e.do("GET", "/api/users/"+q, nil, aliceAuth...), 403, denied)
					}
					if r := e.do("HEAD", "/api/users/", nil, aliceAuth...); r.status != 403 {
						t.Errorf("HEAD as alice: %d", r.status)
					}
					expect(t, e.do("GET", "/api/users/", nil, staffAuth...), 200, everyone)
				case gatehouse.UserListSelf:
					expect(t, e.do("GET", "/api/users/", nil, aliceAuth...), 200, onlyAlice)
					expect(t, e.do("GET", "/api/users/?username=alice", nil, aliceAuth...), 200, onlyAlice)
					expect(t, e.do("GET", "/api/users/?email=bob@example.com", nil, aliceAuth...), 200, none)
					expect(t, e.do("GET", "/api/users/?username=bob", nil, staffAuth...), 200, none)
					expect(t, e.do("GET", "/api/users/?page=2", nil, aliceAuth...), 404, `{"detail":"Invalid page."}`)
					if r := e.do("GET", "/api/users/", nil, staffAuth...); r.status != 200 || !strings.Contains(string(r.body), `"count":1,`) ||
						!strings.Contains(string(r.body), `"username":"staffer"`) {
						t.Errorf("staff under self: %d %s", r.status, r.body)
					}
				}
				// Anonymous callers are refused first, whatever the setting.
				expect(t, e.do("GET", "/api/users/", nil), 401, `{"detail":"Authentication credentials were not provided."}`)
			})
		})
	}
}

// An unknown GATEHOUSE_USER_LIST value stops the server from being built,
// naming the setting and the valid values.
func TestUserListAccessBadValue(t *testing.T) {
	var deps *server.Deps
	buildWith(t, "sqlite", nil, func(w *wiring) { deps = &w.Server })
	for _, bad := range []gatehouse.UserListAccess{"everyone", "Staff", "none", " self"} {
		d := *deps
		d.Config.UserList = bad
		_, err := server.New(d)
		if err == nil || !strings.Contains(err.Error(), `GATEHOUSE_USER_LIST: want all, staff or self, got "`+string(bad)+`"`) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
