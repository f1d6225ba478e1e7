package oauth_test

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/throttle"
)

// deviceEnv is a Provider on the doubles with a clock the test moves and
// a Guard counting in memory.
type deviceEnv struct {
	p     *oauth.Provider
	store *fakeStore
	now   time.Time
	audit *auditLog
}

// auditLog records the events reported to it.
type auditLog struct{ events []gatehouse.AuditEvent }

func (a *auditLog) Record(_ context.Context, e gatehouse.AuditEvent) { a.events = append(a.events, e) }

func tv() gatehouse.Application {
	return gatehouse.Application{ID: 10, ClientID: "tv", ClientType: gatehouse.ClientPublic, Name: "Living room TV",
		GrantTypes: []string{gatehouse.GrantDeviceCode}}
}

var tvForm = oauth.ClientCredentials{ClientID: "tv"}

func newDeviceEnv(t *testing.T) *deviceEnv {
	t.Helper()
	e := &deviceEnv{store: newStore(confidential(), public(), machine(), tv()), now: t0, audit: &auditLog{}}
	e.store.users["alice"] = alice
	guard := throttle.NewGuard(throttle.NewMemory(), throttle.GuardConfig{}, func() time.Time { return e.now })
	p, err := oauth.New(oauth.Deps{Store: e.store, Accounts: &passwords{}, Secrets: hasher, Config: oauth.Config{},
		Now: func() time.Time { return e.now }, Guard: guard, Audit: e.audit})
	if err != nil {
		t.Fatal(err)
	}
	e.p = p
	return e
}

func (e *deviceEnv) authorize(t *testing.T) *oauth.DeviceAuthorization {
	t.Helper()
	d, err := e.p.AuthorizeDevice(context.Background(), oauth.DeviceRequest{Params: url.Values{"scope": {"read"}}, Client: tvForm})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (e *deviceEnv) poll(code string) (*oauth.TokenResponse, error) {
	return e.p.Token(context.Background(), oauth.TokenRequest{Client: tvForm,
		Params: url.Values{"grant_type": {gatehouse.GrantDeviceCode}, "device_code": {code}}})
}

var userCodeShape = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

func TestDeviceAuthorization(t *testing.T) {
	e := newDeviceEnv(t)
	d := e.authorize(t)
	if len(d.DeviceCode) < 40 || !userCodeShape.MatchString(d.UserCode) || d.Scope != "read" ||
		d.ExpiresIn != 600*time.Second || d.Interval != 5*time.Second {
		t.Fatalf("got %+v", d)
	}
	if len(e.store.devices) != 1 {
		t.Fatalf("%d grants stored", len(e.store.devices))
	}
	g := e.store.devices[0]
	norm := strings.ReplaceAll(d.UserCode, "-", "")
	if string(g.DeviceCodeHash) != string(secret.Hash(d.DeviceCode)) || string(g.UserCodeHash) != string(secret.Hash(norm)) ||
		g.Status != gatehouse.DevicePending || !g.Expires.Equal(t0.Add(600*time.Second)) || g.ApplicationID != 10 {
		t.Fatalf("stored %+v", g)
	}
	if e.authorize(t).UserCode == d.UserCode {
		t.Fatal("the same user code twice")
	}
}

// A clash of codes draws new ones, up to three times; a store failure is
// returned as it is (an internal error), never a code that was not stored.
func TestDeviceAuthorizationStoreErrors(t *testing.T) {
	req := oauth.DeviceRequest{Params: url.Values{}, Client: tvForm}
	e := newDeviceEnv(t)
	e.store.deviceErrs = []error{gatehouse.ErrConflict, gatehouse.ErrConflict}
	d, err := e.p.AuthorizeDevice(context.Background(), req)
	if err != nil || len(e.store.devices) != 1 || string(e.store.devices[0].DeviceCodeHash) != string(secret.Hash(d.DeviceCode)) {
		t.Fatalf("after two clashes: %+v, %v", d, err)
	}
	e = newDeviceEnv(t)
	e.store.deviceErrs = []error{gatehouse.ErrConflict, gatehouse.ErrConflict, gatehouse.ErrConflict}
	// A server fault (a broken random source), not the client's: a 500.
	if d, err := e.p.AuthorizeDevice(context.Background(), req); gatehouse.ErrorCode(err) != gatehouse.EINTERNAL || d != nil {
		t.Fatalf("after three clashes: %+v, %v", d, err)
	}
	e = newDeviceEnv(t)
	e.store.deviceErrs = []error{errUnexpected}
	if d, err := e.p.AuthorizeDevice(context.Background(), req); err != errUnexpected || d != nil {
		t.Fatalf("store failure: %+v, %v", d, err)
	}
}

func TestDeviceAuthorizationRefusals(t *testing.T) {
	tests := []struct {
		name   string
		params url.Values
		client oauth.ClientCredentials
		want   *oauth.Error
	}{
		{"unknown client", url.Values{}, oauth.ClientCredentials{ClientID: "nobody"}, oauth.ErrInvalidClient},
		{"no client", url.Values{}, oauth.ClientCredentials{}, oauth.ErrInvalidClient},
		{"confidential client without its secret", url.Values{}, oauth.ClientCredentials{ClientID: "conf"}, oauth.ErrInvalidClient},
		{"client without the device grant", url.Values{}, confForm, oauth.ErrUnauthorizedClient},
		{"public client without the device grant", url.Values{}, pubForm, oauth.ErrUnauthorizedClient},
		{"unknown scope", url.Values{"scope": {"read admin"}}, tvForm, oauth.ErrInvalidScope},
		{"duplicate scope", url.Values{"scope": {"read", "write"}}, tvForm, oauth.ErrInvalidRequest("Duplicate scope parameter.")},
		{"duplicate client_id", url.Values{"client_id": {"tv", "tv"}}, tvForm, oauth.ErrInvalidRequest("Duplicate client_id parameter.")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newDeviceEnv(t)
			_, err := e.p.AuthorizeDevice(context.Background(), oauth.DeviceRequest{Params: tc.params, Client: tc.client})
			var oe *oauth.Error
			if !errors.As(err, &oe) || oe.Code != tc.want.Code || oe.Description != tc.want.Description || oe.Status != tc.want.Status {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if len(e.store.devices) != 0 {
				t.Fatal("a refused request stored a grant")
			}
		})
	}
}

func oauthCode(err error) string {
	var oe *oauth.Error
	if errors.As(err, &oe) {
		return oe.Code
	}
	if err == nil {
		return ""
	}
	return "internal: " + err.Error()
}

// The whole flow on the provider: pending, slow_down (and the interval
// raised), the user's approval, tokens once, then invalid_grant.
func TestDeviceFlow(t *testing.T) {
	e := newDeviceEnv(t)
	ctx := context.Background()
	d := e.authorize(t)
	if _, err := e.poll(d.DeviceCode); oauthCode(err) != "authorization_pending" {
		t.Fatalf("first poll: %v", err)
	}
	e.now = e.now.Add(4 * time.Second)
	if _, err := e.poll(d.DeviceCode); oauthCode(err) != "slow_down" {
		t.Fatalf("poll after 4 s: %v", err)
	}
	if got := e.store.devices[0].Interval; got != 10*time.Second {
		t.Fatalf("interval after slow_down: %v, want 10s", got)
	}
	e.now = e.now.Add(6 * time.Second) // 6 s < the new 10 s
	if _, err := e.poll(d.DeviceCode); oauthCode(err) != "slow_down" {
		t.Fatalf("poll 6 s after a slow_down: %v", err)
	}
	e.now = e.now.Add(15 * time.Second)
	if _, err := e.poll(d.DeviceCode); oauthCode(err) != "authorization_pending" {
		t.Fatalf("poll after waiting: %v", err)
	}

	// The user enters the code in lower case without the dash.
	typed := strings.ToLower(strings.ReplaceAll(d.UserCode, "-", ""))
	c, err := e.p.DeviceConsentFor(ctx, &alice, typed)
	if err != nil {
		t.Fatal(err)
	}
	if c.App.ClientID != "tv" || c.UserCode != d.UserCode || len(c.Scope) != 1 || c.Scope[0] != "read" {
		t.Fatalf("consent %+v", c)
	}
	if _, err := e.p.DecideDevice(ctx, &alice, " "+d.UserCode+" ", true); err != nil {
		t.Fatal(err)
	}
	if ev := e.audit.events; len(ev) != 1 || ev[0].Event != gatehouse.AuditCodeIssued || ev[0].UserID != alice.ID ||
		ev[0].ClientID != "tv" || ev[0].Detail["grant"] != "device_code" {
		t.Fatalf("audit %+v", ev)
	}
	// Deciding twice is refused: the code is used.
	if _, err := e.p.DecideDevice(ctx, &alice, d.UserCode, false); !oauth.IsUserCodeRefused(err) {
		t.Fatalf("second decision: %v", err)
	}
	e.now = e.now.Add(30 * time.Second)
	res, err := e.poll(d.DeviceCode)
	if err != nil {
		t.Fatal(err)
	}
	if !tokenValue.MatchString(res.AccessToken) || !tokenValue.MatchString(res.RefreshToken) || res.Scope != "read" || res.UserID != alice.ID {
		t.Fatalf("tokens %+v", res)
	}
	if n := len(e.store.tokens); n != 1 || *e.store.tokens[0].at.UserID != alice.ID || e.store.tokens[0].rt == nil {
		t.Fatalf("stored tokens %+v", e.store.tokens)
	}
	if last := e.audit.events[len(e.audit.events)-1]; last.Event != gatehouse.AuditTokenIssued || last.Detail["grant"] != gatehouse.GrantDeviceCode {
		t.Fatalf("audit %+v", last)
	}
	e.now = e.now.Add(30 * time.Second)
	if _, err := e.poll(d.DeviceCode); oauthCode(err) != "invalid_grant" {
		t.Fatalf("second redemption: %v", err)
	}
}

func TestDevicePollRefusals(t *testing.T) {
	t.Run("denied", func(t *testing.T) {
		e := newDeviceEnv(t)
		d := e.authorize(t)
		if _, err := e.p.DecideDevice(context.Background(), &alice, d.UserCode, false); err != nil {
			t.Fatal(err)
		}
		if _, err := e.poll(d.DeviceCode); oauthCode(err) != "access_denied" {
			t.Fatalf("got %v", err)
		}
		if len(e.store.tokens) != 0 || len(e.audit.events) != 0 {
			t.Fatal("a denial issued or audited something")
		}
	})
	t.Run("expired", func(t *testing.T) {
		e := newDeviceEnv(t)
		d := e.authorize(t)
		e.now = e.now.Add(600 * time.Second)
		if _, err := e.p.DecideDevice(context.Background(), &alice, d.UserCode, true); !oauth.IsUserCodeRefused(err) {
			t.Fatalf("approving an expired code: %v", err)
		}
		if _, err := e.poll(d.DeviceCode); oauthCode(err) != "expired_token" {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("approved then expired", func(t *testing.T) {
		e := newDeviceEnv(t)
		d := e.authorize(t)
		if _, err := e.p.DecideDevice(context.Background(), &alice, d.UserCode, true); err != nil {
			t.Fatal(err)
		}
		e.now = e.now.Add(601 * time.Second)
		if _, err := e.poll(d.DeviceCode); oauthCode(err) != "expired_token" || len(e.store.tokens) != 0 {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("password changed after approving", func(t *testing.T) {
		e := newDeviceEnv(t)
		d := e.authorize(t)
		if _, err := e.p.DecideDevice(context.Background(), &alice, d.UserCode, true); err != nil {
			t.Fatal(err)
		}
		changed := alice
		changed.AuthEpoch = e.now.Add(time.Second)
		e.store.users["alice"] = changed
		e.now = e.now.Add(2 * time.Second)
		if _, err := e.poll(d.DeviceCode); oauthCode(err) != "invalid_grant" || len(e.store.tokens) != 0 {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("deactivated after approving", func(t *testing.T) {
		e := newDeviceEnv(t)
		d := e.authorize(t)
		if _, err := e.p.DecideDevice(context.Background(), &alice, d.UserCode, true); err != nil {
			t.Fatal(err)
		}
		off := alice
		off.IsActive = false
		e.store.users["alice"] = off
		if _, err := e.poll(d.DeviceCode); oauthCode(err) != "invalid_grant" || len(e.store.tokens) != 0 {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("unknown device code", func(t *testing.T) {
		e := newDeviceEnv(t)
		e.authorize(t)
		if _, err := e.poll("not-a-code"); oauthCode(err) != "invalid_grant" {
			t.Fatalf("got %v", err)
		}
		if _, err := e.poll(strings.Repeat("x", 300)); oauthCode(err) != "invalid_grant" {
			t.Fatalf("long code: %v", err)
		}
	})
	t.Run("another client's device code", func(t *testing.T) {
		e := newDeviceEnv(t)
		d := e.authorize(t)
		other := tv()
		other.ID, other.ClientID = 11, "tv2"
		e.store.apps["tv2"] = other
		_, err := e.p.Token(context.Background(), oauth.TokenRequest{Client: oauth.ClientCredentials{ClientID: "tv2"},
			Params: url.Values{"grant_type": {gatehouse.GrantDeviceCode}, "device_code": {d.DeviceCode}}})
		if oauthCode(err) != "invalid_grant" {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("parameters", func(t *testing.T) {
		e := newDeviceEnv(t)
		d := e.authorize(t)
		for _, c := range []struct {
			params url.Values
			client oauth.ClientCredentials
			want   *oauth.Error
		}{
			{url.Values{"grant_type": {gatehouse.GrantDeviceCode}}, tvForm, oauth.ErrInvalidRequest("Missing device_code parameter.")},
			{url.Values{"grant_type": {gatehouse.GrantDeviceCode}, "device_code": {d.DeviceCode, d.DeviceCode}}, tvForm,
				oauth.ErrInvalidRequest("Duplicate device_code parameter.")},
			{url.Values{"grant_type": {gatehouse.GrantDeviceCode}, "device_code": {d.DeviceCode}}, pubForm, oauth.ErrUnauthorizedClient},
			{url.Values{"grant_type": {gatehouse.GrantDeviceCode}, "device_code": {d.DeviceCode}}, oauth.ClientCredentials{ClientID: "x"}, oauth.ErrInvalidClient},
		} {
			_, err := e.p.Token(context.Background(), oauth.TokenRequest{Params: c.params, Client: c.client})
			var oe *oauth.Error
			if !errors.As(err, &oe) || oe.Code != c.want.Code || oe.Description != c.want.Description {
				t.Errorf("%v: got %v, want %v", c.params, err, c.want)
			}
		}
		if g := e.store.devices[0]; g.LastPoll != nil {
			t.Fatalf("a refused request counted as a poll: %+v", g)
		}
	})
}

// Wrong user codes are refused with one message and, after the Guard's
// free failures, throttled per user and source; the right code is then
// refused too until the wait is over.
func TestDeviceUserCodeThrottled(t *testing.T) {
	e := newDeviceEnv(t)
	ctx := context.Background()
	d := e.authorize(t)
	for i, typed := range []string{"BCDF-GHJK", "", "abc", "AEIO-UAEI", "BCDFGHJKL", "ZZZZ-ZZZZ"} {
		_, err := e.p.DeviceConsentFor(ctx, &alice, typed)
		if i < 5 && !oauth.IsUserCodeRefused(err) {
			t.Fatalf("try %d (%q): %v", i, typed, err)
		}
		if i == 5 && gatehouse.ErrorCode(err) != gatehouse.ETHROTTLED {
			t.Fatalf("try %d: %v, want throttled", i, err)
		}
	}
	if msg := gatehouse.ErrorMessage(func() error { _, err := e.p.DeviceConsentFor(ctx, &bob, "BCDF-GHJK"); return err }()); !strings.Contains(msg, "not valid or has expired") {
		t.Fatalf("message %q", msg)
	}
	if _, err := e.p.DeviceConsentFor(ctx, &alice, d.UserCode); gatehouse.ErrorCode(err) != gatehouse.ETHROTTLED {
		t.Fatalf("right code while throttled: %v", err)
	}
	if ev := e.audit.events; len(ev) == 0 || ev[len(ev)-1].Event != gatehouse.AuditLoginThrottled {
		t.Fatalf("audit %+v", ev)
	}
	e.now = e.now.Add(time.Minute)
	if _, err := e.p.DeviceConsentFor(ctx, &alice, d.UserCode); err != nil {
		t.Fatalf("right code after the wait: %v", err)
	}
	if g := e.store.devices[0]; g.Status != gatehouse.DevicePending {
		t.Fatalf("looking the code up changed it: %+v", g)
	}
}

var bob = gatehouse.User{ID: 43, Username: "bob", IsActive: true}

func TestNormalizeUserCode(t *testing.T) {
	for in, want := range map[string]string{"bcdf-ghjk": "BCDFGHJK", " BCDF GHJK ": "BCDFGHJK", "BCDFGHJK": "BCDFGHJK"} {
		if got, ok := oauth.NormalizeUserCode(in); !ok || got != want {
			t.Errorf("%q: %q %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "BCDF-GHJ", "BCDF-GHJKL", "ABCD-EFGH", "BCDF-GHJ1", "BCDF\u00e9GHJK", strings.Repeat("B", 100)} {
		if _, ok := oauth.NormalizeUserCode(in); ok {
			t.Errorf("%q accepted", in)
		}
	}
}
