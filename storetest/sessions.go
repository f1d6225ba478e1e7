package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// An ended session is reported ended, on every connection, until its
// record is cleaned up after it expired; ending one twice is no error.
func testSessionEnd(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	t0 := time.Now()
	a, b, c := secret.Hash("session-a"), secret.Hash("session-b"), secret.Hash("session-c")
	ended := func(h []byte) bool { t.Helper(); return sessionEnded(t, s, h) }
	if ended(a) {
		t.Fatal("a session never ended is ended")
	}
	if err := s.EndSession(ctx, a, t0.Add(time.Hour), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.EndSession(ctx, a, t0.Add(time.Hour), t0); err != nil {
		t.Fatalf("ending a session again: %v", err)
	}
	if err := s.EndSession(ctx, b, t0.Add(3*time.Hour), t0); err != nil {
		t.Fatal(err)
	}
	if !ended(a) || !ended(b) || ended(c) {
		t.Fatalf("ended: a %v, b %v, c %v", ended(a), ended(b), ended(c))
	}
	// Two hours later a has expired: the next EndSession removes its record.
	if err := s.EndSession(ctx, c, t0.Add(4*time.Hour), t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ended(a) || !ended(b) || !ended(c) {
		t.Fatalf("after cleanup: a %v, b %v, c %v", ended(a), ended(b), ended(c))
	}
}

// A login's session record is listed among its user's credentials (kind
// session: its User-Agent, source, last seen), revoked alone by id, ended
// by a logout, by its user's auth epoch passing it and by its user's
// deletion, and cleaned up once expired. Nothing of it names the id
// itself: only its hash is stored.
func testSessionRecords(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	now := time.Now()
	alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
	start := func(id string, u gatehouse.User, created time.Time, ua string) gatehouse.BrowserSession {
		t.Helper()
		bs := gatehouse.BrowserSession{IDHash: secret.Hash(id), UserID: u.ID, Created: created, Expires: created.Add(2 * time.Hour),
			LastSeen: created, UserAgent: ua, Source: "192.0.2.7"}
		if err := s.StartSession(ctx, &bs, now); err != nil {
			t.Fatalf("start %s: %v", id, err)
		}
		if bs.ID == 0 {
			t.Fatalf("start %s: no id set", id)
		}
		return bs
	}
	if err := s.StartSession(ctx, &gatehouse.BrowserSession{IDHash: secret.Hash("x"), UserID: bob.ID + 1000, Created: now, Expires: now.Add(time.Hour), LastSeen: now}, now); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("a session of an unknown user: %v, want ErrNotFound", err)
	}
	older := start("s-old", alice, now.Add(-time.Minute), "Firefox")
	newer := start("s-new", alice, now, "Chromium")
	start("s-bob", bob, now, "curl")
	if err := s.StartSession(ctx, &gatehouse.BrowserSession{IDHash: secret.Hash("s-new"), UserID: alice.ID, Created: now, Expires: now.Add(time.Hour), LastSeen: now}, now); err == nil {
		t.Fatal("a second record with the same id hash was accepted")
	}
	sessionsOf := func(f gatehouse.CredentialFilter) []gatehouse.CredentialInfo {
		t.Helper()
		f.Kinds = []string{gatehouse.CredentialSession}
		l, err := s.ListCredentials(ctx, f, now)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := sessionsOf(gatehouse.CredentialFilter{UserID: alice.ID})
	if len(l) != 2 || l[0].ID != fmt.Sprint(newer.ID) || l[1].ID != fmt.Sprint(older.ID) {
		t.Fatalf("alice's sessions %+v, want newest first", l)
	}
	c := l[1]
	if c.Kind != gatehouse.CredentialSession || c.Username != "alice" || c.Label != "Firefox" || c.Source != "192.0.2.7" ||
		!c.Created.Equal(micro(older.Created)) || c.Expires == nil || !c.Expires.Equal(micro(older.Expires)) ||
		c.LastSeen == nil || !c.LastSeen.Equal(micro(older.Created)) || c.Revoked != nil || c.ClientID != "" {
		t.Fatalf("session listed as %+v", c)
	}
	if n, _ := s.CountCredentials(ctx, gatehouse.CredentialFilter{UserID: alice.ID}, now); n[gatehouse.CredentialSession] != 2 {
		t.Fatalf("counts %v", n)
	}
	if l, _ := s.ListCredentials(ctx, gatehouse.CredentialFilter{Kinds: []string{gatehouse.CredentialSession}, ApplicationID: 1}, now); len(l) != 0 {
		t.Fatalf("sessions by application: %+v", l)
	}

	// Last seen moves forward only; an unknown hash is skipped.
	later := now.Add(30 * time.Second)
	if err := s.TouchSessions(ctx, map[string]time.Time{string(older.IDHash): later, string(newer.IDHash): now.Add(-time.Hour),
		string(secret.Hash("nobody")): later}); err != nil {
		t.Fatal(err)
	}
	l = sessionsOf(gatehouse.CredentialFilter{UserID: alice.ID})
	if !l[1].LastSeen.Equal(micro(later)) || !l[0].LastSeen.Equal(micro(newer.Created)) {
		t.Fatalf("last seen after touches: %v, %v", l[1].LastSeen, l[0].LastSeen)
	}

	// Revoked alone, by id: ended for authentication, listed as ended.
	n, _, err := s.RevokeCredentials(ctx, gatehouse.CredentialFilter{Kinds: []string{gatehouse.CredentialSession}, ID: fmt.Sprint(older.ID)}, now)
	if err != nil || n != 1 {
		t.Fatalf("revoke one session: %d %v", n, err)
	}
	ended := func(h []byte) bool { t.Helper(); return sessionEnded(t, s, h) }
	if !ended(older.IDHash) || ended(newer.IDHash) || ended(secret.Hash("s-bob")) {
		t.Fatal("revoking one session ended another, or not that one")
	}
	if l := sessionsOf(gatehouse.CredentialFilter{UserID: alice.ID}); len(l) != 1 || l[0].ID != fmt.Sprint(newer.ID) {
		t.Fatalf("live after the revocation: %+v", l)
	}
	if l := sessionsOf(gatehouse.CredentialFilter{UserID: alice.ID, Ended: true, EndedOnly: true}); len(l) != 1 || l[0].Revoked == nil || l[0].ID != fmt.Sprint(older.ID) {
		t.Fatalf("ended: %+v", l)
	}
	// A logout marks the record too.
	if err := s.EndSession(ctx, newer.IDHash, newer.Expires, now); err != nil {
		t.Fatal(err)
	}
	if !ended(newer.IDHash) || len(sessionsOf(gatehouse.CredentialFilter{UserID: alice.ID})) != 0 {
		t.Fatal("a logged-out session is still live")
	}

	// The auth epoch passing a session ends it (password change,
	// deactivation, log out everywhere).
	third := start("s-third", alice, now, "Safari")
	if _, err := s.UpdateUser(ctx, alice.ID, func(*gatehouse.User) (gatehouse.UserChange, error) {
		return gatehouse.UserChange{RevokeCredentials: true, At: now.Add(time.Second)}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if l := sessionsOf(gatehouse.CredentialFilter{UserID: alice.ID}); len(l) != 0 {
		t.Fatalf("live after the auth epoch moved: %+v", l)
	}
	if l := sessionsOf(gatehouse.CredentialFilter{UserID: alice.ID, Ended: true, EndedOnly: true}); len(l) != 3 || l[0].ID != fmt.Sprint(third.ID) ||
		l[0].Revoked == nil || !l[0].Revoked.Equal(micro(now.Add(time.Second))) || !l[2].Revoked.Equal(micro(now)) {
		t.Fatalf("ended after the auth epoch moved (its time as the revocation's): %+v", l)
	}
	if n, _, _ := s.RevokeCredentials(ctx, gatehouse.CredentialFilter{UserID: alice.ID, Kinds: []string{gatehouse.CredentialSession}}, now); n != 0 {
		t.Fatalf("revoked %d sessions the epoch had ended", n)
	}

	// Expired records go as later sessions start; a user's go with them.
	start("s-late", bob, now, "curl")
	late := now.Add(3 * time.Hour)
	if err := s.StartSession(ctx, &gatehouse.BrowserSession{IDHash: secret.Hash("s-next"), UserID: bob.ID, Created: late, Expires: late.Add(time.Hour), LastSeen: late}, late); err != nil {
		t.Fatal(err)
	}
	all, _ := s.ListCredentials(ctx, gatehouse.CredentialFilter{Kinds: []string{gatehouse.CredentialSession}, Ended: true}, late)
	if len(all) != 1 || all[0].UserID != bob.ID {
		t.Fatalf("after expiry: %+v, want bob's newest only", all)
	}
	if err := s.DeleteUser(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	if all, _ := s.ListCredentials(ctx, gatehouse.CredentialFilter{Kinds: []string{gatehouse.CredentialSession}, Ended: true}, late); len(all) != 0 {
		t.Fatalf("a deleted user's sessions: %+v", all)
	}
}

// sessionEnded is s.SessionEnded, failing t on an error.
func sessionEnded(t *testing.T, s gatehouse.Store, h []byte) bool {
	t.Helper()
	ok, err := s.SessionEnded(t.Context(), h)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}
