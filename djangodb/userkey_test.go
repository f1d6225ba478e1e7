package djangodb

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/djangotest"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// userUUID is the UUID the test gives user i, dashed; its order is the
// reverse of the ids', so that a batch by UUID is not one by id.
func userUUID(i int64) string {
	return fmt.Sprintf("%08x-0000-4000-8000-000000000000", 0xffffffff-i)
}

// uuidUsers turns d's users (djangotest.Populate's, in auth_user) into
// those of a custom user model whose primary key is a UUID, as Django
// writes one: accounts_user with a uuid (PostgreSQL) or char(32)
// (SQLite) id, no username, and every user_id column holding the UUID.
func uuidUsers(t *testing.T, d *djangotest.DB) {
	t.Helper()
	// The expression mapping an integer id to userUUID's value as each
	// backend stores it.
	mapped := func(col string) string {
		if d.Postgres {
			return "(lpad(to_hex(4294967295 - " + col + "), 8, '0') || '-0000-4000-8000-000000000000')::uuid"
		}
		return "printf('%08x000040008000000000000000', 4294967295 - " + col + ")"
	}
	idType := "char(32)"
	if d.Postgres {
		idType = "uuid"
	}
	d.Exec(t, "CREATE TABLE accounts_user (id "+idType+" NOT NULL PRIMARY KEY, password varchar(128) NOT NULL, last_login timestamp NULL, "+
		"is_superuser boolean NOT NULL, email varchar(254) NOT NULL UNIQUE, is_staff boolean NOT NULL, is_active boolean NOT NULL)")
	d.Exec(t, "INSERT INTO accounts_user SELECT "+mapped("id")+", password, last_login, is_superuser, email, is_staff, is_active FROM auth_user")
	d.Exec(t, "ALTER TABLE auth_user_groups RENAME TO accounts_user_groups")
	d.Exec(t, "ALTER TABLE auth_user_user_permissions RENAME TO accounts_user_user_permissions")
	if d.Postgres {
		d.Exec(t, "DROP TABLE auth_user CASCADE")
	} else {
		d.Exec(t, "DROP TABLE auth_user")
	}
	for _, table := range []string{"accounts_user_groups", "accounts_user_user_permissions", "authtoken_token", "knox_authtoken",
		"token_blacklist_outstandingtoken", "oauth2_provider_application", "oauth2_provider_grant", "oauth2_provider_idtoken",
		"oauth2_provider_accesstoken", "oauth2_provider_refreshtoken"} {
		if d.Postgres {
			d.Exec(t, "ALTER TABLE "+table+" ALTER COLUMN user_id TYPE uuid USING "+mapped("user_id"))
		} else {
			d.Exec(t, "UPDATE "+table+" SET user_id = "+mapped("user_id")+" WHERE user_id IS NOT NULL")
		}
	}
	d.Exec(t, "INSERT INTO django_content_type (id, app_label, model) VALUES (50, 'accounts', 'user')")
}

// A custom user model whose primary key is a UUID (Django's uuid column on
// PostgreSQL, 32 hex digits on SQLite) is read in the order of that key,
// its users given with the UUID as their pk (dashed, as dumpdata writes
// it) and their groups and permissions; every row naming a user names it
// by its USERNAME_FIELD (a natural key), in batches of any size; a row
// naming a user the table lacks stops the read without showing a
// credential; a username field the table lacks is refused.
func TestReadsUUIDUserModel(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			d := djangotest.New(t, backend)
			p := djangotest.Populate(t, d, 6)
			uuidUsers(t, d)
			for _, o := range []Options{{UserModel: "accounts.User"}, {}, {UsernameField: "email"}} {
				s, err := Open(context.Background(), d.URL, o)
				if err != nil {
					t.Fatalf("%+v: %v", o, err)
				}
				for _, n := range []int{1, 2, 100} {
					objs, keys := readAll(t, s, n)
					for i := int64(1); i <= 6; i++ {
						u, ok := objs[`accounts.user "`+userUUID(i)+`"`]
						if !ok {
							t.Fatalf("batches of %d: user %d not read as %s (keys %v)", n, i, userUUID(i), keys["accounts_user"])
						}
						var f struct {
							Email           string  `json:"email"`
							Groups          []int64 `json:"groups"`
							UserPermissions []int64 `json:"user_permissions"`
						}
						if err := json.Unmarshal(u.Fields, &f); err != nil {
							t.Fatal(err)
						}
						wantGroups := "[]"
						if i == 1 {
							wantGroups = "[1]"
						}
						if fmt.Sprint(f.Groups) != wantGroups || (i == 1) != (len(f.UserPermissions) == 1) {
							t.Errorf("batches of %d: user %d: %s", n, i, u.Fields)
						}
					}
					if got := len(keys["accounts_user"]); got != (6+n-1)/n {
						t.Errorf("batches of %d: %d batches of users", n, got)
					}
					// Every user column as the user's natural key: its e-mail.
					want := map[string]string{"authtoken.token": "", "knox.authtoken": "", "token_blacklist.outstandingtoken": "",
						"oauth2_provider.grant": "", "oauth2_provider.idtoken": "", "oauth2_provider.accesstoken": "",
						"oauth2_provider.refreshtoken": "", "oauth2_provider.application": ""}
					for _, o := range objs {
						if _, ok := want[o.Model]; !ok {
							continue
						}
						var f struct {
							User json.RawMessage `json:"user"`
						}
						if err := json.Unmarshal(o.Fields, &f); err != nil {
							t.Fatal(err)
						}
						if u := string(f.User); u == "null" && o.Model == "oauth2_provider.application" {
							continue // the implicit client has no user
						} else if !strings.HasPrefix(u, `["`) || !strings.HasSuffix(u, `@example.com"]`) {
							t.Errorf("batches of %d: %s %s names its user as %s", n, o.Model, o.PK, u)
						}
						want[o.Model] = string(f.User)
					}
					for model, user := range want {
						if user == "" {
							t.Errorf("batches of %d: no %s read", n, model)
						}
					}
					if k := objs["authtoken.token "+fmt.Sprintf("%q", p.DRFKeys[1])]; !strings.Contains(string(k.Fields), `"user":["ålice@example.com"]`) {
						t.Errorf("batches of %d: user 1's DRF token: %s", n, k.Fields)
					}
				}
				s.Close()
			}

			// A primary key of another name (a UUIDField named uid).
			d.Exec(t, "ALTER TABLE accounts_user RENAME COLUMN id TO uid")
			s, err := Open(context.Background(), d.URL, Options{}) // found as well
			if err != nil {
				t.Fatal(err)
			}
			objs, _ := readAll(t, s, 4)
			s.Close()
			if u := objs[`accounts.user "`+userUUID(1)+`"`]; !strings.Contains(string(u.Fields), `"groups":[1]`) {
				t.Errorf("user 1 by its uid: %s", u.Fields)
			}
			if k := objs["authtoken.token "+fmt.Sprintf("%q", p.DRFKeys[2])]; !strings.Contains(string(k.Fields), `"user":["legacy@example.com"]`) {
				t.Errorf("user 2's DRF token, users keyed by uid: %s", k.Fields)
			}

			// A token naming a user the table lacks: an error, without
			// the key.
			orphan := "0000000000000000000000000000dead"
			if d.Postgres {
				d.Exec(t, "ALTER TABLE authtoken_token DROP CONSTRAINT IF EXISTS authtoken_token_user_id_35299eff_fk_auth_user_id")
				orphan = "00000000-0000-0000-0000-00000000dead"
			}
			d.Exec(t, "INSERT INTO authtoken_token (key, created, user_id) VALUES ('orphan-key-must-not-show', ?, ?)", d.Time(djangotest.Base), orphan)
			s, err = Open(context.Background(), d.URL, Options{UserModel: "accounts.User"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var readErr error
			for _, st := range s.Steps() {
				if st.Table == "authtoken_token" {
					_, readErr = s.Read(context.Background(), st, "", 100)
				}
			}
			if readErr == nil || !strings.Contains(readErr.Error(), "names a user that is not in the users' table") ||
				strings.Contains(readErr.Error(), "orphan-key") {
				t.Errorf("a token of no user: %v", readErr)
			}

			// A username field the table has no column for.
			if _, err := Open(context.Background(), d.URL, Options{UserModel: "accounts.User", UsernameField: "username"}); err == nil ||
				!strings.Contains(err.Error(), "has no column username to name its users by") {
				t.Errorf("a username field the table lacks: %v", err)
			}
		})
	}
}
