package accounts_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/memstore"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// These tests run the service on internal/memstore, the in-memory store
// that passes the same user and token conformance tests as the SQL store.

// fastParams keep hashing cheap in tests.
var fastParams = password.Params{Memory: 64, Time: 1, Threads: 1}

// now is the injected clock's time: not on a microsecond, so that the
// tests see the store keep it to the microsecond.
var now = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)

// testPolicy refuses short and numeric passwords with messages the tests
// can spell out.
var testPolicy = password.Policy{MinLength: 10, Numeric: true}

// env is a Service on an in-memory store, with what it was built from.
type env struct {
	svc    *accounts.Service
	mem    *memstore.Store
	hasher *password.Hasher
	box    *secret.Box
	// forgotten lists the user ids passed to Deps.Forget, in order.
	forgotten []int64
	// audited lists the events the service recorded, in order.
	audited []gatehouse.AuditEvent
}

// auditFunc is an Auditor that calls itself.
type auditFunc func(ctx context.Context, e gatehouse.AuditEvent)

func (f auditFunc) Record(ctx context.Context, e gatehouse.AuditEvent) { f(ctx, e) }

// newEnv builds the service; store, when not nil, wraps the memstore (a
// fake that changes some of its answers).
func newEnv(t *testing.T, store func(*memstore.Store) accounts.Store) *env {
	t.Helper()
	box, err := secret.NewBox("test-secret-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{mem: memstore.New(), hasher: password.New(fastParams, nil), box: box}
	var st accounts.Store = e.mem
	if store != nil {
		st = store(e.mem)
	}
	e.svc = accounts.New(accounts.Deps{Store: st, Hasher: e.hasher, Policy: testPolicy, Box: box,
		Now: func() time.Time { return now }, Forget: func(id int64) { e.forgotten = append(e.forgotten, id) },
		Audit: auditFunc(func(_ context.Context, ev gatehouse.AuditEvent) { e.audited = append(e.audited, ev) })})
	return e
}

// create makes an active user through the service.
func (e *env) create(t *testing.T, username, pw string) gatehouse.User {
	t.Helper()
	u, err := e.svc.Create(context.Background(), accounts.NewUser{Username: username, Email: username + "@example.com", Password: pw})
	if err != nil {
		t.Fatalf("create %s: %v", username, err)
	}
	return u
}

// fakeStore is the memstore with some methods replaced by function
// fields; a nil field leaves the memstore's method.
type fakeStore struct {
	*memstore.Store
	createUser      func(ctx context.Context, u *gatehouse.User, tok *gatehouse.Token) error
	createToken     func(ctx context.Context, t *gatehouse.Token) error
	setPasswordHash func(ctx context.Context, id int64, old, new string) error
}

func (f fakeStore) CreateUser(ctx context.Context, u *gatehouse.User, tok *gatehouse.Token) error {
	if f.createUser != nil {
		return f.createUser(ctx, u, tok)
	}
	return f.Store.CreateUser(ctx, u, tok)
}

func (f fakeStore) CreateToken(ctx context.Context, t *gatehouse.Token) error {
	if f.createToken != nil {
		return f.createToken(ctx, t)
	}
	return f.Store.CreateToken(ctx, t)
}

func (f fakeStore) SetPasswordHash(ctx context.Context, id int64, old, new string) error {
	if f.setPasswordHash != nil {
		return f.setPasswordHash(ctx, id, old, new)
	}
	return f.Store.SetPasswordHash(ctx, id, old, new)
}

// fieldErrors returns the Field/Code pairs of err, which must be an
// EINVALID *gatehouse.Error.
func fieldErrors(t *testing.T, err error) []string {
	t.Helper()
	var e *gatehouse.Error
	if !errors.As(err, &e) || e.Code != gatehouse.EINVALID {
		t.Fatalf("error %v (%T), want an EINVALID *gatehouse.Error", err, err)
	}
	var out []string
	for _, f := range e.Fields {
		if f.Message == "" {
			t.Errorf("field error %s/%s has no message", f.Field, f.Code)
		}
		out = append(out, f.Field+"/"+f.Code)
	}
	return out
}

func TestCreate(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	u, err := e.svc.Create(ctx, accounts.NewUser{Username: "alice", Email: "alice@example.com", FirstName: "Alice", LastName: "Liddell",
		Password: "correct-horse-battery", IsStaff: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.mem.User(ctx, u.ID)
	if err != nil || got.Username != "alice" || got.Email != "alice@example.com" || got.FirstName != "Alice" || got.LastName != "Liddell" ||
		!got.IsActive || !got.IsStaff || got.IsSuperuser || !got.DateJoined.Equal(now.Truncate(time.Microsecond)) || !got.AuthEpoch.IsZero() {
		t.Fatalf("stored user: %+v, %v", got, err)
	}
	if got.Password == "correct-horse-battery" || !strings.HasPrefix(got.Password, "argon2$argon2id$") {
		t.Fatalf("stored password %q is not an argon2id hash", got.Password)
	}
	if ok, _ := e.hasher.Verify("correct-horse-battery", got.Password); !ok {
		t.Fatal("the stored hash does not verify the password")
	}
	// With a default DRF token whose key is sealed, as DRF's signal makes.
	tok, err := e.mem.DefaultToken(ctx, u.ID)
	if err != nil || len(tok.Sealed) == 0 || !tok.Created.Equal(now.Truncate(time.Microsecond)) || tok.Expires != nil {
		t.Fatalf("default token: %+v, %v", tok, err)
	}
	key, err := e.box.Open(tok.Sealed)
	if err != nil || !secret.Equal(secret.Hash(string(key)), tok.Hash) {
		t.Fatalf("sealed key does not match the stored hash: %v", err)
	}
}

func TestCreateRefusals(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	valid := accounts.NewUser{Username: "bob", Email: "bob@example.com", FirstName: "Bob", LastName: "Builder", Password: "correct-horse-battery"}
	with := func(f func(*accounts.NewUser)) accounts.NewUser { n := valid; f(&n); return n }
	for _, tc := range []struct {
		name string
		in   accounts.NewUser
		want []string // Field/Code, in field order
		msgs []string // the messages, when they matter
	}{
		{"blank username", with(func(n *accounts.NewUser) { n.Username = "" }), []string{"username/blank"}, nil},
		{"username too long", with(func(n *accounts.NewUser) { n.Username = long(151) }), []string{"username/max_length"}, nil},
		{"username of 150 characters", with(func(n *accounts.NewUser) { n.Username = strings.Repeat("ü", 150) }), nil, nil},
		{"invalid username", with(func(n *accounts.NewUser) { n.Username = "bob smith" }), []string{"username/invalid"}, nil},
		{"invalid username characters", with(func(n *accounts.NewUser) { n.Username = "bob!" }), []string{"username/invalid"}, nil},
		{"taken username", with(func(n *accounts.NewUser) { n.Username = "taken" }), []string{"username/unique"}, nil},
		{"usernames are case-sensitive", with(func(n *accounts.NewUser) { n.Username = "Taken" }), nil, nil},
		{"bad email", with(func(n *accounts.NewUser) { n.Email = "not-an-email" }), []string{"email/invalid"}, nil},
		{"email too long", with(func(n *accounts.NewUser) { n.Email = long(250) + "@x.org" }), []string{"email/max_length"}, nil},
		{"no email is fine", with(func(n *accounts.NewUser) { n.Email = "" }), nil, nil},
		{"first name too long", with(func(n *accounts.NewUser) { n.FirstName = long(151) }), []string{"first_name/max_length"}, nil},
		{"names too long", with(func(n *accounts.NewUser) { n.FirstName, n.LastName = long(151), long(200) }),
			[]string{"first_name/max_length", "last_name/max_length"}, nil},
		{"names of 150 characters", with(func(n *accounts.NewUser) { n.FirstName, n.LastName = strings.Repeat("é", 150), long(150) }), nil, nil},
		{"blank password", with(func(n *accounts.NewUser) { n.Password = "" }), []string{"password/blank"}, nil},
		{"password too long", with(func(n *accounts.NewUser) { n.Password = "x" + long(128) }), []string{"password/max_length"}, nil},
		{"password policy", with(func(n *accounts.NewUser) { n.Password = "123456789" }), []string{"password/password", "password/password"},
			[]string{"This password is too short. It must contain at least 10 characters.", "This password is entirely numeric."}},
		{"policy only when all else passed", with(func(n *accounts.NewUser) { n.Email, n.Password = "nope", "123" }), []string{"email/invalid"}, nil},
		{"policy not run beside a bad username", with(func(n *accounts.NewUser) { n.Username, n.Password = "", "123" }), []string{"username/blank"}, nil},
		{"every field wrong, in field order", accounts.NewUser{Username: "a b", Email: "@", FirstName: long(151), LastName: long(151), Password: ""},
			[]string{"username/invalid", "email/invalid", "first_name/max_length", "last_name/max_length", "password/blank"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.create(t, "taken", "correct-horse-battery")
			u, err := e.svc.Create(context.Background(), tc.in)
			if tc.want == nil {
				if err != nil || u.ID == 0 {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if got := fieldErrors(t, err); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("fields %v, want %v", got, tc.want)
			}
			var ge *gatehouse.Error
			errors.As(err, &ge)
			for i, m := range tc.msgs {
				if ge.Fields[i].Message != m {
					t.Errorf("message %d: %q, want %q", i, ge.Fields[i].Message, m)
				}
			}
			if n, _ := e.mem.CountUsers(context.Background(), gatehouse.UserFilter{}); n != 1 {
				t.Fatalf("%d users after a refusal, want 1", n)
			}
		})
	}
}

// A username taken between the check and the insert (the store answers
// ErrConflict) is refused as FieldUnique too; other store errors pass
// through as internal.
func TestCreateConflictFromStore(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(m *memstore.Store) accounts.Store {
		return fakeStore{Store: m, createUser: func(ctx context.Context, u *gatehouse.User, tok *gatehouse.Token) error {
			// Another replica creates the same username first.
			other := gatehouse.User{Username: u.Username, Password: "!"}
			if err := m.CreateUser(ctx, &other, nil); err != nil {
				return err
			}
			return m.CreateUser(ctx, u, tok)
		}}
	})
	_, err := e.svc.Create(ctx, accounts.NewUser{Username: "carol", Password: "correct-horse-battery"})
	if got := fieldErrors(t, err); fmt.Sprint(got) != "[username/unique]" {
		t.Fatalf("fields %v, want [username/unique]", got)
	}

	boom := errors.New("disk on fire")
	e = newEnv(t, func(m *memstore.Store) accounts.Store {
		return fakeStore{Store: m, createUser: func(context.Context, *gatehouse.User, *gatehouse.Token) error { return boom }}
	})
	_, err = e.svc.Create(ctx, accounts.NewUser{Username: "carol", Password: "correct-horse-battery"})
	if !errors.Is(err, boom) || gatehouse.ErrorCode(err) != gatehouse.EINTERNAL {
		t.Fatalf("store failure: %v (code %q), want it passed through as internal", err, gatehouse.ErrorCode(err))
	}
}

func TestChangePassword(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	u := e.create(t, "dave", "correct-horse-battery")
	other := e.create(t, "erin", "correct-horse-battery")
	named := gatehouse.Token{UserID: u.ID, Hash: secret.Hash("laptop-key"), Prefix: "laptop", Name: "laptop"}
	if err := e.mem.CreateToken(ctx, &named); err != nil {
		t.Fatal(err)
	}
	before, _ := e.mem.User(ctx, u.ID)

	t.Run("unknown user", func(t *testing.T) {
		err := e.svc.ChangePassword(ctx, "nobody", "another-good-password")
		var ge *gatehouse.Error
		if !errors.As(err, &ge) || ge.Code != gatehouse.ENOTFOUND || !errors.Is(err, gatehouse.ErrNotFound) || !strings.Contains(ge.Message, "nobody") {
			t.Fatalf("error %v, want ENOTFOUND naming the user", err)
		}
	})
	for _, tc := range []struct {
		name, pw string
		want     []string
	}{
		{"policy", "12345", []string{"password/password", "password/password"}},
		{"too long", strings.Repeat("x", 129), []string{"password/max_length"}},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			err := e.svc.ChangePassword(ctx, "dave", tc.pw)
			if got := fieldErrors(t, err); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("fields %v, want %v", got, tc.want)
			}
			after, _ := e.mem.User(ctx, u.ID)
			if after.Password != before.Password || !after.AuthEpoch.IsZero() {
				t.Fatalf("a refused change was written: %+v", after)
			}
			if list, _ := e.mem.Tokens(ctx, u.ID); len(list) != 2 {
				t.Fatalf("a refused change deleted tokens: %d left", len(list))
			}
		})
	}
	if len(e.forgotten) != 0 {
		t.Fatalf("Forget called for refusals: %v", e.forgotten)
	}

	t.Run("success", func(t *testing.T) {
		if err := e.svc.ChangePassword(ctx, "dave", "another-good-password"); err != nil {
			t.Fatal(err)
		}
		after, err := e.mem.User(ctx, u.ID)
		if err != nil || !after.AuthEpoch.Equal(now.Truncate(time.Microsecond)) {
			t.Fatalf("auth epoch %v, want the clock's %v", after.AuthEpoch, now.Truncate(time.Microsecond))
		}
		if ok, _ := e.hasher.Verify("another-good-password", after.Password); !ok {
			t.Fatal("the new password does not verify")
		}
		if ok, _ := e.hasher.Verify("correct-horse-battery", after.Password); ok {
			t.Fatal("the old password still verifies")
		}
		if list, err := e.mem.Tokens(ctx, u.ID); err != nil || len(list) != 0 {
			t.Fatalf("DRF tokens after the change: %d, %v", len(list), err)
		}
		if fmt.Sprint(e.forgotten) != fmt.Sprint([]int64{u.ID}) {
			t.Fatalf("Forget called with %v, want [%d]", e.forgotten, u.ID)
		}
		if list, _ := e.mem.Tokens(ctx, other.ID); len(list) != 1 {
			t.Fatalf("another user's tokens: %d, want 1", len(list))
		}
		if o, _ := e.mem.User(ctx, other.ID); !o.AuthEpoch.IsZero() {
			t.Fatalf("another user's epoch moved: %v", o.AuthEpoch)
		}
	})
}

func TestSetActive(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	u := e.create(t, "fay", "correct-horse-battery")

	if err := e.svc.SetActive(ctx, "nobody", false); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Fatalf("unknown user: %v, want ENOTFOUND", err)
	}
	if err := e.svc.SetActive(ctx, "fay", false); err != nil {
		t.Fatal(err)
	}
	got, _ := e.mem.User(ctx, u.ID)
	if got.IsActive || !got.AuthEpoch.Equal(now.Truncate(time.Microsecond)) {
		t.Fatalf("deactivated: active %v, epoch %v", got.IsActive, got.AuthEpoch)
	}
	if list, _ := e.mem.Tokens(ctx, u.ID); len(list) != 0 {
		t.Fatalf("deactivation left %d DRF tokens", len(list))
	}
	if _, ok, err := e.svc.CheckPassword(ctx, gatehouse.LoginDRFToken, "fay", "correct-horse-battery"); ok || err != nil {
		t.Fatalf("an inactive user logged in: %v, %v", ok, err)
	}

	// Activation revokes nothing and leaves the epoch.
	key, err := e.svc.DefaultKey(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetActive(ctx, "fay", true); err != nil {
		t.Fatal(err)
	}
	got, _ = e.mem.User(ctx, u.ID)
	if !got.IsActive || !got.AuthEpoch.Equal(now.Truncate(time.Microsecond)) {
		t.Fatalf("activated: active %v, epoch %v", got.IsActive, got.AuthEpoch)
	}
	if _, _, err := e.mem.TokenByHash(ctx, secret.Hash(key)); err != nil {
		t.Fatalf("activation deleted a token: %v", err)
	}
	if fmt.Sprint(e.forgotten) != fmt.Sprint([]int64{u.ID, u.ID}) {
		t.Fatalf("Forget called with %v", e.forgotten)
	}
}

func TestCheckPassword(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	u := e.create(t, "gus", "correct-horse-battery")
	e.create(t, "hal", "correct-horse-battery")
	if err := e.svc.SetActive(ctx, "hal", false); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, username, pw string
		ok                 bool
	}{
		{"correct", "gus", "correct-horse-battery", true},
		{"wrong password", "gus", "correct-horse-batterY", false},
		{"empty password", "gus", "", false},
		{"unknown user", "nobody", "correct-horse-battery", false},
		{"username differs in case", "GUS", "correct-horse-battery", false},
		{"inactive user", "hal", "correct-horse-battery", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := e.svc.CheckPassword(ctx, gatehouse.LoginDRFToken, tc.username, tc.pw)
			if err != nil || ok != tc.ok {
				t.Fatalf("CheckPassword: %v, %v; want %v", ok, err, tc.ok)
			}
			if ok && got.ID != u.ID {
				t.Fatalf("user %d, want %d", got.ID, u.ID)
			}
		})
	}
}

// A correct password stored with weaker parameters is rehashed with the
// service's (through SetPasswordHash, which revokes nothing); a wrong one
// is not; a failing rehash still logs the user in.
func TestCheckPasswordUpgradesWeakHash(t *testing.T) {
	ctx := context.Background()
	weak, err := password.New(password.Params{Memory: 32, Time: 1, Threads: 1}, nil).Hash("correct-horse-battery")
	if err != nil {
		t.Fatal(err)
	}
	insertWeak := func(t *testing.T, e *env) gatehouse.User {
		t.Helper()
		u := gatehouse.User{Username: "ivy", Password: weak, IsActive: true}
		if err := e.svc.Insert(ctx, &u); err != nil {
			t.Fatal(err)
		}
		return u
	}

	e := newEnv(t, nil)
	u := insertWeak(t, e)
	if _, ok, err := e.svc.CheckPassword(ctx, gatehouse.LoginDRFToken, "ivy", "wrong-password"); ok || err != nil {
		t.Fatalf("wrong password: %v, %v", ok, err)
	}
	if got, _ := e.mem.User(ctx, u.ID); got.Password != weak {
		t.Fatal("a wrong password rehashed the stored one")
	}
	got, ok, err := e.svc.CheckPassword(ctx, gatehouse.LoginDRFToken, "ivy", "correct-horse-battery")
	if err != nil || !ok {
		t.Fatalf("correct password: %v, %v", ok, err)
	}
	stored, _ := e.mem.User(ctx, u.ID)
	if stored.Password == weak || got.Password != stored.Password {
		t.Fatalf("not upgraded: stored %q, returned %q", stored.Password, got.Password)
	}
	if ok, rehash := e.hasher.Verify("correct-horse-battery", stored.Password); !ok || rehash {
		t.Fatalf("upgraded hash: verifies %v, still weak %v", ok, rehash)
	}
	if !stored.AuthEpoch.IsZero() {
		t.Fatal("the upgrade moved the auth epoch")
	}
	if tok, err := e.mem.DefaultToken(ctx, u.ID); err != nil || tok.ID == 0 {
		t.Fatalf("the upgrade revoked the token: %v", err)
	}

	var calls []string
	e = newEnv(t, func(m *memstore.Store) accounts.Store {
		return fakeStore{Store: m, setPasswordHash: func(_ context.Context, id int64, old, new string) error {
			calls = append(calls, old)
			return errors.New("read-only replica")
		}}
	})
	u = insertWeak(t, e)
	got, ok, err = e.svc.CheckPassword(ctx, gatehouse.LoginDRFToken, "ivy", "correct-horse-battery")
	if err != nil || !ok || got.Password != weak {
		t.Fatalf("login with a failing rehash: %v, %v, password %q", ok, err, got.Password)
	}
	if fmt.Sprint(calls) != fmt.Sprint([]string{weak}) {
		t.Fatalf("SetPasswordHash called with old hashes %v, want the weak one", calls)
	}
}

// A password longer than MaxPasswordBytes is refused before the user is
// even looked up: no hash is spent on it, on any login path.
func TestCheckPasswordRefusesLongPasswordsUnhashed(t *testing.T) {
	looked := 0
	e := newEnv(t, func(m *memstore.Store) accounts.Store { return countingStore{Store: m, lookups: &looked} })
	e.create(t, "alice", "correct-horse-battery")
	looked = 0
	long := strings.Repeat("x", accounts.MaxPasswordBytes+1)
	if _, ok, err := e.svc.CheckPassword(context.Background(), gatehouse.LoginDRFToken, "alice", long); ok || err != nil || looked != 0 {
		t.Fatalf("a %d-byte password: ok %v, err %v, %d lookups", len(long), ok, err, looked)
	}
	if _, ok, err := e.svc.CheckPassword(context.Background(), gatehouse.LoginDRFToken, "alice", long[:accounts.MaxPasswordBytes]); ok || err != nil || looked != 1 {
		t.Fatalf("a %d-byte password: ok %v, err %v, %d lookups", accounts.MaxPasswordBytes, ok, err, looked)
	}
}

// countingStore counts UserByUsername calls.
type countingStore struct {
	*memstore.Store
	lookups *int
}

func (c countingStore) UserByUsername(ctx context.Context, username string) (gatehouse.User, error) {
	*c.lookups++
	return c.Store.UserByUsername(ctx, username)
}

// Usernames are created in their NFKC form, as Django's normalize_username
// makes them, so that look-alike spellings cannot be two accounts.
func TestCreateNormalizesUsernames(t *testing.T) {
	e := newEnv(t, nil)
	// No email: Django's validator refuses a local part that is not ASCII.
	create := func(name string) gatehouse.User {
		u, err := e.svc.Create(context.Background(), accounts.NewUser{Username: name, Password: "correct-horse-battery"})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		return u
	}
	u := create("ｆｕｌｌ")
	if u.Username != "full" {
		t.Fatalf("stored as %q", u.Username)
	}
	if _, err := e.svc.Create(context.Background(), accounts.NewUser{Username: "full", Password: "correct-horse-battery"}); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
		t.Fatalf("a second account under the normal form: %v", err)
	}
	// "é" written as e + combining acute is the same name as the precomposed one.
	create("caf\u00e9")
	if _, err := e.svc.Create(context.Background(), accounts.NewUser{Username: "cafe\u0301", Password: "correct-horse-battery"}); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
		t.Fatalf("a decomposed twin: %v", err)
	}
}

// With NewUserKeys every user Insert stores gets a UUID as its Django key,
// distinct, found by it; a key already set is kept; without it, none.
func TestNewUserKeys(t *testing.T) {
	ctx := context.Background()
	box, err := secret.NewBox("test-secret-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	mem := memstore.New()
	svc := accounts.New(accounts.Deps{Store: mem, Hasher: password.New(fastParams, nil), Policy: testPolicy, Box: box, NewUserKeys: true})
	a, err := svc.Create(ctx, accounts.NewUser{Username: "ann", Password: "correct-horse-battery"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.Create(ctx, accounts.NewUser{Username: "ben", Password: "correct-horse-battery"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := gatehouse.CanonicalUUID(a.DjangoKey); !ok || a.DjangoKey == b.DjangoKey || a.WireKey() != a.DjangoKey {
		t.Fatalf("keys %q and %q", a.DjangoKey, b.DjangoKey)
	}
	if id, err := mem.UserIDByDjangoKey(ctx, a.DjangoKey); err != nil || id != a.ID {
		t.Fatalf("ann by her key: %d, %v", id, err)
	}
	kept := gatehouse.User{Username: "cy", Password: "!", IsActive: true, DjangoKey: "kept-key"}
	if err := svc.Insert(ctx, &kept); err != nil || kept.DjangoKey != "kept-key" {
		t.Fatalf("a key given: %q, %v", kept.DjangoKey, err)
	}
	if u := newEnv(t, nil).create(t, "dee", "correct-horse-battery"); u.DjangoKey != "" {
		t.Fatalf("a key without NewUserKeys: %q", u.DjangoKey)
	}
}

// An email's domain is stored in lower case, its local part as given, as
// Django's create_user (normalize_email) stores them.
func TestCreateNormalizesEmailDomain(t *testing.T) {
	e := newEnv(t, nil)
	u, err := e.svc.Create(context.Background(), accounts.NewUser{Username: "mixed", Email: "Ann.Lee@Example.COM", Password: "correct-horse-battery"})
	if err != nil || u.Email != "Ann.Lee@example.com" {
		t.Fatalf("created %q, %v", u.Email, err)
	}
	stored, err := e.mem.UserByUsername(context.Background(), "mixed")
	if err != nil || stored.Email != "Ann.Lee@example.com" {
		t.Fatalf("stored %q, %v", stored.Email, err)
	}
	for in, want := range map[string]string{"": "", "no-at-sign": "no-at-sign", "a@b@EXAMPLE.org": "a@b@example.org", " x@Y.io ": "x@y.io"} {
		if got := accounts.NormalizeEmail(in); got != want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", in, got, want)
		}
	}
}
