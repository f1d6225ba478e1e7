package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

func testTokenLifecycle(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	u := newUser(t, s, "bob")
	tok, owner, err := s.TokenByHash(ctx, secret.Hash("key-bob"))
	if err != nil || owner.ID != u.ID || !tok.IsDefault {
		t.Fatalf("TokenByHash: %+v %+v %v", tok, owner, err)
	}
	if owner.Username != "bob" || owner.Email != "bob@example.com" || !owner.IsActive || tok.UserID != u.ID ||
		tok.Prefix != "key-" || string(tok.Sealed) != "sealed" || !bytes.Equal(tok.Hash, secret.Hash("key-bob")) {
		t.Fatalf("TokenByHash fields: %+v %+v", tok, owner)
	}
	if _, _, err := s.TokenByHash(ctx, secret.Hash("nope")); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("unknown hash: %v", err)
	}
	// One default token per user.
	second := gatehouse.Token{UserID: u.ID, Hash: secret.Hash("other"), Prefix: "other", IsDefault: true}
	if err := s.CreateToken(ctx, &second); !errors.Is(err, gatehouse.ErrConflict) {
		t.Fatalf("second default token: %v", err)
	}
	exp := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	named := gatehouse.Token{UserID: u.ID, Hash: secret.Hash("laptop"), Prefix: "laptop", Name: "laptop", Expires: &exp}
	if err := s.CreateToken(ctx, &named); err != nil {
		t.Fatal(err)
	}
	if named.ID == 0 || named.ID == tok.ID {
		t.Fatalf("named token id %d (default token %d)", named.ID, tok.ID)
	}
	used := time.Now().Truncate(time.Microsecond)
	if err := s.TouchTokens(ctx, map[int64]time.Time{named.ID: used}); err != nil {
		t.Fatal(err)
	}
	list, err := s.Tokens(ctx, u.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("Tokens: %d, %v", len(list), err)
	}
	if list[1].LastUsed == nil || !list[1].LastUsed.Equal(used) || list[1].Expires == nil || !list[1].Expires.Equal(exp) {
		t.Fatalf("named token times: %+v", list[1])
	}
	if list[1].Name != "laptop" || list[1].IsDefault || list[1].ID != named.ID {
		t.Fatalf("named token: %+v", list[1])
	}
	other := newUser(t, s, "carol")
	if err := s.DeleteToken(ctx, other.ID, named.ID); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("deleting another user's token: %v", err)
	}
	if err := s.DeleteToken(ctx, u.ID, named.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteToken(ctx, u.ID, named.ID); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("deleting a deleted token: %v", err)
	}
	if n, err := s.DeleteUserTokens(ctx, u.ID); err != nil || n != 1 {
		t.Fatalf("DeleteUserTokens: %d, %v", n, err)
	}
	if n, err := s.DeleteUserTokens(ctx, u.ID); err != nil || n != 0 {
		t.Fatalf("DeleteUserTokens of none: %d, %v", n, err)
	}
	if _, _, err := s.TokenByHash(ctx, secret.Hash("key-carol")); err != nil {
		t.Fatalf("another user's token went too: %v", err)
	}
}

func testTokenConflicts(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	a := newUser(t, s, "ann")
	b := newUser(t, s, "ben")
	for _, tc := range []struct {
		name string
		tok  gatehouse.Token
		want error
	}{
		{"hash of another user's token", gatehouse.Token{UserID: b.ID, Hash: secret.Hash("key-ann"), Prefix: "x"}, gatehouse.ErrConflict},
		{"second default", gatehouse.Token{UserID: a.ID, Hash: secret.Hash("fresh"), Prefix: "x", IsDefault: true}, gatehouse.ErrConflict},
		{"named beside the default", gatehouse.Token{UserID: a.ID, Hash: secret.Hash("named-1"), Prefix: "x", Name: "n"}, nil},
		{"same hash again", gatehouse.Token{UserID: a.ID, Hash: secret.Hash("named-1"), Prefix: "x", Name: "m"}, gatehouse.ErrConflict},
		{"same name again", gatehouse.Token{UserID: a.ID, Hash: secret.Hash("named-2"), Prefix: "x", Name: "n"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.tok
			err := s.CreateToken(ctx, &tok)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("CreateToken: %v, want %v", err, tc.want)
			}
		})
	}
	if list, _ := s.Tokens(ctx, a.ID); len(list) != 3 {
		t.Fatalf("%d tokens of ann, want 3", len(list))
	}
	if list, _ := s.Tokens(ctx, b.ID); len(list) != 1 {
		t.Fatalf("%d tokens of ben, want 1", len(list))
	}
}

// DefaultToken finds the one default token; after it is gone a new one
// may be created.
func testTokenDefault(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	u := newUser(t, s, "cleo")
	named := gatehouse.Token{UserID: u.ID, Hash: secret.Hash("cleo-named"), Prefix: "c", Name: "n"}
	if err := s.CreateToken(ctx, &named); err != nil {
		t.Fatal(err)
	}
	d, err := s.DefaultToken(ctx, u.ID)
	if err != nil || !d.IsDefault || !bytes.Equal(d.Hash, secret.Hash("key-cleo")) || string(d.Sealed) != "sealed" {
		t.Fatalf("DefaultToken: %+v, %v", d, err)
	}
	if err := s.DeleteToken(ctx, u.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DefaultToken(ctx, u.ID); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("DefaultToken after delete: %v", err)
	}
	if _, err := s.DefaultToken(ctx, 9999); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("DefaultToken of a missing user: %v", err)
	}
	again := gatehouse.Token{UserID: u.ID, Hash: secret.Hash("cleo-default-2"), Prefix: "c", IsDefault: true, Sealed: []byte("s2")}
	if err := s.CreateToken(ctx, &again); err != nil {
		t.Fatalf("new default token: %v", err)
	}
	if d, err := s.DefaultToken(ctx, u.ID); err != nil || d.ID != again.ID || string(d.Sealed) != "s2" {
		t.Fatalf("DefaultToken: %+v, %v", d, err)
	}
}

// Tokens lists a user's tokens in the order they were created, and an
// empty list, not an error, for a user with none.
func testTokensOldestFirst(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	u := newUser(t, s, "dora")
	other := newUser(t, s, "eddy")
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	want := []string{"key-"}
	for i := 0; i < 6; i++ {
		owner := u.ID
		if i%2 == 1 {
			owner = other.ID // interleaved with another user's
		}
		name := fmt.Sprintf("tok%d", i)
		tok := gatehouse.Token{UserID: owner, Hash: secret.Hash(name), Prefix: name, Name: name, Created: created.Add(time.Duration(i) * time.Minute)}
		if err := s.CreateToken(ctx, &tok); err != nil {
			t.Fatal(err)
		}
		if owner == u.ID {
			want = append(want, name)
		}
	}
	list, err := s.Tokens(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, tok := range list {
		got = append(got, tok.Prefix)
		if tok.UserID != u.ID {
			t.Fatalf("token %d belongs to user %d", i, tok.UserID)
		}
		if i > 1 && !tok.Created.After(list[i-1].Created) {
			t.Fatalf("token %d created %v, not after %v", i, tok.Created, list[i-1].Created)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("tokens %v, want %v", got, want)
	}
	if _, err := s.DeleteUserTokens(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if list, err := s.Tokens(ctx, u.ID); err != nil || len(list) != 0 {
		t.Fatalf("Tokens of a user with none: %v, %v", list, err)
	}
}

// DeleteToken of a token that is another user's is ErrNotFound and
// leaves it.
func testTokenDeleteOtherUsers(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	owner := newUser(t, s, "fay")
	thief := newUser(t, s, "gus")
	tok, _, err := s.TokenByHash(ctx, secret.Hash("key-fay"))
	if err != nil {
		t.Fatal(err)
	}
	for _, uid := range []int64{thief.ID, 9999} {
		if err := s.DeleteToken(ctx, uid, tok.ID); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("user %d deleting user %d's token: %v, want ErrNotFound", uid, owner.ID, err)
		}
	}
	if err := s.DeleteToken(ctx, owner.ID, 9999); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("deleting a missing token: %v, want ErrNotFound", err)
	}
	if _, _, err := s.TokenByHash(ctx, secret.Hash("key-fay")); err != nil {
		t.Fatalf("the token is gone: %v", err)
	}
}

// TouchTokens records each token's last use, to the microsecond.
func testTokenTouch(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	a := newUser(t, s, "hugo")
	b := newUser(t, s, "iris")
	ta, _ := s.DefaultToken(ctx, a.ID)
	tb, _ := s.DefaultToken(ctx, b.ID)
	if ta.LastUsed != nil {
		t.Fatalf("a new token was used at %v", ta.LastUsed)
	}
	if err := s.TouchTokens(ctx, nil); err != nil {
		t.Fatalf("no tokens to touch: %v", err)
	}
	at := time.Date(2026, 7, 8, 9, 10, 11, 121314151, time.UTC)
	if err := s.TouchTokens(ctx, map[int64]time.Time{ta.ID: at, tb.ID: at.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		user int64
		want time.Time
	}{{a.ID, micro(at)}, {b.ID, micro(at.Add(time.Minute))}} {
		tok, err := s.DefaultToken(ctx, c.user)
		if err != nil || tok.LastUsed == nil || !tok.LastUsed.Equal(c.want) {
			t.Fatalf("user %d: last used %v, want %v (%v)", c.user, tok.LastUsed, c.want, err)
		}
	}
}

// Token values passed in and returned are the caller's.
func testTokenValuesAreCopies(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	u := newUser(t, s, "jon")
	hash := secret.Hash("jon-named")
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	in := exp
	tok := gatehouse.Token{UserID: u.ID, Hash: bytes.Clone(hash), Prefix: "j", Name: "n", Expires: &in}
	if err := s.CreateToken(ctx, &tok); err != nil {
		t.Fatal(err)
	}
	tok.Hash[0] ^= 0xff
	*tok.Expires = exp.Add(time.Hour)
	got, _, err := s.TokenByHash(ctx, hash)
	if err != nil || !got.Expires.Equal(exp) {
		t.Fatalf("the token passed in aliases the stored one: %+v, %v", got, err)
	}
	got.Hash[0] ^= 0xff
	got.Sealed = append(got.Sealed[:0], 'x')
	*got.Expires = exp.Add(2 * time.Hour)
	list, _ := s.Tokens(ctx, u.ID)
	list[1].Hash[1] ^= 0xff
	again, _, err := s.TokenByHash(ctx, hash)
	if err != nil || !again.Expires.Equal(exp) || !bytes.Equal(again.Hash, hash) {
		t.Fatalf("a token returned aliases the stored one: %+v, %v", again, err)
	}
	d, _ := s.DefaultToken(ctx, u.ID)
	d.Sealed[0] = 'X'
	if d2, _ := s.DefaultToken(ctx, u.ID); string(d2.Sealed) != "sealed" {
		t.Fatalf("sealed key changed through a returned value: %q", d2.Sealed)
	}
}

// CreateTokenFrom stores a token only while the credential it is made with
// stands as stored: its user active and accepting a credential of that
// issue time, its DRF token (when named) there and the same user's;
// otherwise ErrNotFound and nothing stored.
func testTokenCreateFrom(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	u := newUser(t, s, "ivy")
	other := newUser(t, s, "jack")
	parent, _, err := s.TokenByHash(ctx, secret.Hash("key-ivy"))
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _, err := s.TokenByHash(ctx, secret.Hash("key-jack"))
	if err != nil {
		t.Fatal(err)
	}
	issued := time.Now().Add(-time.Minute)
	n := 0
	create := func(o gatehouse.TokenOrigin) (gatehouse.Token, error) {
		n++
		tok := gatehouse.Token{UserID: u.ID, Hash: secret.Hash(fmt.Sprintf("from-%d", n)), Prefix: "from", Name: "phone"}
		return tok, s.CreateTokenFrom(ctx, &tok, o)
	}
	count := func() int {
		list, err := s.Tokens(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	tok, err := create(gatehouse.TokenOrigin{Issued: issued, DRFTokenID: parent.ID})
	if err != nil || tok.ID == 0 || tok.Created.IsZero() {
		t.Fatalf("from a standing key: %+v %v", tok, err)
	}
	if got, owner, err := s.TokenByHash(ctx, tok.Hash); err != nil || got.ID != tok.ID || owner.ID != u.ID || got.Name != "phone" {
		t.Fatalf("stored: %+v %v", got, err)
	}
	if _, err := create(gatehouse.TokenOrigin{Issued: issued}); err != nil {
		t.Fatalf("from a credential that is no DRF key: %v", err)
	}
	before := count()
	for name, o := range map[string]gatehouse.TokenOrigin{
		"another user's key": {Issued: issued, DRFTokenID: otherKey.ID},
		"a key that is gone": {Issued: issued, DRFTokenID: 1 << 40},
	} {
		if _, err := create(o); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
	// Logged out everywhere after the credential was issued.
	if _, err := s.UpdateUser(ctx, u.ID, func(*gatehouse.User) (gatehouse.UserChange, error) {
		return gatehouse.UserChange{RevokeCredentials: true, At: time.Now()}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := create(gatehouse.TokenOrigin{Issued: issued}); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Errorf("a credential issued before the auth epoch: %v", err)
	}
	if _, err := create(gatehouse.TokenOrigin{Issued: time.Now().Add(time.Second)}); err != nil {
		t.Errorf("a credential issued after it: %v", err)
	}
	before = count()
	// Deactivated.
	if _, err := s.UpdateUser(ctx, u.ID, func(x *gatehouse.User) (gatehouse.UserChange, error) {
		x.IsActive = false
		return gatehouse.UserChange{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := create(gatehouse.TokenOrigin{Issued: time.Now().Add(time.Second)}); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Errorf("an inactive user: %v", err)
	}
	if after := count(); after != before {
		t.Errorf("refused creations stored %d tokens", after-before)
	}
	_ = other
}
