package authn_test

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/authn"
	"github.com/gatehouse-auth/gatehouse/jwt"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// These tests run the Authenticator on a hand-written Store double, so each
// rule is checked without a database; server/ covers the same rules over
// HTTP on a real store.

// t0 is the injected clock's start. It lies on a millisecond, so a JWT
// minted at t0 carries its issue time exactly in the jti (1 ms / 4096 steps).
var t0 = time.Date(2026, 5, 4, 12, 30, 15, 250_000_000, time.UTC)

// clock is an injected, settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// fakeStore answers each Store method with its function field and counts
// the calls, so a test can tell a cached answer from a store lookup. A nil
// field makes the method fail with errUnexpected.
type fakeStore struct {
	user              func(id int64) (gatehouse.User, error)
	userByKey         func(key string) (int64, error)
	tokenByHash       func(hash []byte) (gatehouse.Token, gatehouse.User, error)
	touchTokens       func(used map[int64]time.Time) error
	accessTokenByHash func(hash []byte) (gatehouse.AccessTokenInfo, error)
	sessionEnded      func(idHash []byte) (bool, error)
	endSession        func(idHash []byte, expires, now time.Time) error
	startSession      func(s *gatehouse.BrowserSession, now time.Time) error
	touchSessions     func(seen map[string]time.Time) error

	calls map[string]int
}

var errUnexpected = errors.New("unexpected store call")

func (f *fakeStore) count(name string) {
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[name]++
}

func (f *fakeStore) User(_ context.Context, id int64) (gatehouse.User, error) {
	f.count("User")
	if f.user == nil {
		return gatehouse.User{}, errUnexpected
	}
	return f.user(id)
}

func (f *fakeStore) UserIDByDjangoKey(_ context.Context, key string) (int64, error) {
	f.count("UserIDByDjangoKey")
	if f.userByKey == nil {
		return 0, gatehouse.ErrNotFound
	}
	return f.userByKey(key)
}

func (f *fakeStore) TokenByHash(_ context.Context, hash []byte) (gatehouse.Token, gatehouse.User, error) {
	f.count("TokenByHash")
	if f.tokenByHash == nil {
		return gatehouse.Token{}, gatehouse.User{}, errUnexpected
	}
	return f.tokenByHash(hash)
}

func (f *fakeStore) TouchTokens(_ context.Context, used map[int64]time.Time) error {
	f.count("TouchTokens")
	if f.touchTokens == nil {
		return errUnexpected
	}
	return f.touchTokens(used)
}

func (f *fakeStore) AccessTokenByHash(_ context.Context, hash []byte) (gatehouse.AccessTokenInfo, error) {
	f.count("AccessTokenByHash")
	if f.accessTokenByHash == nil {
		return gatehouse.AccessTokenInfo{}, errUnexpected
	}
	return f.accessTokenByHash(hash)
}

func (f *fakeStore) SessionEnded(_ context.Context, idHash []byte) (bool, error) {
	f.count("SessionEnded")
	if f.sessionEnded == nil {
		return false, errUnexpected
	}
	return f.sessionEnded(idHash)
}

func (f *fakeStore) EndSession(_ context.Context, idHash []byte, expires, now time.Time) error {
	f.count("EndSession")
	if f.endSession == nil {
		return errUnexpected
	}
	return f.endSession(idHash, expires, now)
}

func (f *fakeStore) StartSession(_ context.Context, s *gatehouse.BrowserSession, now time.Time) error {
	f.count("StartSession")
	if f.startSession == nil {
		return errUnexpected
	}
	return f.startSession(s, now)
}

func (f *fakeStore) TouchSessions(_ context.Context, seen map[string]time.Time) error {
	f.count("TouchSessions")
	if f.touchSessions == nil {
		return errUnexpected
	}
	return f.touchSessions(seen)
}

// alice is the active user of most cases; epoch is her auth epoch.
var epoch = t0.Add(-time.Hour)

func alice() gatehouse.User {
	return gatehouse.User{ID: 42, Username: "alice", IsActive: true, AuthEpoch: epoch}
}

func inactive(u gatehouse.User) gatehouse.User { u.IsActive = false; return u }

func ptr[T any](v T) *T { return &v }

// wantRefused fails unless err is exactly the EUNAUTHORIZED error of reason.
func wantRefused(t *testing.T, err error, reason string) {
	t.Helper()
	var ge *gatehouse.Error
	if !errors.As(err, &ge) {
		t.Fatalf("err = %v, want *gatehouse.Error %s/%s", err, gatehouse.EUNAUTHORIZED, reason)
	}
	if want := gatehouse.Unauthorized(reason); !reflect.DeepEqual(ge, want) {
		t.Fatalf("err = %#v, want %#v", ge, want)
	}
}

// check compares an Authenticate outcome with the principal or refusal
// reason or exact error a case expects.
func check(t *testing.T, p *gatehouse.Principal, err error, want *gatehouse.Principal, reason string, wantErr error) {
	t.Helper()
	switch {
	case wantErr != nil:
		// Internal errors pass through untouched, so the HTTP layer logs
		// them and answers 500 instead of a misleading 401.
		if err != wantErr || p != nil {
			t.Fatalf("got %+v, %v; want the store's error %v", p, err, wantErr)
		}
	case reason != "":
		if p != nil {
			t.Fatalf("principal %+v, want refusal %s", p, reason)
		}
		wantRefused(t, err, reason)
	default:
		if err != nil {
			t.Fatalf("err = %v, want principal", err)
		}
		if !reflect.DeepEqual(p, want) {
			t.Fatalf("principal = %+v\nwant        %+v", p, want)
		}
	}
}

func TestDRFToken(t *testing.T) {
	const key = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
	errDB := errors.New("database is down")
	created := epoch.Add(time.Minute)
	tok := func(mod func(*gatehouse.Token)) gatehouse.Token {
		tk := gatehouse.Token{ID: 7, UserID: 42, Created: created}
		if mod != nil {
			mod(&tk)
		}
		return tk
	}
	found := func(tk gatehouse.Token, u gatehouse.User) func([]byte) (gatehouse.Token, gatehouse.User, error) {
		return func([]byte) (gatehouse.Token, gatehouse.User, error) { return tk, u, nil }
	}
	tests := []struct {
		name   string
		lookup func([]byte) (gatehouse.Token, gatehouse.User, error)
		want   *gatehouse.Principal
		reason string
		err    error
	}{
		{name: "unknown key",
			lookup: func([]byte) (gatehouse.Token, gatehouse.User, error) {
				return gatehouse.Token{}, gatehouse.User{}, gatehouse.ErrNotFound
			},
			reason: gatehouse.ReasonCredentialInvalid},
		{name: "expired at now", lookup: found(tok(func(tk *gatehouse.Token) { tk.Expires = ptr(t0) }), alice()),
			reason: gatehouse.ReasonCredentialInvalid},
		{name: "expires a microsecond later",
			lookup: found(tok(func(tk *gatehouse.Token) { tk.Expires = ptr(t0.Add(time.Microsecond)) }), alice()),
			want: &gatehouse.Principal{User: alice(), Scheme: gatehouse.SchemeToken, TokenID: 7, Issued: created,
				Expires: t0.Add(time.Microsecond)}},
		{name: "inactive user", lookup: found(tok(nil), inactive(alice())), reason: gatehouse.ReasonUserInactive},
		{name: "issued a microsecond before the epoch",
			lookup: found(tok(func(tk *gatehouse.Token) { tk.Created = epoch.Add(-time.Microsecond) }), alice()),
			reason: gatehouse.ReasonCredentialInvalid},
		{name: "issued at the epoch",
			lookup: found(tok(func(tk *gatehouse.Token) { tk.Created = epoch }), alice()),
			want:   &gatehouse.Principal{User: alice(), Scheme: gatehouse.SchemeToken, TokenID: 7, Issued: epoch}},
		{name: "issued after the epoch", lookup: found(tok(nil), alice()),
			want: &gatehouse.Principal{User: alice(), Scheme: gatehouse.SchemeToken, TokenID: 7, Issued: created}},
		{name: "store error",
			lookup: func([]byte) (gatehouse.Token, gatehouse.User, error) {
				return gatehouse.Token{}, gatehouse.User{}, errDB
			},
			err: errDB},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var touched []map[int64]time.Time
			st := &fakeStore{
				tokenByHash: func(hash []byte) (gatehouse.Token, gatehouse.User, error) {
					// Only the hash of the key may reach the store.
					if !reflect.DeepEqual(hash, secret.Hash(key)) {
						t.Errorf("TokenByHash(%x), want the hash of the key", hash)
					}
					return tc.lookup(hash)
				},
				touchTokens: func(used map[int64]time.Time) error { touched = append(touched, used); return nil },
			}
			a := authn.New(authn.Deps{Store: st, Now: (&clock{t0}).now})
			p, err := a.Authenticate(context.Background(), authn.Credential{Scheme: gatehouse.SchemeToken, Value: key})
			check(t, p, err, tc.want, tc.reason, tc.err)

			// The use is recorded only for an accepted key, and written
			// by Close in one batch.
			a.Close()
			var want []map[int64]time.Time
			if tc.want != nil {
				want = []map[int64]time.Time{{7: t0}}
			}
			if !reflect.DeepEqual(touched, want) {
				t.Fatalf("TouchTokens calls = %v, want %v", touched, want)
			}
		})
	}
}

// TestDRFTouchesBatchLatestUse checks that several uses of a key between
// two writes become one entry with the latest time.
func TestDRFTouchesBatchLatestUse(t *testing.T) {
	clk := &clock{t0}
	var touched []map[int64]time.Time
	st := &fakeStore{
		tokenByHash: func([]byte) (gatehouse.Token, gatehouse.User, error) {
			return gatehouse.Token{ID: 7, Created: epoch}, alice(), nil
		},
		touchTokens: func(used map[int64]time.Time) error { touched = append(touched, used); return nil },
	}
	a := authn.New(authn.Deps{Store: st, Now: clk.now})
	for range 3 {
		if _, err := a.Authenticate(context.Background(), authn.Credential{Scheme: gatehouse.SchemeToken, Value: "k"}); err != nil {
			t.Fatal(err)
		}
		clk.t = clk.t.Add(time.Second)
	}
	a.Close()
	a.Close() // a second Close must neither block nor write again
	want := []map[int64]time.Time{{7: t0.Add(2 * time.Second)}}
	if !reflect.DeepEqual(touched, want) {
		t.Fatalf("TouchTokens calls = %v, want %v", touched, want)
	}
}

// newCodec is a real HS256 codec on the given clock, so the tests parse
// exactly what the server mints.
func newCodec(t *testing.T, key string, now func() time.Time) *jwt.Codec {
	t.Helper()
	c, err := jwt.New(jwt.Config{Signing: jwt.Key{Algorithm: jwt.HS256, Secret: []byte(key)}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mint(t *testing.T, c *jwt.Codec, typ string, userID int64, iat time.Time) (string, jwt.Claims) {
	t.Helper()
	raw, cl, err := c.Mint(typ, userID, iat)
	if err != nil {
		t.Fatal(err)
	}
	return raw, cl
}

func TestJWT(t *testing.T) {
	clk := &clock{t0}
	codec := newCodec(t, "test-signing-key-0123456789abcdef", clk.now)
	other := newCodec(t, "another-signing-key-0123456789abc", clk.now)
	errDB := errors.New("database is down")

	// The epoch sits in the same second as t0, half a second after the
	// token minted earlier in that second: iat alone (whole seconds)
	// could not tell them apart, the jti's time can.
	sameSecondEpoch := t0.Add(500 * time.Millisecond)
	moved := alice()
	moved.AuthEpoch = sameSecondEpoch

	good, goodClaims := mint(t, codec, jwt.Access, 42, t0)
	early, _ := mint(t, codec, jwt.Access, 42, t0)
	late, lateClaims := mint(t, codec, jwt.Access, 42, sameSecondEpoch.Add(time.Microsecond))
	refresh, _ := mint(t, codec, jwt.Refresh, 42, t0)
	forged, _ := mint(t, other, jwt.Access, 42, t0)

	// IssuedAt is the jti's time: rounded down to 1 ms / 4096, so the
	// microsecond after the epoch reads as 976 ns after it, still after.
	if got, want := lateClaims.IssuedAt(), sameSecondEpoch.Add(976*time.Nanosecond); !got.Equal(want) {
		t.Fatalf("IssuedAt of the late token = %v, want %v", got, want)
	}

	userIs := func(u gatehouse.User) func(int64) (gatehouse.User, error) {
		return func(id int64) (gatehouse.User, error) {
			if id != 42 {
				t.Errorf("User(%d), want 42", id)
			}
			return u, nil
		}
	}
	tests := []struct {
		name   string
		token  string
		user   func(int64) (gatehouse.User, error)
		want   *gatehouse.Principal
		reason string
		err    error
	}{
		{name: "signed by another key", token: forged, reason: gatehouse.ReasonCredentialInvalid},
		{name: "not a JWT", token: "garbage", reason: gatehouse.ReasonCredentialInvalid},
		{name: "refresh token", token: refresh, reason: gatehouse.ReasonWrongTokenType},
		{name: "user gone", token: good,
			user:   func(int64) (gatehouse.User, error) { return gatehouse.User{}, gatehouse.ErrNotFound },
			reason: gatehouse.ReasonUserNotFound},
		{name: "store error", token: good,
			user: func(int64) (gatehouse.User, error) { return gatehouse.User{}, errDB }, err: errDB},
		{name: "inactive user", token: good, user: userIs(inactive(alice())), reason: gatehouse.ReasonUserInactive},
		{name: "issued earlier in the epoch's second", token: early, user: userIs(moved),
			reason: gatehouse.ReasonCredentialInvalid},
		{name: "issued a microsecond after the epoch", token: late, user: userIs(moved),
			want: &gatehouse.Principal{User: moved, Scheme: gatehouse.SchemeJWT, Issued: lateClaims.IssuedAt(),
				Expires: time.Unix(lateClaims.Exp, 0)}},
		{name: "accepted", token: good, user: userIs(alice()),
			want: &gatehouse.Principal{User: alice(), Scheme: gatehouse.SchemeJWT, Issued: goodClaims.IssuedAt(),
				Expires: time.Unix(goodClaims.Exp, 0)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The clock stands just after the late token's issue time,
			// which is in t0's second: every token is still valid.
			clk.t = sameSecondEpoch.Add(time.Millisecond)
			st := &fakeStore{user: tc.user}
			a := authn.New(authn.Deps{Store: st, JWT: codec, Now: clk.now})
			defer a.Close()
			p, err := a.Authenticate(context.Background(), authn.Credential{Scheme: gatehouse.SchemeJWT, Value: tc.token})
			check(t, p, err, tc.want, tc.reason, tc.err)
			// A token refused before its user is needed must not cost a
			// database read.
			if tc.user == nil && st.calls["User"] != 0 {
				t.Fatalf("User called %d times for a refused token", st.calls["User"])
			}
		})
	}
}

// A simplejwt access token Django issued for a custom user model keyed by
// UUIDs names its user by that key (jwt.Claims.UserKey): it is looked up,
// in the form gatehouse keeps (dashed, lower case) whatever form the
// token gives, among the loaded users' Django keys, once while cached; a
// key no user has is refused as a token without a user, and a store
// error is an error.
func TestJWTDjangoKey(t *testing.T) {
	const stored = "3026d28e-dbc0-4dea-8da0-8aa9f5a3118d"
	errDB := errors.New("database is down")
	claims := func(key string) claimsParser {
		return func(string) (jwt.Claims, error) {
			return jwt.Claims{TokenType: jwt.Access, Exp: t0.Add(time.Hour).Unix(), Iat: t0.Unix(), JTI: "e2ff709df1ca46bda6f997e5ef7d44ac", UserKey: key}, nil
		}
	}
	for _, tc := range []struct {
		name, key string
		lookup    func(string) (int64, error)
		reason    string
		err       error
	}{
		{name: "dashed", key: stored},
		{name: "32 hex digits in capitals", key: "3026D28EDBC04DEA8DA08AA9F5A3118D"},
		{name: "no user has it", key: "00000000-0000-4000-8000-000000000000", reason: gatehouse.ReasonNoUserID},
		{name: "store error", key: stored, lookup: func(string) (int64, error) { return 0, errDB }, err: errDB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &fakeStore{user: func(id int64) (gatehouse.User, error) {
				if id != 42 {
					return gatehouse.User{}, gatehouse.ErrNotFound
				}
				return alice(), nil
			}}
			st.userByKey = tc.lookup
			if st.userByKey == nil {
				st.userByKey = func(key string) (int64, error) {
					if key == stored {
						return 42, nil
					}
					return 0, gatehouse.ErrNotFound
				}
			}
			clk := &clock{t0.Add(time.Minute)}
			a := authn.New(authn.Deps{Store: st, JWT: claims(tc.key), Now: clk.now, CacheTTL: time.Minute})
			defer a.Close()
			for range 2 {
				p, err := a.Authenticate(context.Background(), authn.Credential{Scheme: gatehouse.SchemeJWT, Value: "x.y.z"})
				var want *gatehouse.Principal
				if tc.reason == "" && tc.err == nil {
					want = &gatehouse.Principal{User: alice(), Scheme: gatehouse.SchemeJWT, Issued: time.Unix(t0.Unix(), 0), Expires: time.Unix(t0.Add(time.Hour).Unix(), 0)}
				}
				check(t, p, err, want, tc.reason, tc.err)
			}
			if tc.reason == "" && tc.err == nil && st.calls["UserIDByDjangoKey"] != 1 {
				t.Errorf("UserIDByDjangoKey called %d times for two requests", st.calls["UserIDByDjangoKey"])
			}
		})
	}
}

// A user_id that is a string of digits is a Django key first (a custom
// user model's CharField key, which simplejwt writes as a string): the user
// loaded with that key, not the gatehouse user whose id the digits spell;
// no user having that key, the digits are the id, as before.
func TestJWTDigitKey(t *testing.T) {
	for _, tc := range []struct {
		name  string
		keyed bool
		want  int64
	}{{"a user has the key", true, 42}, {"no user has it", false, 5}} {
		t.Run(tc.name, func(t *testing.T) {
			st := &fakeStore{
				user: func(id int64) (gatehouse.User, error) {
					u := alice()
					u.ID = id
					return u, nil
				},
				userByKey: func(key string) (int64, error) {
					if tc.keyed && key == "5" {
						return 42, nil
					}
					return 0, gatehouse.ErrNotFound
				},
			}
			parser := claimsParser(func(string) (jwt.Claims, error) {
				return jwt.Claims{TokenType: jwt.Access, Exp: t0.Add(time.Hour).Unix(), Iat: t0.Unix(), JTI: "e2ff709df1ca46bda6f997e5ef7d44ac",
					UserID: 5, HasUserID: true, UserKey: "5"}, nil
			})
			a := authn.New(authn.Deps{Store: st, JWT: parser, Now: (&clock{t0.Add(time.Minute)}).now})
			defer a.Close()
			p, err := a.Authenticate(context.Background(), authn.Credential{Scheme: gatehouse.SchemeJWT, Value: "x.y.z"})
			if err != nil || p.User.ID != tc.want {
				t.Fatalf("principal %+v, %v; want user %d", p, err, tc.want)
			}
		})
	}
}

// claimsParser is a JWTParser double for claims a real codec cannot mint.
type claimsParser func(string) (jwt.Claims, error)

func (f claimsParser) Parse(s string) (jwt.Claims, error) { return f(s) }

func TestJWTWithoutParserOrUser(t *testing.T) {
	codec := newCodec(t, "test-signing-key-0123456789abcdef", (&clock{t0}).now)
	good, _ := mint(t, codec, jwt.Access, 42, t0)
	tests := []struct {
		name   string
		parser authn.JWTParser
		reason string
	}{
		// Deps.JWT left nil: a deployment without simplejwt refuses
		// JWTs rather than panicking.
		{name: "no parser", parser: nil, reason: gatehouse.ReasonCredentialInvalid},
		{name: "no user_id claim", reason: gatehouse.ReasonNoUserID,
			parser: claimsParser(func(string) (jwt.Claims, error) { return jwt.Claims{TokenType: jwt.Access}, nil })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &fakeStore{}
			a := authn.New(authn.Deps{Store: st, JWT: tc.parser, Now: (&clock{t0}).now})
			defer a.Close()
			p, err := a.Authenticate(context.Background(), authn.Credential{Scheme: gatehouse.SchemeJWT, Value: good})
			check(t, p, err, nil, tc.reason, nil)
			if len(st.calls) != 0 {
				t.Fatalf("store calls %v, want none", st.calls)
			}
		})
	}
}

func TestCheckJWTUser(t *testing.T) {
	codec := newCodec(t, "test-signing-key-0123456789abcdef", (&clock{t0}).now)
	_, claims := mint(t, codec, jwt.Refresh, 42, t0)
	errDB := errors.New("database is down")
	moved := alice()
	moved.AuthEpoch = t0.Add(time.Microsecond)
	tests := []struct {
		name string
		user func(int64) (gatehouse.User, error)
		want error // compared with errors.Is, or exactly for refusals below
		// reason, when set, is the exact refusal expected.
		reason string
	}{
		{name: "accepted", user: func(int64) (gatehouse.User, error) { return alice(), nil }},
		// simplejwt's verify view accepts a token whose user is gone, so
		// the missing user must stay recognisable as ErrNotFound.
		{name: "user gone", user: func(int64) (gatehouse.User, error) { return gatehouse.User{}, gatehouse.ErrNotFound },
			want: gatehouse.ErrNotFound},
		{name: "store error", user: func(int64) (gatehouse.User, error) { return gatehouse.User{}, errDB }, want: errDB},
		{name: "inactive", user: func(int64) (gatehouse.User, error) { return inactive(alice()), nil },
			reason: gatehouse.ReasonUserInactive},
		{name: "issued before the epoch", user: func(int64) (gatehouse.User, error) { return moved, nil },
			reason: gatehouse.ReasonCredentialInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := authn.New(authn.Deps{Store: &fakeStore{user: tc.user}, Now: (&clock{t0}).now})
			defer a.Close()
			err := a.CheckJWTUser(context.Background(), claims)
			switch {
			case tc.reason != "":
				wantRefused(t, err, tc.reason)
			case tc.want == nil && err != nil:
				t.Fatalf("err = %v, want nil", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestOAuth(t *testing.T) {
	const token = "Vf3dAw1nUq9Yk2LmZp7Rt5Xc8Bh4Js"
	errDB := errors.New("database is down")
	created := epoch.Add(time.Minute)
	info := func(mod func(*gatehouse.AccessTokenInfo)) func([]byte) (gatehouse.AccessTokenInfo, error) {
		return func([]byte) (gatehouse.AccessTokenInfo, error) {
			u := alice()
			g := gatehouse.AccessTokenInfo{
				Token: gatehouse.AccessToken{ID: 9, UserID: &u.ID, ApplicationID: 3, Scope: "read write",
					Created: created, Expires: t0.Add(time.Hour)},
				User: &u, ClientID: "client-3"}
			if mod != nil {
				mod(&g)
			}
			return g, nil
		}
	}
	tests := []struct {
		name   string
		value  string
		lookup func([]byte) (gatehouse.AccessTokenInfo, error)
		want   *gatehouse.Principal
		reason string
		err    error
	}{
		// Such values are JWTs or garbage; looking them up would let
		// anyone make the server hash and query arbitrary input.
		{name: "value with a dot", value: "abc.def", reason: gatehouse.ReasonCredentialInvalid},
		{name: "256 characters", value: strings.Repeat("a", 256), reason: gatehouse.ReasonCredentialInvalid},
		{name: "255 characters reach the store", value: strings.Repeat("a", 255),
			lookup: func([]byte) (gatehouse.AccessTokenInfo, error) {
				return gatehouse.AccessTokenInfo{}, gatehouse.ErrNotFound
			},
			reason: gatehouse.ReasonCredentialInvalid},
		{name: "unknown", value: token,
			lookup: func([]byte) (gatehouse.AccessTokenInfo, error) {
				return gatehouse.AccessTokenInfo{}, gatehouse.ErrNotFound
			},
			reason: gatehouse.ReasonCredentialInvalid},
		{name: "store error", value: token,
			lookup: func([]byte) (gatehouse.AccessTokenInfo, error) { return gatehouse.AccessTokenInfo{}, errDB }, err: errDB},
		// A client's own token authenticates, with no user (DOT's
		// request.user None); the views answer 403 where a user is needed.
		{name: "client_credentials token", value: token,
			lookup: info(func(g *gatehouse.AccessTokenInfo) { g.User, g.Token.UserID = nil, nil }),
			want: &gatehouse.Principal{Scheme: gatehouse.SchemeOAuth, TokenID: 9, Scope: "read write", ApplicationID: 3,
				ClientID: "client-3", Issued: created, Expires: t0.Add(time.Hour)}},
		{name: "client_credentials token, expired", value: token,
			lookup: info(func(g *gatehouse.AccessTokenInfo) { g.User, g.Token.UserID, g.Token.Expires = nil, nil, t0 }),
			reason: gatehouse.ReasonCredentialInvalid},
		{name: "expired at now", value: token,
			lookup: info(func(g *gatehouse.AccessTokenInfo) { g.Token.Expires = t0 }),
			reason: gatehouse.ReasonCredentialInvalid},
		// OAuth refuses an inactive user with the same reason as any
		// other bad token (DOT answers alike), unlike the DRF scheme.
		{name: "inactive user", value: token,
			lookup: info(func(g *gatehouse.AccessTokenInfo) { g.User.IsActive = false }),
			reason: gatehouse.ReasonCredentialInvalid},
		{name: "issued before the epoch", value: token,
			lookup: info(func(g *gatehouse.AccessTokenInfo) { g.Token.Created = epoch.Add(-time.Microsecond) }),
			reason: gatehouse.ReasonCredentialInvalid},
		{name: "accepted", value: token, lookup: info(nil),
			want: &gatehouse.Principal{User: alice(), Scheme: gatehouse.SchemeOAuth, TokenID: 9, Scope: "read write",
				ApplicationID: 3, ClientID: "client-3", Issued: created, Expires: t0.Add(time.Hour)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &fakeStore{}
			if tc.lookup != nil {
				st.accessTokenByHash = func(hash []byte) (gatehouse.AccessTokenInfo, error) {
					if !reflect.DeepEqual(hash, secret.TokenKey(tc.value)) {
						t.Errorf("AccessTokenByHash(%x), want the hash of the value", hash)
					}
					return tc.lookup(hash)
				}
			}
			a := authn.New(authn.Deps{Store: st, Now: (&clock{t0}).now})
			defer a.Close()
			p, err := a.Authenticate(context.Background(), authn.Credential{Scheme: gatehouse.SchemeOAuth, Value: tc.value})
			check(t, p, err, tc.want, tc.reason, tc.err)
			wantCalls := 0
			if tc.lookup != nil {
				wantCalls = 1
			}
			if got := st.calls["AccessTokenByHash"]; got != wantCalls {
				t.Fatalf("AccessTokenByHash called %d times, want %d", got, wantCalls)
			}
		})
	}
}

func TestSession(t *testing.T) {
	errDB := errors.New("database is down")
	found := func(u gatehouse.User) func(int64) (gatehouse.User, error) {
		return func(int64) (gatehouse.User, error) { return u, nil }
	}
	notEnded := func([]byte) (bool, error) { return false, nil }
	tests := []struct {
		name   string
		userID int64
		issued time.Time
		noID   bool // the cookie has no session id
		user   func(int64) (gatehouse.User, error)
		ended  func([]byte) (bool, error)
		want   *gatehouse.Principal
		reason string
		err    error
	}{
		// A cookie without a user id is anonymous: no lookup of user 0.
		{name: "user id 0", userID: 0, issued: t0, reason: gatehouse.ReasonCredentialInvalid},
		// A session without an id cannot be ended, so it is not accepted.
		{name: "no session id", userID: 42, issued: t0, noID: true, reason: gatehouse.ReasonCredentialInvalid},
		{name: "ended", userID: 42, issued: t0, user: found(alice()),
			ended: func([]byte) (bool, error) { return true, nil }, reason: gatehouse.ReasonCredentialInvalid},
		{name: "ended check fails", userID: 42, issued: t0, user: found(alice()),
			ended: func([]byte) (bool, error) { return false, errDB }, err: errDB},
		{name: "unknown user", userID: 42, issued: t0,
			user:   func(int64) (gatehouse.User, error) { return gatehouse.User{}, gatehouse.ErrNotFound },
			reason: gatehouse.ReasonCredentialInvalid},
		{name: "store error", userID: 42, issued: t0,
			user: func(int64) (gatehouse.User, error) { return gatehouse.User{}, errDB }, err: errDB},
		{name: "inactive user", userID: 42, issued: t0, user: found(inactive(alice())),
			reason: gatehouse.ReasonCredentialInvalid},
		{name: "issued a microsecond before the epoch", userID: 42, issued: epoch.Add(-time.Microsecond),
			user: found(alice()), reason: gatehouse.ReasonCredentialInvalid},
		{name: "issued at the epoch", userID: 42, issued: epoch, user: found(alice()), ended: notEnded,
			want: &gatehouse.Principal{User: alice(), Scheme: gatehouse.SchemeSession, Issued: epoch}},
		{name: "issued after the epoch", userID: 42, issued: t0, user: found(alice()), ended: notEnded,
			want: &gatehouse.Principal{User: alice(), Scheme: gatehouse.SchemeSession, Issued: t0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &fakeStore{user: tc.user, sessionEnded: tc.ended}
			a := authn.New(authn.Deps{Store: st, Now: (&clock{t0}).now})
			defer a.Close()
			sid := "session-id"
			if tc.noID {
				sid = ""
			}
			p, err := a.Authenticate(context.Background(),
				authn.Credential{Scheme: gatehouse.SchemeSession, UserID: tc.userID, Issued: tc.issued, SessionID: sid})
			check(t, p, err, tc.want, tc.reason, tc.err)
			if tc.user == nil && len(st.calls) != 0 {
				t.Fatalf("store calls %v, want none", st.calls)
			}
		})
	}
}

func TestUnknownScheme(t *testing.T) {
	st := &fakeStore{}
	a := authn.New(authn.Deps{Store: st})
	defer a.Close()
	p, err := a.Authenticate(context.Background(), authn.Credential{Scheme: "basic", Value: "x"})
	check(t, p, err, nil, gatehouse.ReasonBadHeader, nil)
	if len(st.calls) != 0 {
		t.Fatalf("store calls %v, want none", st.calls)
	}
}

// TestEndSession: an ended session is recorded by the hash of its id with
// its expiry and the time of the logout, and refused at once although
// "not ended" was cached.
func TestEndSession(t *testing.T) {
	ended := map[string]bool{}
	var gotExpires, gotNow time.Time
	st := &fakeStore{
		user:         func(int64) (gatehouse.User, error) { return alice(), nil },
		sessionEnded: func(h []byte) (bool, error) { return ended[string(h)], nil },
		endSession: func(h []byte, expires, now time.Time) error {
			ended[string(h)], gotExpires, gotNow = true, expires, now
			return nil
		},
	}
	a := authn.New(authn.Deps{Store: st, Now: (&clock{t0}).now, CacheTTL: time.Minute})
	defer a.Close()
	c := authn.Credential{Scheme: gatehouse.SchemeSession, UserID: 42, Issued: t0, SessionID: "session-id"}
	other := c
	other.SessionID = "another-session"
	authOK(t, a, c)
	authOK(t, a, c)
	authOK(t, a, other)
	if got := st.calls["SessionEnded"]; got != 2 {
		t.Fatalf("SessionEnded called %d times, want 2 (one per session, then cached)", got)
	}
	exp := t0.Add(12 * time.Hour)
	if err := a.EndSession(context.Background(), "session-id", exp); err != nil {
		t.Fatal(err)
	}
	if !ended[string(secret.Hash("session-id"))] || !gotExpires.Equal(exp) || !gotNow.Equal(t0) {
		t.Fatalf("recorded %v, expires %v, now %v", ended, gotExpires, gotNow)
	}
	p, err := a.Authenticate(context.Background(), c)
	check(t, p, err, nil, gatehouse.ReasonCredentialInvalid, nil)
	authOK(t, a, other) // only that session ended
}

// TestStartSession: a login's session is recorded by the hash of its id,
// with its times, the request's source address and the User-Agent made
// printable and cut to gatehouse.MaxUserAgent bytes on a character
// boundary; its uses are written, batched, as "last seen" times.
func TestStartSession(t *testing.T) {
	var started *gatehouse.BrowserSession
	var startedNow time.Time
	var seen []map[string]time.Time
	st := &fakeStore{
		user:         func(int64) (gatehouse.User, error) { return alice(), nil },
		sessionEnded: func([]byte) (bool, error) { return false, nil },
		startSession: func(s *gatehouse.BrowserSession, now time.Time) error {
			started, startedNow = s, now
			return nil
		},
		touchSessions: func(m map[string]time.Time) error { seen = append(seen, m); return nil },
	}
	clk := &clock{t0}
	a := authn.New(authn.Deps{Store: st, Now: clk.now, CacheTTL: time.Minute})
	issued, expires := t0.Add(-time.Second), t0.Add(12*time.Hour)
	ua := "Mozilla/5.0\x00\n (X11) " + strings.Repeat("é", 200) // 2 bytes each
	ctx := gatehouse.WithRequest(context.Background(), &gatehouse.RequestInfo{Source: netip.MustParseAddr("203.0.113.9")})
	if err := a.StartSession(ctx, "session-id", 42, issued, expires, ua); err != nil {
		t.Fatal(err)
	}
	if started == nil || string(started.IDHash) != string(secret.Hash("session-id")) || started.UserID != 42 ||
		!started.Created.Equal(issued) || !started.Expires.Equal(expires) || !started.LastSeen.Equal(issued) ||
		started.Source != "203.0.113.9" || !startedNow.Equal(t0) {
		t.Fatalf("recorded %+v at %v", started, startedNow)
	}
	if len(started.UserAgent) > gatehouse.MaxUserAgent || !utf8.ValidString(started.UserAgent) ||
		!strings.HasPrefix(started.UserAgent, "Mozilla/5.0 (X11) éé") {
		t.Fatalf("user agent %q (%d bytes)", started.UserAgent, len(started.UserAgent))
	}
	if err := a.StartSession(context.Background(), "other", 42, issued, expires, ""); err != nil || started.Source != "" {
		t.Fatalf("without a request: err %v, source %q", err, started.Source)
	}

	c := authn.Credential{Scheme: gatehouse.SchemeSession, UserID: 42, Issued: issued, SessionID: "session-id"}
	authOK(t, a, c)
	clk.t = t0.Add(time.Minute)
	authOK(t, a, c)
	a.Close()
	want := []map[string]time.Time{{string(secret.Hash("session-id")): t0.Add(time.Minute)}}
	if !reflect.DeepEqual(seen, want) {
		t.Fatalf("TouchSessions calls %v, want %v", seen, want)
	}
}

// TestAccessTokenLookup: introspection's reads of access tokens go through
// the cache (one store read for two lookups), come back as the store gave
// them, and a ForgetAccess drops the token at once; an unknown one is
// ErrNotFound and not cached.
func TestAccessTokenLookup(t *testing.T) {
	u := alice()
	stored := gatehouse.AccessTokenInfo{ClientID: "web", User: &u,
		Token: gatehouse.AccessToken{ID: 9, Scope: "read", ApplicationID: 3, UserID: &u.ID, Created: t0, Expires: t0.Add(time.Hour)}}
	key := secret.TokenKey("known")
	st := &fakeStore{accessTokenByHash: func(h []byte) (gatehouse.AccessTokenInfo, error) {
		if string(h) == string(key) {
			return stored, nil
		}
		return gatehouse.AccessTokenInfo{}, gatehouse.ErrNotFound
	}}
	a := authn.New(authn.Deps{Store: st, Now: (&clock{t0}).now, CacheTTL: time.Minute})
	defer a.Close()
	for i := 0; i < 2; i++ {
		g, err := a.AccessToken(context.Background(), key)
		if err != nil || g.ClientID != "web" || g.User == nil || g.User.Username != u.Username || g.Token.ID != 9 || g.Token.Scope != "read" ||
			g.Token.ApplicationID != 3 || !g.Token.Created.Equal(t0) || !g.Token.Expires.Equal(t0.Add(time.Hour)) || *g.Token.UserID != u.ID {
			t.Fatalf("lookup %d: %+v %v", i, g, err)
		}
	}
	if n := st.calls["AccessTokenByHash"]; n != 1 {
		t.Fatalf("%d store reads for two lookups, want 1", n)
	}
	a.ForgetAccess([][]byte{key})
	if _, err := a.AccessToken(context.Background(), key); err != nil || st.calls["AccessTokenByHash"] != 2 {
		t.Fatalf("after ForgetAccess: %v, %d reads", err, st.calls["AccessTokenByHash"])
	}
	// A revocation of a row stored under the legacy key (the SHA-256
	// alone) returns that key: it drops the entry of the token's key too.
	a.ForgetAccess([][]byte{secret.KeyDigest(key)})
	if _, err := a.AccessToken(context.Background(), key); err != nil || st.calls["AccessTokenByHash"] != 3 {
		t.Fatalf("after ForgetAccess of the legacy key: %v, %d reads", err, st.calls["AccessTokenByHash"])
	}
	for i := 0; i < 2; i++ {
		if _, err := a.AccessToken(context.Background(), secret.TokenKey("unknown")); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("unknown: %v", err)
		}
	}
	if n := st.calls["AccessTokenByHash"]; n != 5 {
		t.Fatalf("%d store reads, want 5 (an unknown token is not cached)", n)
	}
}
