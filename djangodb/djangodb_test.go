package djangodb

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/fixture"
	"github.com/gatehouse-auth/gatehouse/internal/djangotest"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// readAll reads every step in batches of n and returns the objects by
// "model pk", and the batches' row counts and last keys by table.
func readAll(t *testing.T, s *Source, n int) (map[string]fixture.Object, map[string][]string) {
	t.Helper()
	objs := map[string]fixture.Object{}
	keys := map[string][]string{}
	for _, st := range s.Steps() {
		after := ""
		for {
			b, err := s.Read(context.Background(), st, after, n)
			if err != nil {
				t.Fatalf("%s: %v", st.Table, err)
			}
			if b.Rows == 0 {
				if len(b.Objects) != 0 {
					t.Fatalf("%s: objects without rows", st.Table)
				}
				break
			}
			if b.Rows > n {
				t.Fatalf("%s: %d rows in a batch of %d", st.Table, b.Rows, n)
			}
			keys[st.Table] = append(keys[st.Table], b.Last)
			for _, o := range b.Objects {
				k := o.Model + " " + string(o.PK)
				if _, dup := objs[k]; dup {
					t.Fatalf("%s read twice", k)
				}
				objs[k] = o
			}
			after = b.Last
		}
	}
	return objs, keys
}

// Every table reads as dumpdata writes its model (field names and order,
// datetimes in UTC cut to milliseconds, foreign keys as numbers,
// many-to-many as lists), on both backends, from the tables Django's
// migrate writes; batches follow the key, and attached rows come with the
// rows they name.
func TestReadsDjangoTablesAsDumpdata(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			d := djangotest.New(t, backend)
			p := djangotest.Populate(t, d, 6)
			s, err := Open(context.Background(), d.URL, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if len(s.Notes()) != 0 {
				t.Fatalf("notes: %v", s.Notes())
			}
			objs, keys := readAll(t, s, 2)
			want := map[string]string{
				`contenttypes.contenttype 3`: `{"app_label":"blog","model":"post"}`,
				`auth.permission 3`:          `{"name":"Can publish post","content_type":["blog","post"],"codename":"publish_post"}`,
				`auth.group 1`:               `{"name":"editors","permissions":[2,3]}`,
				`auth.group 2`:               `{"name":"empty","permissions":[]}`,
				`auth.user 1`: `{"password":"` + djangotest.AliceHash + `","last_login":null,"is_superuser":true,"username":"ålice",` +
					`"first_name":"Fïrst","last_name":"Last","email":"ålice@example.com","is_staff":true,"is_active":true,` +
					`"date_joined":"2026-03-01T09:59:59.123Z","groups":[1],"user_permissions":[1]}`,
				`auth.user 4`: `{"password":"` + djangotest.AliceHash + `","last_login":"2026-03-01T10:04:00.123Z","is_superuser":false,"username":"user0004",` +
					`"first_name":"Fïrst","last_name":"Last","email":"user0004@example.com","is_staff":false,"is_active":false,` +
					`"date_joined":"2026-03-01T09:59:56.123Z","groups":[],"user_permissions":[]}`,
				`authtoken.token "` + p.DRFKeys[2] + `"`: `{"user":2,"created":"2026-03-01T10:00:00.123Z"}`,
				`oauth2_provider.application 1`: `{"client_id":"mobile-app","user":1,"redirect_uris":"","client_type":"confidential",` +
					`"authorization_grant_type":"password","client_secret":"mobile-secret-0123456789","name":"Mobile","skip_authorization":false,` +
					`"created":"2026-03-01T10:00:00.123Z","updated":"2026-03-01T10:00:00.123Z","algorithm":""}`,
				`oauth2_provider.grant 1`: `{"user":1,"code":"code-1","application":1,"expires":"2026-03-01T10:01:00.123Z",` +
					`"redirect_uri":"https://spa.example/cb","scope":"read","created":"2026-03-01T10:00:00.123Z",` +
					`"updated":"2026-03-01T10:00:00.123Z","code_challenge":"","code_challenge_method":"","nonce":"","claims":""}`,
				`oauth2_provider.idtoken 1`: `{"user":1,"jti":"1ce3fe50-0aec-59d2-c137-d6fe98a2bb75","application":1,"expires":"2026-03-01T10:00:00.123Z",` +
					`"scope":"openid","created":"2026-03-01T10:00:00.123Z","updated":"2026-03-01T10:00:00.123Z"}`,
				`token_blacklist.blacklistedtoken 1`: `{"token":2,"blacklisted_at":"2026-03-01T10:00:00.123Z"}`,
			}
			for k, fields := range want {
				o, ok := objs[k]
				if !ok {
					t.Errorf("%s not read", k)
					continue
				}
				if string(o.Fields) != fields {
					t.Errorf("%s:\n got %s\nwant %s", k, o.Fields, fields)
				}
			}
			count := map[string]int{}
			for _, o := range objs {
				count[o.Model]++
			}
			for model, n := range map[string]int{"contenttypes.contenttype": 3, "auth.permission": 3, "auth.group": 2, "auth.user": 6,
				"authtoken.token": 6, "knox.authtoken": 2, "token_blacklist.outstandingtoken": 3, "token_blacklist.blacklistedtoken": 1,
				"oauth2_provider.application": 2, "oauth2_provider.idtoken": 1, "oauth2_provider.grant": 1,
				"oauth2_provider.accesstoken": 3, "oauth2_provider.refreshtoken": 4} {
				if count[model] != n {
					t.Errorf("%d objects of %s, want %d", count[model], model, n)
				}
			}
			// Users in batches of two by id; DRF tokens by user id, never by
			// their key; the revoked refresh token alone in its pass.
			for table, want := range map[string]string{"auth_user": "2 4 6", "authtoken_token": "2 4 6",
				"oauth2_provider_accesstoken": "2 3", "oauth2_provider_refreshtoken": "4"} {
				if got := strings.Join(keys[table], " "); got != want {
					t.Errorf("%s: batches ended at %q, want %q", table, got, want)
				}
			}
			// Each access token's refresh token came in the same batch, with
			// the access token's id.
			var f struct {
				Token       string `json:"token"`
				AccessToken *int64 `json:"access_token"`
				Revoked     *string
			}
			json.Unmarshal(objs["oauth2_provider.refreshtoken 3"].Fields, &f)
			if f.AccessToken == nil || *f.AccessToken != 1 || f.Token != p.RefreshTokens[1] {
				t.Errorf("refresh token 3: %s", objs["oauth2_provider.refreshtoken 3"].Fields)
			}
			json.Unmarshal(objs["oauth2_provider.refreshtoken 4"].Fields, &f)
			if f.Token != p.RevokedRefresh || !strings.Contains(string(objs["oauth2_provider.refreshtoken 4"].Fields), `"revoked":"2026-03-01T11:00:00.123Z"`) {
				t.Errorf("revoked refresh token: %s", objs["oauth2_provider.refreshtoken 4"].Fields)
			}
			// What was read converts as a dump of the same rows would.
			var all []fixture.Object
			for _, o := range objs {
				all = append(all, o)
			}
			set, err := fixture.Converter{}.Convert(withoutSecrets(all))
			if err != nil {
				t.Fatal(err)
			}
			if len(set.Users) != 6 || len(set.AccessTokens) != 3 || len(set.RefreshTokens) != 4 || len(set.Refresh) != 3 {
				t.Fatalf("converted: %d users, %d access, %d refresh, %d outstanding", len(set.Users), len(set.AccessTokens), len(set.RefreshTokens), len(set.Refresh))
			}
			if n, err := s.Remaining(context.Background(), s.Steps()[3], "4"); err != nil || n != 2 {
				t.Fatalf("users after 4: %d %v", n, err)
			}
		})
	}
}

// withoutSecrets drops the objects whose conversion needs the server's
// secret (DRF keys are sealed, client secrets hashed under it).
func withoutSecrets(objs []fixture.Object) []fixture.Object {
	var out []fixture.Object
	for _, o := range objs {
		if o.Model != "authtoken.token" && o.Model != "oauth2_provider.application" {
			out = append(out, o)
		}
	}
	return out
}

// A project without knox, without the blacklist app's second table and
// without the user-group table reads the rest, and says what it lacks.
func TestMissingTablesAreNoted(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			d := djangotest.New(t, backend)
			djangotest.Populate(t, d, 4)
			for _, table := range []string{"knox_authtoken", "token_blacklist_blacklistedtoken", "auth_user_groups"} {
				d.Exec(t, "DROP TABLE "+table)
			}
			s, err := Open(context.Background(), d.URL, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var absent []string
			for _, st := range s.Steps() {
				if st.Absent != "" {
					absent = append(absent, st.Absent)
				}
			}
			if len(absent) != 1 || !strings.Contains(absent[0], "table knox_authtoken does not exist") || !strings.Contains(absent[0], "no knox.authtoken objects") {
				t.Fatalf("absent: %q", absent)
			}
			notes := strings.Join(s.Notes(), "\n")
			if !strings.Contains(notes, "auth_user_groups does not exist") || !strings.Contains(notes, "without their groups") ||
				!strings.Contains(notes, "token_blacklist_blacklistedtoken does not exist") {
				t.Fatalf("notes: %q", notes)
			}
			objs, _ := readAll(t, s, 10)
			u := string(objs["auth.user 1"].Fields)
			if strings.Contains(u, `"groups"`) || !strings.Contains(u, `"user_permissions":[1]`) {
				t.Fatalf("user 1: %s", u)
			}
		})
	}
}

// What is not a readable Django database is refused with a message saying
// what it is and what to do, and never shows a password.
func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("not a database at all, but long enough to be looked at by SQLite's header check"), 0o600)
	gate := testdb.URL(t, "sqlite") // a gatehouse database: SQLite, but no auth_user
	testdb.OpenURL(t, gate)
	noCol := djangotest.New(t, "sqlite")
	noCol.Exec(t, "ALTER TABLE authtoken_token RENAME COLUMN created TO made")
	cases := []struct{ name, source, want string }{
		{"empty", "", "give the Django database"},
		{"mssql", "mssql://u:hunter2pass@db/app", "mssql:// databases are not read"},
		{"missing file", filepath.Join(dir, "nope.sqlite3"), "nope.sqlite3: no such file"},
		{"directory", dir, "is a directory"},
		{"not sqlite", text, "is not a SQLite database"},
		{"no auth_user", gate, "has no auth_user table: it is not a Django database, or the project keeps its users in a custom user model"},
		{"missing column", noCol.URL, "table authtoken_token of " + noCol.URL + " has no column created"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expectRefused(t, c.source, c.want)
		})
	}
	if os.Getenv(testdb.EnvPostgres) != "" {
		empty := testdb.URL(t, "postgres")
		for name, c := range map[string]struct{ source, want string }{
			"not django":  {empty, "has no auth_user table: it is not a Django database"},
			"unreachable": {"postgres://django:hunter2pass@127.0.0.1:1/app?connect_timeout=2", "cannot read the Django database at postgres://django@127.0.0.1:1/app"},
			"bad url":     {"postgres://django:hunter2pass@[::1/app", "not a valid URL"},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := Open(context.Background(), c.source, Options{})
				if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "hunter2pass") {
					t.Fatalf("error %v, want %q", err, c.want)
				}
			})
		}
	}
}

// The source is read-only: its transaction refuses writes, the SQLite file
// is unchanged after an import's reads, and on PostgreSQL the reads see the
// snapshot taken at Open, not rows Django writes meanwhile.
func TestSourceIsAReadOnlySnapshot(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			d := djangotest.New(t, backend)
			djangotest.Populate(t, d, 4)
			var before [32]byte
			if !d.Postgres {
				b, _ := os.ReadFile(d.URL)
				before = sha256.Sum256(b)
			}
			s, err := Open(context.Background(), d.URL, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if d.Postgres {
				var iso string
				s.tx.QueryRow("SHOW transaction_isolation").Scan(&iso)
				if iso != "repeatable read" {
					t.Fatalf("isolation %q", iso)
				}
				d.Exec(t, `INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
					VALUES (99, '!', false, 'late', '', '', '', false, true, now())`)
			}
			objs, _ := readAll(t, s, 3)
			if _, seen := objs["auth.user 99"]; seen || objs["auth.user 4"].Model == "" {
				t.Fatal("the reads did not keep to the snapshot")
			}
			if _, err := s.tx.Exec("DELETE FROM auth_user"); err == nil {
				t.Fatal("the source accepted a write")
			}
			s.Close()
			if !d.Postgres {
				b, _ := os.ReadFile(d.URL)
				if sha256.Sum256(b) != before {
					t.Fatal("the SQLite file changed")
				}
			}
		})
	}
}

// Datetimes are written as DjangoJSONEncoder writes them (checked against
// Django 3.2's output): the fraction cut, not rounded, to milliseconds,
// and left out only when there are no microseconds at all.
func TestTimesAsDjangoJSONEncoder(t *testing.T) {
	for us, want := range map[int]string{0: `"2026-03-01T10:00:00Z"`, 500: `"2026-03-01T10:00:00.000Z"`,
		100000: `"2026-03-01T10:00:00.100Z"`, 612316: `"2026-03-01T10:00:00.612Z"`, 999999: `"2026-03-01T10:00:00.999Z"`} {
		tm := time.Date(2026, 3, 1, 11, 0, 0, us*1000, time.FixedZone("CET", 3600))
		if got := string(appendTime(nil, tm)); got != want {
			t.Errorf("%d µs: %s, want %s", us, got, want)
		}
	}
}

// The user model's options: each bad one is refused before anything is
// read, and a model whose table is absent is named.
func TestOpenUserModelRefused(t *testing.T) {
	d := djangotest.New(t, "sqlite") // Django's tables: auth_user, no accounts_user
	for _, c := range []struct {
		name string
		o    Options
		want string
	}{
		{"no app label", Options{UserModel: "User"}, `user model "User": give it as app_label.Model`},
		{"not a name", Options{UserModel: "accounts.User; DROP"}, "give it as app_label.Model"},
		{"table without model", Options{UserTable: "members"}, "--user-table names the table of a custom user model"},
		{"bad table", Options{UserModel: "accounts.User", UserTable: "members x"}, `user table "members x" is not a table name`},
		{"absent table", Options{UserModel: "accounts.User"}, "has no table accounts_user for the user model accounts.user"},
		{"absent db_table", Options{UserModel: "accounts.User", UserTable: "members"}, "has no table members for the user model accounts.user"},
		{"OAuth model without app label", Options{OAuthModels: map[string]string{"oauth2_provider.application": "Application"}}, "give it as app_label.Model"},
		{"OAuth model not a name", Options{OAuthModels: map[string]string{"oauth2_provider.grant": "clients.Grant; DROP"}}, "give it as app_label.Model"},
		{"OAuth model too long a table", Options{OAuthModels: map[string]string{"oauth2_provider.grant": "clients." + strings.Repeat("g", 60)}}, "is not a table name gatehouse reads"},
		{"OAuth model not swappable here", Options{OAuthModels: map[string]string{"oauth2_provider.idtoken": "clients.IDToken"}}, "none of the Django OAuth Toolkit models"},
		{"one model for two", Options{OAuthModels: map[string]string{"oauth2_provider.accesstoken": "c.T", "oauth2_provider.refreshtoken": "c.T"}}, "cannot stand for both"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(context.Background(), d.URL, c.o)
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want %q", err, c.want)
			}
		})
	}
	s, err := Open(context.Background(), d.URL, Options{UserModel: "auth.User"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.UserModel() != "auth.user" {
		t.Errorf("UserModel %q", s.UserModel())
	}
}

// expectRefused opens source, which must be refused with an error saying
// want and never the password hunter2pass.
func expectRefused(t *testing.T, source, want string) {
	t.Helper()
	s, err := Open(context.Background(), source, Options{})
	if err == nil {
		s.Close()
		t.Fatal("opened")
	}
	if !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "hunter2pass") {
		t.Fatalf("error %q, want %q", err, want)
	}
}

// A project without USE_TZ stores its TIME_ZONE's wall-clock times in
// SQLite (and MySQL): read with Options.TimeZone they are those instants,
// the wall clock shifted by the zone's offset; PostgreSQL's columns hold
// instants whatever the project's USE_TZ, so nothing changes there.
func TestTimeZoneOfNaiveTimes(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			d := djangotest.New(t, backend)
			djangotest.Populate(t, d, 4)
			read := func(o Options) string {
				s, err := Open(context.Background(), d.URL, o)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				objs, _ := readAll(t, s, 2)
				return string(objs["auth.user 1"].Fields)
			}
			utc, local := read(Options{}), read(Options{TimeZone: ny})
			want := `"date_joined":"2026-03-01T14:59:59.123Z"` // 09:59:59 in New York, EST (UTC-5)
			if d.Postgres {
				want = `"date_joined":"2026-03-01T09:59:59.123Z"`
			}
			if !strings.Contains(utc, `"date_joined":"2026-03-01T09:59:59.123Z"`) || !strings.Contains(local, want) {
				t.Fatalf("without a zone: %s\nin New York: %s\nwant %s", utc, local, want)
			}
		})
	}
}
