package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

func refreshRecord(jti string, uid int64, now time.Time) gatehouse.RefreshRecord {
	return gatehouse.RefreshRecord{JTI: jti, UserID: uid, Created: now, Expires: now.Add(24 * time.Hour)}
}

func blacklisted(t *testing.T, s gatehouse.RefreshRecordStore, jti string) bool {
	t.Helper()
	b, err := s.RefreshBlacklisted(t.Context(), jti)
	if err != nil {
		t.Fatalf("RefreshBlacklisted(%s): %v", jti, err)
	}
	return b
}

// RotateRefresh: a current token is rotated once; presenting it again
// revokes its whole family, and only its family; a token blacklisted by a
// logout is reported as such.
func testRefreshRecordRotation(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	u := newUser(t, s, "alice")
	now := time.Now()
	login := refreshRecord("j1", u.ID, now)
	login.Family = "j1"
	if err := s.RecordRefresh(ctx, login); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordRefresh(ctx, login); err != nil {
		t.Fatalf("recording the same jti twice: %v", err)
	}
	other := refreshRecord("k1", u.ID, now)
	other.Family = "k1"
	if err := s.RecordRefresh(ctx, other); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		old, next string
		want      gatehouse.RotateOutcome
	}{
		{"j1", "j2", gatehouse.Rotated},
		{"j2", "j3", gatehouse.Rotated},
		{"j2", "j4", gatehouse.Reused}, // j2 was rotated already: the family goes
		{"j3", "j5", gatehouse.Blacklisted},
	} {
		got, err := s.RotateRefresh(ctx, refreshRecord(step.old, u.ID, now), refreshRecord(step.next, u.ID, now), now)
		if err != nil || got != step.want {
			t.Fatalf("rotate %s for %s: %v, %v; want %v", step.old, step.next, got, err, step.want)
		}
	}
	for jti, want := range map[string]bool{"j1": true, "j2": true, "j3": true, "j4": false, "j5": false, "k1": false, "unknown": false} {
		if got := blacklisted(t, s, jti); got != want {
			t.Errorf("%s blacklisted: %v, want %v", jti, got, want)
		}
	}
	// A token never recorded (issued before the records existed) is its
	// own family: rotating it works once.
	if got, err := s.RotateRefresh(ctx, refreshRecord("legacy", u.ID, now), refreshRecord("legacy-2", u.ID, now), now); err != nil || got != gatehouse.Rotated {
		t.Fatalf("rotating an unrecorded token: %v, %v", got, err)
	}
	if got, err := s.RotateRefresh(ctx, refreshRecord("legacy", u.ID, now), refreshRecord("legacy-3", u.ID, now), now); err != nil || got != gatehouse.Reused {
		t.Fatalf("rotating it again: %v, %v", got, err)
	}
	if !blacklisted(t, s, "legacy-2") {
		t.Fatal("the token the reused one was rotated into is still good")
	}
	if blacklisted(t, s, "k1") {
		t.Fatal("another family was revoked")
	}
}

// BlacklistRefresh blacklists once, recording unknown tokens.
func testRefreshRecordBlacklist(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	u := newUser(t, s, "bob")
	now := time.Now()
	r := refreshRecord("b1", u.ID, now)
	if err := s.RecordRefresh(ctx, r); err != nil {
		t.Fatal(err)
	}
	if blacklisted(t, s, "b1") {
		t.Fatal("a recorded token is blacklisted")
	}
	for i, want := range []bool{true, false} {
		if changed, err := s.BlacklistRefresh(ctx, r, now); err != nil || changed != want {
			t.Fatalf("blacklist #%d: %v, %v; want %v", i+1, changed, err, want)
		}
	}
	if !blacklisted(t, s, "b1") {
		t.Fatal("not blacklisted")
	}
	// A token never recorded is recorded as blacklisted.
	if changed, err := s.BlacklistRefresh(ctx, refreshRecord("b2", u.ID, now), now); err != nil || !changed {
		t.Fatalf("blacklisting an unrecorded token: %v, %v", changed, err)
	}
	if !blacklisted(t, s, "b2") {
		t.Fatal("unrecorded token not blacklisted")
	}
	// Without a user (a token naming no user) too.
	if changed, err := s.BlacklistRefresh(ctx, refreshRecord("b3", 0, now), now); err != nil || !changed {
		t.Fatalf("blacklisting a token of no user: %v, %v", changed, err)
	}
}

// Of concurrent rotations of one token exactly one wins; the others see
// a reuse.
func testRefreshRecordConcurrentRotation(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	u := newUser(t, s, "carol")
	now := time.Now()
	if err := s.RecordRefresh(ctx, refreshRecord("c1", u.ID, now)); err != nil {
		t.Fatal(err)
	}
	const n = 10
	outcomes := make([]gatehouse.RotateOutcome, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcomes[i], errs[i] = s.RotateRefresh(ctx, refreshRecord("c1", u.ID, now), refreshRecord(fmt.Sprint("c1-", i), u.ID, now), now)
		}()
	}
	wg.Wait()
	rotated := 0
	for i := range outcomes {
		switch {
		case errs[i] != nil:
			t.Errorf("rotation %d: %v", i, errs[i])
		case outcomes[i] == gatehouse.Rotated:
			rotated++
		case outcomes[i] != gatehouse.Reused:
			t.Errorf("rotation %d: outcome %v", i, outcomes[i])
		}
	}
	if rotated != 1 {
		t.Fatalf("%d rotations succeeded, want exactly 1", rotated)
	}
}

// DeleteExpiredRefresh removes the records expired before now, at most
// limit at a time.
func testRefreshRecordDeleteExpired(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	u := newUser(t, s, "dan")
	now := time.Now()
	for i := 0; i < 5; i++ {
		r := refreshRecord(fmt.Sprint("old", i), u.ID, now.Add(-48*time.Hour))
		if i == 0 {
			t := now.Add(-30 * time.Hour)
			r.BlacklistedAt = &t
		}
		if err := s.RecordRefresh(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	live := refreshRecord("live", u.ID, now)
	if err := s.RecordRefresh(ctx, live); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BlacklistRefresh(ctx, live, now); err != nil {
		t.Fatal(err)
	}
	var counts []int64
	for {
		n, err := s.DeleteExpiredRefresh(ctx, now, 2)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		counts = append(counts, n)
	}
	if fmt.Sprint(counts) != "[2 2 1]" {
		t.Fatalf("removed %v per call, want [2 2 1]", counts)
	}
	// The unexpired blacklisted record stays, so its token stays refused.
	if !blacklisted(t, s, "live") {
		t.Fatal("an unexpired blacklist entry was removed")
	}
}

// Rotations of different tokens at once (which a store may run in one
// transaction, with one statement per step for all of them) each have the
// outcome they would have alone: current tokens rotate into their own
// families, an unrecorded token into a family of its own, a token
// blacklisted by a logout is refused and a rotated one presented again
// revokes its family (the token it was rotated into too) and no other.
func testRefreshRecordsRotatedTogether(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	u := newUser(t, s, "dora")
	now := time.Now()
	const n = 16
	for i := 0; i < n; i++ {
		r := refreshRecord(fmt.Sprint("t", i), u.ID, now)
		r.Family = fmt.Sprint("fam", i)
		if err := s.RecordRefresh(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// "gone" was blacklisted by a logout; "old" was rotated into "cur",
	// and "cur" is rotated in the round, so presenting "old" there is a
	// reuse whatever the order: the family goes, whichever token "cur"
	// was rotated into too.
	if changed, err := s.BlacklistRefresh(ctx, refreshRecord("gone", u.ID, now), now); err != nil || !changed {
		t.Fatalf("blacklisting: %v %v", changed, err)
	}
	old := refreshRecord("old", u.ID, now)
	old.Family = "fam-old"
	if err := s.RecordRefresh(ctx, old); err != nil {
		t.Fatal(err)
	}
	if got, err := s.RotateRefresh(ctx, old, refreshRecord("cur", u.ID, now), now); err != nil || got != gatehouse.Rotated {
		t.Fatalf("first rotation: %v %v", got, err)
	}
	type call struct{ old, next string }
	calls := []call{{"legacy", "legacy-2"}, {"gone", "gone-2"}, {"old", "old-2"}, {"cur", "cur-2"}}
	for i := 0; i < n; i++ {
		calls = append(calls, call{fmt.Sprint("t", i), fmt.Sprint("t", i, "-2")})
	}
	outcomes := make([]gatehouse.RotateOutcome, len(calls))
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() {
			outcomes[i], errs[i] = s.RotateRefresh(ctx, refreshRecord(c.old, u.ID, now), refreshRecord(c.next, u.ID, now), now)
		})
	}
	wg.Wait()
	for i, c := range calls {
		want := gatehouse.Rotated
		switch c.old {
		case "gone":
			want = gatehouse.Blacklisted
		case "old":
			want = gatehouse.Reused
		case "cur":
			if outcomes[i] == gatehouse.Blacklisted { // after the reuse revoked its family
				want = gatehouse.Blacklisted
			}
		}
		if errs[i] != nil || outcomes[i] != want {
			t.Errorf("rotating %s: %v %v, want %v", c.old, outcomes[i], errs[i], want)
		}
	}
	for jti, want := range map[string]bool{"legacy": true, "legacy-2": false, "gone": true, "gone-2": false, "old": true, "cur": true, "old-2": false} {
		if got := blacklisted(t, s, jti); got != want {
			t.Errorf("%s blacklisted: %v, want %v", jti, got, want)
		}
	}
	// "cur" rotated before the reuse: the token it gave is revoked with
	// its family. (Refused after it: it gave none.)
	if outcomes[3] == gatehouse.Rotated && !blacklisted(t, s, "cur-2") {
		t.Error("the token cur was rotated into survived the reuse of its family")
	}
	for i := 0; i < n; i++ {
		if !blacklisted(t, s, fmt.Sprint("t", i)) || blacklisted(t, s, fmt.Sprint("t", i, "-2")) {
			t.Errorf("t%d: the old token is not blacklisted or the new one is", i)
		}
		// The new token carries its family: presenting the old one again
		// revokes it.
		if got, err := s.RotateRefresh(ctx, refreshRecord(fmt.Sprint("t", i), u.ID, now), refreshRecord(fmt.Sprint("t", i, "-3"), u.ID, now), now); err != nil || got != gatehouse.Reused {
			t.Fatalf("replaying t%d: %v %v", i, got, err)
		}
		if !blacklisted(t, s, fmt.Sprint("t", i, "-2")) {
			t.Errorf("t%d-2 survived the replay of its family", i)
		}
		if i+1 < n && blacklisted(t, s, fmt.Sprint("t", i+1, "-2")) {
			t.Errorf("the replay of t%d revoked t%d's family", i, i+1)
		}
	}
}
