package gatehouse

import (
	"fmt"
	"testing"
	"time"
)

// The current key is the newest whose signs-from has come and which is
// not retired; the others are next, previous or retired.
func TestSigningKeyStates(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := t0.Add(d); return &v }
	old := SigningKey{KID: "old", Created: t0.Add(-48 * time.Hour), SignsFrom: t0.Add(-48 * time.Hour), SignsUntil: at(-24 * time.Hour), PublishedUntil: at(-time.Hour)}
	prev := SigningKey{KID: "prev", Created: t0.Add(-25 * time.Hour), SignsFrom: t0.Add(-24 * time.Hour), SignsUntil: at(-time.Minute), PublishedUntil: at(time.Hour)}
	cur := SigningKey{KID: "cur", Created: t0.Add(-2 * time.Hour), SignsFrom: t0.Add(-time.Minute), SignsUntil: at(time.Hour), PublishedUntil: at(3 * time.Hour)}
	next := SigningKey{KID: "next", Created: t0, SignsFrom: t0.Add(time.Hour)}
	keys := []SigningKey{next, old, cur, prev}
	states := func(now time.Time) string {
		var s string
		for _, k := range keys {
			s += k.KID + "=" + SigningKeyState(keys, k, now) + " "
		}
		return s
	}
	if got, want := states(t0), "next=next old=retired cur=current prev=previous "; got != want {
		t.Errorf("at t0: %s, want %s", got, want)
	}
	if got, want := states(t0.Add(time.Hour)), "next=current old=retired cur=previous prev=retired "; got != want {
		t.Errorf("an hour later: %s, want %s", got, want)
	}
	// A retired key never signs, even when it is the newest that started.
	cur.PublishedUntil = at(0)
	keys = []SigningKey{next, old, cur, prev}
	if k, ok := CurrentSigningKey(keys, t0); !ok || k.KID != "prev" {
		t.Errorf("with the current key retired: %v %v", k.KID, ok)
	}
	// A key published only (imported for what it signed elsewhere) never
	// signs, even when it is the newest that started.
	inactive := SigningKey{KID: "inactive", Created: t0, SignsFrom: t0, SignsUntil: at(0), PublishedUntil: at(time.Hour)}
	if k, ok := CurrentSigningKey(append(keys, inactive), t0); !ok || k.KID != "prev" || !inactive.NeverSigns() || cur.NeverSigns() {
		t.Errorf("with a key that never signs: %v %v", k.KID, ok)
	}
	if _, ok := CurrentSigningKey([]SigningKey{next}, t0); ok {
		t.Error("a key that has not started signs")
	}
	if old.CanSign(t0) || !next.CanSign(t0) || !next.Published(t0) || !old.Retired(t0) {
		t.Error("CanSign, Published or Retired")
	}
	SortSigningKeys(keys)
	if got := fmt.Sprint(keys[0].KID, keys[1].KID, keys[2].KID, keys[3].KID); got != "oldprevcurnext" {
		t.Errorf("sorted: %s", got)
	}
}
