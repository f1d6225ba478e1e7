package server_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// auditWant is an event a step must have recorded: Detail lists the keys
// to compare; ActorID -1 means "the user" and 0 none.
type auditWant struct {
	step   string // the request id the step sent; "" for a service call
	event  string
	user   int64
	actor  int64
	client string
	detail map[string]string
}

// rows reads every audit row after the recorder stored what it queued.
func (e *env) auditRows() []gatehouse.AuditEvent {
	e.t.Helper()
	if err := e.audit.Close(); err != nil {
		e.t.Fatal(err)
	}
	rows, err := e.store.AuditEvents(context.Background(), gatehouse.AuditFilter{Limit: 10000})
	if err != nil {
		e.t.Fatal(err)
	}
	slices.Reverse(rows)
	return rows
}

// Every event gatehouse emits is recorded by a real flow through the HTTP
// server (or, for what only the CLI does, the service the CLI calls), as
// a row and as a log line, with the request id the client sent, the
// client's address, the subject, the actor and the client; and no row or
// log line holds any password, key, token, code or client secret of the
// flow, nor their SHA-256.
func TestAuditEveryEventFromRealFlows(t *testing.T) {
	rotate := func(w *wiring) { w.JWT.Options.RotateRefreshTokens = true }
	eachWith(t, rotate, func(t *testing.T, e *env) {
		ctx := context.Background()
		apps := e.setupOAuth()
		alice, err := e.store.UserByUsername(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		var secrets []string // every secret value the flow handles
		keep := func(s ...string) {
			for _, v := range s {
				if v != "" {
					secrets = append(secrets, v)
				}
			}
		}
		keep("alicepass", apps.confSecret, apps.codeSecret, apps.ccSecret)
		var wants []auditWant
		want := func(w ...auditWant) { wants = append(wants, w...) }
		// call sends a request with X-Request-Id: step.
		call := func(step, method, path string, body any, status int, headers ...string) resp {
			t.Helper()
			r := e.do(method, path, body, append([]string{"X-Request-Id", step}, headers...)...)
			if r.status != status {
				t.Fatalf("%s: %s %s answered %d, want %d: %s", step, method, path, r.status, status, r.body)
			}
			return r
		}
		str := func(r resp, key string) string {
			v, _ := r.json(t)[key].(string)
			keep(v)
			return v
		}

		// Sign-up.
		keep("carol-secret-horse-battery")
		call("signup", "POST", "/sign_up/", map[string]string{"username": "carol", "password": "carol-secret-horse-battery"}, 201)
		carol, err := e.store.UserByUsername(ctx, "carol")
		if err != nil {
			t.Fatal(err)
		}
		want(auditWant{"signup", gatehouse.AuditUserCreated, carol.ID, 0, "", map[string]string{"username": "carol"}})

		// DRF logins: a wrong password, an unknown user (with a request id
		// that is not UTF-8: PostgreSQL refuses such text), a success.
		keep("wrong-password-1", "wrong-password-2")
		call("drf-wrong", "POST", "/api-token-auth/", map[string]string{"username": "alice", "password": "wrong-password-1"}, 400)
		call("drf-unknown\xff", "POST", "/api-token-auth/", map[string]string{"username": "mallory", "password": "wrong-password-2"}, 400)
		key := str(call("drf-ok", "POST", "/api-token-auth/", map[string]string{"username": "alice", "password": "alicepass"}, 200), "token")
		want(auditWant{"drf-wrong", gatehouse.AuditLoginFailed, alice.ID, 0, "", map[string]string{"via": "drf_token", "username": "alice", "reason": "bad_password"}},
			auditWant{"drf-unknown\uFFFD", gatehouse.AuditLoginFailed, 0, 0, "", map[string]string{"via": "drf_token", "username": "mallory", "reason": "unknown_user"}},
			auditWant{"drf-ok", gatehouse.AuditLoginSucceeded, alice.ID, 0, "", map[string]string{"via": "drf_token", "username": "alice"}})
		drf := []string{"Authorization", "Token " + key}

		// A device token, created and deleted by alice herself.
		r := call("device-new", "POST", "/api/tokens/", map[string]string{"name": "laptop"}, 201, drf...)
		str(r, "key")
		id := int64(r.json(t)["id"].(float64))
		call("device-del", "DELETE", fmt.Sprintf("/api/tokens/%d/", id), nil, 204, drf...)
		want(auditWant{"device-new", gatehouse.AuditTokenIssued, alice.ID, alice.ID, "", map[string]string{"kind": "drf", "name": "laptop", "token_id": fmt.Sprint(id)}},
			auditWant{"device-del", gatehouse.AuditTokenRevoked, alice.ID, alice.ID, "", map[string]string{"kind": "drf", "token_id": fmt.Sprint(id)}})

		// simplejwt: obtain, refresh (rotating), the old refresh token
		// again (reuse), then a fresh pair blacklisted.
		r = call("jwt-obtain", "POST", "/access-token/", map[string]string{"username": "alice", "password": "alicepass"}, 200)
		str(r, "access")
		refresh1 := str(r, "refresh")
		r = call("jwt-refresh", "POST", "/access-token/refresh/", map[string]string{"refresh": refresh1}, 200)
		str(r, "access")
		str(r, "refresh")
		call("jwt-reuse", "POST", "/access-token/refresh/", map[string]string{"refresh": refresh1}, 401)
		r = call("jwt-obtain-2", "POST", "/access-token/", map[string]string{"username": "alice", "password": "alicepass"}, 200)
		str(r, "access")
		call("jwt-blacklist", "POST", "/access-token/blacklist/", map[string]string{"refresh": str(r, "refresh")}, 200)
		sj := map[string]string{"kind": "simplejwt"}
		want(auditWant{"jwt-obtain", gatehouse.AuditLoginSucceeded, alice.ID, 0, "", map[string]string{"via": "simplejwt"}},
			// The obtain view knows alice once her password passed.
			auditWant{"jwt-obtain", gatehouse.AuditTokenIssued, alice.ID, alice.ID, "", sj},
			auditWant{"jwt-refresh", gatehouse.AuditTokenRefreshed, alice.ID, 0, "", sj},
			auditWant{"jwt-reuse", gatehouse.AuditTokenReused, alice.ID, 0, "", sj},
			auditWant{"jwt-obtain-2", gatehouse.AuditTokenIssued, alice.ID, alice.ID, "", sj},
			auditWant{"jwt-blacklist", gatehouse.AuditTokenRevoked, alice.ID, 0, "", sj})

		// OAuth: the password grant (a wrong password, a success), a
		// refresh, the old refresh token again, client credentials and
		// two revocations.
		conf := []string{"Authorization", basic("conf-client", apps.confSecret)}
		pw := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alicepass"}}
		keep("wrong-password-3")
		call("oauth-wrong", "POST", "/o/token/", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"wrong-password-3"}}, 400, conf...)
		r = call("oauth-pw", "POST", "/o/token/", pw, 200, conf...)
		str(r, "access_token")
		rt1 := str(r, "refresh_token")
		r = call("oauth-refresh", "POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}}, 200, conf...)
		str(r, "access_token")
		str(r, "refresh_token")
		call("oauth-reuse", "POST", "/o/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}}, 400, conf...)
		cc := []string{"Authorization", basic("cc-client", apps.ccSecret)}
		ccTok := str(call("oauth-cc", "POST", "/o/token/", url.Values{"grant_type": {"client_credentials"}}, 200, cc...), "access_token")
		call("oauth-revoke-access", "POST", "/o/revoke_token/", url.Values{"token": {ccTok}}, 200, cc...)
		r = call("oauth-pw-2", "POST", "/o/token/", pw, 200, conf...)
		str(r, "access_token")
		call("oauth-revoke-refresh", "POST", "/o/revoke_token/", url.Values{"token": {str(r, "refresh_token")}, "token_type_hint": {"refresh_token"}}, 200, conf...)
		ot := func(more ...string) map[string]string {
			m := map[string]string{"kind": "oauth"}
			for i := 0; i+1 < len(more); i += 2 {
				m[more[i]] = more[i+1]
			}
			return m
		}
		want(auditWant{"oauth-wrong", gatehouse.AuditLoginFailed, alice.ID, 0, "", map[string]string{"via": "oauth_password", "reason": "bad_password"}},
			auditWant{"oauth-pw", gatehouse.AuditLoginSucceeded, alice.ID, 0, "", map[string]string{"via": "oauth_password"}},
			auditWant{"oauth-pw", gatehouse.AuditTokenIssued, alice.ID, 0, "conf-client", ot("grant", "password", "scope", "read write groups")},
			auditWant{"oauth-refresh", gatehouse.AuditTokenRefreshed, alice.ID, 0, "conf-client", ot("grant", "refresh_token")},
			auditWant{"oauth-reuse", gatehouse.AuditTokenReused, alice.ID, 0, "conf-client", ot()},
			auditWant{"oauth-cc", gatehouse.AuditTokenIssued, 0, 0, "cc-client", ot("grant", "client_credentials")},
			auditWant{"oauth-revoke-access", gatehouse.AuditTokenRevoked, 0, 0, "cc-client", ot("token_type", "access_token")},
			auditWant{"oauth-revoke-refresh", gatehouse.AuditTokenRevoked, alice.ID, 0, "conf-client", ot("token_type", "refresh_token")})

		// The browser: the login page, consent, the code exchanged, then
		// replayed.
		b := e.browser()
		_, page := b.get("/admin/login/")
		form := hidden(page)
		form.Set("username", "alice")
		form.Set("password", "alicepass")
		if res := b.send("page-login", "POST", "/admin/login/", form); res.StatusCode != 302 {
			t.Fatalf("login page: %d", res.StatusCode)
		}
		q := url.Values{"response_type": {"code"}, "client_id": {"code-client"}, "redirect_uri": {redirectURI}, "scope": {"read"}}
		_, page = b.get("/o/authorize/?" + q.Encode())
		form = hidden(page)
		form.Set("allow", "Authorize")
		res := b.send("consent", "POST", "/o/authorize/", form)
		loc, _ := url.Parse(res.Header.Get("Location"))
		code := loc.Query().Get("code")
		if code == "" {
			t.Fatalf("consent answered %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		keep(code)
		for _, c := range b.c.Jar.Cookies(&url.URL{Scheme: "http", Host: strings.TrimPrefix(e.http.URL, "http://")}) {
			keep(c.Value)
		}
		codeAuth := []string{"Authorization", basic("code-client", apps.codeSecret)}
		exchange := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
		r = call("code-exchange", "POST", "/o/token/", exchange, 200, codeAuth...)
		str(r, "access_token")
		str(r, "refresh_token")
		call("code-replay", "POST", "/o/token/", exchange, 400, codeAuth...)
		want(auditWant{"page-login", gatehouse.AuditLoginSucceeded, alice.ID, 0, "", map[string]string{"via": "login_page", "username": "alice"}},
			auditWant{"consent", gatehouse.AuditCodeIssued, alice.ID, alice.ID, "code-client", ot("scope", "read")},
			auditWant{"code-exchange", gatehouse.AuditTokenIssued, alice.ID, 0, "code-client", ot("grant", "authorization_code", "scope", "read")},
			auditWant{"code-replay", gatehouse.AuditCodeReplayed, alice.ID, 0, "code-client", ot()})

		// Log out everywhere.
		call("logoutall", "POST", "/api/tokens/logoutall/", nil, 204, drf...)
		want(auditWant{"logoutall", gatehouse.AuditLoggedOutEverywhere, alice.ID, alice.ID, "", nil})

		// What only the CLI does, through the services it calls: no
		// request, so no request id, address or actor.
		keep("a-new-password-for-alice")
		if err := e.accounts.ChangePassword(ctx, "alice", "a-new-password-for-alice"); err != nil {
			t.Fatal(err)
		}
		if err := e.accounts.SetActive(ctx, "carol", false); err != nil {
			t.Fatal(err)
		}
		if err := e.accounts.SetActive(ctx, "carol", true); err != nil {
			t.Fatal(err)
		}
		_, sec, err := e.clients.Create(ctx, oauth.ApplicationSpec{ClientID: "temp", GrantTypes: []string{"client-credentials"}, Owner: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		keep(sec)
		if err := e.clients.Delete(ctx, "temp"); err != nil {
			t.Fatal(err)
		}
		want(auditWant{"", gatehouse.AuditPasswordChanged, alice.ID, 0, "", map[string]string{"username": "alice"}},
			auditWant{"", gatehouse.AuditUserDeactivated, carol.ID, 0, "", nil},
			auditWant{"", gatehouse.AuditUserActivated, carol.ID, 0, "", nil},
			auditWant{"", gatehouse.AuditApplicationCreated, alice.ID, 0, "temp", map[string]string{"client_type": "confidential", "grant_types": "client-credentials"}},
			auditWant{"", gatehouse.AuditApplicationDeleted, 0, 0, "temp", nil})

		rows := e.auditRows()
		loopback := netip.MustParseAddr("127.0.0.1")
		seen := map[string]bool{}
		for _, row := range rows {
			seen[row.Event] = true
			if (row.RequestID != "") != row.Source.IsValid() || (row.Source.IsValid() && row.Source != loopback) {
				t.Errorf("row %+v: a request's row has its address, and only a request's", row)
			}
		}
		for _, w := range wants {
			found := false
			for _, row := range rows {
				if row.Event != w.event || row.RequestID != w.step || row.UserID != w.user || row.ActorID != w.actor || row.ClientID != w.client {
					continue
				}
				found = true
				for k, v := range w.detail {
					if row.Detail[k] != v {
						found = false
					}
				}
				if found {
					break
				}
			}
			if !found {
				t.Errorf("no row %+v among:\n%s", w, dumpRows(rows))
			}
		}
		// Every event gatehouse emits today; the rest are reserved (the
		// signing key events come from package keys, not from requests).
		for _, ev := range gatehouse.AuditEvents() {
			reserved := ev == gatehouse.AuditLoginThrottled || ev == gatehouse.AuditLoginLocked ||
				ev == gatehouse.AuditApplicationChanged || ev == gatehouse.AuditKeyRotated ||
				ev == gatehouse.AuditKeyCreated || ev == gatehouse.AuditKeyRetired || ev == gatehouse.AuditKeyImported ||
				ev == gatehouse.AuditUserDeleted || // the CLI's (cmd/gatehouse TestUsersCommands)
				ev == gatehouse.AuditUserChanged || ev == gatehouse.AuditGroupCreated || ev == gatehouse.AuditGroupChanged ||
				ev == gatehouse.AuditGroupDeleted || ev == gatehouse.AuditCredentialsRevoked // the admin's (admin_api_*_test.go)
			if seen[ev] == reserved {
				t.Errorf("event %s recorded: %v, want %v", ev, seen[ev], !reserved)
			}
		}
		// One log line per row, the same event and request id.
		var lines []map[string]any
		for _, l := range strings.Split(e.logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "audit" {
				lines = append(lines, m)
			}
		}
		if len(lines) != len(rows) {
			t.Errorf("%d audit log lines for %d rows", len(lines), len(rows))
		}
		for i := range min(len(lines), len(rows)) {
			if lines[i]["event"] != rows[i].Event || lines[i]["request_id"] != rows[i].RequestID || lines[i]["level"] != "INFO" {
				t.Errorf("log line %d %v for row %+v", i, lines[i], rows[i])
			}
		}
		// No secret, nor its hash, in any row or log line.
		stored, _ := json.Marshal(rows)
		text := string(stored) + e.logs.String()
		for _, s := range secrets {
			h := secret.Hash(s)
			for _, form := range []string{s, hex.EncodeToString(h), base64.StdEncoding.EncodeToString(h), base64.RawURLEncoding.EncodeToString(h)} {
				if strings.Contains(text, form) {
					t.Errorf("the audit rows or the log hold the secret %q (as %q)", s, form)
				}
			}
		}
		if len(secrets) < 25 {
			t.Errorf("only %d secrets were collected: the scan proves little", len(secrets))
		}
	})
}

// Behind a trusted proxy the address recorded is the client's, from
// X-Forwarded-For, not the proxy's.
func TestAuditSourceBehindTrustedProxy(t *testing.T) {
	each(t, func(c *config) { c.TrustedProxies = []string{"127.0.0.1"} }, func(t *testing.T, e *env) {
		e.user("alice", "alicepass")
		e.do("POST", "/api-token-auth/", map[string]string{"username": "alice", "password": "nope"},
			"X-Forwarded-For", "198.51.100.23, 203.0.113.7", "X-Request-Id", "behind-proxy")
		rows := e.auditRows()
		if len(rows) != 1 || rows[0].Source != netip.MustParseAddr("203.0.113.7") || rows[0].RequestID != "behind-proxy" {
			t.Fatalf("rows %s", dumpRows(rows))
		}
	})
}

func dumpRows(rows []gatehouse.AuditEvent) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "  %s user=%d actor=%d client=%q req=%q src=%v %v\n", r.Event, r.UserID, r.ActorID, r.ClientID, r.RequestID, r.Source, r.Detail)
	}
	return b.String()
}

// send makes a request with X-Request-Id, the form as its body.
func (b *browser) send(requestID, method, path string, form url.Values) *http.Response {
	b.t.Helper()
	req, err := http.NewRequest(method, b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Request-Id", requestID)
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	res.Body.Close()
	return res
}
