package admin_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/accounts"
	"github.com/gatehouse-auth/gatehouse/admin"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/store"
)

// events is an Auditor that keeps what it is told.
type events struct {
	mu   sync.Mutex
	list []gatehouse.AuditEvent
}

func (e *events) Record(_ context.Context, ev gatehouse.AuditEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, ev)
}

func (e *events) names() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.list {
		out = append(out, ev.Event)
	}
	return out
}

// fixture is an admin service on a real store, with Django's auth
// permissions stored.
type fixture struct {
	t     *testing.T
	st    *store.Store
	acc   *accounts.Service
	svc   *admin.Service
	audit *events
	perms map[string]int64 // "auth.view_user" → id
	n     int
}

var allPerms = []string{
	admin.PermViewUser, admin.PermAddUser, admin.PermChangeUser, admin.PermDeleteUser,
	admin.PermViewGroup, admin.PermAddGroup, admin.PermChangeGroup, admin.PermDeleteGroup,
	admin.PermViewPermission, "shop.view_item",
}

func newFixture(t *testing.T, st *store.Store) *fixture {
	box, err := secret.NewBox("test-server-secret-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, st: st, audit: &events{}, perms: map[string]int64{}}
	f.acc = accounts.New(accounts.Deps{Store: st, Hasher: password.New(password.Params{Memory: 64, Time: 1, Threads: 1}, nil),
		Box: box, Permissions: st, Audit: f.audit, Policy: password.Policy{MinLength: 8, Order: []string{password.ValidatorLength}}})
	f.svc = admin.New(admin.Deps{Accounts: f.acc, Users: st, Permissions: st, Credentials: st, Applications: st, AuditLog: st,
		Audit: f.audit, Config: admin.Config{AdminClients: []string{"ops"}}})
	for _, key := range allPerms {
		app, code, _ := strings.Cut(key, ".")
		p := gatehouse.Permission{Name: key, Codename: code, AppLabel: app, Model: "m"}
		if err := st.CreatePermission(t.Context(), &p); err != nil {
			t.Fatal(err)
		}
		f.perms[key] = p.ID
	}
	return f
}

// user stores a user with the flags and direct permissions given.
func (f *fixture) user(name string, active, staff, superuser bool, perms ...string) gatehouse.User {
	f.t.Helper()
	u := gatehouse.User{Username: name, Email: name + "@example.com", Password: "!", IsActive: active, IsStaff: staff, IsSuperuser: superuser}
	if err := f.acc.Insert(f.t.Context(), &u); err != nil {
		f.t.Fatal(err)
	}
	ids := []int64{}
	for _, p := range perms {
		ids = append(ids, f.perms[p])
	}
	if err := f.st.SetUserPermissions(f.t.Context(), u.ID, ids); err != nil {
		f.t.Fatal(err)
	}
	return u
}

// actor is the Actor of a staff user holding perms (a new user each call).
func (f *fixture) actor(perms ...string) admin.Actor {
	f.t.Helper()
	f.n++
	u := f.user("staff"+strings.Repeat("x", f.n), true, true, false, perms...)
	a, err := f.svc.ActorFor(f.t.Context(), &gatehouse.Principal{User: u, Scheme: gatehouse.SchemeToken})
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

func (f *fixture) root() admin.Actor {
	f.t.Helper()
	f.n++
	u := f.user("root"+strings.Repeat("x", f.n), true, true, true)
	a, err := f.svc.ActorFor(f.t.Context(), &gatehouse.Principal{User: u, Scheme: gatehouse.SchemeSession})
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

func eachBackend(t *testing.T, fn func(t *testing.T, f *fixture)) {
	testdb.Each(t, func(t *testing.T, st *store.Store) { fn(t, newFixture(t, st)) })
}

func code(err error) string { return gatehouse.ErrorCode(err) }

// Who may administer at all: Django's is_active and is_staff, and for
// OAuth tokens the admin scope of an admin client.
func TestActorFor(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		staff := f.user("staff", true, true, false, admin.PermViewUser)
		super := f.user("super", true, true, true)
		tests := []struct {
			name      string
			p         *gatehouse.Principal
			want      string // the error code, "" for an actor
			superuser bool
			viewUser  bool
		}{
			{name: "anonymous", p: nil, want: gatehouse.EUNAUTHORIZED},
			{name: "superuser", p: &gatehouse.Principal{User: super, Scheme: gatehouse.SchemeToken}, superuser: true, viewUser: true},
			{name: "staff with view_user", p: &gatehouse.Principal{User: staff, Scheme: gatehouse.SchemeJWT}, viewUser: true},
			{name: "not staff, every permission", p: &gatehouse.Principal{User: f.user("plain", true, false, false, allPerms...), Scheme: gatehouse.SchemeToken},
				want: gatehouse.EFORBIDDEN},
			{name: "superuser without is_staff", p: &gatehouse.Principal{User: f.user("nostaff", true, false, true), Scheme: gatehouse.SchemeToken},
				want: gatehouse.EFORBIDDEN},
			{name: "inactive superuser", p: &gatehouse.Principal{User: f.user("gone", false, true, true), Scheme: gatehouse.SchemeSession},
				want: gatehouse.EFORBIDDEN},
			{name: "OAuth token without admin", p: &gatehouse.Principal{User: super, Scheme: gatehouse.SchemeOAuth, Scope: "read write", ClientID: "ops"},
				want: gatehouse.EFORBIDDEN},
			{name: "OAuth admin token of another client", p: &gatehouse.Principal{User: super, Scheme: gatehouse.SchemeOAuth, Scope: "admin", ClientID: "app"},
				want: gatehouse.EFORBIDDEN},
			{name: "OAuth admin token of an admin client", p: &gatehouse.Principal{User: staff, Scheme: gatehouse.SchemeOAuth, Scope: "read admin", ClientID: "ops"},
				viewUser: true},
			{name: "admin client alone", p: &gatehouse.Principal{Scheme: gatehouse.SchemeOAuth, Scope: "admin", ClientID: "ops"}, superuser: true, viewUser: true},
			{name: "other client alone", p: &gatehouse.Principal{Scheme: gatehouse.SchemeOAuth, Scope: "admin", ClientID: "app"}, want: gatehouse.EFORBIDDEN},
			{name: "admin client alone without the scope", p: &gatehouse.Principal{Scheme: gatehouse.SchemeOAuth, Scope: "read", ClientID: "ops"},
				want: gatehouse.EFORBIDDEN},
		}
		for _, tc := range tests {
			a, err := f.svc.ActorFor(ctx, tc.p)
			if code(err) != tc.want {
				t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
				continue
			}
			if err != nil {
				continue
			}
			if a.Superuser() != tc.superuser || a.Can(admin.PermViewUser) != tc.viewUser || a.Can(admin.PermDeleteUser) != tc.superuser {
				t.Errorf("%s: superuser %v, view_user %v", tc.name, a.Superuser(), a.Can(admin.PermViewUser))
			}
			if _, err := f.svc.ListUsers(ctx, a, admin.UserQuery{}, admin.Page{}); (err == nil) != tc.viewUser {
				t.Errorf("%s: ListUsers: %v", tc.name, err)
			}
		}
		if (admin.Actor{}).Can(admin.PermViewUser) {
			t.Error("the zero Actor may view users")
		}
	})
}

// Each operation needs its Django permission: a staff user holding only
// that one may, one holding every other may not (EFORBIDDEN, and nothing
// changed), a superuser may.
func TestPermissionMatrix(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		var n int
		fresh := func() gatehouse.User { n++; return f.user("target"+strings.Repeat("y", n), true, false, false) }
		group := func() gatehouse.Group {
			n++
			g := gatehouse.Group{Name: "g" + strings.Repeat("y", n)}
			if err := f.st.CreateGroup(ctx, &g); err != nil {
				t.Fatal(err)
			}
			return g
		}
		ops := []struct {
			name  string
			perms []string // any one of them allows
			run   func(a admin.Actor) error
		}{
			{"ListUsers", []string{admin.PermViewUser, admin.PermChangeUser}, func(a admin.Actor) error {
				_, err := f.svc.ListUsers(ctx, a, admin.UserQuery{}, admin.Page{})
				return err
			}},
			{"User", []string{admin.PermViewUser, admin.PermChangeUser}, func(a admin.Actor) error {
				_, err := f.svc.User(ctx, a, fresh().ID)
				return err
			}},
			{"UserCredentials", []string{admin.PermViewUser, admin.PermChangeUser}, func(a admin.Actor) error {
				_, err := f.svc.UserCredentials(ctx, a, fresh().ID, admin.StateLive, admin.Page{})
				return err
			}},
			{"CreateUser", []string{admin.PermAddUser}, func(a admin.Actor) error {
				n++
				_, err := f.svc.CreateUser(ctx, a, admin.NewUser{Username: "new" + strings.Repeat("z", n), Password: "a-long-passphrase"})
				return err
			}},
			{"UpdateUser", []string{admin.PermChangeUser}, func(a admin.Actor) error {
				name := "Changed"
				_, err := f.svc.UpdateUser(ctx, a, fresh().ID, admin.UserPatch{FirstName: &name})
				return err
			}},
			{"SetPassword", []string{admin.PermChangeUser}, func(a admin.Actor) error {
				return f.svc.SetPassword(ctx, a, fresh().ID, "another-long-passphrase")
			}},
			{"LogOutEverywhere", []string{admin.PermChangeUser}, func(a admin.Actor) error {
				return f.svc.LogOutEverywhere(ctx, a, fresh().ID)
			}},
			{"DeleteUser", []string{admin.PermDeleteUser}, func(a admin.Actor) error {
				return f.svc.DeleteUser(ctx, a, fresh().ID)
			}},
			{"Groups", []string{admin.PermViewGroup, admin.PermChangeGroup}, func(a admin.Actor) error {
				_, err := f.svc.Groups(ctx, a, admin.Page{})
				return err
			}},
			{"Group", []string{admin.PermViewGroup, admin.PermChangeGroup}, func(a admin.Actor) error {
				_, err := f.svc.Group(ctx, a, group().ID)
				return err
			}},
			{"CreateGroup", []string{admin.PermAddGroup}, func(a admin.Actor) error {
				n++
				_, err := f.svc.CreateGroup(ctx, a, "new"+strings.Repeat("z", n), nil)
				return err
			}},
			{"UpdateGroup", []string{admin.PermChangeGroup}, func(a admin.Actor) error {
				n++
				name := "renamed" + strings.Repeat("z", n)
				_, err := f.svc.UpdateGroup(ctx, a, group().ID, admin.GroupPatch{Name: &name})
				return err
			}},
			{"DeleteGroup", []string{admin.PermDeleteGroup}, func(a admin.Actor) error {
				return f.svc.DeleteGroup(ctx, a, group().ID)
			}},
		}
		for _, op := range ops {
			for _, p := range op.perms {
				if err := op.run(f.actor(p)); err != nil {
					t.Errorf("%s with %s: %v", op.name, p, err)
				}
			}
			var others []string
			for _, p := range allPerms {
				if !slices.Contains(op.perms, p) {
					others = append(others, p)
				}
			}
			before, _ := f.st.CountUsers(ctx, gatehouse.UserFilter{})
			if err := op.run(f.actor(others...)); code(err) != gatehouse.EFORBIDDEN {
				t.Errorf("%s with every other permission: %v, want forbidden", op.name, err)
			}
			// The refusal wrote nothing: the only new user is the
			// actor made for it (and a fresh target, for some).
			if after, _ := f.st.CountUsers(ctx, gatehouse.UserFilter{}); after > before+2 {
				t.Errorf("%s refused but the users went from %d to %d", op.name, before, after)
			}
			if err := op.run(f.root()); err != nil {
				t.Errorf("%s as superuser: %v", op.name, err)
			}
		}
		// Permissions: view_permission, or any of the user or group
		// permissions (who hands permissions out sees them).
		if _, err := f.svc.Permissions(ctx, f.actor(admin.PermViewPermission), admin.Page{}); err != nil {
			t.Error(err)
		}
		if _, err := f.svc.Permissions(ctx, f.actor("shop.view_item"), admin.Page{}); code(err) != gatehouse.EFORBIDDEN {
			t.Errorf("Permissions with shop.view_item: %v", err)
		}
	})
}

// A staff user who is not a superuser cannot climb: is_staff and
// is_superuser are a superuser's to set, staff accounts a superuser's to
// change, and groups and permissions one's own to hand out.
func TestNoEscalation(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		a := f.actor(admin.PermChangeUser, admin.PermAddUser, admin.PermDeleteUser, admin.PermChangeGroup, admin.PermAddGroup, admin.PermDeleteGroup)
		plain := f.user("plain", true, false, false)
		other := f.user("otherstaff", true, true, false)
		super := f.user("super", true, true, true)
		yes := true
		view := f.perms["shop.view_item"]
		change := f.perms[admin.PermChangeUser]
		for name, err := range map[string]error{
			"set is_staff":                     second(f.svc.UpdateUser(ctx, a, plain.ID, admin.UserPatch{IsStaff: &yes})),
			"set is_superuser":                 second(f.svc.UpdateUser(ctx, a, plain.ID, admin.UserPatch{IsSuperuser: &yes})),
			"grant self superuser":             second(f.svc.UpdateUser(ctx, a, a.User.ID, admin.UserPatch{IsSuperuser: &yes})),
			"create staff":                     second(f.svc.CreateUser(ctx, a, admin.NewUser{Username: "sneaky", Password: "a-long-passphrase", IsStaff: true})),
			"change another staff":             second(f.svc.UpdateUser(ctx, a, other.ID, admin.UserPatch{Email: ptr("x@example.com")})),
			"password of superuser":            f.svc.SetPassword(ctx, a, super.ID, "another-long-passphrase"),
			"delete a superuser":               f.svc.DeleteUser(ctx, a, super.ID),
			"log out another staff":            f.svc.LogOutEverywhere(ctx, a, other.ID),
			"grant a permission not held":      second(f.svc.UpdateUser(ctx, a, plain.ID, admin.UserPatch{Permissions: &[]int64{view}})),
			"give self a permission":           second(f.svc.UpdateUser(ctx, a, a.User.ID, admin.UserPatch{Permissions: &[]int64{view, change}})),
			"group with a permission not held": second(f.svc.CreateGroup(ctx, a, "wide", []int64{view})),
		} {
			if code(err) != gatehouse.EFORBIDDEN {
				t.Errorf("%s: %v, want forbidden", name, err)
			}
		}
		if u, _ := f.st.User(ctx, plain.ID); u.IsStaff || u.IsSuperuser {
			t.Fatalf("plain changed: %+v", u)
		}
		if _, err := f.st.UserByUsername(ctx, "sneaky"); err == nil {
			t.Fatal("the refused staff user was created")
		}
		if g, p, _ := f.st.UserLinks(ctx, plain.ID); len(g)+len(p) != 0 {
			t.Fatalf("plain got %v %v", g, p)
		}
		// What the actor holds, they may hand out; a group of it too, and
		// a member of it.
		d, err := f.svc.UpdateUser(ctx, a, plain.ID, admin.UserPatch{Permissions: &[]int64{change}})
		if err != nil || !slices.Equal(d.Permissions, []int64{change}) {
			t.Fatalf("granting a held permission: %+v, %v", d, err)
		}
		g, err := f.svc.CreateGroup(ctx, a, "clerks", []int64{change})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.UpdateUser(ctx, a, plain.ID, admin.UserPatch{Groups: &[]int64{g.ID}}); err != nil {
			t.Fatal(err)
		}
		// A superuser may do all of it.
		r := f.root()
		if d, err := f.svc.UpdateUser(ctx, r, plain.ID, admin.UserPatch{IsStaff: &yes, Permissions: &[]int64{view}}); err != nil || !d.User.IsStaff {
			t.Fatalf("superuser: %+v, %v", d, err)
		}
	})
}

// Who may set a user's password or e-mail address may log in as them: a
// staff user acts on no one holding a permission they do not hold
// (directly or through a group), and on anyone holding only what they
// hold. Found by an admin-UI pass: change_user alone took over accounts
// that held delete permissions.
func TestNoTakeover(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		a := f.actor(admin.PermChangeUser, admin.PermViewUser, admin.PermDeleteUser)
		direct := f.user("direct", true, false, false, "shop.view_item")
		member := f.user("member", true, false, false)
		g, err := f.svc.CreateGroup(ctx, f.root(), "viewers", []int64{f.perms["shop.view_item"]})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.UpdateUser(ctx, f.root(), member.ID, admin.UserPatch{Groups: &[]int64{g.ID}}); err != nil {
			t.Fatal(err)
		}
		for _, u := range []gatehouse.User{direct, member} {
			for name, err := range map[string]error{
				"password":           f.svc.SetPassword(ctx, a, u.ID, "another-long-passphrase"),
				"email":              second(f.svc.UpdateUser(ctx, a, u.ID, admin.UserPatch{Email: ptr("mallory@example.com")})),
				"username":           second(f.svc.UpdateUser(ctx, a, u.ID, admin.UserPatch{Username: ptr("mallory")})),
				"log out everywhere": f.svc.LogOutEverywhere(ctx, a, u.ID),
				"delete":             f.svc.DeleteUser(ctx, a, u.ID),
			} {
				if code(err) != gatehouse.EFORBIDDEN || !strings.Contains(gatehouse.ErrorMessage(err), "holds permissions you do not") {
					t.Errorf("%s of %s: %v, want forbidden", name, u.Username, err)
				}
			}
			if got, err := f.st.User(ctx, u.ID); err != nil || got.Email != u.Username+"@example.com" || got.Username != u.Username || got.Password != "!" {
				t.Errorf("%s changed: %+v %v", u.Username, got, err)
			}
		}
		// Holding only what the actor holds (or nothing): allowed.
		peer := f.user("peer", true, false, false, admin.PermViewUser)
		if _, err := f.svc.UpdateUser(ctx, a, peer.ID, admin.UserPatch{Email: ptr("peer@example.org")}); err != nil {
			t.Errorf("a user holding less: %v", err)
		}
		if err := f.svc.SetPassword(ctx, a, peer.ID, "another-long-passphrase"); err != nil {
			t.Errorf("password of a user holding less: %v", err)
		}
		// A superuser may.
		if err := f.svc.SetPassword(ctx, f.root(), direct.ID, "another-long-passphrase"); err != nil {
			t.Errorf("superuser: %v", err)
		}
	})
}

// An administrator cannot deactivate themselves or take their own staff
// or superuser status (as they cannot delete themselves): the last
// superuser would leave the site to the command line. Another may.
func TestNoSelfLockout(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		r := f.root()
		no, yes := false, true
		for name, p := range map[string]admin.UserPatch{
			"deactivate":        {IsActive: &no},
			"unset staff":       {IsStaff: &no},
			"unset superuser":   {IsSuperuser: &no, FirstName: ptr("Root")},
			"all three at once": {IsActive: &no, IsStaff: &no, IsSuperuser: &no},
		} {
			_, err := f.svc.UpdateUser(ctx, r, r.User.ID, p)
			if code(err) != gatehouse.EINVALID || !strings.Contains(gatehouse.ErrorMessage(err)+fmt.Sprint(err), "You cannot take this status from yourself") {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
		if got, _ := f.st.User(ctx, r.User.ID); !got.IsActive || !got.IsStaff || !got.IsSuperuser || got.FirstName != "" {
			t.Fatalf("refused self-changes wrote: %+v", got)
		}
		// Flags sent unchanged (a form sends them all) are no change.
		if _, err := f.svc.UpdateUser(ctx, r, r.User.ID, admin.UserPatch{IsActive: &yes, IsStaff: &yes, IsSuperuser: &yes, FirstName: ptr("Root")}); err != nil {
			t.Errorf("an unchanged form: %v", err)
		}
		staff := f.actor(admin.PermChangeUser)
		if _, err := f.svc.UpdateUser(ctx, staff, staff.User.ID, admin.UserPatch{IsActive: &no}); code(err) != gatehouse.EINVALID {
			t.Errorf("staff deactivating themselves: %v", err)
		}
		if d, err := f.svc.UpdateUser(ctx, f.root(), r.User.ID, admin.UserPatch{IsSuperuser: &no}); err != nil || d.User.IsSuperuser {
			t.Errorf("another superuser: %+v %v", d, err)
		}
	})
}

func second[T any](_ T, err error) error { return err }

func ptr[T any](v T) *T { return &v }

// A change is one transaction: any refused field leaves the user as it
// was; a deactivation ends the user's credentials; each change is
// audited with the fields' names, never a password.
func TestUpdateUser(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		ctx := gatehouse.WithRequest(t.Context(), &gatehouse.RequestInfo{ID: "req-1"})
		r := f.root()
		u := f.user("alice", true, false, false)
		f.user("bob", true, false, false)
		tok := gatehouse.Token{Hash: []byte("h"), Prefix: "p", Created: time.Now()}
		tok.UserID = u.ID
		if err := f.st.CreateToken(ctx, &tok); err != nil {
			t.Fatal(err)
		}
		for name, p := range map[string]admin.UserPatch{
			"taken username":     {Username: ptr("bob"), FirstName: ptr("Mallory")},
			"bad username":       {Username: ptr("a b"), FirstName: ptr("Mallory")},
			"blank username":     {Username: ptr(""), FirstName: ptr("Mallory")},
			"bad email":          {Email: ptr("nope"), FirstName: ptr("Mallory")},
			"long name":          {FirstName: ptr(strings.Repeat("x", 151))},
			"unknown group":      {Groups: &[]int64{9999}, FirstName: ptr("Mallory")},
			"unknown permission": {Permissions: &[]int64{9999}, FirstName: ptr("Mallory")},
		} {
			if _, err := f.svc.UpdateUser(ctx, r, u.ID, p); code(err) != gatehouse.EINVALID {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
		if got, _ := f.st.User(ctx, u.ID); got.FirstName != "" || got.Username != "alice" || got.Email != "alice@example.com" {
			t.Fatalf("a refused change wrote: %+v", got)
		}
		if _, err := f.svc.UpdateUser(ctx, r, 9999, admin.UserPatch{}); code(err) != gatehouse.ENOTFOUND {
			t.Fatalf("unknown user: %v", err)
		}
		// Renaming to the same name is no clash.
		if _, err := f.svc.UpdateUser(ctx, r, u.ID, admin.UserPatch{Username: ptr("alice"), Email: ptr("a@example.org")}); err != nil {
			t.Fatal(err)
		}
		no := false
		d, err := f.svc.UpdateUser(ctx, r, u.ID, admin.UserPatch{IsActive: &no})
		if err != nil || d.User.IsActive {
			t.Fatalf("deactivate: %+v, %v", d, err)
		}
		if toks, _ := f.st.Tokens(ctx, u.ID); len(toks) != 0 {
			t.Fatalf("deactivation left %d tokens", len(toks))
		}
		got := f.audit.names()
		want := []string{gatehouse.AuditUserChanged, gatehouse.AuditUserChanged, gatehouse.AuditUserDeactivated}
		if !slices.Equal(got[len(got)-3:], want) {
			t.Fatalf("events %v, want to end with %v", got, want)
		}
		last := f.audit.list[len(f.audit.list)-2]
		if last.Detail["fields"] != "is_active" || last.Detail["active"] != "false" || last.UserID != u.ID {
			t.Fatalf("user.changed: %+v", last)
		}
		// Setting a password runs the validators, and ends credentials.
		if err := f.svc.SetPassword(ctx, r, u.ID, "short"); code(err) != gatehouse.EINVALID {
			t.Fatalf("short password: %v", err)
		}
		for _, ev := range f.audit.list {
			for _, v := range ev.Detail {
				if strings.Contains(v, "passphrase") || strings.Contains(v, "short") {
					t.Fatalf("a password in the audit log: %+v", ev)
				}
			}
		}
	})
}

// Creating users: accounts' validators, one field error list, nothing
// written on a refusal; groups and permissions in the same request.
func TestCreateUser(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		r := f.root()
		f.user("taken", true, false, false)
		g := gatehouse.Group{Name: "editors"}
		if err := f.st.CreateGroup(ctx, &g); err != nil {
			t.Fatal(err)
		}
		before, _ := f.st.CountUsers(ctx, gatehouse.UserFilter{})
		for name, n := range map[string]admin.NewUser{
			"taken":         {Username: "taken", Password: "a-long-passphrase"},
			"short":         {Username: "fresh", Password: "short"},
			"bad email":     {Username: "fresh", Password: "a-long-passphrase", Email: "x"},
			"unknown group": {Username: "fresh", Password: "a-long-passphrase", Groups: []int64{9999}},
			"blank":         {Username: "", Password: ""},
		} {
			_, err := f.svc.CreateUser(ctx, r, n)
			if code(err) != gatehouse.EINVALID {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
		if after, _ := f.st.CountUsers(ctx, gatehouse.UserFilter{}); after != before {
			t.Fatalf("refusals created users: %d → %d", before, after)
		}
		no := false
		d, err := f.svc.CreateUser(ctx, r, admin.NewUser{Username: "fresh", Password: "a-long-passphrase", IsActive: &no,
			Groups: []int64{g.ID}, Permissions: []int64{f.perms["shop.view_item"]}})
		if err != nil {
			t.Fatal(err)
		}
		if d.User.IsActive || !slices.Equal(d.Groups, []int64{g.ID}) || len(d.Permissions) != 1 {
			t.Fatalf("created %+v", d)
		}
		stored, err := f.svc.User(ctx, r, d.User.ID)
		if err != nil || stored.User.IsActive || !slices.Equal(stored.Groups, d.Groups) || !slices.Equal(stored.Permissions, d.Permissions) {
			t.Fatalf("read back %+v, %v", stored, err)
		}
	})
}

// Groups: names unique and bounded, permissions that exist, one
// transaction each.
func TestGroups(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		r := f.root()
		g, err := f.svc.CreateGroup(ctx, r, "  editors ", []int64{f.perms[admin.PermViewUser]})
		if err != nil || g.Name != "editors" {
			t.Fatalf("%+v, %v", g, err)
		}
		for name, run := range map[string]func() error{
			"duplicate": func() error { return second(f.svc.CreateGroup(ctx, r, "editors", nil)) },
			"blank":     func() error { return second(f.svc.CreateGroup(ctx, r, " ", nil)) },
			"long":      func() error { return second(f.svc.CreateGroup(ctx, r, strings.Repeat("x", 151), nil)) },
			"unknown permission": func() error {
				return second(f.svc.UpdateGroup(ctx, r, g.ID, admin.GroupPatch{Name: ptr("renamed"), Permissions: &[]int64{9999}}))
			},
		} {
			if code(run()) != gatehouse.EINVALID {
				t.Errorf("%s: not invalid", name)
			}
		}
		if got, _ := f.svc.Group(ctx, r, g.ID); got.Name != "editors" || !slices.Equal(got.Permissions, []int64{f.perms[admin.PermViewUser]}) {
			t.Fatalf("refusals changed the group: %+v", got)
		}
		if _, err := f.svc.Group(ctx, r, 9999); code(err) != gatehouse.ENOTFOUND {
			t.Fatal(err)
		}
		if err := f.svc.DeleteGroup(ctx, r, 9999); code(err) != gatehouse.ENOTFOUND {
			t.Fatal(err)
		}
		l, err := f.svc.Groups(ctx, r, admin.Page{Size: 1})
		if err != nil || l.Count != 1 || len(l.Items) != 1 || l.Pages() != 1 {
			t.Fatalf("%+v, %v", l, err)
		}
		if l, _ := f.svc.Groups(ctx, r, admin.Page{Number: 2, Size: 1}); !l.OutOfRange() {
			t.Fatalf("page 2 of 1: %+v", l)
		}
	})
}
