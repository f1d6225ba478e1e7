package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// runSplit runs the CLI and returns its standard output and error apart.
func runSplit(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"gatehouse"}, args...), getenvFrom(env), strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

// auditLines decodes the JSON lines of `gatehouse audit`.
func auditLines(t *testing.T, out string) []auditLine {
	t.Helper()
	var lines []auditLine
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var a auditLine
		dec := json.NewDecoder(strings.NewReader(l))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		lines = append(lines, a)
	}
	return lines
}

func eventsOf(lines []auditLine) string {
	var names []string
	for _, l := range lines {
		names = append(names, l.Event)
	}
	return strings.Join(names, " ")
}

// The commands that change accounts and clients are audited, and `gatehouse
// audit` lists events oldest first as JSON lines (or a table), filtered by
// user (name or id, a deleted user's by id), client, event and time.
func TestAuditCommand(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			dbURL := testdb.URL(t, backend)
			env := baseEnv(dbURL)
			env["GATEHOUSE_PASSWORD"] = "correct horse battery"
			for _, args := range [][]string{
				{"createuser", "--username", "alice"},
				{"createuser", "--username", "404"}, // a username that looks like an id
				{"createtoken", "alice", "--name", "ci"},
				{"createapplication", "--client-id", "svc", "--grant-types", "client-credentials", "--owner", "alice"},
				{"deleteapplication", "svc"},
			} {
				if out, err := runCmd(t, env, args...); err != nil {
					t.Fatalf("%v: %v %s", args, err, out)
				}
			}
			env["GATEHOUSE_PASSWORD"] = "another correct horse"
			if out, err := runCmd(t, env, "changepassword", "alice"); err != nil {
				t.Fatalf("changepassword: %v %s", err, out)
			}
			// Older events, as if recorded earlier, for the time filters.
			st := testdb.OpenURL(t, dbURL)
			old := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
			if err := st.AppendAudit(t.Context(), []gatehouse.AuditEvent{
				{At: old, Event: gatehouse.AuditLoginFailed, UserID: 99, Detail: map[string]string{"username": "gone", "reason": "bad_password"}},
				{At: old.Add(24 * time.Hour), Event: gatehouse.AuditLoginSucceeded, UserID: 99},
			}); err != nil {
				t.Fatal(err)
			}
			st.Close()

			out, stderr, err := runSplit(t, env, "audit")
			if err != nil || stderr != "" {
				t.Fatalf("audit: %v %s", err, stderr)
			}
			all := auditLines(t, out)
			// The first command made the database's first signing key.
			if len(all) < 3 || all[2].Event != gatehouse.AuditKeyCreated || all[2].Detail["kid"] == "" {
				t.Fatalf("no key.created third in %+v", all)
			}
			all = append(all[:2:2], all[3:]...)
			if got := eventsOf(all); got != "login.failed login.succeeded user.created user.created token.issued application.created application.deleted password.changed" {
				t.Fatalf("audit lists %s", got)
			}
			alice := all[2].UserID
			if all[2].Detail["username"] != "alice" || all[4].UserID != alice || all[4].Detail["name"] != "ci" || all[5].ClientID != "svc" ||
				all[5].UserID != alice || all[7].UserID != alice || all[0].Detail["reason"] != "bad_password" || all[0].At != "2025-06-01T12:00:00Z" {
				t.Fatalf("lines %+v", all)
			}
			for _, l := range all[2:] { // the command line: no request, no actor
				if l.RequestID != "" || l.Source != "" || l.ActorID != 0 || l.Detail == nil {
					t.Errorf("line %+v", l)
				}
			}
			if strings.Contains(out, "correct horse") {
				t.Errorf("a password in the audit output: %s", out)
			}
			for _, c := range []struct {
				args []string
				want string
			}{
				{[]string{"--user", "alice"}, "user.created token.issued application.created password.changed"},
				{[]string{"--user", strconv.FormatInt(alice, 10)}, "user.created token.issued application.created password.changed"},
				{[]string{"--user", "404"}, "user.created"},                // the username, not id 404
				{[]string{"--user", "99"}, "login.failed login.succeeded"}, // no such user now: an id
				{[]string{"--client", "svc"}, "application.created application.deleted"},
				{[]string{"--event", "user.created"}, "user.created user.created"},
				{[]string{"--user", "alice", "--event", "token.issued"}, "token.issued"},
				{[]string{"--until", "2025-06-02"}, "login.failed"},
				{[]string{"--since", "2025-06-01T12:00:00.000001Z", "--until", "2025-06-03"}, "login.succeeded"},
				{[]string{"--since", "1h"}, "key.created user.created user.created token.issued application.created application.deleted password.changed"},
				{[]string{"--since", "7d", "--event", "application.deleted"}, "application.deleted"},
				{[]string{"--until", "1d1h"}, "login.failed login.succeeded"},
				{[]string{"--event", "login.locked"}, ""},
			} {
				out, stderr, err := runSplit(t, env, append([]string{"audit"}, c.args...)...)
				if err != nil || stderr != "" {
					t.Errorf("audit %v: %v %s", c.args, err, stderr)
					continue
				}
				if got := eventsOf(auditLines(t, out)); got != c.want {
					t.Errorf("audit %v lists %q, want %q", c.args, got, c.want)
				}
			}
			// A limit keeps the newest, oldest first, and says more match.
			out, stderr, err = runSplit(t, env, "audit", "--limit", "2")
			if got := eventsOf(auditLines(t, out)); err != nil || got != "application.deleted password.changed" ||
				!strings.Contains(stderr, "these are the newest 2 matching events; older ones match too") {
				t.Errorf("audit --limit 2: %v %q %s", err, got, stderr)
			}
			if _, stderr, _ := runSplit(t, env, "audit", "--limit", "9"); stderr != "" {
				t.Errorf("audit --limit 9 (all of them, key.created included) says %s", stderr)
			}
			// The table.
			out, _, err = runSplit(t, env, "audit", "--format", "table", "--user", "99")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if err != nil || len(lines) != 3 || !strings.HasPrefix(lines[0], "AT ") || !strings.Contains(lines[1], "2025-06-01T12:00:00Z  login.failed") ||
				!strings.Contains(lines[1], "reason=bad_password username=gone") {
				t.Errorf("table: %v\n%s", err, out)
			}
		})
	}
}

// Bad inputs are refused before anything runs, with a message naming the
// problem and exit status 2.
func TestAuditCommandRefusals(t *testing.T) {
	env := baseEnv(testdb.URL(t, "sqlite"))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--since", "yesterday"}, `--since "yesterday": want an RFC 3339 time`},
		{[]string{"--until", "-5m"}, `--until "-5m": want an RFC 3339 time`},
		{[]string{"--since", "xd"}, `--since "xd": want`},
		{[]string{"--since", "2026-03-14T15:09:26"}, `--since "2026-03-14T15:09:26": want`}, // no zone
		{[]string{"--since", "1h", "--until", "2h"}, "--since ("},
		{[]string{"--event", "login.fail"}, `--event "login.fail": unknown event; the events are login.succeeded, login.failed,`},
		{[]string{"--limit", "0"}, "--limit 0: want 1 to 100000"},
		{[]string{"--limit", "100001"}, "--limit 100001: want 1 to 100000"},
		{[]string{"--limit", "many"}, `invalid value "many" for flag -limit`},
		{[]string{"--format", "xml"}, `--format "xml": want json or table`},
		{[]string{"--client", "a\x00b"}, "--client: not a client id"},
		{[]string{"--user", "ghost"}, `--user "ghost": no such user (give the id of a deleted user)`},
		{[]string{"--user", "-3"}, `--user "-3": no such user`},
		{[]string{"alice"}, `gatehouse audit takes no arguments, got ["alice"]`},
		{[]string{"--nope"}, "flag provided but not defined: -nope"},
	} {
		out, stderr, err := runSplit(t, env, append([]string{"audit"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) || exitCode(err) != 2 || out != "" {
			t.Errorf("audit %q: %v (exit %d), out %q; want %q and exit 2", c.args, err, exitCode(err), out, c.want)
		}
		if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
			t.Errorf("audit %q: %s", c.args, stderr)
		}
	}
	// A failure that is not the caller's mistake is status 1.
	env["GATEHOUSE_DATABASE_URL"] = t.TempDir() + "/missing/dir/gatehouse.db"
	if _, _, err := runSplit(t, env, "audit"); err == nil || exitCode(err) != 1 {
		t.Errorf("audit on an unusable database: %v (exit %d), want exit 1", err, exitCode(err))
	}
}

// serve stores every audit row before it exits, and its background
// cleanup deletes rows older than the retention, only those.
func TestServeAuditFlushAndRetention(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			dbURL := testdb.URL(t, backend)
			env := baseEnv(dbURL)
			env["GATEHOUSE_PASSWORD"] = "correct horse battery"
			if out, err := runCmd(t, env, "createuser", "--username", "alice"); err != nil {
				t.Fatalf("createuser: %v %s", err, out)
			}
			st := testdb.OpenURL(t, dbURL)
			now := time.Now()
			if err := st.AppendAudit(t.Context(), []gatehouse.AuditEvent{
				{At: now.Add(-11 * 24 * time.Hour), Event: gatehouse.AuditLoginFailed, Detail: map[string]string{"n": "old"}},
				{At: now.Add(-9 * 24 * time.Hour), Event: gatehouse.AuditLoginFailed, Detail: map[string]string{"n": "kept"}},
			}); err != nil {
				t.Fatal(err)
			}
			env["GATEHOUSE_AUDIT_RETENTION"] = "240h"
			env["GATEHOUSE_OAUTH_CLEANUP_INTERVAL"] = "20ms"
			base, stop := serve(t, env)
			const logins = 40
			for i := range logins {
				// A name each: one source's failures on one account back off after 5.
				form := url.Values{"username": {"nobody-" + strconv.Itoa(i)}, "password": {"wrong " + strconv.Itoa(i)}}
				res, err := http.PostForm(base+"/api-token-auth/", form)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				left, err := st.AuditEvents(t.Context(), gatehouse.AuditFilter{Until: now.Add(-24 * time.Hour), Limit: 10})
				if err != nil {
					t.Fatal(err)
				}
				if len(left) == 1 && left[0].Detail["n"] == "kept" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after 10s of cleanup the rows older than a day are %+v, want only the 9 days old one", left)
				}
				time.Sleep(20 * time.Millisecond)
			}
			stop()
			failed, err := st.AuditEvents(t.Context(), gatehouse.AuditFilter{Event: gatehouse.AuditLoginFailed, Since: now.Add(-time.Hour), Limit: 100})
			if err != nil || len(failed) != logins {
				t.Fatalf("%d login.failed rows after serve stopped, want %d (%v)", len(failed), logins, err)
			}
		})
	}
}
