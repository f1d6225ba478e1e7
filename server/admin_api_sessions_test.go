package server_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// Each login's browser session is among the user's credentials (kind
// session: the browser, the address, the last use), revoked alone by an
// administrator: that cookie stops working at once, the user's other
// session goes on. Sessions a logout or "log out everywhere" ended are
// listed as ended.
func TestAdminUserSessions(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		plain := f.users["plain"]
		credsOf := userURL(plain.ID, "credentials/")
		phone, laptop := e.browser(), e.browser()
		phone.login("plain", "plainpass")
		laptop.login("plain", "plainpass")
		me := func(b *browser) int {
			t.Helper()
			res, _ := b.get("/api/me/")
			return res.StatusCode
		}
		if me(phone) != 200 || me(laptop) != 200 {
			t.Fatal("a logged-in session does not authenticate /api/me/")
		}
		type cred struct {
			Kind     string     `json:"kind"`
			ID       string     `json:"id"`
			User     int64      `json:"user"`
			Label    string     `json:"label"`
			Created  time.Time  `json:"created"`
			Expires  *time.Time `json:"expires"`
			Revoked  *time.Time `json:"revoked"`
			LastSeen *time.Time `json:"last_seen"`
			Source   string     `json:"source"`
		}
		sessions := func(url string) []cred {
			t.Helper()
			r := f.do(f.root, "GET", url, nil)
			expect(t, r, 200, "")
			var page struct{ Results []cred }
			decode(t, r, &page)
			var out []cred
			for _, c := range page.Results {
				if c.Kind == gatehouse.CredentialSession {
					out = append(out, c)
				} else if c.LastSeen != nil || c.Source != "" {
					t.Fatalf("a %s with a session's fields: %+v", c.Kind, c)
				}
			}
			return out
		}
		live := sessions(credsOf)
		if len(live) != 2 {
			t.Fatalf("plain's sessions: %+v", live)
		}
		for _, c := range live {
			if c.User != plain.ID || c.Label != "Go-http-client/1.1" || c.Source != "127.0.0.1" || c.Revoked != nil ||
				c.LastSeen == nil || c.LastSeen.Before(c.Created) || c.Expires == nil || !c.Expires.After(c.Created) {
				t.Fatalf("session listed as %+v", c)
			}
		}
		// Newest first: the laptop's.
		laptopID, phoneID := live[0].ID, live[1].ID
		if got := sessions(credsURL + "?kind=session&user=" + strconv.FormatInt(plain.ID, 10)); len(got) != 2 {
			t.Fatalf("in the credentials list: %+v", got)
		}
		// Another staff user without sessions.view_session sees none.
		expect(t, f.do(f.viewer, "GET", credsURL+"?kind=session", nil), 403, msgDenied)

		expect(t, f.do(f.viewer, "DELETE", credsOf+"session/"+laptopID+"/", nil), 403, msgDenied)
		expect(t, f.do(f.root, "DELETE", credsOf+"session/"+laptopID+"/", nil), 204, "")
		if me(laptop) == 200 || me(phone) != 200 {
			t.Fatalf("after revoking the laptop's session: laptop %d, phone %d", me(laptop), me(phone))
		}
		expect(t, f.do(f.root, "DELETE", credsOf+"session/"+laptopID+"/", nil), 404, msgNotFound)
		if got := sessions(credsOf); len(got) != 1 || got[0].ID != phoneID {
			t.Fatalf("live after the revocation: %+v", got)
		}
		ended := sessions(credsOf + "?state=ended")
		if len(ended) != 1 || ended[0].ID != laptopID || ended[0].Revoked == nil {
			t.Fatalf("ended after the revocation: %+v", ended)
		}
		found := false
		for _, ev := range e.auditRows() {
			if ev.Event == gatehouse.AuditCredentialsRevoked && ev.Detail["kind"] == gatehouse.CredentialSession && ev.Detail["id"] == laptopID && ev.UserID == plain.ID {
				found = true
			}
		}
		if !found {
			t.Fatal("no credentials.revoked event for the session")
		}

		// Revoked through the credentials list by id, as the tokens page does.
		laptop.login("plain", "plainpass")
		again := sessions(credsOf)
		if len(again) != 2 || me(laptop) != 200 {
			t.Fatalf("after logging in again: %+v", again)
		}
		r := f.do(f.root, "POST", credsURL+"revoke/", map[string]any{"ids": []map[string]string{{"kind": "session", "id": again[0].ID}}})
		expect(t, r, 200, `{"revoked":1}`)
		if me(laptop) == 200 || me(phone) != 200 {
			t.Fatal("revoking by id ended the wrong session")
		}

		// Log out everywhere ends the phone's too; it is listed as ended
		// at that time.
		expect(t, f.do(f.root, "POST", userURL(plain.ID, "logout-everywhere/"), nil), 204, "")
		if me(phone) == 200 {
			t.Fatal("log out everywhere left a session working")
		}
		if got := sessions(credsOf); len(got) != 0 {
			t.Fatalf("live after log out everywhere: %+v", got)
		}
		if got := sessions(credsOf + "?state=ended"); len(got) != 3 {
			t.Fatalf("ended after log out everywhere: %+v", got)
		}
	})
}

// The admin site's user page lists the user's browser sessions (browser,
// address, last use) each with its Revoke button, which ends that one.
func TestAdminSiteUserSessions(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		f := newAdminFixture(e)
		plain := f.users["plain"]
		b := e.browser()
		b.login("plain", "plainpass")
		root := e.browser()
		root.login("root", "rootpass")
		page := siteUserURL(plain.ID)
		_, body := root.get(page)
		m := regexp.MustCompile(`(?s)<tr><td>session</td><td class="mono">Go-http-client/1\.1<br><span class="help">from 127\.0\.0\.1, last seen [^<]+</span></td>.*?name="kind" value="session"><input type="hidden" name="id" value="(\d+)">`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no session row with its Revoke form on the user page:\n%s", body)
		}
		form := url.Values{"kind": {"session"}, "id": {m[1]}, "csrfmiddlewaretoken": {hidden(body).Get("csrfmiddlewaretoken")}}
		if res, _ := root.post(page+"revoke/", form); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("revoke: %d", res.StatusCode)
		}
		if res, _ := b.get("/api/me/"); res.StatusCode == 200 {
			t.Fatal("the revoked session still authenticates")
		}
		if res, _ := root.get("/api/me/"); res.StatusCode != 200 {
			t.Fatalf("the administrator's own session: %d", res.StatusCode)
		}
	})
}
