package oauth_test

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// TestKeyClashDrawsAgain: when the store finds a new pair's key taken
// (gatehouse.ErrConflict: two split refresh tokens drew the same selector
// in the same millisecond), it wrote nothing, and each grant that issues
// a refresh token runs its write again with a new pair instead of
// answering an error; the client gets the pair that was stored. A third
// clash in a row is an internal error (a broken random source). storetest's OAuthRefreshKeyClash
// checks that the real stores answer a clash so and write nothing.
func TestKeyClashDrawsAgain(t *testing.T) {
	ctx := context.Background()
	t.Run("password", func(t *testing.T) {
		e := newEnv(t, oauth.Config{})
		e.store.tokenErrs = []error{gatehouse.ErrConflict}
		resp, err := e.p.Token(ctx, oauth.TokenRequest{Client: confForm,
			Params: url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"correct horse"}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(e.store.refused) != 1 || len(e.store.tokens) != 1 {
			t.Fatalf("%d pairs refused, %d stored; want 1 and 1", len(e.store.refused), len(e.store.tokens))
		}
		refused, stored := e.store.refused[0], e.store.tokens[0]
		if bytes.Equal(refused.rt.Hash, stored.rt.Hash) || bytes.Equal(refused.at.Hash, stored.at.Hash) {
			t.Fatal("the same pair written again after a clash")
		}
		if !bytes.Equal(selectors.Key(resp.RefreshToken), stored.rt.Hash) || !bytes.Equal(secret.TokenKey(resp.AccessToken), stored.at.Hash) {
			t.Fatal("the response is not the stored pair")
		}
		// The password is checked once: only the write runs again.
		if len(e.pw.calls) != 1 {
			t.Fatalf("password checked %d times", len(e.pw.calls))
		}
	})
	t.Run("password, three clashes", func(t *testing.T) {
		e := newEnv(t, oauth.Config{})
		e.store.tokenErrs = []error{gatehouse.ErrConflict, gatehouse.ErrConflict, gatehouse.ErrConflict, gatehouse.ErrConflict}
		_, err := e.p.Token(ctx, oauth.TokenRequest{Client: confForm,
			Params: url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"correct horse"}}})
		if gatehouse.ErrorCode(err) != gatehouse.EINTERNAL || len(e.store.refused) != 3 || len(e.store.tokens) != 0 {
			t.Fatalf("err %v, %d refused, %d stored; want an internal error after 3 tries", err, len(e.store.refused), len(e.store.tokens))
		}
	})
	t.Run("password, another error", func(t *testing.T) {
		e := newEnv(t, oauth.Config{})
		e.store.tokenErrs = []error{errUnexpected, nil}
		if _, err := e.p.Token(ctx, oauth.TokenRequest{Client: confForm,
			Params: url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"correct horse"}}}); !errors.Is(err, errUnexpected) || len(e.store.refused) != 1 {
			t.Fatalf("err %v after %d tries; want the store's error after one", err, len(e.store.refused))
		}
	})
	t.Run("authorization code", func(t *testing.T) {
		e := newEnv(t, oauth.Config{})
		code := gatehouse.Grant{ID: 7, ApplicationID: 1, UserID: alice.ID, RedirectURI: "https://client.example/cb", Scope: "read",
			Created: t0, Expires: t0.Add(time.Minute)}
		var issued [][]byte // each try's refresh key
		e.store.redeemGrant = func(_ []byte, _ int64, _ time.Time, check func(gatehouse.Grant, *gatehouse.User) error,
			issue func(gatehouse.Grant) (*gatehouse.AccessToken, *gatehouse.RefreshToken, *time.Time, error)) (gatehouse.RevokedAccess, error) {
			u := alice
			if err := check(code, &u); err != nil {
				return nil, err
			}
			_, rt, _, err := issue(code)
			if err != nil {
				return nil, err
			}
			return nil, clashOnce(&issued, rt)
		}
		resp, err := e.p.Token(ctx, oauth.TokenRequest{Client: confForm,
			Params: url.Values{"grant_type": {"authorization_code"}, "code": {"the-code"}, "redirect_uri": {"https://client.example/cb"}}})
		redrawnOnce(t, issued, resp, err)
	})
	t.Run("refresh of a token of its own row", func(t *testing.T) {
		// A token imported from Django is not rotated in place: its new
		// refresh token has a new selector.
		e := newEnv(t, oauth.Config{})
		uid := alice.ID
		old := gatehouse.RefreshToken{ID: 5, Hash: []byte("imported"), UserID: &uid, ApplicationID: 1, Scope: "read", Family: "f", Created: t0.Add(-time.Hour)}
		var issued [][]byte
		e.store.rotateRefreshToken = func(_ []byte, _ int64, _ time.Time, _ time.Duration,
			issue func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error)) (gatehouse.RevokedAccess, error) {
			u := alice
			_, rt, err := issue(gatehouse.RefreshRotation{Old: old, User: &u})
			if err != nil {
				return nil, err
			}
			return nil, clashOnce(&issued, rt)
		}
		resp, err := e.p.Token(ctx, oauth.TokenRequest{Client: confForm,
			Params: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"a-django-refresh-token-of-40-characters!"}}})
		redrawnOnce(t, issued, resp, err)
	})
	t.Run("device poll", func(t *testing.T) {
		e := newDeviceEnv(t)
		d := e.authorize(t)
		if _, err := e.p.DecideDevice(ctx, &alice, d.UserCode, true); err != nil {
			t.Fatal(err)
		}
		e.store.tokenErrs = []error{gatehouse.ErrConflict}
		res, err := e.poll(d.DeviceCode)
		if err != nil {
			t.Fatal(err)
		}
		if len(e.store.refused) != 1 || len(e.store.tokens) != 1 || bytes.Equal(e.store.refused[0].rt.Hash, e.store.tokens[0].rt.Hash) ||
			e.store.devices[0].RedeemedAt == nil || res.RefreshToken == "" {
			t.Fatalf("%d refused, %d stored, grant %+v; want the second pair stored and the grant redeemed", len(e.store.refused), len(e.store.tokens), e.store.devices[0])
		}
	})
}

// clashOnce plays a store that finds the first pair's refresh key taken:
// it records rt's key in issued and fails the first call with
// ErrConflict, as a store whose write clashed and wrote nothing.
func clashOnce(issued *[][]byte, rt *gatehouse.RefreshToken) error {
	*issued = append(*issued, rt.Hash)
	if len(*issued) == 1 {
		return gatehouse.ErrConflict
	}
	return nil
}

// redrawnOnce checks a grant run twice by clashOnce: two pairs drawn,
// different, and the client answered with the second.
func redrawnOnce(t *testing.T, issued [][]byte, resp *oauth.TokenResponse, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if len(issued) != 2 || bytes.Equal(issued[0], issued[1]) || !bytes.Equal(selectors.Key(resp.RefreshToken), issued[1]) {
		t.Fatalf("%d tries; want 2, answered with the second's new refresh token", len(issued))
	}
}
