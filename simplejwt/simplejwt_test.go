package simplejwt_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/jwt"
	"github.com/gatehouse-auth/gatehouse/simplejwt"
)

// These tests run the Service with a real jwt.Codec on hand-written
// doubles of its Store and Users; server/ covers the same flows over HTTP
// on a real store.

// t0 lies on a millisecond, so the jti carries a token's issue time exactly.
var t0 = time.Date(2026, 5, 4, 12, 30, 15, 250_000_000, time.UTC)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// rotateCall is one RotateRefresh call as the store received it.
type rotateCall struct {
	old, next gatehouse.RefreshRecord
	now       time.Time
}

// blacklistCall is one BlacklistRefresh call.
type blacklistCall struct {
	rec gatehouse.RefreshRecord
	now time.Time
}

// fakeStore keeps refresh records and users in maps and records every
// write; the function fields, when set, replace the matching method.
type fakeStore struct {
	records     map[string]gatehouse.RefreshRecord
	blacklisted map[string]bool
	users       map[int64]gatehouse.User
	touched     map[int64]time.Time
	rotations   []rotateCall
	blacklists  []blacklistCall

	refreshBlacklisted func(jti string) (bool, error)
	blacklistReads     []string // "record jti" of each RefreshBlacklisted call
	rotateRefresh      func(old, next gatehouse.RefreshRecord, now time.Time) (gatehouse.RotateOutcome, error)
}

func newStore(users ...gatehouse.User) *fakeStore {
	f := &fakeStore{records: map[string]gatehouse.RefreshRecord{}, blacklisted: map[string]bool{},
		users: map[int64]gatehouse.User{}, touched: map[int64]time.Time{}}
	for _, u := range users {
		f.users[u.ID] = u
	}
	return f
}

func (f *fakeStore) RecordRefresh(_ context.Context, r gatehouse.RefreshRecord) error {
	f.records[r.JTI] = r
	return nil
}

func (f *fakeStore) RefreshBlacklisted(_ context.Context, record, jti string) (bool, error) {
	f.blacklistReads = append(f.blacklistReads, record+" "+jti)
	if f.refreshBlacklisted != nil {
		return f.refreshBlacklisted(jti)
	}
	return f.blacklisted[jti], nil
}

func (f *fakeStore) RotateRefresh(_ context.Context, old, next gatehouse.RefreshRecord, now time.Time) (gatehouse.RotateOutcome, error) {
	f.rotations = append(f.rotations, rotateCall{old, next, now})
	if f.rotateRefresh != nil {
		return f.rotateRefresh(old, next, now)
	}
	f.blacklisted[old.JTI] = true
	f.records[next.JTI] = next
	return gatehouse.Rotated, nil
}

func (f *fakeStore) BlacklistRefresh(_ context.Context, r gatehouse.RefreshRecord, now time.Time) (bool, error) {
	f.blacklists = append(f.blacklists, blacklistCall{r, now})
	was := f.blacklisted[r.JTI]
	f.blacklisted[r.JTI] = true
	return !was, nil
}

func (f *fakeStore) DeleteExpiredRefresh(context.Context, time.Time, int) (int64, error) {
	return 0, errors.New("unexpected DeleteExpiredRefresh")
}

func (f *fakeStore) User(_ context.Context, id int64) (gatehouse.User, error) {
	u, ok := f.users[id]
	if !ok {
		return gatehouse.User{}, gatehouse.ErrNotFound
	}
	return u, nil
}

func (f *fakeStore) TouchLogin(_ context.Context, id int64, at time.Time) error {
	f.touched[id] = at
	return nil
}

// fakeUsers is the Users double; a nil check accepts every token. keys
// are the Django keys it resolves, to user ids.
type fakeUsers struct {
	check func(c jwt.Claims) error
	calls int
	keys  map[string]int64
}

func (f *fakeUsers) CheckJWTUser(_ context.Context, c jwt.Claims) error {
	f.calls++
	if f.check == nil {
		return nil
	}
	return f.check(c)
}

func (f *fakeUsers) ResolveJWTUser(_ context.Context, c *jwt.Claims) error {
	if id, ok := f.keys[gatehouse.DjangoUserKey(c.UserKey)]; ok && c.UserKey != "" {
		c.UserID, c.HasUserID = id, true
	}
	return nil
}

// env is a Service with its doubles, clock and codec.
type env struct {
	svc   *simplejwt.Service
	store *fakeStore
	users *fakeUsers
	codec *jwt.Codec
	clk   *clock
}

var alice = gatehouse.User{ID: 42, Username: "alice", IsActive: true}

func newEnv(t *testing.T, opt simplejwt.Options) *env {
	t.Helper()
	e := &env{store: newStore(alice), users: &fakeUsers{}, clk: &clock{t0}}
	codec, err := jwt.New(jwt.Config{Signing: jwt.Key{Algorithm: jwt.HS256, Secret: []byte("test-signing-key-0123456789abcdef")},
		Now: e.clk.now})
	if err != nil {
		t.Fatal(err)
	}
	e.codec = codec
	e.svc = simplejwt.New(simplejwt.Deps{Store: e.store, Codec: codec, Users: e.users, Options: opt, Now: e.clk.now})
	return e
}

// parse returns the claims of a token the service handed out.
func (e *env) parse(t *testing.T, raw string) jwt.Claims {
	t.Helper()
	c, err := e.codec.Parse(raw)
	if err != nil {
		t.Fatalf("parsing a token the service issued: %v", err)
	}
	return c
}

// obtain logs alice in and returns her pair.
func (e *env) obtain(t *testing.T) (refresh, access string) {
	t.Helper()
	refresh, access, err := e.svc.Obtain(context.Background(), &alice)
	if err != nil {
		t.Fatalf("Obtain: %v", err)
	}
	return refresh, access
}

func wantRefused(t *testing.T, err error, reason string) {
	t.Helper()
	if want := gatehouse.Unauthorized(reason); !reflect.DeepEqual(err, error(want)) {
		t.Fatalf("err = %#v, want %#v", err, want)
	}
}

// record is the refresh record the service should keep for claims c.
func record(c jwt.Claims, family string) gatehouse.RefreshRecord {
	return gatehouse.RefreshRecord{JTI: c.JTI, UserID: c.UserID, Family: family, Created: c.IssuedAt(), Expires: time.Unix(c.Exp, 0)}
}

func TestObtain(t *testing.T) {
	for _, updateLastLogin := range []bool{false, true} {
		name := "without UpdateLastLogin"
		if updateLastLogin {
			name = "with UpdateLastLogin"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, simplejwt.Options{UpdateLastLogin: updateLastLogin})
			refresh, access := e.obtain(t)
			rc, ac := e.parse(t, refresh), e.parse(t, access)
			if rc.TokenType != jwt.Refresh || ac.TokenType != jwt.Access || rc.UserID != 42 || ac.UserID != 42 {
				t.Fatalf("refresh %+v, access %+v", rc, ac)
			}
			// Only the refresh token's jti is kept, as the first of its
			// family, so that a logout can revoke the whole login.
			want := map[string]gatehouse.RefreshRecord{rc.JTI: record(rc, rc.JTI)}
			if !reflect.DeepEqual(e.store.records, want) {
				t.Fatalf("records = %+v\nwant      %+v", e.store.records, want)
			}
			if !rc.IssuedAt().Equal(t0) {
				t.Fatalf("refresh IssuedAt = %v, want %v", rc.IssuedAt(), t0)
			}
			wantTouched := map[int64]time.Time{}
			if updateLastLogin {
				wantTouched[42] = t0
			}
			if !reflect.DeepEqual(e.store.touched, wantTouched) {
				t.Fatalf("TouchLogin calls = %v, want %v", e.store.touched, wantTouched)
			}
		})
	}
}

func TestPairFor(t *testing.T) {
	tests := []struct {
		name    string
		userID  int64
		code    string
		message string
	}{
		{name: "missing user", userID: 7, code: gatehouse.ENOTFOUND, message: "no such user"},
		{name: "inactive user", userID: 43, code: gatehouse.EINVALID, message: "user is inactive"},
		{name: "active user", userID: 42},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, simplejwt.Options{UpdateLastLogin: true})
			e.store.users[43] = gatehouse.User{ID: 43, Username: "bob"}
			refresh, access, err := e.svc.PairFor(context.Background(), tc.userID)
			if tc.code != "" {
				var ge *gatehouse.Error
				if !errors.As(err, &ge) || ge.Code != tc.code || ge.Message != tc.message {
					t.Fatalf("err = %v, want %s %q", err, tc.code, tc.message)
				}
				if refresh != "" || access != "" || len(e.store.records) != 0 {
					t.Fatalf("issued %q %q, records %v on refusal", refresh, access, e.store.records)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rc := e.parse(t, refresh)
			if ac := e.parse(t, access); ac.UserID != 42 || ac.TokenType != jwt.Access {
				t.Fatalf("access claims %+v", ac)
			}
			if want := map[string]gatehouse.RefreshRecord{rc.JTI: record(rc, rc.JTI)}; !reflect.DeepEqual(e.store.records, want) {
				t.Fatalf("records = %+v, want %+v", e.store.records, want)
			}
			// PairFor is not a login: last_login stays as it was even
			// with UpdateLastLogin.
			if len(e.store.touched) != 0 {
				t.Fatalf("TouchLogin called: %v", e.store.touched)
			}
		})
	}
	t.Run("missing user wraps ErrNotFound", func(t *testing.T) {
		e := newEnv(t, simplejwt.Options{})
		_, _, err := e.svc.PairFor(context.Background(), 7)
		if !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("err = %v, want errors.Is ErrNotFound", err)
		}
	})
}

func TestRefreshWithoutRotation(t *testing.T) {
	e := newEnv(t, simplejwt.Options{})
	refresh, _ := e.obtain(t)
	before := maps.Clone(e.store.records)
	// Five minutes later, in another second: the new access token must
	// still carry the refresh token's issue time, as simplejwt copies iat.
	e.clk.t = t0.Add(5*time.Minute + 123*time.Millisecond)
	access, newRefresh, err := e.svc.Refresh(context.Background(), refresh)
	if err != nil {
		t.Fatal(err)
	}
	if newRefresh != "" {
		t.Fatalf("refresh token %q returned without rotation", newRefresh)
	}
	rc, ac := e.parse(t, refresh), e.parse(t, access)
	if ac.TokenType != jwt.Access || ac.UserID != 42 || ac.Iat != rc.Iat || !ac.IssuedAt().Equal(rc.IssuedAt()) {
		t.Fatalf("access %+v (IssuedAt %v), refresh %+v (IssuedAt %v)", ac, ac.IssuedAt(), rc, rc.IssuedAt())
	}
	// Its lifetime counts from now, though.
	if want := e.clk.t.Add(jwt.DefaultAccessLifetime).Unix(); ac.Exp != want {
		t.Fatalf("access exp = %d, want %d", ac.Exp, want)
	}
	if !reflect.DeepEqual(e.store.records, before) || len(e.store.rotations) != 0 || len(e.store.blacklists) != 0 {
		t.Fatalf("store written without rotation: records %v, rotations %v, blacklists %v",
			e.store.records, e.store.rotations, e.store.blacklists)
	}
}

func TestRefreshRotation(t *testing.T) {
	rotating := simplejwt.Options{RotateRefreshTokens: true, BlacklistAfterRotation: true}
	later := t0.Add(time.Minute + 7*time.Millisecond)
	tests := []struct {
		name    string
		outcome gatehouse.RotateOutcome
		// want is the exact error; nil when both tokens are returned.
		want   error
		reused bool
	}{
		{name: "rotated", outcome: gatehouse.Rotated},
		// A rotated token presented again: the store revoked the family;
		// the error must say so, for the log, yet look like any refusal.
		{name: "reused", outcome: gatehouse.Reused, reused: true,
			want: &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: simplejwt.ReasonBlacklisted, Err: gatehouse.ErrTokenReused}},
		{name: "blacklisted", outcome: gatehouse.Blacklisted, want: gatehouse.Unauthorized(simplejwt.ReasonBlacklisted)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, rotating)
			refresh, _ := e.obtain(t)
			// With rotation, a blacklisted token is not refused up front:
			// only RotateRefresh can tell a reuse from a logout.
			e.store.refreshBlacklisted = func(string) (bool, error) { return tc.outcome != gatehouse.Rotated, nil }
			e.store.rotateRefresh = func(gatehouse.RefreshRecord, gatehouse.RefreshRecord, time.Time) (gatehouse.RotateOutcome, error) {
				return tc.outcome, nil
			}
			e.clk.t = later
			access, newRefresh, err := e.svc.Refresh(context.Background(), refresh)

			if len(e.store.rotations) != 1 {
				t.Fatalf("RotateRefresh called %d times, want 1", len(e.store.rotations))
			}
			got := e.store.rotations[0]
			rc := e.parse(t, refresh)
			// The family is the store's to carry over; the service sends
			// none, and the new record starts now.
			wantOld := record(rc, "")
			if !reflect.DeepEqual(got.old, wantOld) || !got.now.Equal(later) {
				t.Fatalf("RotateRefresh old = %+v at %v, want %+v at %v", got.old, got.now, wantOld, later)
			}

			if tc.want != nil {
				if !reflect.DeepEqual(err, tc.want) || access != "" || newRefresh != "" {
					t.Fatalf("got %q, %q, %#v; want %#v", access, newRefresh, err, tc.want)
				}
				if is := errors.Is(err, gatehouse.ErrTokenReused); is != tc.reused {
					t.Fatalf("errors.Is(err, ErrTokenReused) = %v, want %v", is, tc.reused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			nc, ac := e.parse(t, newRefresh), e.parse(t, access)
			// The new token is kept in the old one's record, and names it.
			wantNext := gatehouse.RefreshRecord{JTI: nc.JTI, Record: rc.JTI, UserID: 42, Created: later, Expires: time.Unix(nc.Exp, 0)}
			if !reflect.DeepEqual(got.next, wantNext) || nc.Record != rc.JTI {
				t.Fatalf("RotateRefresh next = %+v (its token's record %q), want %+v", got.next, nc.Record, wantNext)
			}
			if nc.TokenType != jwt.Refresh || !nc.IssuedAt().Equal(later) || !ac.IssuedAt().Equal(rc.IssuedAt()) {
				t.Fatalf("new refresh %+v issued %v; access issued %v, want %v", nc, nc.IssuedAt(), ac.IssuedAt(), rc.IssuedAt())
			}
		})
	}
}

// Rotated again, a token hands on the record it names (the login's
// token's), and the blacklist reads and writes of such a token name it.
func TestRefreshRotationKeepsTheRecord(t *testing.T) {
	e := newEnv(t, simplejwt.Options{RotateRefreshTokens: true, BlacklistAfterRotation: true})
	refresh, _ := e.obtain(t)
	first := e.parse(t, refresh).JTI
	for i := range 2 {
		e.clk.t = t0.Add(time.Duration(i+1) * time.Minute)
		_, next, err := e.svc.Refresh(context.Background(), refresh)
		if err != nil {
			t.Fatal(err)
		}
		old := e.store.rotations[i].old
		if want := map[bool]string{true: "", false: first}[i == 0]; old.Record != want || old.Key() != first {
			t.Fatalf("rotation %d: old %+v, want it in record %q", i, old, want)
		}
		if nc := e.parse(t, next); nc.Record != first || e.store.rotations[i].next.Record != first {
			t.Fatalf("rotation %d: new token's record %q, stored in %q; want %q", i, nc.Record, e.store.rotations[i].next.Record, first)
		}
		refresh = next
	}
	nc := e.parse(t, refresh)
	e.store.blacklistReads = nil
	if err := e.svc.Verify(context.Background(), refresh); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Blacklist(context.Background(), refresh); err != nil {
		t.Fatal(err)
	}
	if want := []string{first + " " + nc.JTI, first + " " + nc.JTI}; !reflect.DeepEqual(e.store.blacklistReads, want) {
		t.Fatalf("blacklist reads %q, want %q", e.store.blacklistReads, want)
	}
	if b := e.store.blacklists; len(b) != 1 || b[0].rec.Record != first || b[0].rec.JTI != nc.JTI {
		t.Fatalf("blacklisted %+v, want %s in record %s", b, nc.JTI, first)
	}
}

// TestRefreshRotationWithoutBlacklist: simplejwt's ROTATE_REFRESH_TOKENS
// alone issues a new refresh token and keeps the old one valid.
func TestRefreshRotationWithoutBlacklist(t *testing.T) {
	e := newEnv(t, simplejwt.Options{RotateRefreshTokens: true})
	refresh, _ := e.obtain(t)
	e.clk.t = t0.Add(time.Minute)
	access, newRefresh, err := e.svc.Refresh(context.Background(), refresh)
	if err != nil || access == "" || newRefresh == "" {
		t.Fatalf("Refresh = %q, %q, %v", access, newRefresh, err)
	}
	rc, nc := e.parse(t, refresh), e.parse(t, newRefresh)
	want := map[string]gatehouse.RefreshRecord{
		rc.JTI: record(rc, rc.JTI),
		nc.JTI: {JTI: nc.JTI, UserID: 42, Created: t0.Add(time.Minute), Expires: time.Unix(nc.Exp, 0)},
	}
	if !reflect.DeepEqual(e.store.records, want) || len(e.store.rotations) != 0 || nc.Record != "" {
		t.Fatalf("records = %+v, rotations %v, new token's record %q; want %+v, none and none", e.store.records, e.store.rotations, nc.Record, want)
	}
}

func TestRefreshRefused(t *testing.T) {
	errDB := errors.New("database is down")
	tests := []struct {
		name  string
		opt   simplejwt.Options
		token func(e *env, refresh, access string) string
		black bool
		check func(jwt.Claims) error
		// reason is the refusal expected; err an internal error instead.
		reason string
		err    error
	}{
		{name: "garbage", token: func(*env, string, string) string { return "a.b.c" },
			reason: gatehouse.ReasonCredentialInvalid},
		{name: "access token", token: func(_ *env, _, access string) string { return access },
			reason: gatehouse.ReasonWrongTokenType},
		{name: "blacklisted without rotation", black: true, reason: simplejwt.ReasonBlacklisted},
		{name: "blacklisted with rotation but no blacklisting", black: true,
			opt: simplejwt.Options{RotateRefreshTokens: true}, reason: simplejwt.ReasonBlacklisted},
		// A user gone or refused looks like a bad token to the client,
		// as simplejwt answers "Token is invalid or expired".
		{name: "user gone", check: func(jwt.Claims) error { return gatehouse.ErrNotFound },
			reason: gatehouse.ReasonCredentialInvalid},
		{name: "user inactive", check: func(jwt.Claims) error { return gatehouse.Unauthorized(gatehouse.ReasonUserInactive) },
			reason: gatehouse.ReasonCredentialInvalid},
		{name: "user check fails", check: func(jwt.Claims) error { return errDB }, err: errDB},
		// A refresh token naming its user by a key that is no integer
		// (Django's UUID primary key), or by none: nothing can be minted
		// for it (it was minted for user 0 before).
		{name: "user id a UUID", token: func(*env, string, string) string {
			return signHS256(map[string]any{"token_type": "refresh", "exp": t0.Add(time.Hour).Unix(), "iat": t0.Unix(),
				"jti": "0123456789abcdef0123456789abcdef", "user_id": "2252d63d-f78f-4c37-8265-3f8d2ec9414d"})
		}, reason: gatehouse.ReasonCredentialInvalid},
		{name: "no user id", token: func(*env, string, string) string {
			return signHS256(map[string]any{"token_type": "refresh", "exp": t0.Add(time.Hour).Unix(), "iat": t0.Unix(),
				"jti": "0123456789abcdef0123456789abcdef"})
		}, reason: gatehouse.ReasonCredentialInvalid},
		// A jti that is no string, or empty, names no record a rotation
		// could keep the new token in (it was a 500).
		{name: "jti a number, rotating", opt: simplejwt.Options{RotateRefreshTokens: true, BlacklistAfterRotation: true},
			token: func(*env, string, string) string {
				return signHS256(map[string]any{"token_type": "refresh", "exp": t0.Add(time.Hour).Unix(), "iat": t0.Unix(),
					"jti": 12345, "user_id": 42})
			}, reason: gatehouse.ReasonCredentialInvalid},
		{name: "jti too long", token: func(*env, string, string) string {
			return signHS256(map[string]any{"token_type": "refresh", "exp": t0.Add(time.Hour).Unix(), "iat": t0.Unix(),
				"jti": strings.Repeat("a", 256), "user_id": 42})
		}, reason: gatehouse.ReasonCredentialInvalid},
		{name: "record too long", opt: simplejwt.Options{RotateRefreshTokens: true, BlacklistAfterRotation: true},
			token: func(*env, string, string) string {
				return signHS256(map[string]any{"token_type": "refresh", "exp": t0.Add(time.Hour).Unix(), "iat": t0.Unix(),
					"jti": "j", "user_id": 42, jwt.RecordClaim: strings.Repeat("r", 3000)})
			}, reason: gatehouse.ReasonCredentialInvalid},
		{name: "jti with a NUL", token: func(*env, string, string) string {
			return signHS256(map[string]any{"token_type": "refresh", "exp": t0.Add(time.Hour).Unix(), "iat": t0.Unix(),
				"jti": "a\x00b", "user_id": 42})
		}, reason: gatehouse.ReasonCredentialInvalid},
		{name: "record with a NUL", opt: simplejwt.Options{RotateRefreshTokens: true, BlacklistAfterRotation: true},
			token: func(*env, string, string) string {
				return signHS256(map[string]any{"token_type": "refresh", "exp": t0.Add(time.Hour).Unix(), "iat": t0.Unix(),
					"jti": "j", "user_id": 42, jwt.RecordClaim: "r\x00"})
			}, reason: gatehouse.ReasonCredentialInvalid},
		{name: "jti empty, rotating", opt: simplejwt.Options{RotateRefreshTokens: true, BlacklistAfterRotation: true},
			token: func(*env, string, string) string {
				return signHS256(map[string]any{"token_type": "refresh", "exp": t0.Add(time.Hour).Unix(), "iat": t0.Unix(),
					"jti": "", "user_id": 42})
			}, reason: gatehouse.ReasonCredentialInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opt)
			refresh, access := e.obtain(t)
			raw := refresh
			if tc.token != nil {
				raw = tc.token(e, refresh, access)
			}
			e.store.blacklisted[e.parse(t, refresh).JTI] = tc.black
			e.users.check = tc.check
			a, r, err := e.svc.Refresh(context.Background(), raw)
			if a != "" || r != "" {
				t.Fatalf("issued %q, %q", a, r)
			}
			if tc.err != nil {
				if err != tc.err {
					t.Fatalf("err = %v, want %v as is", err, tc.err)
				}
				return
			}
			wantRefused(t, err, tc.reason)
		})
	}
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name      string
		useAccess bool
		black     bool
		check     func(jwt.Claims) error
		reason    string // "" means accepted
	}{
		{name: "refresh token", reason: ""},
		{name: "access token", useAccess: true},
		{name: "blacklisted refresh token", black: true, reason: simplejwt.ReasonBlacklisted},
		// simplejwt's verify view never loads the user.
		{name: "user gone", check: func(jwt.Claims) error { return gatehouse.ErrNotFound }},
		{name: "user refused", check: func(jwt.Claims) error { return gatehouse.Unauthorized(gatehouse.ReasonUserInactive) },
			reason: gatehouse.ReasonCredentialInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, simplejwt.Options{})
			refresh, access := e.obtain(t)
			raw := refresh
			if tc.useAccess {
				raw = access
			}
			e.store.blacklisted[e.parse(t, refresh).JTI] = tc.black
			e.users.check = tc.check
			err := e.svc.Verify(context.Background(), raw)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
			} else {
				wantRefused(t, err, tc.reason)
			}
		})
	}
	t.Run("garbage", func(t *testing.T) {
		e := newEnv(t, simplejwt.Options{})
		wantRefused(t, e.svc.Verify(context.Background(), "not-a-token"), gatehouse.ReasonCredentialInvalid)
		if e.users.calls != 0 {
			t.Fatalf("CheckJWTUser called %d times for garbage", e.users.calls)
		}
	})
	// A refresh token whose jti no record could hold (too long, a NUL) is
	// on no blacklist: verified without a read, as simplejwt finds no
	// BlacklistedToken for it.
	t.Run("jti no record holds", func(t *testing.T) {
		for _, jti := range []string{strings.Repeat("a", 256), "a\x00b"} {
			e := newEnv(t, simplejwt.Options{})
			e.store.refreshBlacklisted = func(string) (bool, error) {
				t.Error("RefreshBlacklisted called for a jti no record holds")
				return false, nil
			}
			raw := signHS256(map[string]any{"token_type": "refresh", "exp": t0.Add(time.Hour).Unix(), "iat": t0.Unix(), "jti": jti, "user_id": 42})
			if err := e.svc.Verify(context.Background(), raw); err != nil {
				t.Fatalf("jti %q: %v", jti, err)
			}
		}
	})
	t.Run("access token skips the blacklist", func(t *testing.T) {
		e := newEnv(t, simplejwt.Options{})
		_, access := e.obtain(t)
		e.store.refreshBlacklisted = func(string) (bool, error) {
			t.Error("RefreshBlacklisted called for an access token")
			return false, nil
		}
		if err := e.svc.Verify(context.Background(), access); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBlacklist(t *testing.T) {
	t.Run("refresh token", func(t *testing.T) {
		e := newEnv(t, simplejwt.Options{})
		refresh, _ := e.obtain(t)
		e.clk.t = t0.Add(time.Hour)
		if err := e.svc.Blacklist(context.Background(), refresh); err != nil {
			t.Fatal(err)
		}
		rc := e.parse(t, refresh)
		want := []blacklistCall{{rec: record(rc, ""), now: t0.Add(time.Hour)}}
		if !reflect.DeepEqual(e.store.blacklists, want) {
			t.Fatalf("BlacklistRefresh calls = %+v, want %+v", e.store.blacklists, want)
		}
		// Once blacklisted, it is refused by every path.
		wantRefused(t, e.svc.Blacklist(context.Background(), refresh), simplejwt.ReasonBlacklisted)
		wantRefused(t, e.svc.Verify(context.Background(), refresh), simplejwt.ReasonBlacklisted)
		_, _, err := e.svc.Refresh(context.Background(), refresh)
		wantRefused(t, err, simplejwt.ReasonBlacklisted)
	})
	t.Run("access token", func(t *testing.T) {
		e := newEnv(t, simplejwt.Options{})
		_, access := e.obtain(t)
		wantRefused(t, e.svc.Blacklist(context.Background(), access), gatehouse.ReasonWrongTokenType)
		if len(e.store.blacklists) != 0 {
			t.Fatalf("BlacklistRefresh called: %+v", e.store.blacklists)
		}
	})
}

// signHS256 is a simplejwt token with these claims, signed with newEnv's
// key as any HS256 signer would.
func signHS256(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	head := enc(map[string]string{"alg": "HS256", "typ": "JWT"}) + "." + enc(claims)
	m := hmac.New(sha256.New, []byte("test-signing-key-0123456789abcdef"))
	m.Write([]byte(head))
	return head + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// A user imported with a Django key that is no integer (a UUID) is named
// by it in the tokens minted for it, as Django's simplejwt named it, and a
// refresh keeps naming it so; a key of digits alone is not used (it could
// be read as another user's id), nor a token's that names its user by id.
func TestUserNamedByKey(t *testing.T) {
	const key = "3026d28e-dbc0-4dea-8da0-8aa9f5a3118d"
	bob := gatehouse.User{ID: 43, Username: "bob", IsActive: true, DjangoKey: key}
	carol := gatehouse.User{ID: 44, Username: "carol", IsActive: true, DjangoKey: "77"}
	e := newEnv(t, simplejwt.Options{RotateRefreshTokens: true, BlacklistAfterRotation: true})
	e.store.users[bob.ID], e.store.users[carol.ID] = bob, carol
	e.users.keys = map[string]int64{key: bob.ID, "77": carol.ID}
	ctx := context.Background()

	named := func(what, raw, wantKey string) {
		t.Helper()
		c := e.parse(t, raw)
		payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
		if wantKey != "" {
			// The key, and the id after it for verifiers that cannot look
			// the key up.
			if c.UserKey != wantKey || c.UserID != bob.ID ||
				!strings.Contains(string(payload), `"user_id":"`+wantKey+`","gatehouse_user_id":43`) {
				t.Errorf("%s: %s, claims %+v; want user_id %q", what, payload, c, wantKey)
			}
		} else if c.UserKey != "" || !c.HasUserID {
			t.Errorf("%s: %s, claims %+v; want an integer user_id", what, payload, c)
		}
	}
	refresh, access, err := e.svc.Obtain(ctx, &bob)
	if err != nil {
		t.Fatal(err)
	}
	named("bob's access", access, key)
	named("bob's refresh", refresh, key)
	if r := e.store.records[e.parse(t, refresh).JTI]; r.UserID != bob.ID {
		t.Errorf("bob's refresh recorded for user %d", r.UserID)
	}
	e.clk.t = e.clk.t.Add(time.Second)
	access, refresh2, err := e.svc.Refresh(ctx, refresh)
	if err != nil {
		t.Fatal(err)
	}
	named("bob's refreshed access", access, key)
	named("bob's rotated refresh", refresh2, key)
	// Django's token naming the user by its key without dashes: the new
	// ones name it as gatehouse keeps it.
	django, _, err := e.codec.MintKey(jwt.Refresh, 0, "3026D28EDBC04DEA8DA08AA9F5A3118D", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if access, _, err = e.svc.Refresh(ctx, django); err != nil {
		t.Fatal(err)
	}
	named("bob's access from Django's refresh token", access, key)

	refresh, access, err = e.svc.Obtain(ctx, &carol)
	if err != nil {
		t.Fatal(err)
	}
	named("carol's access", access, "")
	e.clk.t = e.clk.t.Add(time.Second)
	digits, _, err := e.codec.MintKey(jwt.Refresh, 0, "77", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if access, _, err = e.svc.Refresh(ctx, digits); err != nil {
		t.Fatal(err)
	}
	if c := e.parse(t, access); c.UserID != carol.ID || c.UserKey != "" {
		t.Errorf("carol's access from a digits key: %+v", c)
	}
	if _, _, err := e.codec.MintKey(jwt.Access, 1, strings.Repeat("k", 256), time.Time{}); err == nil {
		t.Error("a key over 255 bytes was minted")
	}
}
