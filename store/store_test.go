package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/fixture"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/store"
)

// The conformance suite: every test runs on SQLite and, when
// GATEHOUSE_TEST_POSTGRES_URL is set, on PostgreSQL.

var ctx = context.Background()

func newUser(t *testing.T, s *store.Store, name string) gatehouse.User {
	t.Helper()
	u := gatehouse.User{Username: name, Email: name + "@example.com", Password: "!", IsActive: true, DateJoined: time.Now()}
	tok := gatehouse.Token{Hash: secret.Hash("key-" + name), Prefix: "key-", IsDefault: true, Sealed: []byte("sealed")}
	if err := s.CreateUser(ctx, &u, &tok); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return u
}

func TestUsersCreateGetConflict(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		u := newUser(t, s, "alice")
		if u.ID == 0 {
			t.Fatal("no id assigned")
		}
		got, err := s.User(ctx, u.ID)
		if err != nil || got.Username != "alice" || got.Email != "alice@example.com" || !got.IsActive {
			t.Fatalf("User = %+v, %v", got, err)
		}
		if _, err := s.UserByUsername(ctx, "ALICE"); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("usernames are case-sensitive: got %v", err)
		}
		dup := gatehouse.User{Username: "alice", Password: "!", IsActive: true}
		if err := s.CreateUser(ctx, &dup, nil); !errors.Is(err, gatehouse.ErrConflict) {
			t.Fatalf("duplicate username: %v, want ErrConflict", err)
		}
		// The failed insert left nothing behind, not even a token.
		if n, _ := s.CountUsers(ctx, gatehouse.UserFilter{}); n != 1 {
			t.Fatalf("count %d after failed insert", n)
		}
		if _, err := s.User(ctx, 9999); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("missing user: %v", err)
		}
	})
}

func TestUsersListFilterPaging(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		for i := 0; i < 25; i++ {
			newUser(t, s, fmt.Sprintf("user%02d", i))
		}
		if n, _ := s.CountUsers(ctx, gatehouse.UserFilter{}); n != 25 {
			t.Fatalf("count %d", n)
		}
		page, err := s.ListUsers(ctx, gatehouse.UserFilter{}, 20, 20)
		if err != nil || len(page) != 5 || page[0].Username != "user20" {
			t.Fatalf("page 2: %d users, %v", len(page), err)
		}
		for _, f := range []struct {
			f    gatehouse.UserFilter
			want int
		}{
			{gatehouse.UserFilter{Username: "user07"}, 1},
			{gatehouse.UserFilter{Username: "user0"}, 0},
			{gatehouse.UserFilter{Email: "user07@example.com"}, 1},
			{gatehouse.UserFilter{Email: "USER07@example.com"}, 0},
			{gatehouse.UserFilter{Username: "user07", Email: "user08@example.com"}, 0},
		} {
			if n, _ := s.CountUsers(ctx, f.f); n != f.want {
				t.Errorf("%+v: count %d, want %d", f.f, n, f.want)
			}
		}
	})
}

func TestTokensLifecycle(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		u := newUser(t, s, "bob")
		tok, owner, err := s.TokenByHash(ctx, secret.Hash("key-bob"))
		if err != nil || owner.ID != u.ID || !tok.IsDefault {
			t.Fatalf("TokenByHash: %+v %+v %v", tok, owner, err)
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
		other := newUser(t, s, "carol")
		if err := s.DeleteToken(ctx, other.ID, named.ID); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("deleting another user's token: %v", err)
		}
		if err := s.DeleteToken(ctx, u.ID, named.ID); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DeleteUserTokens(ctx, u.ID); err != nil || n != 1 {
			t.Fatalf("DeleteUserTokens: %d, %v", n, err)
		}
	})
}

func TestUpdateUserRevokesCredentials(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		u := newUser(t, s, "dave")
		if _, err := s.UpdateUser(ctx, u.ID, func(u *gatehouse.User) (gatehouse.UserChange, error) {
			return gatehouse.UserChange{RevokeCredentials: true}, nil
		}); err == nil {
			t.Fatal("revoking credentials without a time was accepted")
		}
		at := time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)
		got, err := s.UpdateUser(ctx, u.ID, func(u *gatehouse.User) (gatehouse.UserChange, error) {
			u.Password = "new-hash"
			return gatehouse.UserChange{RevokeCredentials: true, At: at}, nil
		})
		want := at.Truncate(time.Microsecond)
		if err != nil || got.Password != "new-hash" || !got.AuthEpoch.Equal(want) {
			t.Fatalf("UpdateUser: %+v, %v", got, err)
		}
		if again, _ := s.User(ctx, u.ID); !again.AuthEpoch.Equal(want) {
			t.Fatalf("stored epoch %v, want %v (to the microsecond)", again.AuthEpoch, want)
		}
		// The epoch never moves backwards.
		got, err = s.UpdateUser(ctx, u.ID, func(u *gatehouse.User) (gatehouse.UserChange, error) {
			return gatehouse.UserChange{RevokeCredentials: true, At: at.Add(-time.Hour)}, nil
		})
		if err != nil || !got.AuthEpoch.Equal(want) {
			t.Fatalf("epoch moved back: %v, %v", got.AuthEpoch, err)
		}
		if _, _, err := s.TokenByHash(ctx, secret.Hash("key-dave")); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("token survived the password change: %v", err)
		}
		// A failing updater changes nothing.
		boom := errors.New("boom")
		if _, err := s.UpdateUser(ctx, u.ID, func(u *gatehouse.User) (gatehouse.UserChange, error) {
			u.Email = "changed@example.com"
			return gatehouse.UserChange{}, boom
		}); !errors.Is(err, boom) {
			t.Fatalf("updater error: %v", err)
		}
		if again, _ := s.User(ctx, u.ID); again.Email != "dave@example.com" {
			t.Fatalf("failed update was written: %q", again.Email)
		}
	})
}

func TestLoadReferenceFixture(t *testing.T) {
	objs, err := fixture.Decode(bytes.NewReader(testdb.ReferenceDump()))
	if err != nil {
		t.Fatal(err)
	}
	box, _ := secret.NewBox("test-secret-0123456789")
	set, err := fixture.Converter{Box: box, ClientSecrets: gatehouse.NewSecretHasher("test-secret-0123456789")}.Convert(objs)
	if err != nil {
		t.Fatal(err)
	}
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		if err := s.Load(ctx, set); err != nil {
			t.Fatal(err)
		}
		alice, err := s.UserByUsername(ctx, "alice")
		if err != nil || alice.ID != 2 || alice.FirstName != "Alice" || alice.Password[:14] != "pbkdf2_sha256$" {
			t.Fatalf("alice: %+v %v", alice, err)
		}
		// New rows continue after the loaded primary keys.
		n := newUser(t, s, "newcomer")
		if n.ID <= 47 {
			t.Fatalf("new user id %d collides with loaded ids", n.ID)
		}
		// Loading again fails as a whole and leaves the data as it was.
		if err := s.Load(ctx, set); err == nil {
			t.Fatal("second load succeeded")
		}
		if c, _ := s.CountUsers(ctx, gatehouse.UserFilter{}); c != 48 {
			t.Fatalf("count after failed load: %d", c)
		}
	})
}

func TestLoadIsAllOrNothing(t *testing.T) {
	set := fixture.Set{
		Users: []gatehouse.User{
			{ID: 1, Username: "a", Password: "!", IsActive: true, DateJoined: time.Now()},
			{ID: 2, Username: "a", Password: "!", IsActive: true, DateJoined: time.Now()}, // duplicate username
		},
	}
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		if err := s.Load(ctx, set); err == nil {
			t.Fatal("load with a duplicate succeeded")
		}
		if c, _ := s.CountUsers(ctx, gatehouse.UserFilter{}); c != 0 {
			t.Fatalf("half-loaded: %d users", c)
		}
	})
}

// A SQLite path with characters a file: URI treats specially opens that
// very file.
func TestSQLitePathWithSpecialCharacters(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/odd #1 ?x %41.db"
	openSQLiteAt(t, path)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at the given path: %v", err)
	}
}

// openSQLiteAt returns a migrated store on the SQLite file at path, closed
// when the test ends.
func openSQLiteAt(t *testing.T, path string) *store.Store {
	t.Helper()
	s, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}
