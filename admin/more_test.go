package admin_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/admin"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// forgotten records what the service dropped from the caches.
type forgotten struct {
	users  []int64
	hashes [][]byte
	apps   []string
}

// withClients rebuilds f's service with oauth.Clients and the cache
// droppers recording into the returned forgotten, and stores the token
// and application permissions.
func withClients(f *fixture) *forgotten {
	f.t.Helper()
	fg := &forgotten{}
	clients := oauth.NewClients(f.st, gatehouse.NewSecretHasher("test-server-secret-0123456789"), oauth.DefaultConfig(), nil, nil, f.audit)
	f.svc = admin.New(admin.Deps{Accounts: f.acc, Users: f.st, Permissions: f.st, Credentials: f.st, Applications: f.st, AuditLog: f.st,
		Clients: clients, Audit: f.audit, Config: admin.Config{AdminClients: []string{"ops"}},
		Forget:            func(id int64) { fg.users = append(fg.users, id) },
		ForgetAccess:      func(h [][]byte) { fg.hashes = append(fg.hashes, h...) },
		ForgetApplication: func(id string) { fg.apps = append(fg.apps, id) }})
	for _, key := range []string{admin.PermViewDRFToken, admin.PermDeleteDRFToken, admin.PermViewAccessToken, admin.PermDeleteAccessToken,
		admin.PermViewRefreshToken, admin.PermDeleteRefreshToken, admin.PermViewApplication, admin.PermAddApplication,
		admin.PermChangeApp, admin.PermDeleteApp} {
		app, code, _ := strings.Cut(key, ".")
		p := gatehouse.Permission{Name: key, Codename: code, AppLabel: app, Model: "m"}
		if err := f.st.CreatePermission(f.t.Context(), &p); err != nil {
			f.t.Fatal(err)
		}
		f.perms[key] = p.ID
	}
	return fg
}

// credentialsFor gives u n DRF keys and, from app, n OAuth pairs.
func credentialsFor(f *fixture, u gatehouse.User, app gatehouse.Application, n int) {
	f.t.Helper()
	now := time.Now()
	for i := range n {
		tok := gatehouse.Token{UserID: u.ID, Hash: secret.Hash(fmt.Sprint(u.Username, "drf", i)), Prefix: "p", Name: fmt.Sprint(i), Created: now.Add(time.Duration(i) * time.Second)}
		if err := f.st.CreateToken(f.t.Context(), &tok); err != nil {
			f.t.Fatal(err)
		}
		uid := u.ID
		at := &gatehouse.AccessToken{Hash: secret.Hash(fmt.Sprint(u.Username, "at", i)), UserID: &uid, ApplicationID: app.ID, Scope: "read",
			Created: now, Expires: now.Add(time.Hour)}
		rt := &gatehouse.RefreshToken{Hash: secret.Hash(fmt.Sprint(u.Username, "rt", i)), UserID: &uid, ApplicationID: app.ID, Scope: "read", Created: now}
		if err := f.st.CreateTokens(f.t.Context(), at, rt, nil); err != nil {
			f.t.Fatal(err)
		}
	}
}

func codeOf(err error) string { return gatehouse.ErrorCode(err) }

// Credentials are paged kind after kind: pages of any size put together
// are the whole listing; a staff user sees only the kinds they may view.
func TestCredentialPages(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		withClients(f)
		ctx := t.Context()
		root := f.root()
		app, _, err := f.svc.CreateApplication(ctx, root, admin.NewApplication{ClientID: "shop", GrantTypes: []string{gatehouse.GrantPassword}})
		if err != nil {
			t.Fatal(err)
		}
		alice := f.user("alice", true, false, false)
		credentialsFor(f, alice, app, 3)
		q := admin.CredentialQuery{UserID: alice.ID}
		whole, err := f.svc.Credentials(ctx, root, q, admin.Page{Size: 1000})
		// Three DRF keys and the default one, three OAuth pairs.
		if err != nil || whole.Count != 10 || len(whole.Items) != 10 {
			t.Fatalf("whole: %d items of %d, %v", len(whole.Items), whole.Count, err)
		}
		for _, size := range []int{1, 2, 4} {
			var got []string
			for n := 1; ; n++ {
				l, err := f.svc.Credentials(ctx, root, q, admin.Page{Number: n, Size: size})
				if err != nil {
					t.Fatal(err)
				}
				if l.OutOfRange() {
					break
				}
				for _, c := range l.Items {
					got = append(got, c.Kind+"/"+c.ID)
				}
			}
			var want []string
			for _, c := range whole.Items {
				want = append(want, c.Kind+"/"+c.ID)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("pages of %d: %v, want %v", size, got, want)
			}
		}
		drf := f.actor(admin.PermViewDRFToken)
		l, err := f.svc.Credentials(ctx, drf, q, admin.Page{})
		if err != nil || l.Count != 4 || l.Items[0].Kind != gatehouse.CredentialDRF {
			t.Fatalf("drf viewer: %+v %v", l, err)
		}
		if _, err := f.svc.Credentials(ctx, drf, admin.CredentialQuery{Kind: gatehouse.CredentialOAuthAccess}, admin.Page{}); codeOf(err) != gatehouse.EFORBIDDEN {
			t.Fatalf("drf viewer asking for OAuth tokens: %v", err)
		}
		if _, err := f.svc.Credentials(ctx, f.actor(admin.PermViewUser), q, admin.Page{}); codeOf(err) != gatehouse.EFORBIDDEN {
			t.Fatalf("no token permission: %v", err)
		}
		ended, err := f.svc.Credentials(ctx, root, admin.CredentialQuery{UserID: alice.ID, State: admin.StateEnded}, admin.Page{})
		if err != nil || ended.Count != 0 {
			t.Fatalf("ended before any revocation: %+v %v", ended, err)
		}
	})
}

// Revocation: refused ones end nothing; the others drop the users and
// access tokens from the cache and are audited.
func TestRevokeCredentials(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		fg := withClients(f)
		ctx := t.Context()
		root := f.root()
		app, _, _ := f.svc.CreateApplication(ctx, root, admin.NewApplication{ClientID: "shop", GrantTypes: []string{gatehouse.GrantPassword}})
		alice, boss := f.user("alice", true, false, false), f.user("boss", true, true, false)
		credentialsFor(f, alice, app, 2)
		credentialsFor(f, boss, app, 1)
		tokman := f.actor(admin.PermDeleteDRFToken, admin.PermDeleteAccessToken, admin.PermDeleteRefreshToken)
		live := func() int {
			l, err := f.svc.Credentials(ctx, root, admin.CredentialQuery{}, admin.Page{Size: 1000})
			if err != nil {
				t.Fatal(err)
			}
			return l.Count
		}
		drfOnly, userOnly := f.actor(admin.PermDeleteDRFToken), f.actor(admin.PermChangeUser)
		before := live()
		for name, tc := range map[string]struct {
			a    admin.Actor
			r    admin.Revocation
			code string
		}{
			"nothing named":     {root, admin.Revocation{Query: &admin.CredentialQuery{}}, gatehouse.EINVALID},
			"neither":           {root, admin.Revocation{}, gatehouse.EINVALID},
			"unknown id":        {root, admin.Revocation{IDs: []admin.CredentialRef{{Kind: gatehouse.CredentialDRF, ID: "999999"}}}, gatehouse.EINVALID},
			"unknown kind":      {root, admin.Revocation{IDs: []admin.CredentialRef{{Kind: "cookie", ID: "1"}}}, gatehouse.EINVALID},
			"unknown user":      {root, admin.Revocation{Query: &admin.CredentialQuery{UserID: 999999}}, gatehouse.EINVALID},
			"unknown client":    {root, admin.Revocation{Query: &admin.CredentialQuery{ClientID: "nope"}}, gatehouse.EINVALID},
			"staff's, by staff": {tokman, admin.Revocation{Query: &admin.CredentialQuery{UserID: boss.ID}}, gatehouse.EFORBIDDEN},
			"no user, by staff": {tokman, admin.Revocation{Query: &admin.CredentialQuery{Kind: gatehouse.CredentialDRF}}, gatehouse.EFORBIDDEN},
			"kind not allowed":  {drfOnly, admin.Revocation{Query: &admin.CredentialQuery{UserID: alice.ID}}, gatehouse.EFORBIDDEN},
			"no permission":     {userOnly, admin.Revocation{Query: &admin.CredentialQuery{UserID: alice.ID}}, gatehouse.EFORBIDDEN},
		} {
			if _, err := f.svc.RevokeCredentials(ctx, tc.a, tc.r); codeOf(err) != tc.code {
				t.Fatalf("%s: %v, want %s", name, err, tc.code)
			}
		}
		if n := live(); n != before || len(fg.hashes)+len(fg.users) != 0 {
			t.Fatalf("a refused revocation ended something: %d → %d, forgot %+v", before, n, fg)
		}
		if n, err := f.svc.RevokeCredentials(ctx, root, admin.Revocation{Query: &admin.CredentialQuery{ClientID: "shop", Kind: gatehouse.CredentialDRF}}); err != nil || n != 0 || live() != before {
			t.Fatalf("a client's DRF keys (there are none): %d %v", n, err)
		}
		n, err := f.svc.RevokeCredentials(ctx, tokman, admin.Revocation{Query: &admin.CredentialQuery{UserID: alice.ID, ClientID: "shop"}})
		if err != nil || n != 4 {
			t.Fatalf("alice's OAuth tokens: %d %v", n, err)
		}
		if len(fg.hashes) != 2 || !slices.Contains(fg.users, alice.ID) {
			t.Fatalf("cache not dropped: %+v", fg)
		}
		if n := live(); n != before-4 {
			t.Fatalf("live after: %d, want %d", n, before-4)
		}
		var audited bool
		for _, ev := range f.audit.list {
			audited = audited || ev.Event == gatehouse.AuditCredentialsRevoked && ev.UserID == alice.ID && ev.Detail["count"] == "4"
		}
		if !audited {
			t.Fatalf("not audited: %v", f.audit.names())
		}
	})
}

// Applications: the admin clients are the superusers'; a deletion counts
// and revokes first; every change drops the provider's cached copy.
func TestApplicationRules(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		fg := withClients(f)
		ctx := t.Context()
		root := f.root()
		appman := f.actor(admin.PermAddApplication, admin.PermChangeApp, admin.PermDeleteApp)
		if _, _, err := f.svc.CreateApplication(ctx, appman, admin.NewApplication{ClientID: "ops", GrantTypes: []string{gatehouse.GrantClientCredentials}}); err != nil {
			t.Fatal(err)
		}
		name := "mine"
		if _, _, err := f.svc.UpdateApplication(ctx, appman, "ops", admin.ApplicationPatch{Name: &name}); codeOf(err) != gatehouse.EFORBIDDEN {
			t.Fatalf("staff changing an admin client: %v", err)
		}
		if _, err := f.svc.RotateApplicationSecret(ctx, appman, "ops"); codeOf(err) != gatehouse.EFORBIDDEN {
			t.Fatalf("staff rotating an admin client's secret: %v", err)
		}
		if _, err := f.svc.RotateApplicationSecret(ctx, root, "ops"); err != nil {
			t.Fatal(err)
		}
		app, _, err := f.svc.CreateApplication(ctx, appman, admin.NewApplication{ClientID: "shop", GrantTypes: []string{gatehouse.GrantPassword}})
		if err != nil {
			t.Fatal(err)
		}
		bad := []string{"https://shop.example/cb#x"}
		if _, _, err := f.svc.UpdateApplication(ctx, appman, "shop", admin.ApplicationPatch{Name: &name, RedirectURIs: &bad}); codeOf(err) != gatehouse.EINVALID {
			t.Fatalf("bad redirect: %v", err)
		}
		if d, _ := f.svc.Application(ctx, root, "shop"); d.Application.Name != "" || len(d.Application.RedirectURIs) != 0 {
			t.Fatalf("half-written: %+v", d.Application)
		}
		alice := f.user("alice", true, false, false)
		credentialsFor(f, alice, app, 2)
		g := gatehouse.Grant{CodeHash: secret.Hash("code"), ApplicationID: app.ID, UserID: alice.ID, Created: time.Now(), Expires: time.Now().Add(time.Minute)}
		if err := f.st.CreateGrant(ctx, &g); err != nil {
			t.Fatal(err)
		}
		d, err := f.svc.Application(ctx, f.actor(admin.PermViewApplication), "shop")
		if err != nil || d.LiveTokens[gatehouse.CredentialOAuthAccess] != 2 || d.LiveGrants != 1 {
			t.Fatalf("detail %+v %v", d, err)
		}
		removed, err := f.svc.DeleteApplication(ctx, appman, "shop")
		if err != nil || removed.Tokens[gatehouse.CredentialOAuthRefresh] != 2 || removed.Grants != 1 {
			t.Fatalf("removed %+v %v", removed, err)
		}
		if len(fg.hashes) != 2 || !slices.Contains(fg.apps, "shop") || !slices.Contains(fg.apps, "ops") {
			t.Fatalf("caches not dropped: %+v", fg)
		}
		if _, err := f.svc.Application(ctx, root, "shop"); codeOf(err) != gatehouse.ENOTFOUND {
			t.Fatalf("after deletion: %v", err)
		}
		if _, err := f.svc.DeleteApplication(ctx, appman, "shop"); codeOf(err) != gatehouse.ENOTFOUND {
			t.Fatalf("deleted twice: %v", err)
		}
		if _, err := f.svc.Applications(ctx, f.actor(admin.PermViewUser), admin.Page{}); codeOf(err) != gatehouse.EFORBIDDEN {
			t.Fatalf("list without the permission: %v", err)
		}
		for _, op := range []func(admin.Actor) error{
			func(a admin.Actor) error { _, err := f.svc.AuditLog(ctx, a, admin.AuditQuery{}); return err },
			func(a admin.Actor) error { _, err := f.svc.Keys(ctx, a); return err },
			func(a admin.Actor) error { _, err := f.svc.RotateKey(ctx, a); return err },
			func(a admin.Actor) error { _, err := f.svc.Status(ctx, a); return err },
		} {
			if err := op(appman); codeOf(err) != gatehouse.EFORBIDDEN {
				t.Fatalf("superuser-only operation by staff: %v", err)
			}
		}
		if _, err := f.svc.Keys(ctx, root); codeOf(err) != gatehouse.ENOTFOUND {
			t.Fatalf("keys without a manager: %v", err)
		}
	})
}
