package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

func testUserCreateGetConflict(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	u := newUser(t, s, "alice")
	if u.ID == 0 {
		t.Fatal("no id assigned")
	}
	got, err := s.User(ctx, u.ID)
	if err != nil || got.Username != "alice" || got.Email != "alice@example.com" || !got.IsActive {
		t.Fatalf("User = %+v, %v", got, err)
	}
	if got, err := s.UserByUsername(ctx, "alice"); err != nil || got.ID != u.ID {
		t.Fatalf("UserByUsername = %+v, %v", got, err)
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
	other := newUser(t, s, "bob")
	if other.ID == u.ID {
		t.Fatalf("two users with id %d", u.ID)
	}
}

// CreateUser stores the user and its token in one transaction: a token
// that cannot be stored leaves no user behind.
func testUserCreateWithTokenIsAtomic(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	a := newUser(t, s, "alice")
	tok, err := s.DefaultToken(ctx, a.ID)
	if err != nil || tok.ID == 0 || tok.UserID != a.ID {
		t.Fatalf("token created with the user: %+v, %v", tok, err)
	}
	b := gatehouse.User{Username: "bob", Password: "!", IsActive: true}
	clash := gatehouse.Token{Hash: secret.Hash("key-alice"), Prefix: "key-", IsDefault: true}
	if err := s.CreateUser(ctx, &b, &clash); !errors.Is(err, gatehouse.ErrConflict) {
		t.Fatalf("token hash taken: %v, want ErrConflict", err)
	}
	if _, err := s.UserByUsername(ctx, "bob"); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("the user of a token that failed was stored: %v", err)
	}
	if n, _ := s.CountUsers(ctx, gatehouse.UserFilter{}); n != 1 {
		t.Fatalf("count %d after failed insert", n)
	}
}

// Every field comes back as written, times to the microsecond.
func testUserFieldsRoundTrip(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	joined := time.Date(2024, 2, 29, 23, 59, 58, 123456789, time.UTC)
	last := time.Date(2025, 1, 2, 3, 4, 5, 987654321, time.FixedZone("CET", 3600))
	in := gatehouse.User{Username: "ünï.cödé+x@y-z_", Email: "U@Example.com", FirstName: "Ünï", LastName: "O'Brien",
		Password: "argon2$argon2id$v=19$m=64,t=1,p=1$c2FsdA$dGFn", IsActive: false, IsStaff: true, IsSuperuser: true,
		DateJoined: joined, LastLogin: &last}
	if err := s.CreateUser(ctx, &in, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.User(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != in.ID || got.Username != in.Username || got.Email != in.Email || got.FirstName != in.FirstName ||
		got.LastName != in.LastName || got.Password != in.Password || got.IsActive || !got.IsStaff || !got.IsSuperuser {
		t.Fatalf("stored %+v\nread   %+v", in, got)
	}
	if !got.DateJoined.Equal(micro(joined)) || got.LastLogin == nil || !got.LastLogin.Equal(micro(last)) {
		t.Fatalf("times: joined %v last %v, want %v and %v", got.DateJoined, got.LastLogin, micro(joined), micro(last))
	}
	if !got.AuthEpoch.IsZero() {
		t.Fatalf("a new user's auth epoch is %v, want zero", got.AuthEpoch)
	}
	// A user never logged in has no LastLogin; DateJoined defaults to now.
	before := time.Now().Add(-time.Second)
	plain := gatehouse.User{Username: "plain", Password: "!"}
	if err := s.CreateUser(ctx, &plain, nil); err != nil {
		t.Fatal(err)
	}
	got, err = s.User(ctx, plain.ID)
	if err != nil || got.LastLogin != nil || got.DateJoined.Before(before) || got.DateJoined.After(time.Now().Add(time.Second)) {
		t.Fatalf("plain user: %+v, %v", got, err)
	}
}

func testUserListFilterPaging(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
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
	u07, err := s.UserByUsername(ctx, "user07")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		f    gatehouse.UserFilter
		want int
	}{
		{gatehouse.UserFilter{ID: u07.ID}, 1},
		{gatehouse.UserFilter{ID: u07.ID, Username: "user07"}, 1},
		{gatehouse.UserFilter{ID: u07.ID, Email: "user08@example.com"}, 0},
		{gatehouse.UserFilter{ID: u07.ID + 1000}, 0},
		{gatehouse.UserFilter{Username: "user07"}, 1},
		{gatehouse.UserFilter{Username: "user0"}, 0},
		{gatehouse.UserFilter{Email: "user07@example.com"}, 1},
		{gatehouse.UserFilter{Email: "USER07@example.com"}, 0},
		{gatehouse.UserFilter{Username: "user07", Email: "user08@example.com"}, 0},
	} {
		if n, _ := s.CountUsers(ctx, f.f); n != f.want {
			t.Errorf("%+v: count %d, want %d", f.f, n, f.want)
		}
		if l, err := s.ListUsers(ctx, f.f, 0, 100); err != nil || len(l) != f.want {
			t.Errorf("%+v: listed %d, %v; want %d", f.f, len(l), err, f.want)
		}
	}
}

// ListUsers orders by id, not by name, and pages with offset and limit.
func testUserListOrderedByID(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	var ids []int64
	for _, name := range []string{"zoe", "adam", "mia", "bert", "carl"} {
		u := newUser(t, s, name)
		u2 := gatehouse.User{Username: name + "-twin", Email: "twin@example.com", Password: "!"}
		if err := s.CreateUser(ctx, &u2, nil); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID, u2.ID)
	}
	for _, tc := range []struct {
		name          string
		f             gatehouse.UserFilter
		offset, limit int
		want          []int64
	}{
		{"all", gatehouse.UserFilter{}, 0, 100, ids},
		{"first page", gatehouse.UserFilter{}, 0, 3, ids[:3]},
		{"middle page", gatehouse.UserFilter{}, 3, 3, ids[3:6]},
		{"last page", gatehouse.UserFilter{}, 9, 3, ids[9:]},
		{"past the end", gatehouse.UserFilter{}, 10, 3, nil},
		{"filtered", gatehouse.UserFilter{Email: "twin@example.com"}, 0, 100, []int64{ids[1], ids[3], ids[5], ids[7], ids[9]}},
		{"filtered page", gatehouse.UserFilter{Email: "twin@example.com"}, 1, 2, []int64{ids[3], ids[5]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListUsers(ctx, tc.f, tc.offset, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			var gotIDs []int64
			for _, u := range got {
				gotIDs = append(gotIDs, u.ID)
			}
			if fmt.Sprint(gotIDs) != fmt.Sprint(tc.want) {
				t.Fatalf("ids %v, want %v", gotIDs, tc.want)
			}
		})
	}
}

// An update without RevokeCredentials writes the fields and nothing else.
func testUserUpdate(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	u := newUser(t, s, "erin")
	newUser(t, s, "frank")
	got, err := s.UpdateUser(ctx, u.ID, func(u *gatehouse.User) (gatehouse.UserChange, error) {
		u.Email, u.FirstName, u.LastName, u.IsStaff = "e@example.org", "Erin", "Example", true
		return gatehouse.UserChange{At: time.Now()}, nil
	})
	if err != nil || got.Email != "e@example.org" || got.FirstName != "Erin" || !got.IsStaff {
		t.Fatalf("UpdateUser: %+v, %v", got, err)
	}
	again, err := s.User(ctx, u.ID)
	if err != nil || again.Email != "e@example.org" || again.LastName != "Example" || !again.IsStaff || !again.AuthEpoch.IsZero() {
		t.Fatalf("stored: %+v, %v", again, err)
	}
	if _, _, err := s.TokenByHash(ctx, secret.Hash("key-erin")); err != nil {
		t.Fatalf("an update without revocation deleted the token: %v", err)
	}
	// A username taken by another user is a conflict, and nothing changes.
	if _, err := s.UpdateUser(ctx, u.ID, func(u *gatehouse.User) (gatehouse.UserChange, error) {
		u.Username, u.Email = "frank", "x@example.com"
		return gatehouse.UserChange{}, nil
	}); !errors.Is(err, gatehouse.ErrConflict) {
		t.Fatalf("rename to a taken username: %v, want ErrConflict", err)
	}
	if again, _ := s.User(ctx, u.ID); again.Username != "erin" || again.Email != "e@example.org" {
		t.Fatalf("failed rename was written: %+v", again)
	}
	// A missing user is ErrNotFound, and fn is not called.
	called := false
	if _, err := s.UpdateUser(ctx, 9999, func(*gatehouse.User) (gatehouse.UserChange, error) {
		called = true
		return gatehouse.UserChange{}, nil
	}); !errors.Is(err, gatehouse.ErrNotFound) || called {
		t.Fatalf("missing user: %v (fn called: %v)", err, called)
	}
}

func testUserUpdateRevokesCredentials(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	u := newUser(t, s, "dave")
	if _, err := s.UpdateUser(ctx, u.ID, func(u *gatehouse.User) (gatehouse.UserChange, error) {
		u.Password = "written-without-a-time"
		return gatehouse.UserChange{RevokeCredentials: true}, nil
	}); err == nil {
		t.Fatal("revoking credentials without a time was accepted")
	}
	// ... and changed nothing.
	if again, _ := s.User(ctx, u.ID); again.Password != "!" || !again.AuthEpoch.IsZero() {
		t.Fatalf("a refused revocation was written: %+v", again)
	}
	if _, _, err := s.TokenByHash(ctx, secret.Hash("key-dave")); err != nil {
		t.Fatalf("a refused revocation deleted the token: %v", err)
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
	if list, err := s.Tokens(ctx, u.ID); err != nil || len(list) != 0 {
		t.Fatalf("tokens after revocation: %d, %v", len(list), err)
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
}

// AuthEpoch is kept to the microsecond and moves only forward, only when
// credentials are revoked; only the revoked user's tokens go.
func testUserAuthEpochForwardOnly(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	u := newUser(t, s, "gina")
	bystander := newUser(t, s, "hal")
	t0 := time.Date(2027, 3, 4, 5, 6, 7, 890123456, time.UTC)
	revoke := func(at time.Time) gatehouse.User {
		t.Helper()
		got, err := s.UpdateUser(ctx, u.ID, func(*gatehouse.User) (gatehouse.UserChange, error) {
			return gatehouse.UserChange{RevokeCredentials: true, At: at}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		stored, err := s.User(ctx, u.ID)
		if err != nil || !stored.AuthEpoch.Equal(got.AuthEpoch) {
			t.Fatalf("returned epoch %v, stored %v (%v)", got.AuthEpoch, stored.AuthEpoch, err)
		}
		return stored
	}
	for _, step := range []struct {
		name string
		at   time.Time
		want time.Time
	}{
		{"first revocation", t0, micro(t0)},
		{"same microsecond", t0.Add(100 * time.Nanosecond), micro(t0)},
		{"one microsecond later", t0.Add(time.Microsecond), micro(t0).Add(time.Microsecond)},
		{"a second later, other zone", t0.Add(time.Second).In(time.FixedZone("X", -7*3600)), micro(t0).Add(time.Second)},
		{"earlier", t0.Add(-24 * time.Hour), micro(t0).Add(time.Second)},
		{"just before", micro(t0).Add(time.Second - time.Microsecond), micro(t0).Add(time.Second)},
	} {
		if got := revoke(step.at); !got.AuthEpoch.Equal(step.want) {
			t.Fatalf("%s: epoch %v, want %v", step.name, got.AuthEpoch, step.want)
		}
	}
	// An update without revocation leaves the epoch alone, whatever At says.
	got, err := s.UpdateUser(ctx, u.ID, func(*gatehouse.User) (gatehouse.UserChange, error) {
		return gatehouse.UserChange{At: t0.Add(time.Hour)}, nil
	})
	if err != nil || !got.AuthEpoch.Equal(micro(t0).Add(time.Second)) {
		t.Fatalf("update without revocation: epoch %v, %v", got.AuthEpoch, err)
	}
	if b, _ := s.User(ctx, bystander.ID); !b.AuthEpoch.IsZero() {
		t.Fatalf("another user's epoch moved: %v", b.AuthEpoch)
	}
	if _, _, err := s.TokenByHash(ctx, secret.Hash("key-hal")); err != nil {
		t.Fatalf("another user's token was deleted: %v", err)
	}
}

// Concurrent updates of one user are serialised: none is lost.
func testUserUpdateConcurrent(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	u := newUser(t, s, "ivy")
	const n = 10
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateUser(ctx, u.ID, func(u *gatehouse.User) (gatehouse.UserChange, error) {
				u.LastName += "x"
				return gatehouse.UserChange{}, nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := s.User(ctx, u.ID); len(got.LastName) != n {
		t.Fatalf("last name %q after %d concurrent appends: updates were lost", got.LastName, n)
	}
}

// SetPasswordHash writes only while the stored hash is the old one.
func testUserSetPasswordHash(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	u := newUser(t, s, "jack")
	if err := s.SetPasswordHash(ctx, u.ID, "!", "upgraded"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.User(ctx, u.ID); got.Password != "upgraded" {
		t.Fatalf("password %q after the upgrade", got.Password)
	}
	// A concurrent change got there first: the stale upgrade does nothing.
	if err := s.SetPasswordHash(ctx, u.ID, "!", "stale"); err != nil {
		t.Fatal(err)
	}
	got, _ := s.User(ctx, u.ID)
	if got.Password != "upgraded" {
		t.Fatalf("a stale upgrade overwrote the hash: %q", got.Password)
	}
	// It revokes nothing.
	if _, _, err := s.TokenByHash(ctx, secret.Hash("key-jack")); err != nil || !got.AuthEpoch.IsZero() {
		t.Fatalf("the upgrade revoked credentials: %v, epoch %v", err, got.AuthEpoch)
	}
}

func testUserTouchLogin(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	u := newUser(t, s, "kim")
	at := time.Date(2026, 5, 6, 7, 8, 9, 101112131, time.UTC)
	if err := s.TouchLogin(ctx, u.ID, at); err != nil {
		t.Fatal(err)
	}
	got, err := s.User(ctx, u.ID)
	if err != nil || got.LastLogin == nil || !got.LastLogin.Equal(micro(at)) {
		t.Fatalf("last login %v, want %v (%v)", got.LastLogin, micro(at), err)
	}
}

// DeleteUser removes the user and their tokens.
func testUserDelete(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	u := newUser(t, s, "liz")
	keep := newUser(t, s, "max")
	named := gatehouse.Token{UserID: u.ID, Hash: secret.Hash("liz-laptop"), Prefix: "liz", Name: "laptop"}
	if err := s.CreateToken(ctx, &named); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.User(ctx, u.ID); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("deleted user: %v", err)
	}
	for _, key := range []string{"key-liz", "liz-laptop"} {
		if _, _, err := s.TokenByHash(ctx, secret.Hash(key)); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("token %s survived its user: %v", key, err)
		}
	}
	if err := s.DeleteUser(ctx, u.ID); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
	if _, _, err := s.TokenByHash(ctx, secret.Hash("key-max")); err != nil {
		t.Fatalf("another user's token went too: %v", err)
	}
	if got, err := s.User(ctx, keep.ID); err != nil || got.Username != "max" {
		t.Fatalf("other user: %+v, %v", got, err)
	}
	// A new user never gets the id of a deleted one.
	if n := newUser(t, s, "liz"); n.ID == u.ID {
		t.Fatalf("id %d handed out again", n.ID)
	}
}

// The values a store returns are the caller's: changing them, or the ones
// passed in, changes nothing stored.
func testUserValuesAreCopies(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	last := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	in := last
	u := gatehouse.User{Username: "nina", Password: "!", IsActive: true, LastLogin: &in}
	if err := s.CreateUser(ctx, &u, nil); err != nil {
		t.Fatal(err)
	}
	u.Username = "changed-after-create"
	*u.LastLogin = last.Add(time.Hour)
	got, _ := s.User(ctx, u.ID)
	if got.Username != "nina" || !got.LastLogin.Equal(last) {
		t.Fatalf("the value passed in aliases the stored one: %+v", got)
	}
	got.Username = "changed-after-read"
	*got.LastLogin = last.Add(2 * time.Hour)
	if again, _ := s.User(ctx, u.ID); again.Username != "nina" || !again.LastLogin.Equal(last) {
		t.Fatalf("the value returned aliases the stored one: %+v", again)
	}
	var kept *gatehouse.User
	if _, err := s.UpdateUser(ctx, u.ID, func(u *gatehouse.User) (gatehouse.UserChange, error) {
		kept = u
		return gatehouse.UserChange{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	kept.Username = "changed-after-update"
	*kept.LastLogin = last.Add(3 * time.Hour)
	if again, _ := s.User(ctx, u.ID); again.Username != "nina" || !again.LastLogin.Equal(last) {
		t.Fatalf("the updater's value aliases the stored one: %+v", again)
	}
}

// testUserListActiveStaffSearch: the Active, Staff and Search filters,
// alone and together, in CountUsers and ListUsers alike; Search ignores
// ASCII case and takes % and _ literally.
func testUserListActiveStaffSearch(t *testing.T, s UsersAndTokens) {
	ctx := t.Context()
	mk := func(name, email, first string, active, staff bool) {
		u := gatehouse.User{Username: name, Email: email, FirstName: first, Password: "!", IsActive: active, IsStaff: staff, DateJoined: time.Now()}
		if err := s.CreateUser(ctx, &u, nil); err != nil {
			t.Fatal(err)
		}
	}
	mk("alice", "alice@example.com", "Alice", true, true)
	mk("bob", "BOB@Example.org", "Robert", true, false)
	mk("carol_x", "carol@example.com", "", false, false)
	mk("dave", "dave%@example.net", "Dave", false, true)
	yes, no := true, false
	for _, tc := range []struct {
		f    gatehouse.UserFilter
		want []string
	}{
		{gatehouse.UserFilter{Active: &yes}, []string{"alice", "bob"}},
		{gatehouse.UserFilter{Active: &no}, []string{"carol_x", "dave"}},
		{gatehouse.UserFilter{Staff: &yes}, []string{"alice", "dave"}},
		{gatehouse.UserFilter{Active: &yes, Staff: &no}, []string{"bob"}},
		{gatehouse.UserFilter{Search: "EXAMPLE.com"}, []string{"alice", "carol_x"}},
		{gatehouse.UserFilter{Search: "rob"}, []string{"bob"}},
		{gatehouse.UserFilter{Search: "_"}, []string{"carol_x"}},
		{gatehouse.UserFilter{Search: "%"}, []string{"dave"}},
		{gatehouse.UserFilter{Search: "a", Staff: &yes, Active: &no}, []string{"dave"}},
		{gatehouse.UserFilter{Search: "nobody"}, nil},
	} {
		users, err := s.ListUsers(ctx, tc.f, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, u := range users {
			got = append(got, u.Username)
		}
		n, err := s.CountUsers(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) || n != len(tc.want) {
			t.Errorf("%+v: listed %v, counted %d; want %v", tc.f, got, n, tc.want)
		}
	}
}
