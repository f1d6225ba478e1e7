package store_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/fixture"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/store"
)

// loadTables are the tables Load writes, children first.
var loadTables = []string{"oauth_refresh_tokens", "oauth_access_tokens", "oauth_grants", "oauth_applications", "jwt_tokens", "drf_tokens", "users"}

// FuzzLoad runs `gatehouse loaddata`'s path (Decode, Convert, Store.Load)
// on arbitrary files against a store of every backend (PostgreSQL when
// GATEHOUSE_TEST_POSTGRES_URL is set, as in CI: it refuses values SQLite
// keeps, NUL among them, in the middle of a load). Properties: a refused
// load changes no table (never half-committed); an accepted one adds
// exactly the rows of the set, and every loaded user is found again by
// name. After an accepted load the tables are emptied, so that the next
// input does not merely collide with it.
func FuzzLoad(f *testing.F) {
	f.Add(testdb.ReferenceDump())
	for _, s := range []string{
		`[{"model": "auth.user", "pk": 1, "fields": {"username": "u", "password": "!", "date_joined": "2024-01-01T00:00:00Z"}},
		  {"model": "oauth2_provider.application", "pk": 1, "fields": {"client_id": "c", "user": 1, "redirect_uris": "https://x.example/cb", "client_type": "confidential", "authorization_grant_type": "authorization-code", "client_secret": "s", "name": "n", "skip_authorization": true, "created": "2024-01-01T00:00:00Z", "updated": "2024-01-01T00:00:00Z", "algorithm": ""}},
		  {"model": "oauth2_provider.refreshtoken", "pk": 5, "fields": {"user": 1, "token": "reftok", "application": 1, "access_token": 7, "created": "2024-01-01T00:00:00Z", "revoked": null}},
		  {"model": "oauth2_provider.accesstoken", "pk": 7, "fields": {"user": 1, "token": "acctok", "application": 1, "expires": "2999-01-01T00:00:00Z", "scope": "read write", "created": "2024-01-01T00:00:00Z"}},
		  {"model": "oauth2_provider.grant", "pk": 2, "fields": {"user": 1, "code": "thecode", "application": 1, "expires": "2999-01-01T00:00:00Z", "redirect_uri": "https://x.example/cb", "scope": "read", "created": "2024-01-01T00:00:00Z"}}]`,
		// The last object fails (its user does not exist) after the others went in.
		`[{"model": "auth.user", "pk": 1, "fields": {"username": "u", "password": "!", "date_joined": "2024-01-01T00:00:00Z"}},
		  {"model": "authtoken.token", "pk": "k1", "fields": {"user": 1, "created": "2024-01-01T00:00:00Z"}},
		  {"model": "authtoken.token", "pk": "k2", "fields": {"user": 99, "created": "2024-01-01T00:00:00Z"}}]`,
		`[{"model": "auth.user", "pk": 1, "fields": {"username": "u", "password": "!", "date_joined": "2024-01-01T00:00:00Z"}},
		  {"model": "auth.user", "pk": 2, "fields": {"username": "u", "password": "!", "date_joined": "2024-01-01T00:00:00Z"}}]`,
		`[{"model": "token_blacklist.outstandingtoken", "pk": 1, "fields": {"user": 1, "jti": "e2ff709df1ca46bda6f997e5ef7d44ac", "expires_at": "2026-11-24T00:56:35Z"}},
		  {"model": "token_blacklist.blacklistedtoken", "pk": 1, "fields": {"token": 1, "blacklisted_at": "2026-11-23T01:00:00Z"}}]`,
		`[{"model": "auth.user", "pk": 3, "fields": {"username": "n\u0000l", "email": "\ud800", "password": "x", "date_joined": "9999-12-31T23:59:59.999999Z"}}]`,
		`[{"model": "oauth2_provider.accesstoken", "pk": 7, "fields": {"token": "t", "application": 42, "expires": "2999-01-01T00:00:00Z"}}]`,
	} {
		f.Add([]byte(s))
	}
	var stores []*store.Store
	for _, b := range testdb.Backends() {
		stores = append(stores, testdb.Open(f, b))
	}
	box, err := secret.NewBox("test-secret-0123456789")
	if err != nil {
		f.Fatal(err)
	}
	conv := fixture.Converter{Box: box, ClientSecrets: gatehouse.NewSecretHasher("test-secret-0123456789")}
	f.Fuzz(func(t *testing.T, doc []byte) {
		objs, err := fixture.Decode(bytes.NewReader(doc))
		if err != nil {
			return
		}
		set, err := conv.Convert(objs)
		if err != nil {
			return
		}
		for _, st := range stores {
			loadOnce(t, st, set)
		}
	})
}

// loadOnce loads set into st and checks the outcome, then empties the
// tables again after a load that was accepted.
func loadOnce(t *testing.T, st *store.Store, set fixture.Set) {
	t.Helper()
	before := rowCounts(t, st)
	err := st.Load(ctx, set)
	after := rowCounts(t, st)
	if err != nil {
		if !slices.Equal(before, after) {
			t.Fatalf("refused load (%v) changed the tables: %v -> %v", err, before, after)
		}
		return
	}
	jtis := map[string]bool{} // a repeated jti is recorded once (ON CONFLICT DO NOTHING)
	for _, r := range set.Refresh {
		jtis[r.JTI] = true
	}
	added := []int{len(set.RefreshTokens), len(set.AccessTokens), len(set.Grants), len(set.Applications), len(jtis), len(set.Tokens), len(set.Users)}
	for i := range added {
		if after[i]-before[i] != added[i] {
			t.Fatalf("%s: %d rows added, the set has %d", loadTables[i], after[i]-before[i], added[i])
		}
	}
	for _, u := range set.Users {
		if got, err := st.UserByUsername(ctx, u.Username); err != nil || got.ID != u.ID {
			t.Fatalf("loaded user %d %q found as %+v, %v", u.ID, u.Username, got, err)
		}
	}
	for _, table := range loadTables {
		if _, err := st.DB().ExecContext(ctx, "DELETE FROM "+table); err != nil {
			t.Fatal(err)
		}
	}
}

// countQuery counts the rows of every table of loadTables in one round trip.
var countQuery = func() string {
	var parts []string
	for _, table := range loadTables {
		parts = append(parts, "(SELECT count(*) FROM "+table+")")
	}
	return "SELECT " + strings.Join(parts, ", ")
}()

// rowCounts counts the rows of loadTables.
func rowCounts(t *testing.T, st *store.Store) []int {
	t.Helper()
	out := make([]int, len(loadTables))
	dest := make([]any, len(out))
	for i := range out {
		dest[i] = &out[i]
	}
	if err := st.DB().QueryRowContext(ctx, countQuery).Scan(dest...); err != nil {
		t.Fatal(err)
	}
	return out
}
