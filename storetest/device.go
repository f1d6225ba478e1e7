package storetest

import (
	"bytes"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// newDevice stores a pending device grant of app created at now, expiring
// ten minutes later, with a five-second interval.
func newDevice(t *testing.T, s gatehouse.Store, app gatehouse.Application, device, user string, now time.Time) gatehouse.DeviceGrant {
	t.Helper()
	g := gatehouse.DeviceGrant{DeviceCodeHash: secret.Hash(device), UserCodeHash: secret.Hash(user), ApplicationID: app.ID,
		Scope: "read write", Created: now, Expires: now.Add(10 * time.Minute), Interval: 5 * time.Second}
	if err := s.CreateDeviceGrant(t.Context(), &g); err != nil {
		t.Fatal(err)
	}
	if g.ID == 0 || g.Status != gatehouse.DevicePending {
		t.Fatalf("created %+v", g)
	}
	return g
}

// approve records uid's approval of the grant with that user code at now.
func approve(t *testing.T, s gatehouse.Store, user string, uid int64, now time.Time) {
	t.Helper()
	if _, err := s.DecideDeviceGrant(t.Context(), secret.Hash(user), func(g *gatehouse.DeviceGrant) error {
		g.Status, g.UserID, g.DecidedAt = gatehouse.DeviceApproved, &uid, &now
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// A device grant round-trips, is found by each of its code hashes, and
// its codes are unique.
func testDeviceGrantCreateAndLookup(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	app := newApp(t, s, "tv")
	now := time.Now()
	g := newDevice(t, s, app, "dev-1", "BCDFGHJK", now)
	got, err := s.DeviceGrantByUserCode(ctx, secret.Hash("BCDFGHJK"))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != g.ID || !bytes.Equal(got.DeviceCodeHash, secret.Hash("dev-1")) || got.ApplicationID != app.ID ||
		got.Scope != "read write" || !got.Created.Equal(micro(now)) || !got.Expires.Equal(micro(now.Add(10*time.Minute))) ||
		got.Interval != 5*time.Second || got.LastPoll != nil || got.Status != gatehouse.DevicePending ||
		got.UserID != nil || got.DecidedAt != nil || got.RedeemedAt != nil {
		t.Fatalf("read back %+v", got)
	}
	if _, err := s.DeviceGrantByUserCode(ctx, secret.Hash("dev-1")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Errorf("found by the device code's hash: %v", err)
	}
	// By the device code's hash: the same grant; the user code's is not it.
	if byDevice, err := s.DeviceGrantByDeviceCode(ctx, secret.Hash("dev-1")); err != nil || !reflect.DeepEqual(byDevice, got) {
		t.Errorf("by the device code: %+v %v, want %+v", byDevice, err, got)
	}
	if _, err := s.DeviceGrantByDeviceCode(ctx, secret.Hash("BCDFGHJK")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Errorf("found by the user code's hash: %v", err)
	}
	for _, dup := range []gatehouse.DeviceGrant{
		{DeviceCodeHash: secret.Hash("dev-1"), UserCodeHash: secret.Hash("OTHER"), ApplicationID: app.ID, Created: now, Expires: now.Add(time.Minute), Interval: time.Second},
		{DeviceCodeHash: secret.Hash("dev-2"), UserCodeHash: secret.Hash("BCDFGHJK"), ApplicationID: app.ID, Created: now, Expires: now.Add(time.Minute), Interval: time.Second},
	} {
		if err := s.CreateDeviceGrant(ctx, &dup); !errors.Is(err, gatehouse.ErrConflict) {
			t.Errorf("duplicate code: %v, want ErrConflict", err)
		}
	}
}

// Deciding writes the decision only when decide accepts; a refusal
// changes nothing; an unknown user code is ErrNotFound.
func testDeviceGrantDecide(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	app := newApp(t, s, "tv")
	u := newUser(t, s, "alice")
	now := time.Now()
	newDevice(t, s, app, "dev-1", "USER1", now)
	refused := errors.New("refused")
	if _, err := s.DecideDeviceGrant(ctx, secret.Hash("USER1"), func(g *gatehouse.DeviceGrant) error {
		g.Status, g.UserID = gatehouse.DeviceApproved, &u.ID
		return refused
	}); err != refused {
		t.Fatalf("decide error: %v", err)
	}
	if g, _ := s.DeviceGrantByUserCode(ctx, secret.Hash("USER1")); g.Status != gatehouse.DevicePending || g.UserID != nil {
		t.Fatalf("a refused decision was written: %+v", g)
	}
	approve(t, s, "USER1", u.ID, now)
	g, err := s.DeviceGrantByUserCode(ctx, secret.Hash("USER1"))
	if err != nil || g.Status != gatehouse.DeviceApproved || g.UserID == nil || *g.UserID != u.ID || g.DecidedAt == nil || !g.DecidedAt.Equal(micro(now)) {
		t.Fatalf("after approval: %+v, %v", g, err)
	}
	if _, err := s.DecideDeviceGrant(ctx, secret.Hash("NOPE"), func(*gatehouse.DeviceGrant) error {
		t.Error("decide called for an unknown code")
		return nil
	}); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("unknown user code: %v", err)
	}
}

// Polling records the poll and the interval whatever poll says, issues
// tokens in the same transaction as the redemption, and refuses another
// client's, an unknown or a redeemed device code without calling poll.
func testDeviceGrantPoll(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	app := newApp(t, s, "tv")
	other := newApp(t, s, "other")
	u := newUser(t, s, "alice")
	now := time.Now()
	newDevice(t, s, app, "dev-1", "USER1", now)
	pending := errors.New("authorization_pending")
	err := s.PollDeviceGrant(ctx, secret.Hash("dev-1"), app.ID, now, func(g *gatehouse.DeviceGrant, user *gatehouse.User) (gatehouse.DeviceTokens, error) {
		if user != nil || g.Status != gatehouse.DevicePending {
			t.Errorf("pending grant: %+v, user %v", g, user)
		}
		g.LastPoll, g.Interval = &now, 10*time.Second
		return gatehouse.DeviceTokens{}, pending
	})
	if err != pending {
		t.Fatalf("poll refusal: %v", err)
	}
	g, _ := s.DeviceGrantByUserCode(ctx, secret.Hash("USER1"))
	if g.LastPoll == nil || !g.LastPoll.Equal(micro(now)) || g.Interval != 10*time.Second || g.RedeemedAt != nil {
		t.Fatalf("a refused poll's changes were not kept: %+v", g)
	}
	for _, c := range []struct {
		name  string
		hash  []byte
		appID int64
	}{{"unknown", secret.Hash("dev-x"), app.ID}, {"other client", secret.Hash("dev-1"), other.ID}} {
		err := s.PollDeviceGrant(ctx, c.hash, c.appID, now, func(*gatehouse.DeviceGrant, *gatehouse.User) (gatehouse.DeviceTokens, error) {
			t.Errorf("%s: poll called", c.name)
			return gatehouse.DeviceTokens{}, nil
		})
		if !errors.Is(err, gatehouse.ErrInvalidGrant) {
			t.Errorf("%s: %v, want ErrInvalidGrant", c.name, err)
		}
	}
	approve(t, s, "USER1", u.ID, now)
	at, rt := pair(app, u.ID, "fam", "a1", "r1", now)
	err = s.PollDeviceGrant(ctx, secret.Hash("dev-1"), app.ID, now, func(g *gatehouse.DeviceGrant, user *gatehouse.User) (gatehouse.DeviceTokens, error) {
		if user == nil || user.ID != u.ID || g.Status != gatehouse.DeviceApproved {
			t.Errorf("approved grant: %+v, user %v", g, user)
		}
		return gatehouse.DeviceTokens{Access: at, Refresh: rt}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.AccessTokenByHash(ctx, secret.Hash("a1"))
	if err != nil || info.User == nil || info.User.ID != u.ID || info.ClientID != "tv" {
		t.Fatalf("issued access token: %+v, %v", info, err)
	}
	if r, err := s.RefreshTokenByHash(ctx, secret.Hash("r1")); err != nil || r.AccessTokenID == nil || *r.AccessTokenID != info.Token.ID {
		t.Fatalf("issued refresh token: %+v, %v", r, err)
	}
	if g, _ := s.DeviceGrantByUserCode(ctx, secret.Hash("USER1")); g.RedeemedAt == nil || !g.RedeemedAt.Equal(micro(now)) {
		t.Fatalf("not marked redeemed: %+v", g)
	}
	err = s.PollDeviceGrant(ctx, secret.Hash("dev-1"), app.ID, now, func(*gatehouse.DeviceGrant, *gatehouse.User) (gatehouse.DeviceTokens, error) {
		t.Error("poll called for a redeemed grant")
		return gatehouse.DeviceTokens{}, nil
	})
	if !errors.Is(err, gatehouse.ErrInvalidGrant) {
		t.Fatalf("second redemption: %v", err)
	}
}

// Tokens a poll issues that cannot be stored leave the grant unredeemed.
func testDeviceGrantPollIsAtomic(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	app := newApp(t, s, "tv")
	u := newUser(t, s, "alice")
	now := time.Now()
	newDevice(t, s, app, "dev-1", "USER1", now)
	approve(t, s, "USER1", u.ID, now)
	taken, _ := pair(app, u.ID, "fam0", "a0", "r0", now)
	if err := s.CreateTokens(ctx, taken, nil, nil); err != nil {
		t.Fatal(err)
	}
	at, rt := pair(app, u.ID, "fam", "a0", "r1", now) // the access token's hash clashes
	err := s.PollDeviceGrant(ctx, secret.Hash("dev-1"), app.ID, now, func(*gatehouse.DeviceGrant, *gatehouse.User) (gatehouse.DeviceTokens, error) {
		return gatehouse.DeviceTokens{Access: at, Refresh: rt}, nil
	})
	if err == nil {
		t.Fatal("a clashing token was stored")
	}
	if g, _ := s.DeviceGrantByUserCode(ctx, secret.Hash("USER1")); g.RedeemedAt != nil {
		t.Fatalf("redeemed although its tokens were not stored: %+v", g)
	}
	if _, err := s.RefreshTokenByHash(ctx, secret.Hash("r1")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("refresh token of a failed redemption: %v", err)
	}
}

// Concurrent polls after the approval, as from two replicas: exactly one
// gets tokens, the others invalid_grant or the refusal their poll gave.
func testDeviceGrantConcurrentPolls(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	app := newApp(t, s, "tv")
	u := newUser(t, s, "alice")
	now := time.Now()
	newDevice(t, s, app, "dev-1", "USER1", now)
	approve(t, s, "USER1", u.ID, now)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.PollDeviceGrant(ctx, secret.Hash("dev-1"), app.ID, now, func(g *gatehouse.DeviceGrant, _ *gatehouse.User) (gatehouse.DeviceTokens, error) {
				at, rt := pair(app, u.ID, "fam", "a-"+string(rune('a'+i)), "r-"+string(rune('a'+i)), now)
				return gatehouse.DeviceTokens{Access: at, Refresh: rt}, nil
			})
		}()
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, gatehouse.ErrInvalidGrant):
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d polls got tokens, want exactly 1", ok)
	}
	issued := 0
	for i := range n {
		if _, err := s.AccessTokenByHash(ctx, secret.Hash("a-"+string(rune('a'+i)))); err == nil {
			issued++
		}
	}
	if issued != 1 {
		t.Fatalf("%d access tokens stored, want 1", issued)
	}
}

// Expired grants are deleted in batches; live ones stay; deleting the
// user who decided or the application deletes the grant.
func testDeviceGrantCleanupAndCascade(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	app := newApp(t, s, "tv")
	u := newUser(t, s, "alice")
	now := time.Now()
	old := now.Add(-time.Hour)
	newDevice(t, s, app, "old-1", "OLD1", old)
	newDevice(t, s, app, "old-2", "OLD2", old)
	newDevice(t, s, app, "live", "LIVE", now)
	if n, err := s.DeleteExpiredDeviceGrants(ctx, now, 1); err != nil || n != 1 {
		t.Fatalf("first batch: %d, %v", n, err)
	}
	if n, err := s.DeleteExpiredDeviceGrants(ctx, now, 10); err != nil || n != 1 {
		t.Fatalf("second batch: %d, %v", n, err)
	}
	if n, err := s.DeleteExpiredDeviceGrants(ctx, now, 10); err != nil || n != 0 {
		t.Fatalf("third batch: %d, %v", n, err)
	}
	if _, err := s.DeviceGrantByUserCode(ctx, secret.Hash("LIVE")); err != nil {
		t.Fatalf("live grant deleted: %v", err)
	}
	approve(t, s, "LIVE", u.ID, now)
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeviceGrantByUserCode(ctx, secret.Hash("LIVE")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("grant of a deleted user: %v", err)
	}
	newDevice(t, s, app, "live-2", "LIVE2", now)
	if err := s.DeleteApplication(ctx, "tv"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeviceGrantByUserCode(ctx, secret.Hash("LIVE2")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("grant of a deleted application: %v", err)
	}
}
