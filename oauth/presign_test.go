package oauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// recordingSigner is the JWT signer double: its "token" is the claims'
// JSON behind a counter, and it records whether each signature was made
// inside a rotation's issue callback (inRotation, set by the store
// double around it).
type recordingSigner struct {
	inRotation bool
	inside     int // signatures made inside the callback
	outside    int
	n          int
}

func (s *recordingSigner) Sign(_ context.Context, typ string, claims any) (string, error) {
	if typ != gatehouse.JWTAccessTokenType {
		return "", fmt.Errorf("typ %q", typ)
	}
	if s.inRotation {
		s.inside++
	} else {
		s.outside++
	}
	s.n++
	b, err := json.Marshal(claims)
	return fmt.Sprintf("%d.%s", s.n, b), err
}

// claimsOf reads back the claims recordingSigner put in a token.
func claimsOf(t *testing.T, token string) map[string]any {
	t.Helper()
	_, body, _ := strings.Cut(token, ".")
	var c map[string]any
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatalf("token %q: %v", token, err)
	}
	return c
}

// presignStore is the store double with the confidential client "conf",
// whose access tokens are JWTs unless opaque, and the signer double.
func presignStore(opaque bool) (*fakeStore, *recordingSigner) {
	store := newStore(confidential(), public(), machine())
	if !opaque {
		app := store.apps["conf"]
		app.TokenFormat = gatehouse.TokenFormatJWT
		store.apps["conf"] = app
	}
	return store, &recordingSigner{}
}

// presignProvider is a Provider on store and signer, at t0.
func presignProvider(t *testing.T, store *fakeStore, signer *recordingSigner) *oauth.Provider {
	t.Helper()
	p, err := oauth.New(oauth.Deps{Store: store, Accounts: &passwords{}, Secrets: hasher, Selectors: selectors, AccessTokens: signer,
		Config: oauth.Config{Issuer: "https://auth.example"}, Now: func() time.Time { return t0 }, Forget: func([][]byte) {}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// presignOutcome is what a presign test expects of one token request: the
// store's unlocked reads (read), where the signatures were made, and the
// answer: an error before any rotation or redemption (err), an
// *oauth.Error with that code, or a pair, opaque or signed.
type presignOutcome struct {
	read            [][]byte
	inside, outside int
	code            string
	err             error
	opaque          bool
}

// check compares the request's reads, signatures and answer with w, after
// calls rotations or redemptions that stored issued; true when the answer
// is a signed pair whose claims the caller is to check.
func (w presignOutcome) check(t *testing.T, readName string, read [][]byte, signer *recordingSigner, calls int,
	issued *gatehouse.AccessToken, resp *oauth.TokenResponse, err error) bool {
	t.Helper()
	if !reflect.DeepEqual(read, w.read) {
		t.Fatalf("%s calls %x, want %x", readName, read, w.read)
	}
	if signer.inside != w.inside || signer.outside != w.outside {
		t.Fatalf("signed %d times inside the store's transaction and %d outside, want %d and %d",
			signer.inside, signer.outside, w.inside, w.outside)
	}
	if w.err != nil {
		if resp != nil || !errors.Is(err, w.err) || calls != 0 {
			t.Fatalf("got %+v, %v after %d store calls; want %v before any", resp, err, calls, w.err)
		}
		return false
	}
	if w.code != "" {
		var oe *oauth.Error
		if resp != nil || !errors.As(err, &oe) || oe.Code != w.code {
			t.Fatalf("got %+v, %v; want %s", resp, err, w.code)
		}
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(issued.Hash, secret.TokenKey(resp.AccessToken)) {
		t.Fatalf("stored access token %x is not the response's %q", issued.Hash, resp.AccessToken)
	}
	if w.opaque {
		if !tokenValue.MatchString(resp.AccessToken) {
			t.Fatalf("opaque client got %q", resp.AccessToken)
		}
		return false
	}
	return true
}

// TestRefreshGrantPresigned: a refresh by a client whose access tokens
// are JWTs signs its access token before the rotation, from an unlocked
// read of the refresh token, and the rotation's issue callback uses that
// token only when the token it locked has the same user and gives the
// same scope; otherwise it signs there, for what it locked. The response
// and the stored pair are those a signature inside would give.
func TestRefreshGrantPresigned(t *testing.T) {
	const value = "OldRefreshTokenValue0123456789"
	alice, bob := int64(42), int64(43)
	locked := gatehouse.RefreshToken{ID: 5, UserID: &alice, ApplicationID: 1, Scope: "read write", Family: "fam1",
		Created: t0.Add(-time.Hour)}
	with := func(change func(*gatehouse.RefreshToken)) func([]byte) (gatehouse.RefreshToken, error) {
		return func([]byte) (gatehouse.RefreshToken, error) {
			r := locked
			change(&r)
			return r, nil
		}
	}
	same := with(func(*gatehouse.RefreshToken) {})
	expired := t0.Add(-time.Second)
	tests := []struct {
		name    string
		opaque  bool // the client's access tokens are opaque
		scope   string
		read    func([]byte) (gatehouse.RefreshToken, error) // nil: the store must not be read
		inside  int                                          // signatures inside the callback
		outside int
		code    string // the error's code, "" for a pair
		err     error  // the exact error, when not an *oauth.Error
	}{
		{name: "read as locked", read: same, outside: 1},
		{name: "narrower scope", scope: "write", read: same, outside: 1},
		{name: "opaque client", opaque: true},
		{name: "unknown token", read: func([]byte) (gatehouse.RefreshToken, error) { return gatehouse.RefreshToken{}, gatehouse.ErrNotFound },
			inside: 1},
		// What changed between the read and the lock (or a read that is
		// not the rotation's own answer) is signed again, inside.
		{name: "another user when read", read: with(func(r *gatehouse.RefreshToken) { r.UserID = &bob }), outside: 1, inside: 1},
		{name: "no user when read", read: with(func(r *gatehouse.RefreshToken) { r.UserID = nil }), outside: 1, inside: 1},
		{name: "another scope when read", read: with(func(r *gatehouse.RefreshToken) { r.Scope = "read" }), outside: 1, inside: 1},
		// A token the rotation would not accept as read gets no signature
		// before it.
		{name: "another client's when read", read: with(func(r *gatehouse.RefreshToken) { r.ApplicationID = 2 }), inside: 1},
		{name: "revoked when read", read: with(func(r *gatehouse.RefreshToken) { r.Revoked = &t0 }), inside: 1},
		{name: "expired when read", read: with(func(r *gatehouse.RefreshToken) { r.Expires = &expired }), inside: 1},
		{name: "wider scope", scope: "read groups", read: same, code: "invalid_scope"},
		{name: "read fails", read: func([]byte) (gatehouse.RefreshToken, error) { return gatehouse.RefreshToken{}, errUnexpected },
			err: errUnexpected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store, signer := presignStore(tc.opaque)
			var read [][]byte
			store.refreshTokenByHash = recorded(&read, tc.read)
			var issued *gatehouse.AccessToken
			rotations := 0
			lockRotation(store, signer, gatehouse.RefreshRotation{Old: locked, User: &gatehouse.User{ID: alice, IsActive: true}}, &rotations, &issued)
			p := presignProvider(t, store, signer)
			params := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {value}}
			if tc.scope != "" {
				params.Set("scope", tc.scope)
			}
			resp, err := p.Token(context.Background(), oauth.TokenRequest{Params: params, Client: confForm})
			// A JWT is signed for the user and scope the rotation finds:
			// a pair is made ahead for an opaque client only.
			if (store.ahead != nil) != (tc.opaque && tc.scope == "") {
				t.Fatalf("made ahead: %+v", store.ahead)
			}

			wantRead := [][]byte{selectors.RefreshKey(value)}
			if tc.read == nil {
				wantRead = nil
			}
			want := presignOutcome{read: wantRead, inside: tc.inside, outside: tc.outside, code: tc.code, err: tc.err, opaque: tc.opaque}
			if !want.check(t, "RefreshTokenByHash", read, signer, rotations, issued, resp, err) {
				return
			}
			// The token answered is signed for what the rotation locked:
			// alice, and the locked scope or the narrower one asked for.
			scope := locked.Scope
			if tc.scope != "" {
				scope = tc.scope
			}
			c := claimsOf(t, resp.AccessToken)
			if c["sub"] != "42" || c["scope"] != scope || c["client_id"] != "conf" || c["iat"] != float64(t0.Unix()) ||
				c["exp"] != float64(t0.Add(36000*time.Second).Unix()) || resp.Scope != scope || issued.Scope != scope {
				t.Fatalf("claims %v, response scope %q, stored scope %q; want alice's %q", c, resp.Scope, issued.Scope, scope)
			}
		})
	}
}

// TestCodeGrantPresigned: a code exchange by a client whose access tokens
// are JWTs signs its access token before the redemption, from an unlocked
// read of the code, when the code as read would be accepted (this
// client's, not redeemed, not expired, redirect URI and verifier right);
// the redemption's issue callback uses it only when the locked code has
// the same user and scope, and signs there otherwise.
func TestCodeGrantPresigned(t *testing.T) {
	const code = "CodeValue0123456789abcdefghijk"
	verifier := strings.Repeat("v", 43)
	bob := int64(43)
	locked := gatehouse.Grant{ID: 9, ApplicationID: 1, UserID: alice.ID, RedirectURI: "https://client.example/cb",
		Scope: "read write", CodeChallenge: oauth.S256(verifier), CodeChallengeMethod: "S256",
		Created: t0.Add(-time.Minute), Expires: t0.Add(time.Minute)}
	with := func(change func(*gatehouse.Grant)) func([]byte) (gatehouse.Grant, error) {
		return func([]byte) (gatehouse.Grant, error) {
			g := locked
			change(&g)
			return g, nil
		}
	}
	same := with(func(*gatehouse.Grant) {})
	tests := []struct {
		name     string
		opaque   bool
		verifier string                                // sent instead of the right one
		redirect string                                // sent instead of the right one
		read     func([]byte) (gatehouse.Grant, error) // nil: the store must not be read
		inside   int
		outside  int
		code     string // the error's code, "" for a pair
		err      error
	}{
		{name: "read as locked", read: same, outside: 1},
		{name: "opaque client", opaque: true},
		{name: "unknown code when read", read: func([]byte) (gatehouse.Grant, error) { return gatehouse.Grant{}, gatehouse.ErrNotFound },
			inside: 1},
		{name: "another user when read", read: with(func(g *gatehouse.Grant) { g.UserID = bob }), outside: 1, inside: 1},
		{name: "another scope when read", read: with(func(g *gatehouse.Grant) { g.Scope = "read" }), outside: 1, inside: 1},
		// A code the redemption would refuse as read gets no signature
		// before it.
		{name: "another client's when read", read: with(func(g *gatehouse.Grant) { g.ApplicationID = 2 }), inside: 1},
		{name: "redeemed when read", read: with(func(g *gatehouse.Grant) { g.UsedAt = &t0 }), inside: 1},
		{name: "expired when read", read: with(func(g *gatehouse.Grant) { g.Expires = t0 }), inside: 1},
		{name: "wrong verifier", verifier: strings.Repeat("w", 43), read: same, code: "invalid_grant"},
		{name: "wrong redirect URI", redirect: "https://client.example/cb?tenant=1", read: same, code: "invalid_request"},
		{name: "read fails", read: func([]byte) (gatehouse.Grant, error) { return gatehouse.Grant{}, errUnexpected }, err: errUnexpected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store, signer := presignStore(tc.opaque)
			var read [][]byte
			store.grantByHash = recorded(&read, tc.read)
			var issued *gatehouse.AccessToken
			redemptions := 0
			store.redeemGrant = func(h []byte, appID int64, _ time.Time, check func(gatehouse.Grant, *gatehouse.User) error,
				issue func(gatehouse.Grant) (*gatehouse.AccessToken, *gatehouse.RefreshToken, *time.Time, error)) (gatehouse.RevokedAccess, error) {
				redemptions++
				if !bytes.Equal(h, secret.Hash(code)) || appID != 1 {
					t.Fatalf("RedeemGrant(%x, %d)", h, appID)
				}
				u := alice
				if err := check(locked, &u); err != nil {
					return nil, err
				}
				signer.inRotation = true
				at, _, _, err := issue(locked)
				signer.inRotation = false
				issued = at
				return nil, err
			}
			p := presignProvider(t, store, signer)
			params := url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"redirect_uri": {"https://client.example/cb"}, "code_verifier": {verifier}}
			if tc.verifier != "" {
				params.Set("code_verifier", tc.verifier)
			}
			if tc.redirect != "" {
				params.Set("redirect_uri", tc.redirect)
			}
			resp, err := p.Token(context.Background(), oauth.TokenRequest{Params: params, Client: confForm})

			wantRead := [][]byte{secret.Hash(code)}
			if tc.read == nil {
				wantRead = nil
			}
			want := presignOutcome{read: wantRead, inside: tc.inside, outside: tc.outside, code: tc.code, err: tc.err, opaque: tc.opaque}
			if !want.check(t, "GrantByHash", read, signer, redemptions, issued, resp, err) {
				return
			}
			// Signed for what the redemption locked: alice and its scope.
			c := claimsOf(t, resp.AccessToken)
			if c["sub"] != "42" || c["scope"] != locked.Scope || c["client_id"] != "conf" || c["iat"] != float64(t0.Unix()) ||
				resp.Scope != locked.Scope || issued.Scope != locked.Scope || *issued.UserID != alice.ID {
				t.Fatalf("claims %v, response scope %q, stored %+v; want alice's %q", c, resp.Scope, issued, locked.Scope)
			}
		})
	}
}

// TestDevicePollPresigned: a device's poll by a client whose access tokens
// are JWTs signs its access token before the poll's transaction, from an
// unlocked read of the grant, when the poll would issue tokens for the
// grant as read (approved for a user, this client's, not redeemed, not
// expired, not polled too soon); the poll's callback uses it only for the
// locked grant's user and scope, and signs there otherwise.
func TestDevicePollPresigned(t *testing.T) {
	const deviceCode = "device-code-0123456789"
	bob := int64(43)
	last := t0.Add(-time.Second)
	tests := []struct {
		name    string
		opaque  bool
		locked  func(*gatehouse.DeviceGrant) // the grant as stored, from an approved one
		read    func(*gatehouse.DeviceGrant) // what the read sees besides
		unknown bool                         // no grant with the device code
		inside  int
		outside int
		code    string
	}{
		{name: "approved as read", outside: 1},
		{name: "opaque client", opaque: true},
		{name: "another user when read", read: func(g *gatehouse.DeviceGrant) { g.UserID = &bob }, outside: 1, inside: 1},
		{name: "another scope when read", read: func(g *gatehouse.DeviceGrant) { g.Scope = "write" }, outside: 1, inside: 1},
		{name: "pending when read", read: func(g *gatehouse.DeviceGrant) { g.Status = gatehouse.DevicePending; g.UserID = nil }, inside: 1},
		// A poll the grant as read answers without tokens gets no
		// signature.
		{name: "pending", locked: func(g *gatehouse.DeviceGrant) { g.Status = gatehouse.DevicePending; g.UserID = nil },
			code: "authorization_pending"},
		{name: "denied", locked: func(g *gatehouse.DeviceGrant) { g.Status = gatehouse.DeviceDenied }, code: "access_denied"},
		{name: "polled too soon", locked: func(g *gatehouse.DeviceGrant) { g.LastPoll = &last }, code: "slow_down"},
		{name: "expired", locked: func(g *gatehouse.DeviceGrant) { g.Expires = t0 }, code: "expired_token"},
		{name: "redeemed", locked: func(g *gatehouse.DeviceGrant) { g.RedeemedAt = &last }, code: "invalid_grant"},
		{name: "another client's", locked: func(g *gatehouse.DeviceGrant) { g.ApplicationID = 1 }, code: "invalid_grant"},
		{name: "unknown device code", unknown: true, code: "invalid_grant"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store, signer := presignStore(true)
			app := tv()
			if !tc.opaque {
				app.TokenFormat = gatehouse.TokenFormatJWT
			}
			store.apps["tv"] = app
			store.users["alice"] = alice
			store.signer = signer
			decided := t0.Add(-time.Minute)
			g := gatehouse.DeviceGrant{ID: 1, DeviceCodeHash: secret.Hash(deviceCode), UserCodeHash: secret.Hash("BCDFGHJK"),
				ApplicationID: app.ID, Scope: "read", Status: gatehouse.DeviceApproved, UserID: &alice.ID, DecidedAt: &decided,
				Created: t0.Add(-2 * time.Minute), Expires: t0.Add(8 * time.Minute), Interval: 5 * time.Second}
			if tc.locked != nil {
				tc.locked(&g)
			}
			if !tc.unknown {
				store.devices = append(store.devices, &g)
			}
			store.deviceRead = tc.read
			p := presignProvider(t, store, signer)
			resp, err := p.Token(context.Background(), oauth.TokenRequest{Client: tvForm,
				Params: url.Values{"grant_type": {gatehouse.GrantDeviceCode}, "device_code": {deviceCode}}})

			var issued *gatehouse.AccessToken
			polls := 0
			if len(store.tokens) == 1 {
				issued, polls = store.tokens[0].at, 1
			}
			want := presignOutcome{read: [][]byte{secret.Hash(deviceCode)}, inside: tc.inside, outside: tc.outside, code: tc.code, opaque: tc.opaque}
			if tc.opaque {
				want.read = nil
			}
			if !want.check(t, "DeviceGrantByDeviceCode", store.deviceReads, signer, polls, issued, resp, err) {
				return
			}
			c := claimsOf(t, resp.AccessToken)
			if c["sub"] != "42" || c["scope"] != "read" || c["client_id"] != "tv" || resp.Scope != "read" || issued.Scope != "read" {
				t.Fatalf("claims %v, response scope %q, stored %+v; want alice's read", c, resp.Scope, issued)
			}
		})
	}
}

// recorded is a store read for a presign test: it keeps the keys it is
// asked for in *seen and answers with read, or with errUnexpected when
// the case expects no read (read nil).
func recorded[T any](seen *[][]byte, read func([]byte) (T, error)) func([]byte) (T, error) {
	return func(h []byte) (T, error) {
		*seen = append(*seen, h)
		if read == nil {
			var zero T
			return zero, errUnexpected
		}
		return read(h)
	}
}

// TestJWTAccessTokenSubject: an RFC 9068 access token names its user by
// User.Subject, as the id_token does: the Django key of a user keyed by
// a UUID, the id of any other (a key of digits alone too). The presigned
// token is read with its user and used only when the locked user has the
// same subject; a failed read of the user fails the request before any
// rotation.
func TestJWTAccessTokenSubject(t *testing.T) {
	const value = "OldRefreshTokenValue0123456789"
	const uuid = "3f1c8a52-6a0e-4d5b-9c1e-2b7f4e8d9a10"
	keyed := gatehouse.User{ID: 42, Username: "alice", IsActive: true, DjangoKey: uuid}
	digits := gatehouse.User{ID: 42, Username: "alice", IsActive: true, DjangoKey: "7"}
	uid := int64(42)
	locked := gatehouse.RefreshToken{ID: 5, UserID: &uid, ApplicationID: 1, Scope: "read", Family: "fam1", Created: t0.Add(-time.Hour)}
	tests := []struct {
		name            string
		read, lock      gatehouse.User // the user as presign reads it, and as the rotation locks it
		userErr         error
		sub             string
		inside, outside int
	}{
		{name: "keyed by a UUID", read: keyed, lock: keyed, sub: uuid, outside: 1},
		{name: "key of digits", read: digits, lock: digits, sub: "42", outside: 1},
		{name: "keyed after the read", read: alice, lock: keyed, sub: uuid, outside: 1, inside: 1},
		{name: "user read fails", read: keyed, lock: keyed, userErr: errUnexpected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store, signer := presignStore(false)
			store.users[tc.read.Username] = tc.read
			store.userErr = tc.userErr
			var read [][]byte
			store.refreshTokenByHash = recorded(&read, func([]byte) (gatehouse.RefreshToken, error) { return locked, nil })
			var issued *gatehouse.AccessToken
			rotations := 0
			lock := tc.lock
			lockRotation(store, signer, gatehouse.RefreshRotation{Old: locked, User: &lock}, &rotations, &issued)
			p := presignProvider(t, store, signer)
			params := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {value}}
			resp, err := p.Token(context.Background(), oauth.TokenRequest{Params: params, Client: confForm})
			want := presignOutcome{read: [][]byte{selectors.RefreshKey(value)}, inside: tc.inside, outside: tc.outside, err: tc.userErr}
			if !want.check(t, "RefreshTokenByHash", read, signer, rotations, issued, resp, err) {
				return
			}
			if c := claimsOf(t, resp.AccessToken); c["sub"] != tc.sub || c["client_id"] != "conf" {
				t.Fatalf("claims %v, want sub %q", c, tc.sub)
			}
		})
	}

	// A password login signs in the request, for the user it logged in.
	store, signer := presignStore(false)
	p, err := oauth.New(oauth.Deps{Store: store, Accounts: &passwords{user: keyed, password: "pw"}, Secrets: hasher, AccessTokens: signer,
		Config: oauth.Config{Issuer: "https://auth.example"}, Now: func() time.Time { return t0 }, Forget: func([][]byte) {}})
	if err != nil {
		t.Fatal(err)
	}
	params := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"pw"}}
	resp, err := p.Token(context.Background(), oauth.TokenRequest{Params: params, Client: confForm})
	if err != nil {
		t.Fatal(err)
	}
	if c := claimsOf(t, resp.AccessToken); c["sub"] != uuid || len(store.tokens) != 1 || *store.tokens[0].at.UserID != 42 {
		t.Fatalf("password grant: claims %v, stored %+v; want sub %q for user 42", c, store.tokens, uuid)
	}
}

// lockRotation makes store's rotation lock rot (its token and user as the
// transaction finds them) and run the issue callback on it with the
// signer told it is inside, counting the rotations and keeping the
// access token issued.
func lockRotation(store *fakeStore, signer *recordingSigner, rot gatehouse.RefreshRotation, rotations *int, issued **gatehouse.AccessToken) {
	store.rotateRefreshToken = func(_ []byte, _ int64, _ time.Time, _ time.Duration,
		issue func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error)) (gatehouse.RevokedAccess, error) {
		*rotations++
		signer.inRotation = true
		at, _, err := issue(rot)
		signer.inRotation = false
		*issued = at
		return nil, err
	}
}
