package djangodb

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/djangotest"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// A project's own DOT models are found, without the flags, among the
// models django_content_type lists, by their tables' columns; two tables
// with an application's columns are refused naming the flag, which then
// settles it; a table that no content type lists is not read.
func TestDetectsOwnOAuthModels(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			d := djangotest.New(t, backend)
			djangotest.Populate(t, d, 4)
			for _, model := range []string{"application", "grant", "accesstoken", "refreshtoken"} {
				d.Exec(t, "ALTER TABLE oauth2_provider_"+model+" RENAME TO clients_"+model)
			}
			tables := func(s *Source) map[string]string {
				out := map[string]string{}
				for _, st := range s.Steps() {
					if st.Absent == "" {
						out[st.Table] = strings.Join(st.Models, " ")
					}
				}
				return out
			}

			// No content type names them yet: nothing found, the passes
			// absent, saying which flag reads them.
			s, err := Open(context.Background(), d.URL, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := tables(s); got["clients_application"] != "" || got["oauth2_provider_application"] != "" {
				t.Errorf("read without content types: %v", got)
			}
			s.Close()

			for i, model := range []string{"application", "grant", "accesstoken", "refreshtoken", "idtoken"} {
				d.Exec(t, "INSERT INTO django_content_type (id, app_label, model) VALUES (?, 'clients', ?)", 100+i, model)
			}
			s, err = Open(context.Background(), d.URL, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := tables(s)
			for table, models := range map[string]string{"clients_application": "clients.application", "clients_grant": "clients.grant",
				"clients_accesstoken": "clients.accesstoken clients.refreshtoken", "clients_refreshtoken": "clients.refreshtoken"} {
				if got[table] != models {
					t.Errorf("%s read as %q, want %q (all: %v)", table, got[table], models, got)
				}
			}
			notes := strings.Join(s.Notes(), "\n")
			if !strings.Contains(notes, "clients.accesstoken read as oauth2_provider.accesstoken: its table clients_accesstoken has the columns") ||
				!strings.Contains(notes, "(--oauth-application-model names another)") {
				t.Errorf("notes:\n%s", notes)
			}
			objs, _ := readAll(t, s, 2)
			if objs["clients.application 1"].Model != "clients.application" || objs["clients.accesstoken 1"].Model != "clients.accesstoken" {
				t.Errorf("objects not read under the project's labels: %d read", len(objs))
			}
			s.Close()

			// A second model with an application's columns.
			d.Exec(t, "CREATE TABLE billing_application AS SELECT * FROM clients_application")
			d.Exec(t, "INSERT INTO django_content_type (id, app_label, model) VALUES (200, 'billing', 'application')")
			_, err = Open(context.Background(), d.URL, Options{})
			if err == nil || !strings.Contains(err.Error(), "several tables with the columns of oauth2_provider.application (billing.application, clients.application)") ||
				!strings.Contains(err.Error(), "--oauth-application-model") {
				t.Fatalf("two candidates: %v", err)
			}
			s, err = Open(context.Background(), d.URL, Options{OAuthModels: map[string]string{"oauth2_provider.application": "billing.Application"}})
			if err != nil {
				t.Fatal(err)
			}
			if got := tables(s); got["billing_application"] != "billing.application" || got["clients_application"] != "" || got["clients_grant"] != "clients.grant" {
				t.Errorf("with the flag: %v", got)
			}
			s.Close()
		})
	}
}

// A custom user model is found, without --user-model, when there is no
// auth_user: the one model django_content_type lists whose table has
// AbstractBaseUser's columns; two are refused naming the flag.
func TestDetectsCustomUserModel(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			d := djangotest.New(t, backend)
			djangotest.Populate(t, d, 4)
			d.Exec(t, "ALTER TABLE auth_user RENAME TO accounts_user")
			for _, m2m := range []string{"groups", "user_permissions"} {
				d.Exec(t, "ALTER TABLE auth_user_"+m2m+" RENAME TO accounts_user_"+m2m)
			}
			_, err := Open(context.Background(), d.URL, Options{})
			if err == nil || !strings.Contains(err.Error(), "has no auth_user table") {
				t.Fatalf("no content type names it: %v", err)
			}
			d.Exec(t, "INSERT INTO django_content_type (id, app_label, model) VALUES (100, 'accounts', 'user')")
			s, err := Open(context.Background(), d.URL, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if s.UserModel() != "accounts.user" || !s.UserModelFound() || s.Steps()[3].Table != "accounts_user" ||
				!strings.Contains(strings.Join(s.Notes(), "\n"), "accounts.user read as the user model") {
				t.Errorf("model %s found %v step %s notes %v", s.UserModel(), s.UserModelFound(), s.Steps()[3].Table, s.Notes())
			}
			objs, _ := readAll(t, s, 10)
			if !strings.Contains(string(objs["accounts.user 1"].Fields), `"groups":[1]`) {
				t.Errorf("user 1: %s", objs["accounts.user 1"].Fields)
			}
			s.Close()
			// Named, it is not "found".
			s, err = Open(context.Background(), d.URL, Options{UserModel: "accounts.User"})
			if err != nil || s.UserModelFound() {
				t.Fatalf("named: %v", err)
			}
			s.Close()

			d.Exec(t, "CREATE TABLE staff_member AS SELECT * FROM accounts_user")
			d.Exec(t, "INSERT INTO django_content_type (id, app_label, model) VALUES (101, 'staff', 'member')")
			_, err = Open(context.Background(), d.URL, Options{})
			if err == nil || !strings.Contains(err.Error(), "several tables with AbstractBaseUser's password and last_login (accounts.user, staff.member)") ||
				!strings.Contains(err.Error(), "--user-model") {
				t.Fatalf("two candidates: %v", err)
			}
		})
	}
}
