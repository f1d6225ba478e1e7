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
			signer := &recordingSigner{}
			store := newStore(confidential(), public(), machine())
			if !tc.opaque {
				app := store.apps["conf"]
				app.TokenFormat = gatehouse.TokenFormatJWT
				store.apps["conf"] = app
			}
			var read [][]byte
			store.refreshTokenByHash = func(h []byte) (gatehouse.RefreshToken, error) {
				read = append(read, h)
				if tc.read == nil {
					return gatehouse.RefreshToken{}, errUnexpected
				}
				return tc.read(h)
			}
			var issued *gatehouse.AccessToken
			rotations := 0
			store.rotateRefreshToken = func(_ []byte, _ int64, _ time.Time, _ time.Duration,
				issue func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error)) (gatehouse.RevokedAccess, error) {
				rotations++
				signer.inRotation = true
				at, _, err := issue(gatehouse.RefreshRotation{Old: locked, User: &gatehouse.User{ID: alice, IsActive: true}})
				signer.inRotation = false
				issued = at
				return nil, err
			}
			p, err := oauth.New(oauth.Deps{Store: store, Accounts: &passwords{}, Secrets: hasher, AccessTokens: signer,
				Config: oauth.Config{Issuer: "https://auth.example"}, Now: func() time.Time { return t0 }, Forget: func([][]byte) {}})
			if err != nil {
				t.Fatal(err)
			}
			params := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {value}}
			if tc.scope != "" {
				params.Set("scope", tc.scope)
			}
			resp, err := p.Token(context.Background(), oauth.TokenRequest{Params: params, Client: confForm})

			wantRead := [][]byte{secret.TokenKey(value)}
			if tc.read == nil {
				wantRead = nil
			}
			if !reflect.DeepEqual(read, wantRead) {
				t.Fatalf("RefreshTokenByHash calls %x, want %x", read, wantRead)
			}
			if signer.inside != tc.inside || signer.outside != tc.outside {
				t.Fatalf("signed %d times inside the rotation and %d outside, want %d and %d",
					signer.inside, signer.outside, tc.inside, tc.outside)
			}
			if tc.err != nil {
				if resp != nil || !errors.Is(err, tc.err) || rotations != 0 {
					t.Fatalf("got %+v, %v after %d rotations; want %v before any", resp, err, rotations, tc.err)
				}
				return
			}
			if tc.code != "" {
				var oe *oauth.Error
				if resp != nil || !errors.As(err, &oe) || oe.Code != tc.code {
					t.Fatalf("got %+v, %v; want %s", resp, err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(issued.Hash, secret.TokenKey(resp.AccessToken)) {
				t.Fatalf("stored access token %x is not the response's %q", issued.Hash, resp.AccessToken)
			}
			if tc.opaque {
				if !tokenValue.MatchString(resp.AccessToken) {
					t.Fatalf("opaque client got %q", resp.AccessToken)
				}
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
