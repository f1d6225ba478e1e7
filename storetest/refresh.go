package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

func refreshRecord(jti string, uid int64, now time.Time) gatehouse.RefreshRecord {
	return gatehouse.RefreshRecord{JTI: jti, UserID: uid, Created: now, Expires: now.Add(24 * time.Hour)}
}

// inRecord is refreshRecord for a token kept in the record made for
// record, as a rotated token names it (simplejwt.Service).
func inRecord(record, jti string, uid int64, now time.Time) gatehouse.RefreshRecord {
	r := refreshRecord(jti, uid, now)
	r.Record = record
	return r
}

// blacklisted reports whether the token jti of the record made for
// record ("" for its own) is refused.
func blacklisted(t *testing.T, s gatehouse.RefreshRecordStore, record, jti string) bool {
	t.Helper()
	b, err := s.RefreshBlacklisted(t.Context(), record, jti)
	if err != nil {
		t.Fatalf("RefreshBlacklisted(%s, %s): %v", record, jti, err)
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
	// Rotations keep the new tokens in j1's record.
	for _, step := range []struct {
		old, next string
		want      gatehouse.RotateOutcome
	}{
		{"j1", "j2", gatehouse.Rotated},
		{"j2", "j3", gatehouse.Rotated},
		{"j2", "j4", gatehouse.Reused}, // j2 was rotated already: the family goes
		{"j3", "j5", gatehouse.Blacklisted},
	} {
		old := inRecord("j1", step.old, u.ID, now)
		if step.old == "j1" {
			old.Record = "" // the login's token, in its own record
		}
		got, err := s.RotateRefresh(ctx, old, inRecord("j1", step.next, u.ID, now), now)
		if err != nil || got != step.want {
			t.Fatalf("rotate %s for %s: %v, %v; want %v", step.old, step.next, got, err, step.want)
		}
	}
	if !blacklisted(t, s, "", "j1") {
		t.Error("j1 is not blacklisted")
	}
	for _, jti := range []string{"j1", "j2", "j3", "j4", "j5"} {
		if !blacklisted(t, s, "j1", jti) {
			t.Errorf("%s of j1's revoked record is not blacklisted", jti)
		}
	}
	if blacklisted(t, s, "", "k1") || blacklisted(t, s, "", "unknown") || blacklisted(t, s, "nowhere", "unknown") {
		t.Error("another family, or an unknown token, is blacklisted")
	}
	// A token never recorded (issued before the records existed) is its
	// own family: rotating it works once.
	mustRotate(t, s, refreshRecord("legacy", u.ID, now), inRecord("legacy", "legacy-2", u.ID, now), now, gatehouse.Rotated)
	if !blacklisted(t, s, "", "legacy") || blacklisted(t, s, "legacy", "legacy-2") {
		t.Fatal("after a rotation, the old token is good or the new one refused")
	}
	mustRotate(t, s, refreshRecord("legacy", u.ID, now), inRecord("legacy", "legacy-3", u.ID, now), now, gatehouse.Reused)
	if !blacklisted(t, s, "legacy", "legacy-2") {
		t.Fatal("the token the reused one was rotated into is still good")
	}
	if blacklisted(t, s, "", "k1") {
		t.Fatal("another family was revoked")
	}
	// A token the record never held (made up under a known record: only
	// the signing key could mint one) is a replay too.
	mustRotate(t, s, refreshRecord("k1", u.ID, now), inRecord("k1", "k2", u.ID, now), now, gatehouse.Rotated)
	mustRotate(t, s, inRecord("k1", "k-other", u.ID, now), inRecord("k1", "k3", u.ID, now), now, gatehouse.Reused)
	if !blacklisted(t, s, "k1", "k2") {
		t.Fatal("k1's family survived")
	}
}

// A record made before in-place rotations (one per token, family shared)
// rotates in place from its current token on, and a reuse anywhere in the
// family still revokes all of it: the records of one token and the record
// rotated in place.
func testRefreshRecordLegacyFamily(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	u := newUser(t, s, "lena")
	now := time.Now()
	rotatedAt := now.Add(-time.Minute)
	for _, r := range []gatehouse.RefreshRecord{
		{JTI: "l1", UserID: u.ID, Family: "l1", Created: now, Expires: now.Add(time.Hour), BlacklistedAt: &rotatedAt, Rotated: true},
		{JTI: "l2", UserID: u.ID, Family: "l1", Created: now, Expires: now.Add(time.Hour)},
	} {
		if err := s.RecordRefresh(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	mustRotate(t, s, refreshRecord("l2", u.ID, now), inRecord("l2", "l3", u.ID, now), now, gatehouse.Rotated)
	mustRotate(t, s, inRecord("l2", "l3", u.ID, now), inRecord("l2", "l4", u.ID, now), now, gatehouse.Rotated)
	if blacklisted(t, s, "l2", "l4") {
		t.Fatal("l4 is refused")
	}
	mustRotate(t, s, refreshRecord("l1", u.ID, now), inRecord("l1", "l5", u.ID, now), now, gatehouse.Reused)
	if !blacklisted(t, s, "l2", "l4") {
		t.Fatal("the replay of the family's first token left l4 good")
	}
}

// A token kept in a record that has a blacklisted record of its own too
// (Django's blacklisting of it, loaded from a dump taken after Django
// served again) is refused: by RefreshBlacklisted, and by a rotation, alone
// or several at once; a rotated one there is a reuse.
func testRefreshRecordOwnBlacklisting(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	u := newUser(t, s, "olga")
	now := time.Now()
	for _, f := range []string{"o1", "p1", "q1"} {
		if err := s.RecordRefresh(ctx, refreshRecord(f, u.ID, now)); err != nil {
			t.Fatal(err)
		}
		mustRotate(t, s, refreshRecord(f, u.ID, now), inRecord(f, f+"-2", u.ID, now), now, gatehouse.Rotated)
	}
	// Django blacklisted o1-2 at a logout, and p1-2 at its rotation.
	for _, r := range []struct {
		jti     string
		rotated bool
	}{{"o1-2", false}, {"p1-2", true}} {
		own := refreshRecord(r.jti, u.ID, now)
		at := now
		own.BlacklistedAt, own.Rotated = &at, r.rotated
		if err := s.RecordRefresh(ctx, own); err != nil {
			t.Fatal(err)
		}
	}
	if !blacklisted(t, s, "o1", "o1-2") || !blacklisted(t, s, "p1", "p1-2") || blacklisted(t, s, "q1", "q1-2") {
		t.Fatal("a blacklisting in a token's own record is not read, or read for another")
	}
	want := map[string]gatehouse.RotateOutcome{"o1": gatehouse.Blacklisted, "p1": gatehouse.Reused, "q1": gatehouse.Rotated}
	var wg sync.WaitGroup
	got, errs := map[string]gatehouse.RotateOutcome{}, map[string]error{}
	var mu sync.Mutex
	for f := range want {
		wg.Go(func() {
			out, err := s.RotateRefresh(ctx, inRecord(f, f+"-2", u.ID, now), inRecord(f, f+"-3", u.ID, now), now)
			mu.Lock()
			got[f], errs[f] = out, err
			mu.Unlock()
		})
	}
	wg.Wait()
	for f, w := range want {
		if errs[f] != nil || got[f] != w {
			t.Errorf("rotating %s-2: %v, %v; want %v", f, got[f], errs[f], w)
		}
	}
	if !blacklisted(t, s, "p1", "p1-3") {
		t.Error("the reuse of p1-2 left its family")
	}
}

// mustRotate rotates old into next at now and fails t unless the outcome
// is want.
func mustRotate(t *testing.T, s gatehouse.RefreshRecordStore, old, next gatehouse.RefreshRecord, now time.Time, want gatehouse.RotateOutcome) {
	t.Helper()
	if got, err := s.RotateRefresh(t.Context(), old, next, now); err != nil || got != want {
		t.Fatalf("rotating %s (record %q) into %s: %v, %v; want %v", old.JTI, old.Record, next.JTI, got, err, want)
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
	if blacklisted(t, s, "", "b1") {
		t.Fatal("a recorded token is blacklisted")
	}
	for i, want := range []bool{true, false} {
		if changed, err := s.BlacklistRefresh(ctx, r, now); err != nil || changed != want {
			t.Fatalf("blacklist #%d: %v, %v; want %v", i+1, changed, err, want)
		}
	}
	if !blacklisted(t, s, "", "b1") {
		t.Fatal("not blacklisted")
	}
	// A token never recorded is recorded as blacklisted.
	if changed, err := s.BlacklistRefresh(ctx, refreshRecord("b2", u.ID, now), now); err != nil || !changed {
		t.Fatalf("blacklisting an unrecorded token: %v, %v", changed, err)
	}
	if !blacklisted(t, s, "", "b2") {
		t.Fatal("unrecorded token not blacklisted")
	}
	// Without a user (a token naming no user) too.
	if changed, err := s.BlacklistRefresh(ctx, refreshRecord("b3", 0, now), now); err != nil || !changed {
		t.Fatalf("blacklisting a token of no user: %v, %v", changed, err)
	}
	// In a record rotated in place: a token it no longer holds is not
	// blacklisted again (it is refused already), the current one is, and
	// a token of a record never seen makes that record, blacklisted.
	if err := s.RecordRefresh(ctx, refreshRecord("b4", u.ID, now)); err != nil {
		t.Fatal(err)
	}
	mustRotate(t, s, refreshRecord("b4", u.ID, now), inRecord("b4", "b5", u.ID, now), now, gatehouse.Rotated)
	if changed, err := s.BlacklistRefresh(ctx, refreshRecord("b4", u.ID, now), now); err != nil || changed {
		t.Fatalf("blacklisting the rotated b4: %v, %v", changed, err)
	}
	if blacklisted(t, s, "b4", "b5") {
		t.Fatal("blacklisting the rotated token blacklisted its record's current one")
	}
	if changed, err := s.BlacklistRefresh(ctx, inRecord("b4", "b5", u.ID, now), now); err != nil || !changed {
		t.Fatalf("blacklisting b5: %v, %v", changed, err)
	}
	if !blacklisted(t, s, "b4", "b5") {
		t.Fatal("b5 not blacklisted")
	}
	if changed, err := s.BlacklistRefresh(ctx, inRecord("b6", "b7", u.ID, now), now); err != nil || !changed {
		t.Fatalf("blacklisting a token of an unknown record: %v, %v", changed, err)
	}
	if !blacklisted(t, s, "b6", "b7") {
		t.Fatal("b7 not blacklisted")
	}
	mustRotate(t, s, inRecord("b6", "b7", u.ID, now), inRecord("b6", "b8", u.ID, now), now, gatehouse.Blacklisted)
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
			outcomes[i], errs[i] = s.RotateRefresh(ctx, refreshRecord("c1", u.ID, now), inRecord("c1", fmt.Sprint("c1-", i), u.ID, now), now)
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
	if !blacklisted(t, s, "", "live") {
		t.Fatal("an unexpired blacklist entry was removed")
	}

	// A record rotated in place lives as long as its current token, its
	// first one's expiry passed or not, and goes at most a token's
	// lifetime after the last one expired.
	first := refreshRecord("r1", u.ID, now.Add(-23*time.Hour)) // expires in an hour
	if err := s.RecordRefresh(ctx, first); err != nil {
		t.Fatal(err)
	}
	later := now.Add(-time.Minute)
	for i, jti := range []string{"r2", "r3"} {
		old := inRecord("r1", fmt.Sprint("r", i+1), u.ID, later)
		if i == 0 {
			old = first
		}
		next := inRecord("r1", jti, u.ID, later) // expires in 24 h less a minute
		mustRotate(t, s, old, next, later, gatehouse.Rotated)
	}
	for _, at := range []time.Time{now.Add(2 * time.Hour), now.Add(23 * time.Hour)} {
		if n, err := s.DeleteExpiredRefresh(ctx, at, 10); err != nil || n != 0 {
			t.Fatalf("cleanup at %v removed %d, %v", at.Sub(now), n, err)
		}
	}
	if blacklisted(t, s, "r1", "r3") {
		t.Fatal("r3 refused")
	}
	// "live" (expired a day on) goes; r1's record, whose last token
	// expired, goes within a lifetime after.
	if n, err := s.DeleteExpiredRefresh(ctx, now.Add(25*time.Hour), 10); err != nil || n != 1 {
		t.Fatalf("cleanup a day on removed %d, %v; want live's record", n, err)
	}
	if n, err := s.DeleteExpiredRefresh(ctx, now.Add(49*time.Hour), 10); err != nil || n != 1 {
		t.Fatalf("cleanup two days on removed %d, %v; want r1's record", n, err)
	}
}

// Rotations of different tokens at once (which a store may run in one
// transaction, with one statement per step for all of them) each have the
// outcome they would have alone: current tokens rotate in their records,
// an unrecorded token into a record and family of its own, a token
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
	// Each token is kept where the service would keep it: "cur" and what
	// it is rotated into in old's record, "x-2" and "x-3" in x's.
	tok := func(jti string) gatehouse.RefreshRecord {
		switch {
		case jti == "cur" || strings.HasPrefix(jti, "cur-") || strings.HasPrefix(jti, "old-"):
			return inRecord("old", jti, u.ID, now)
		case strings.Contains(jti, "-"):
			return inRecord(jti[:strings.IndexByte(jti, '-')], jti, u.ID, now)
		}
		return refreshRecord(jti, u.ID, now)
	}
	isBlacklisted := func(jti string) bool {
		t.Helper()
		return blacklisted(t, s, tok(jti).Record, jti)
	}
	mustRotate(t, s, old, tok("cur"), now, gatehouse.Rotated)
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
			outcomes[i], errs[i] = s.RotateRefresh(ctx, tok(c.old), tok(c.next), now)
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
	for jti, want := range map[string]bool{"legacy": true, "legacy-2": false, "gone": true, "gone-2": true, "old": true, "cur": true, "old-2": true} {
		if got := isBlacklisted(jti); got != want {
			t.Errorf("%s blacklisted: %v, want %v", jti, got, want)
		}
	}
	// "cur" rotated before the reuse: the token it gave is revoked with
	// its family. (Refused after it: it gave none.)
	if outcomes[3] == gatehouse.Rotated && !isBlacklisted("cur-2") {
		t.Error("the token cur was rotated into survived the reuse of its family")
	}
	for i := 0; i < n; i++ {
		if !isBlacklisted(fmt.Sprint("t", i)) || isBlacklisted(fmt.Sprint("t", i, "-2")) {
			t.Errorf("t%d: the old token is not blacklisted or the new one is", i)
		}
		// The new token carries its family: presenting the old one again
		// revokes it.
		mustRotate(t, s, tok(fmt.Sprint("t", i)), tok(fmt.Sprint("t", i, "-3")), now, gatehouse.Reused)
		if !isBlacklisted(fmt.Sprint("t", i, "-2")) {
			t.Errorf("t%d-2 survived the replay of its family", i)
		}
		if i+1 < n && isBlacklisted(fmt.Sprint("t", i+1, "-2")) {
			t.Errorf("the replay of t%d revoked t%d's family", i, i+1)
		}
	}
}
