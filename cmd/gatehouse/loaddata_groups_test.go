package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/store"
)

// Dumps printed by Django 3.2's dumpdata (Debian's python3-django) for a
// project with the groups editors (add_user, change_user) and "Zürich
// readers" (none), alice in both with view_group of her own, bob in none,
// and the superuser root; the project's other permissions and content
// types were deleted to keep the dumps short.
const (
	// python manage.py dumpdata auth contenttypes
	djangoGroupsPlain = `[{"model": "auth.permission", "pk": 12, "fields": {"name": "Can view group", "content_type": 3, "codename": "view_group"}}, {"model": "auth.permission", "pk": 13, "fields": {"name": "Can add user", "content_type": 4, "codename": "add_user"}}, {"model": "auth.permission", "pk": 14, "fields": {"name": "Can change user", "content_type": 4, "codename": "change_user"}}, {"model": "auth.group", "pk": 1, "fields": {"name": "editors", "permissions": [13, 14]}}, {"model": "auth.group", "pk": 2, "fields": {"name": "Zürich readers", "permissions": []}}, {"model": "auth.user", "pk": 1, "fields": {"password": "pbkdf2_sha256$260000$foqMZz8IIjQMZ6pQtrY8FR$bEbh+NR9qenR1wHe/e0sGO3e0Lgj8bt2WtFZfahbhoc=", "last_login": null, "is_superuser": false, "username": "alice", "first_name": "", "last_name": "", "email": "alice@example.com", "is_staff": false, "is_active": true, "date_joined": "2026-12-01T20:33:13.018Z", "groups": [1, 2], "user_permissions": [12]}}, {"model": "auth.user", "pk": 2, "fields": {"password": "pbkdf2_sha256$260000$5EMCQzfwtwFq1MbWTLUVrC$ymKJOQheTgo1r0GQz7GVmTnWuPMFiKGRIpY+AkfC0D4=", "last_login": null, "is_superuser": false, "username": "bob", "first_name": "", "last_name": "", "email": "bob@example.com", "is_staff": false, "is_active": true, "date_joined": "2026-12-01T20:33:13.269Z", "groups": [], "user_permissions": []}}, {"model": "auth.user", "pk": 3, "fields": {"password": "pbkdf2_sha256$260000$OmP7MTSJjltHgAGWXlJW7p$+k5vfLOT20yxboC7ZyRwahTsG7vhTLz3Ujdlw87TvAg=", "last_login": null, "is_superuser": true, "username": "root", "first_name": "", "last_name": "", "email": "root@example.com", "is_staff": true, "is_active": true, "date_joined": "2026-12-01T20:33:13.410Z", "groups": [], "user_permissions": []}}, {"model": "contenttypes.contenttype", "pk": 3, "fields": {"app_label": "auth", "model": "group"}}, {"model": "contenttypes.contenttype", "pk": 4, "fields": {"app_label": "auth", "model": "user"}}]`
	// python manage.py dumpdata auth contenttypes --natural-foreign
	djangoGroupsNaturalForeign = `[{"model": "contenttypes.contenttype", "pk": 3, "fields": {"app_label": "auth", "model": "group"}}, {"model": "contenttypes.contenttype", "pk": 4, "fields": {"app_label": "auth", "model": "user"}}, {"model": "auth.permission", "pk": 12, "fields": {"name": "Can view group", "content_type": ["auth", "group"], "codename": "view_group"}}, {"model": "auth.permission", "pk": 13, "fields": {"name": "Can add user", "content_type": ["auth", "user"], "codename": "add_user"}}, {"model": "auth.permission", "pk": 14, "fields": {"name": "Can change user", "content_type": ["auth", "user"], "codename": "change_user"}}, {"model": "auth.group", "pk": 1, "fields": {"name": "editors", "permissions": [["add_user", "auth", "user"], ["change_user", "auth", "user"]]}}, {"model": "auth.group", "pk": 2, "fields": {"name": "Zürich readers", "permissions": []}}, {"model": "auth.user", "pk": 1, "fields": {"password": "pbkdf2_sha256$260000$foqMZz8IIjQMZ6pQtrY8FR$bEbh+NR9qenR1wHe/e0sGO3e0Lgj8bt2WtFZfahbhoc=", "last_login": null, "is_superuser": false, "username": "alice", "first_name": "", "last_name": "", "email": "alice@example.com", "is_staff": false, "is_active": true, "date_joined": "2026-12-01T20:33:13.018Z", "groups": [["editors"], ["Zürich readers"]], "user_permissions": [["view_group", "auth", "group"]]}}, {"model": "auth.user", "pk": 2, "fields": {"password": "pbkdf2_sha256$260000$5EMCQzfwtwFq1MbWTLUVrC$ymKJOQheTgo1r0GQz7GVmTnWuPMFiKGRIpY+AkfC0D4=", "last_login": null, "is_superuser": false, "username": "bob", "first_name": "", "last_name": "", "email": "bob@example.com", "is_staff": false, "is_active": true, "date_joined": "2026-12-01T20:33:13.269Z", "groups": [], "user_permissions": []}}, {"model": "auth.user", "pk": 3, "fields": {"password": "pbkdf2_sha256$260000$OmP7MTSJjltHgAGWXlJW7p$+k5vfLOT20yxboC7ZyRwahTsG7vhTLz3Ujdlw87TvAg=", "last_login": null, "is_superuser": true, "username": "root", "first_name": "", "last_name": "", "email": "root@example.com", "is_staff": true, "is_active": true, "date_joined": "2026-12-01T20:33:13.410Z", "groups": [], "user_permissions": []}}]`
	// python manage.py dumpdata auth contenttypes --natural-foreign --natural-primary
	djangoGroupsNaturalPrimary = `[{"model": "contenttypes.contenttype", "fields": {"app_label": "auth", "model": "group"}}, {"model": "contenttypes.contenttype", "fields": {"app_label": "auth", "model": "user"}}, {"model": "auth.permission", "fields": {"name": "Can view group", "content_type": ["auth", "group"], "codename": "view_group"}}, {"model": "auth.permission", "fields": {"name": "Can add user", "content_type": ["auth", "user"], "codename": "add_user"}}, {"model": "auth.permission", "fields": {"name": "Can change user", "content_type": ["auth", "user"], "codename": "change_user"}}, {"model": "auth.group", "fields": {"name": "editors", "permissions": [["add_user", "auth", "user"], ["change_user", "auth", "user"]]}}, {"model": "auth.group", "fields": {"name": "Zürich readers", "permissions": []}}, {"model": "auth.user", "fields": {"password": "pbkdf2_sha256$260000$foqMZz8IIjQMZ6pQtrY8FR$bEbh+NR9qenR1wHe/e0sGO3e0Lgj8bt2WtFZfahbhoc=", "last_login": null, "is_superuser": false, "username": "alice", "first_name": "", "last_name": "", "email": "alice@example.com", "is_staff": false, "is_active": true, "date_joined": "2026-12-01T20:33:13.018Z", "groups": [["editors"], ["Zürich readers"]], "user_permissions": [["view_group", "auth", "group"]]}}, {"model": "auth.user", "fields": {"password": "pbkdf2_sha256$260000$5EMCQzfwtwFq1MbWTLUVrC$ymKJOQheTgo1r0GQz7GVmTnWuPMFiKGRIpY+AkfC0D4=", "last_login": null, "is_superuser": false, "username": "bob", "first_name": "", "last_name": "", "email": "bob@example.com", "is_staff": false, "is_active": true, "date_joined": "2026-12-01T20:33:13.269Z", "groups": [], "user_permissions": []}}, {"model": "auth.user", "fields": {"password": "pbkdf2_sha256$260000$OmP7MTSJjltHgAGWXlJW7p$+k5vfLOT20yxboC7ZyRwahTsG7vhTLz3Ujdlw87TvAg=", "last_login": null, "is_superuser": true, "username": "root", "first_name": "", "last_name": "", "email": "root@example.com", "is_staff": true, "is_active": true, "date_joined": "2026-12-01T20:33:13.410Z", "groups": [], "user_permissions": []}}]`
)

// permissionState is what a database holds of the groups and permissions
// and of the users' (alice, bob, root).
func permissionState(t *testing.T, dbURL string) map[string]any {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out := map[string]any{}
	if out["permissions"], err = st.Permissions(ctx); err != nil {
		t.Fatal(err)
	}
	if out["groups"], err = st.Groups(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alice", "bob", "root"} {
		u, err := st.UserByUsername(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if out[name], err = st.UserPermissions(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// loaddata keeps Django's groups and permissions in each of dumpdata's
// forms, reports them, and loading them again changes nothing; served with
// the settings on, they reach simplejwt access tokens and introspection.
func TestLoaddataGroupsAndPermissions(t *testing.T) {
	want := map[string]any{
		"permissions": []gatehouse.Permission{
			{ID: 12, Name: "Can view group", Codename: "view_group", AppLabel: "auth", Model: "group"},
			{ID: 13, Name: "Can add user", Codename: "add_user", AppLabel: "auth", Model: "user"},
			{ID: 14, Name: "Can change user", Codename: "change_user", AppLabel: "auth", Model: "user"},
		},
		"groups": []gatehouse.Group{{ID: 1, Name: "editors", Permissions: []int64{13, 14}}, {ID: 2, Name: "Zürich readers"}},
		"alice":  gatehouse.UserPermissions{Groups: []string{"Zürich readers", "editors"}, Permissions: []string{"auth.add_user", "auth.change_user", "auth.view_group"}},
		"bob":    gatehouse.UserPermissions{},
		"root":   gatehouse.UserPermissions{},
	}
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			write := func(name, text string) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			env := baseEnv(testdb.URL(t, backend))
			out, err := runCmd(t, env, "loaddata", write("auth.json", djangoGroupsPlain))
			if err != nil || !strings.Contains(out, "loaded 3 users, 0 tokens") ||
				!strings.Contains(out, "loaded 2 groups, 3 permissions; 1 users are in a group or hold a permission") || strings.Contains(out, "skipped") {
				t.Fatalf("loaddata: %v\n%s", err, out)
			}
			if got := permissionState(t, env["GATEHOUSE_DATABASE_URL"]); !reflect.DeepEqual(got, want) {
				t.Fatalf("after loading:\n%+v\nwant\n%+v", got, want)
			}
			// The same dump again, then by natural keys, then without primary
			// keys: the same state each time.
			for name, dump := range map[string]string{"auth.json": djangoGroupsPlain, "natural-foreign.json": djangoGroupsNaturalForeign,
				"natural-primary.json": djangoGroupsNaturalPrimary} {
				out, err = runCmd(t, env, "loaddata", write(name, dump))
				if err != nil || !strings.Contains(out, "loaded 2 groups, 3 permissions; 1 users") {
					t.Fatalf("loaddata %s again: %v\n%s", name, err, out)
				}
				if got := permissionState(t, env["GATEHOUSE_DATABASE_URL"]); !reflect.DeepEqual(got, want) {
					t.Fatalf("after loading %s again:\n%+v\nwant\n%+v", name, got, want)
				}
			}
			// Each form into a database of its own: its own ids, the same groups.
			for name, dump := range map[string]string{"natural-foreign.json": djangoGroupsNaturalForeign, "natural-primary.json": djangoGroupsNaturalPrimary} {
				other := baseEnv(testdb.URL(t, backend))
				if out, err := runCmd(t, other, "loaddata", write(name, dump)); err != nil {
					t.Fatalf("loaddata %s: %v\n%s", name, err, out)
				}
				got := permissionState(t, other["GATEHOUSE_DATABASE_URL"])
				for _, k := range []string{"alice", "bob", "root"} {
					if !reflect.DeepEqual(got[k], want[k]) {
						t.Fatalf("%s: %s holds %+v, want %+v", name, k, got[k], want[k])
					}
				}
			}
			// A group the file names but neither it nor the database holds.
			bad := strings.Replace(djangoGroupsNaturalForeign, `[["editors"], ["Zürich readers"]]`, `[["editors"], ["ghosts"]]`, 1)
			out, err = runCmd(t, baseEnv(testdb.URL(t, backend)), "loaddata", write("bad.json", bad))
			if err == nil || !strings.Contains(err.Error(), `nothing loaded: auth.user "alice" (groups) refers to auth.group "ghosts", which is neither in the files nor in the database`) {
				t.Fatalf("a missing group: %v\n%s", err, out)
			}

			out, err = runCmd(t, env, "createapplication", "--client-id", "svc", "--grant-types", "password")
			if err != nil {
				t.Fatalf("createapplication: %v %s", err, out)
			}
			var secret string
			for _, l := range strings.Split(out, "\n") {
				if v, ok := strings.CutPrefix(l, "client_secret: "); ok {
					secret = v
				}
			}
			env["GATEHOUSE_OAUTH_INTROSPECT_PERMISSIONS"] = "true"
			env["GATEHOUSE_JWT_GROUPS_CLAIM"] = "groups"
			env["GATEHOUSE_JWT_PERMISSIONS_CLAIM"] = "permissions"
			base, stop := serve(t, env)
			defer stop()
			// simplejwt access tokens; an active superuser holds every permission.
			for user, claims := range map[string]string{
				"alice": `"groups":["Z\u00fcrich readers","editors"],"permissions":["auth.add_user","auth.change_user","auth.view_group"]}`,
				"root":  `"groups":[],"permissions":["auth.add_user","auth.change_user","auth.view_group"]}`,
			} {
				res, err := http.Post(base+"/access-token/", "application/json", strings.NewReader(`{"username":"`+user+`","password":"`+user+`pass"}`))
				if err != nil {
					t.Fatal(err)
				}
				var pair map[string]string
				json.NewDecoder(res.Body).Decode(&pair)
				res.Body.Close()
				payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(pair["access"]+"..", ".")[1])
				if res.StatusCode != 200 || !strings.HasSuffix(string(payload), claims) {
					t.Fatalf("%s: %d, access token claims %s", user, res.StatusCode, payload)
				}
			}
			// Introspection.
			form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alicepass"}, "client_id": {"svc"}, "client_secret": {secret}}
			res, err := http.PostForm(base+"/o/token/", form)
			if err != nil {
				t.Fatal(err)
			}
			var tok map[string]any
			json.NewDecoder(res.Body).Decode(&tok)
			res.Body.Close()
			res, err = http.PostForm(base+"/o/introspect/", url.Values{"token": {tok["access_token"].(string)}, "client_id": {"svc"}, "client_secret": {secret}})
			if err != nil {
				t.Fatal(err)
			}
			var in struct {
				Username    string   `json:"username"`
				Groups      []string `json:"groups"`
				Permissions []string `json:"permissions"`
			}
			json.NewDecoder(res.Body).Decode(&in)
			res.Body.Close()
			if in.Username != "alice" || !reflect.DeepEqual(in.Groups, []string{"Zürich readers", "editors"}) ||
				!reflect.DeepEqual(in.Permissions, []string{"auth.add_user", "auth.change_user", "auth.view_group"}) {
				t.Fatalf("introspection %+v", in)
			}
		})
	}
}

// serve refuses claim names that every token already has, or the same
// name twice, saying which setting is wrong.
func TestPermissionClaimSettings(t *testing.T) {
	for _, tc := range []struct{ groups, perms, want string }{
		{"", "user_id", `GATEHOUSE_JWT_PERMISSIONS_CLAIM: jwt: "user_id" is a claim of every token`},
		{"exp", "", `GATEHOUSE_JWT_GROUPS_CLAIM: jwt: "exp" is a claim of every token`},
		{"roles", "roles", `GATEHOUSE_JWT_GROUPS_CLAIM and GATEHOUSE_JWT_PERMISSIONS_CLAIM are both "roles"`},
	} {
		env := baseEnv(filepath.Join(t.TempDir(), "gatehouse.db"))
		env["GATEHOUSE_ADDR"] = "127.0.0.1:0"
		env["GATEHOUSE_JWT_GROUPS_CLAIM"], env["GATEHOUSE_JWT_PERMISSIONS_CLAIM"] = tc.groups, tc.perms
		err := run(context.Background(), []string{"gatehouse", "serve"}, getenvFrom(env), strings.NewReader(""), &strings.Builder{}, &strings.Builder{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("groups %q, permissions %q: %v; want %s", tc.groups, tc.perms, err, tc.want)
		}
	}
}

// checkCorpusGroups checks that a corpus dump loaded Django's groups and
// permissions (TestDjangoCorpusDumps): the counts reported, and each user's
// groups and direct permissions as credentials.json lists them.
func checkCorpusGroups(t *testing.T, dbURL string, c corpusCredentials, stdout string) {
	t.Helper()
	if want := fmt.Sprintf("loaded %d groups, %d permissions", c.Counts["groups"], c.Counts["permissions"]); !strings.Contains(stdout, want) {
		t.Errorf("loaddata did not report %q:\n%s", want, stdout)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, cu := range c.Users {
		u, err := st.UserByUsername(ctx, cu.Username)
		if err != nil {
			t.Fatalf("%s: %v", cu.Username, err)
		}
		held, err := st.UserPermissions(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		groups := slices.Sorted(slices.Values(cu.Groups))
		if !slices.Equal(held.Groups, groups) && len(groups)+len(held.Groups) > 0 {
			t.Errorf("%s: groups %v, want %v", cu.Username, held.Groups, groups)
		}
		for _, p := range cu.Permissions {
			if !held.Has(p) {
				t.Errorf("%s: %s not held (holds %v)", cu.Username, p, held.Permissions)
			}
		}
	}
}
