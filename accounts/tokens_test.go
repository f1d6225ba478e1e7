package accounts_test

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/memstore"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// drfKey is the shape of a DRF key: 40 lowercase hex characters.
var drfKey = regexp.MustCompile(`^[0-9a-f]{40}$`)

// IssueToken returns a key shown once: the store holds only its hash, no
// sealed copy, and a second call gives another key.
func TestIssueToken(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	u := e.create(t, "alice", "correct-horse-battery")

	if _, err := e.svc.IssueToken(ctx, "nobody", "laptop", 0); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Fatalf("unknown user: %v, want ENOTFOUND", err)
	}
	key, err := e.svc.IssueToken(ctx, "alice", "laptop", 0)
	if err != nil || !drfKey.MatchString(key) {
		t.Fatalf("IssueToken: %q, %v", key, err)
	}
	tok, owner, err := e.mem.TokenByHash(ctx, secret.Hash(key))
	if err != nil || owner.ID != u.ID || tok.Name != "laptop" || tok.IsDefault || tok.Prefix != key[:6] ||
		tok.Expires != nil || !tok.Created.Equal(now.Truncate(time.Microsecond)) {
		t.Fatalf("stored token: %+v (user %d), %v", tok, owner.ID, err)
	}
	if len(tok.Sealed) != 0 || bytes.Contains(tok.Hash, []byte(key)) {
		t.Fatalf("the key is kept beside its hash: %+v", tok)
	}
	again, err := e.svc.IssueToken(ctx, "alice", "laptop", 0)
	if err != nil || again == key {
		t.Fatalf("second key %q (first %q), %v", again, key, err)
	}
	list, err := e.svc.Tokens(ctx, u.ID)
	if err != nil || len(list) != 3 {
		t.Fatalf("Tokens: %d, %v; want the default and two named", len(list), err)
	}
}

// CreateToken with a lifetime expires it that long after the injected
// clock's now.
func TestCreateTokenLifetime(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	u := e.create(t, "bob", "correct-horse-battery")
	for _, tc := range []struct {
		name     string
		lifetime time.Duration
		want     *time.Time
	}{
		{"no expiry", 0, nil},
		{"an hour", time.Hour, ptr(now.Add(time.Hour))},
		{"thirty days", 30 * 24 * time.Hour, ptr(now.Add(30 * 24 * time.Hour))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, tok, err := e.svc.CreateToken(ctx, u.ID, tc.name, tc.lifetime, nil)
			if err != nil || !drfKey.MatchString(key) || tok.ID == 0 || tok.UserID != u.ID || !bytes.Equal(tok.Hash, secret.Hash(key)) {
				t.Fatalf("CreateToken: %q %+v %v", key, tok, err)
			}
			stored, _, err := e.mem.TokenByHash(ctx, secret.Hash(key))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want == nil && stored.Expires != nil:
				t.Fatalf("expires %v, want never", stored.Expires)
			case tc.want != nil && (stored.Expires == nil || !stored.Expires.Equal(tc.want.Truncate(time.Microsecond))):
				t.Fatalf("expires %v, want %v", stored.Expires, *tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// DefaultKey gives the same key every time until the token is gone, then
// makes a new one; the key opens the stored default token.
func TestDefaultKey(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	u := e.create(t, "carol", "correct-horse-battery")
	first, err := e.svc.DefaultKey(ctx, u.ID)
	if err != nil || !drfKey.MatchString(first) {
		t.Fatalf("DefaultKey: %q, %v", first, err)
	}
	if second, err := e.svc.DefaultKey(ctx, u.ID); err != nil || second != first {
		t.Fatalf("second DefaultKey: %q, %v; want %q", second, err, first)
	}
	tok, _, err := e.mem.TokenByHash(ctx, secret.Hash(first))
	if err != nil || !tok.IsDefault {
		t.Fatalf("the key's token: %+v, %v", tok, err)
	}
	// After a logout-all the next login gets a new default key, kept again.
	if err := e.svc.LogOutEverywhere(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	renewed, err := e.svc.DefaultKey(ctx, u.ID)
	if err != nil || renewed == first || !drfKey.MatchString(renewed) {
		t.Fatalf("DefaultKey after logout-all: %q, %v", renewed, err)
	}
	if again, _ := e.svc.DefaultKey(ctx, u.ID); again != renewed {
		t.Fatalf("DefaultKey %q, want %q", again, renewed)
	}
	if list, _ := e.mem.Tokens(ctx, u.ID); len(list) != 1 {
		t.Fatalf("%d tokens, want the one default", len(list))
	}
}

// When another request creates the default token between the lookup and
// the insert, DefaultKey returns that token's key.
func TestDefaultKeyLosesRace(t *testing.T) {
	ctx := context.Background()
	var winner string
	e := newEnv(t, func(m *memstore.Store) accounts.Store {
		return fakeStore{Store: m, createToken: func(ctx context.Context, tok *gatehouse.Token) error {
			if tok.IsDefault && winner == "" {
				winner = "0123456789abcdef0123456789abcdef01234567"
				sealed, err := sealWith(winner)
				if err != nil {
					return err
				}
				other := gatehouse.Token{UserID: tok.UserID, Hash: secret.Hash(winner), Prefix: winner[:6], IsDefault: true, Sealed: sealed}
				if err := m.CreateToken(ctx, &other); err != nil {
					return err
				}
			}
			return m.CreateToken(ctx, tok)
		}}
	})
	u := e.create(t, "dave", "correct-horse-battery")
	if err := e.svc.LogOutEverywhere(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	key, err := e.svc.DefaultKey(ctx, u.ID)
	if err != nil || key != winner {
		t.Fatalf("DefaultKey: %q, %v; want the winner's %q", key, err, winner)
	}
	if list, _ := e.mem.Tokens(ctx, u.ID); len(list) != 1 {
		t.Fatalf("%d tokens, want 1", len(list))
	}
}

// sealWith seals key under the tests' server secret.
func sealWith(key string) ([]byte, error) {
	box, err := secret.NewBox("test-secret-0123456789")
	if err != nil {
		return nil, err
	}
	return box.Seal([]byte(key))
}

// DeleteToken and DeleteTokens drop the user's cached lookups.
func TestDeleteTokensForget(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	u := e.create(t, "erin", "correct-horse-battery")
	key, tok, err := e.svc.CreateToken(ctx, u.ID, "phone", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	other := e.create(t, "frank", "correct-horse-battery")
	if err := e.svc.DeleteToken(ctx, other.ID, tok.ID); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("deleting another user's token: %v, want ErrNotFound", err)
	}
	if err := e.svc.DeleteToken(ctx, u.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.mem.TokenByHash(ctx, secret.Hash(key)); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("deleted token: %v", err)
	}
	if err := e.svc.LogOutEverywhere(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if list, _ := e.mem.Tokens(ctx, u.ID); len(list) != 0 {
		t.Fatalf("%d tokens left", len(list))
	}
	// And every other credential issued before now (JWTs, sessions, OAuth
	// tokens and codes) through the auth epoch.
	if got, _ := e.mem.User(ctx, u.ID); got.AuthEpoch.IsZero() || got.Accepts(got.AuthEpoch.Add(-time.Microsecond)) {
		t.Fatalf("log out everywhere left the auth epoch at %v", got.AuthEpoch)
	}
	if len(e.forgotten) != 3 || e.forgotten[1] != u.ID || e.forgotten[2] != u.ID {
		t.Fatalf("Forget called with %v", e.forgotten)
	}
}
