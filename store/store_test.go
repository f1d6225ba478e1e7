package store_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/store"
)

// The behaviour the storage contract promises is tested by the conformance
// suite (storetest, run by TestConformance on every backend). The tests of
// this package cover what is the SQL store's own: migrations, query plans,
// the grouped access-token writer, SQLite checkpoints, fixture loading.

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

func newApp(t *testing.T, s *store.Store, clientID string) gatehouse.Application {
	t.Helper()
	a := gatehouse.Application{ClientID: clientID, ClientType: gatehouse.ClientConfidential, SecretHash: []byte("h"),
		GrantTypes: []string{"password", "authorization-code"}, RedirectURIs: []string{"https://a.example/cb", "http://127.0.0.1/cb"},
		DefaultScopes: []string{"read"}}
	if err := s.CreateApplication(ctx, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func pair(app gatehouse.Application, uid int64, family, access, refresh string, now time.Time) (*gatehouse.AccessToken, *gatehouse.RefreshToken) {
	return &gatehouse.AccessToken{Hash: secret.Hash(access), UserID: &uid, ApplicationID: app.ID, Scope: "read write", Family: family, Created: now, Expires: now.Add(time.Hour)},
		&gatehouse.RefreshToken{Hash: secret.Hash(refresh), UserID: &uid, ApplicationID: app.ID, Scope: "read write", Family: family, Created: now}
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
