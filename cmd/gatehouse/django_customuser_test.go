package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/store"
)

// The custom-user corpus: testdata/django/customuser, written by a real
// Django 3.2 project whose AUTH_USER_MODEL is accounts.User, logging in by
// e-mail (USERNAME_FIELD = "email"), with no username, names or
// date_joined (its generate.py; THROWAWAY TEST CREDENTIALS).
const customUserDir = "../../testdata/django/customuser"

type customUserCredentials struct {
	SecretKey    string `json:"secret_key"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	// The client whose secret DOT 2+ would keep as a Django password hash.
	HashedClientID     string `json:"hashed_client_id"`
	HashedClientSecret string `json:"hashed_client_secret"`
	Users              []struct {
		Email        string `json:"email"`
		Password     string `json:"password"`
		IsActive     bool   `json:"is_active"`
		DRFToken     string `json:"drf_token"`
		JWTRefresh   string `json:"jwt_refresh"`
		JWTAccess    string `json:"jwt_access"`
		OAuthAccess  string `json:"oauth_access"`
		OAuthRefresh string `json:"oauth_refresh"`
	} `json:"users"`
}

// customUserEnv is the environment of a gatehouse on dbURL for the
// custom-user corpus, and the credentials.json of dir (customUserDir, its
// uuid/, or the output of generate.py --database).
func customUserEnv(t *testing.T, dbURL, dir string) (map[string]string, customUserCredentials) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c customUserCredentials
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	env := baseEnv(dbURL)
	env["GATEHOUSE_JWT_SIGNING_KEY"] = c.SecretKey
	env["GATEHOUSE_JWT_ROTATE_REFRESH_TOKENS"] = "true"
	env["GATEHOUSE_USERNAME_FIELD"] = "email"
	env["GATEHOUSE_OAUTH_SCOPES"] = "read:Read scope,write:Write scope"
	return env, c
}

// A project with a custom user model moves over: loaddata finds the model
// in the dump (by primary key or by natural key), its e-mail becomes the
// username, and every credential Django issued keeps working; the users
// log in with what their clients already send.
func TestDjangoCustomUserModel(t *testing.T) {
	for _, backend := range testdb.Backends() {
		for _, dump := range []string{"dump.json", "dump-natural.json"} {
			t.Run(backend+"/"+dump, func(t *testing.T) {
				env, c := customUserEnv(t, testdb.URL(t, backend), customUserDir)
				out, errOut, err := runIn(t, env, "", "loaddata", filepath.Join(customUserDir, dump))
				if err != nil {
					t.Fatalf("loaddata: %v\n%s%s", err, out, errOut)
				}
				for _, want := range []string{"loaded 4 users, 3 tokens", "loaded 2 OAuth applications, 0 codes, 3 access tokens, 3 refresh tokens",
					"loaded 3 simplejwt outstanding tokens", "loaded 1 groups"} {
					if !strings.Contains(out, want) {
						t.Errorf("loaddata did not report %q:\n%s", want, out)
					}
				}
				for _, want := range []string{"custom user model accounts.user", "their email is their username", "4 users have no date_joined", "1 applications have client secrets Django OAuth Toolkit stored hashed"} {
					if !strings.Contains(errOut, want) {
						t.Errorf("loaddata did not warn %q:\n%s", want, errOut)
					}
				}
				if strings.Contains(errOut, "objects of model accounts.user:") {
					t.Errorf("the user model was skipped:\n%s", errOut)
				}
				show, _, err := runIn(t, env, "", "users", "show", "bob@example.com")
				if err != nil || !strings.Contains(show, "editors") || !strings.Contains(show, "accounts.view_user") {
					t.Errorf("users show bob@example.com: %v\n%s", err, show)
				}
				// The model has no date_joined: the first load's time stays
				// through a second load of the same dump.
				time.Sleep(1100 * time.Millisecond) // users show prints seconds
				if out, errOut, err := runIn(t, env, "", "loaddata", filepath.Join(customUserDir, dump)); err != nil {
					t.Fatalf("loaddata again: %v\n%s%s", err, out, errOut)
				}
				again, _, err := runIn(t, env, "", "users", "show", "bob@example.com")
				if joined := dateJoined(show); err != nil || joined == "" || dateJoined(again) != joined {
					t.Errorf("date_joined %q, then %q after a second load (%v)", joined, dateJoined(again), err)
				}

				checkDjangoVerifies(t, customUserDir, false, c.SecretKey, checkCustomUsers(t, env, c))
			})
		}
	}
}

// checkCustomUsers checks, against a server holding the custom-user
// corpus, every credential Django issued and every login path.
//
// It returns the simplejwt access tokens gatehouse minted at each active
// user's login, by e-mail.
func checkCustomUsers(t *testing.T, env map[string]string, c customUserCredentials) (minted map[string]string) {
	t.Helper()
	minted = map[string]string{}
	rsClient := "rs-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	out, errOut, err := runIn(t, env, "", "createapplication", "--client-id", rsClient, "--grant-types", "client-credentials", "--resource-server")
	_, rsSecret, ok := strings.Cut(out, "client_secret: ")
	rsSecret = strings.TrimSpace(rsSecret)
	if err != nil || !ok || rsSecret == "" {
		t.Fatalf("createapplication --resource-server: %v\n%s%s", err, out, errOut)
	}
	for _, u := range c.Users {
		if u.JWTAccess == "" {
			continue // an inactive user, whose key no token tells
		}
		// users show prints the Django key when it is no integer.
		want := "-"
		if pk, ok := jwtPayload(t, u.JWTAccess)["user_id"].(string); ok {
			want = pk
		}
		show, _, err := runIn(t, env, "", "users", "show", u.Email)
		if !regexp.MustCompile(`(?m)^django_pk\s+`+regexp.QuoteMeta(want)+`$`).MatchString(show) || err != nil {
			t.Errorf("users show %s: %v, want django_pk %s\n%s", u.Email, err, want, show)
		}
	}
	base, stop := serve(t, env)
	defer stop()
	client := basicAuth(c.ClientID, c.ClientSecret)
	checkHashedClient(t, base, env["GATEHOUSE_DATABASE_URL"], c)
	for _, u := range c.Users {
		login := url.Values{"username": {u.Email}, "password": {u.Password}}
		if !u.IsActive {
			if st, body := call(t, "POST", base+"/api-token-auth/", "", formBody(login)); st != 400 {
				t.Errorf("inactive %s logged in: %d %v", u.Email, st, body)
			}
			continue
		}
		// Django's credentials, as issued.
		expectMe(t, base, "Token "+u.DRFToken, u.Email)
		expectMe(t, base, "Bearer "+u.JWTAccess, u.Email)
		expectMe(t, base, "Bearer "+u.OAuthAccess, u.Email)
		// A resource server is told the key the project's own rows name
		// the user by when it is no integer (the UUID, Django's simplejwt
		// user_id), and nothing more when it is the user's id.
		djangoPK, _ := jwtPayload(t, u.JWTAccess)["user_id"].(string)
		// /api/me/'s id is what Django's was: the UUID, or the integer.
		if st, me := call(t, "GET", base+"/api/me/", "Token "+u.DRFToken, nil); st != 200 ||
			(djangoPK != "" && me["id"] != djangoPK) || (djangoPK == "" && fmt.Sprint(me["id"]) != fmt.Sprint(jwtPayload(t, u.JWTAccess)["user_id"])) {
			t.Errorf("/api/me/ of %s: %d %v; Django's id was %v", u.Email, st, me, jwtPayload(t, u.JWTAccess)["user_id"])
		}
		for _, cred := range []string{u.DRFToken, u.JWTAccess, u.OAuthAccess} {
			st, body := call(t, "POST", base+"/o/introspect/", basicAuth(rsClient, rsSecret), formBody(url.Values{"token": {cred}}))
			if pk, has := body["django_pk"]; st != 200 || body["active"] != true || has != (djangoPK != "") || (has && pk != djangoPK) {
				t.Errorf("introspection of %s's %.8s...: %d %v; want django_pk %q", u.Email, cred, st, body, djangoPK)
			}
		}
		// DRF's login reads username (the e-mail) and answers the
		// same key.
		if st, body := call(t, "POST", base+"/api-token-auth/", "", formBody(login)); st != 200 || body["token"] != u.DRFToken {
			t.Errorf("/api-token-auth/ as %s: %d %v", u.Email, st, body)
		}
		// simplejwt's reads the USERNAME_FIELD, as its serializer does.
		st, body := call(t, "POST", base+"/access-token/", "", jsonBody(map[string]string{"email": u.Email, "password": u.Password}))
		if st != 200 {
			t.Errorf("/access-token/ as %s: %d %v", u.Email, st, body)
		} else {
			expectMe(t, base, "Bearer "+str(body["access"]), u.Email)
			// It names the user as Django's did (the UUID, a string, or
			// the integer id).
			if got, want := jwtPayload(t, str(body["access"]))["user_id"], jwtPayload(t, u.JWTAccess)["user_id"]; got != want {
				t.Errorf("gatehouse's access token of %s names user_id %v; Django's named %v", u.Email, got, want)
			}
			minted[u.Email] = str(body["access"])
		}
		st, body = call(t, "POST", base+"/access-token/", "", jsonBody(map[string]string{"username": u.Email, "password": u.Password}))
		if errs, _ := body["email"].([]any); st != 400 || len(errs) != 1 || errs[0] != "This field is required." {
			t.Errorf("/access-token/ without email: %d %v", st, body)
		}
		if st, body := call(t, "POST", base+"/access-token/refresh/", "", jsonBody(map[string]string{"refresh": u.JWTRefresh})); st != 200 || str(body["refresh"]) == "" {
			t.Errorf("Django's simplejwt refresh token of %s: %d %v", u.Email, st, body)
		} else {
			// What gatehouse mints names the user's new id.
			expectMe(t, base, "Bearer "+str(body["access"]), u.Email)
		}
		refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {u.OAuthRefresh}}
		if st, body := call(t, "POST", base+"/o/token/", client, formBody(refresh)); st != 200 {
			t.Errorf("DOT's refresh token of %s: %d %v", u.Email, st, body)
		}
		password := url.Values{"grant_type": {"password"}, "username": {u.Email}, "password": {u.Password}}
		if st, body := call(t, "POST", base+"/o/token/", client, formBody(password)); st != 200 {
			t.Errorf("password grant as %s: %d %v", u.Email, st, body)
		} else {
			expectMe(t, base, "Bearer "+str(body["access_token"]), u.Email)
		}
	}
	return minted
}

// checkDjangoVerifies has Django itself (simplejwt's JWTAuthentication,
// testdata/django/customuser/verify_jwt.py) verify the access tokens
// gatehouse minted against the project's own database, the corpus's
// db.sqlite3 (a copy), with the shared signing key: a Django service that
// still verifies tokens itself finds each token's user.
func checkDjangoVerifies(t *testing.T, dir string, uuid bool, key string, minted map[string]string) {
	t.Helper()
	probe := exec.Command("/usr/bin/python3", "-c", "import django, rest_framework_simplejwt")
	if err := probe.Run(); err != nil {
		t.Skipf("skipping Django's verification: Debian's python3-django and python3-djangorestframework-simplejwt are not installed (%v)", err)
	}
	if len(minted) == 0 {
		t.Fatal("no minted token to verify")
	}
	args := []string{"-W", "ignore", filepath.Join(customUserDir, "verify_jwt.py")}
	if uuid {
		args = append(args, "--uuid")
	}
	cmd := exec.Command("/usr/bin/python3", append(args, copyDjangoDB(t, dir), key)...)
	var emails, in []string
	for email, tok := range minted {
		emails, in = append(emails, email), append(in, tok)
	}
	cmd.Stdin = strings.NewReader(strings.Join(in, "\n") + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("verify_jwt.py: %v\n%s", err, out)
	}
	if got := strings.Split(strings.TrimSpace(string(out)), "\n"); !slices.Equal(got, emails) {
		t.Errorf("Django found the users %q for gatehouse's tokens of %q", got, emails)
	}
}

// import --from reads the custom user model's table when named, or found
// without the flag (the one table with AbstractBaseUser's columns among
// the models django_content_type lists), with its groups, and every
// credential works as after loaddata.
func TestDjangoCustomUserImportFrom(t *testing.T) {
	for _, backend := range testdb.Backends() {
		for _, how := range []string{"named", "found"} {
			t.Run(backend+"/"+how, func(t *testing.T) {
				customUserImport(t, backend, how)
			})
		}
	}
}

func customUserImport(t *testing.T, backend, how string) {
	env, c := customUserEnv(t, testdb.URL(t, backend), customUserDir)
	src := copyDjangoDB(t, customUserDir)
	// Batches of one row: what is counted is warned about once.
	args := []string{"import", "--from", src, "--batch-size", "1"}
	want := "4 users of the custom user model accounts.user, named"
	if how == "named" {
		args = append(args, "--user-model", "accounts.User")
	} else {
		want = "4 users of the custom user model accounts.user, found (the one model with AbstractBaseUser's password and last_login; --user-model names another)"
	}
	out, errOut, err := runIn(t, env, "", args...)
	if err != nil {
		t.Fatalf("import: %v\n%s%s", err, out, errOut)
	}
	if note := "note: accounts.user read as the user model (AUTH_USER_MODEL): its table accounts_user has AbstractBaseUser's password and last_login"; strings.Contains(errOut, note) != (how == "found") {
		t.Errorf("the import's note (%s):\n%s", how, errOut)
	}
	for _, once := range []string{want, "4 users have no date_joined",
		"1 applications have client secrets Django OAuth Toolkit stored hashed"} {
		if !strings.Contains(errOut, once) {
			t.Errorf("import did not warn %q:\n%s", once, errOut)
		}
	}
	for _, part := range []string{"custom user model", "no date_joined", "stored hashed"} {
		if n := strings.Count(errOut, part); n != 1 {
			t.Errorf("%q warned %d times:\n%s", part, n, errOut)
		}
	}
	if strings.Contains(errOut, "accounts_user_groups does not exist") {
		t.Errorf("import's notes:\n%s", errOut)
	}
	show, _, err := runIn(t, env, "", "users", "show", "bob@example.com")
	if err != nil || !strings.Contains(show, "editors") || !strings.Contains(show, "accounts.view_user") {
		t.Errorf("users show bob@example.com: %v\n%s", err, show)
	}
	checkDjangoVerifies(t, customUserDir, false, c.SecretKey, checkCustomUsers(t, env, c))
}

// A custom user model whose primary key is a UUID: its users get integer
// ids, everything the dump gives them follows them by username, and the
// simplejwt tokens Django issued (user_id the UUID) find them by that key,
// kept with each user.
func TestDjangoCustomUserUUIDKey(t *testing.T) {
	for _, backend := range testdb.Backends() {
		for _, dump := range []string{"dump.json", "dump-natural.json"} {
			t.Run(backend+"/"+dump, func(t *testing.T) {
				env, c := customUserEnv(t, testdb.URL(t, backend), filepath.Join(customUserDir, "uuid"))
				out, errOut, err := runIn(t, env, "", "loaddata", filepath.Join(customUserDir, "uuid", dump))
				if err != nil {
					t.Fatalf("loaddata: %v\n%s%s", err, out, errOut)
				}
				if !strings.Contains(out, "loaded 4 users, 3 tokens") || !strings.Contains(errOut, "4 users have a primary key that is not an integer") ||
					strings.Contains(errOut, "dumped without their primary key") {
					t.Errorf("loaddata's report:\n%s%s", out, errOut)
				}
				show, _, err := runIn(t, env, "", "users", "show", "bob@example.com")
				if err != nil || !strings.Contains(show, "editors") {
					t.Errorf("users show bob@example.com: %v\n%s", err, show)
				}
				checkDjangoVerifies(t, filepath.Join(customUserDir, "uuid"), true, c.SecretKey, checkCustomUsers(t, env, c))
			})
		}
	}
}

// import --from reads a custom user model whose primary key is a UUID,
// from the database Django itself made on SQLite (char(32)), PostgreSQL
// (uuid) and MySQL (char(32)): the users get integer ids and every row
// naming one follows it by its e-mail (the USERNAME_FIELD), and every
// credential keeps working, Django's simplejwt tokens (user_id the UUID)
// too; a second import (--restart) changes nothing.
func TestDjangoCustomUserUUIDImportFrom(t *testing.T) {
	for _, backend := range testdb.Backends() {
		for _, from := range []string{"sqlite-file", "postgres", "mysql"} {
			t.Run(backend+"/"+from, func(t *testing.T) {
				dir, src := filepath.Join(customUserDir, "uuid"), ""
				switch from {
				case "sqlite-file":
					src = copyDjangoDB(t, dir)
				case "postgres":
					if os.Getenv(testdb.EnvPostgres) == "" {
						t.Skip("needs " + testdb.EnvPostgres)
					}
					src = testdb.URL(t, "postgres")
				case "mysql":
					src = testdb.MySQLURL(t)
				}
				if from != "sqlite-file" {
					// Django makes the project's database there (generate.py
					// --uuid --database), with credentials of its own.
					probe := exec.Command("/usr/bin/python3", "-c", "import django, rest_framework, oauth2_provider, rest_framework_simplejwt, argon2")
					if err := probe.Run(); err != nil {
						t.Skipf("skipping: Debian's Django packages are not installed (%v); apt-get install python3-django python3-djangorestframework "+
							"python3-django-oauth-toolkit python3-djangorestframework-simplejwt python3-argon2 python3-psycopg2 python3-mysqldb", err)
					}
					dir = t.TempDir()
					cmd := exec.Command("/usr/bin/python3", "-W", "ignore::DeprecationWarning", filepath.Join(customUserDir, "generate.py"),
						"--uuid", "--database", src, "--out", dir)
					if out, err := cmd.CombinedOutput(); err != nil {
						t.Fatalf("generate.py --uuid --database: %v\n%s", err, out)
					}
				}
				env, c := customUserEnv(t, testdb.URL(t, backend), dir)
				for i, args := range [][]string{{"--batch-size", "1"}, {"--restart"}} {
					out, errOut, err := runIn(t, env, "", append([]string{"import", "--from", src}, args...)...)
					if err != nil {
						t.Fatalf("import %v: %v\n%s%s", args, err, out, errOut)
					}
					if !strings.Contains(errOut, "4 users have a primary key that is not an integer") {
						t.Errorf("import %v did not warn of the users' keys:\n%s", args, errOut)
					}
					list, _, err := runIn(t, env, "", "users", "list")
					if err != nil || strings.Count(list, "\n")-1 != 4 || strings.Count(list, "@example.") != 8 {
						t.Errorf("users list after import %d: %v\n%s", i+1, err, list)
					}
				}
				show, _, err := runIn(t, env, "", "users", "show", "bob@example.com")
				if err != nil || !strings.Contains(show, "editors") || !strings.Contains(show, "accounts.view_user") {
					t.Errorf("users show bob@example.com: %v\n%s", err, show)
				}
				minted := checkCustomUsers(t, env, c)
				if from == "sqlite-file" { // the committed database, whose users these are
					checkDjangoVerifies(t, dir, true, c.SecretKey, minted)
				}
			})
		}
	}
}

// checkHashedClient checks the client whose secret Django OAuth Toolkit
// stored as a Django password hash: a wrong secret is refused, the right
// one is accepted and its stored hash becomes gatehouse's own, after which
// both answer the same.
func checkHashedClient(t *testing.T, base, dbURL string, c customUserCredentials) {
	t.Helper()
	grant := formBody(url.Values{"grant_type": {"client_credentials"}})
	stored := func() []byte {
		st, err := store.Open(context.Background(), dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		a, err := st.Application(context.Background(), c.HashedClientID)
		if err != nil {
			t.Fatal(err)
		}
		return a.SecretHash
	}
	if _, django := gatehouse.DjangoSecretEncoded(stored()); !django {
		t.Fatalf("the loaded secret hash is not Django's: %.20q", stored())
	}
	for round := range 2 {
		if st, body := call(t, "POST", base+"/o/token/", basicAuth(c.HashedClientID, c.HashedClientSecret+"x"), grant); st != 401 || body["error"] != "invalid_client" {
			t.Errorf("round %d: a wrong secret: %d %v", round, st, body)
		}
		if st, body := call(t, "POST", base+"/o/token/", basicAuth(c.HashedClientID, c.HashedClientSecret), grant); st != 200 || str(body["access_token"]) == "" {
			t.Errorf("round %d: the client's secret: %d %v", round, st, body)
		}
		hash := stored()
		if _, django := gatehouse.DjangoSecretEncoded(hash); django || len(hash) != 32 {
			t.Errorf("round %d: the secret hash was not replaced: %.20q", round, hash)
		}
	}
}

// dateJoined is the date_joined line of users show.
func dateJoined(show string) string {
	for _, line := range strings.Split(show, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "date_joined" {
			return f[1]
		}
	}
	return ""
}

// The user model's flags: each bad one is refused and nothing is loaded.
func TestLoaddataUserModelRefusals(t *testing.T) {
	dump, err := os.ReadFile(filepath.Join(customUserDir, "dump.json"))
	if err != nil {
		t.Fatal(err)
	}
	authUser := `[{"model": "auth.user", "pk": 7, "fields": {"username": "ann", "password": "!", "last_login": null, "date_joined": "2025-01-01T00:00:00Z"}}]`
	twoModels := `[{"model": "a.user", "pk": 1, "fields": {"email": "x@example.com", "password": "!", "last_login": null}},
		{"model": "b.member", "pk": 2, "fields": {"email": "y@example.com", "password": "!", "last_login": null}}]`
	for _, tc := range []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"model without app label", string(dump), []string{"--user-model", "user"}, "give it as app_label.model"},
		{"field the model lacks", string(dump), []string{"--username-field", "phone"}, "no phone to take as the username"},
		{"field of auth.user", authUser, []string{"--username-field", "email"}, "the setting is for a custom user model"},
		{"auth.user beside the model", authUser, []string{"--user-model", "accounts.User"}, "the files hold auth.user objects, but the user model is accounts.user"},
		{"two candidate models", twoModels, nil, "several models (a.user, b.member)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := baseEnv(filepath.Join(t.TempDir(), "gatehouse.db"))
			out, errOut, err := runIn(t, env, tc.stdin, append(append([]string{"loaddata"}, tc.args...), "-")...)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "nothing loaded") {
				t.Fatalf("err %v, want %q\n%s%s", err, tc.want, out, errOut)
			}
			list, _, err := runIn(t, env, "", "users", "list")
			if err != nil || strings.Contains(list, "@example.com") || strings.Contains(list, "ann") {
				t.Errorf("users stored after a refused load: %v\n%s", err, list)
			}
		})
	}
	// Named, the second model loads; the first is skipped as unknown.
	env := baseEnv(filepath.Join(t.TempDir(), "gatehouse.db"))
	out, errOut, err := runIn(t, env, twoModels, "loaddata", "--user-model", "b.Member", "-")
	if err != nil || !strings.Contains(out, "loaded 1 users") || !strings.Contains(errOut, "skipped 1 objects of model a.user: gatehouse does not keep it") {
		t.Fatalf("--user-model b.Member: %v\n%s%s", err, out, errOut)
	}
	if show, _, err := runIn(t, env, "", "users", "show", "y@example.com"); err != nil || !bytes.Contains([]byte(show), []byte("y@example.com")) {
		t.Errorf("users show y@example.com: %v\n%s", err, show)
	}
}

// The users of a custom user model log in with their e-mail, which an
// EmailField allows up to 254 characters, past auth.User's 150 for a
// username: such a user loads and logs in on every path; auth.user keeps
// its 150.
func TestCustomUserLongEmail(t *testing.T) {
	email := strings.Repeat("a", 190) + "@example.com" // 202 characters
	const pw = "long-Email#2026"
	hash, err := password.New(password.DefaultParams(), nil).Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	dump := fmt.Sprintf(`[{"model": "accounts.user", "pk": 1, "fields": {"password": %q, "last_login": null, "email": %q, "is_active": true}}]`, hash, email)
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			env := baseEnv(testdb.URL(t, backend))
			env["GATEHOUSE_USERNAME_FIELD"] = "email"
			if out, errOut, err := runIn(t, env, dump, "loaddata", "-"); err != nil || !strings.Contains(out, "loaded 1 users") {
				t.Fatalf("loaddata: %v\n%s%s", err, out, errOut)
			}
			if out, err := runCmd(t, env, "createapplication", "--client-id", "app", "--client-type", "public", "--grant-types", "password"); err != nil {
				t.Fatalf("createapplication: %v %s", err, out)
			}
			base, stop := serve(t, env)
			defer stop()
			if st, body := call(t, "POST", base+"/api-token-auth/", "", formBody(url.Values{"username": {email}, "password": {pw}})); st != 200 {
				t.Errorf("/api-token-auth/: %d %v", st, body)
			}
			if st, body := call(t, "POST", base+"/access-token/", "", jsonBody(map[string]string{"email": email, "password": pw})); st != 200 {
				t.Errorf("/access-token/: %d %v", st, body)
			}
			grant := url.Values{"grant_type": {"password"}, "client_id": {"app"}, "username": {email}, "password": {pw}}
			if st, body := call(t, "POST", base+"/o/token/", "", formBody(grant)); st != 200 {
				t.Errorf("password grant: %d %v", st, body)
			}
			// The login page: a redirect away from it is a session.
			jar, _ := cookiejar.New(nil)
			browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			res, err := browser.Get(base + "/admin/login/")
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(res.Body)
			res.Body.Close()
			m := csrfRE.FindSubmatch(page)
			if m == nil || !strings.Contains(string(page), `maxlength="254"`) {
				t.Fatalf("login page: %s", page)
			}
			res, err = browser.PostForm(base+"/admin/login/", url.Values{"csrfmiddlewaretoken": {string(m[1])}, "username": {email}, "password": {pw}})
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusFound {
				t.Errorf("the login page answered %d", res.StatusCode)
			}
		})
	}
	// auth.user keeps Django's 150 characters.
	env := baseEnv(filepath.Join(t.TempDir(), "gatehouse.db"))
	long := fmt.Sprintf(`[{"model": "auth.user", "pk": 1, "fields": {"username": %q, "password": "!", "last_login": null, "date_joined": "2025-01-01T00:00:00Z"}}]`,
		strings.Repeat("u", 151))
	if _, _, err := runIn(t, env, long, "loaddata", "-"); err == nil || !strings.Contains(err.Error(), "invalid username") {
		t.Errorf("an auth.user username of 151 characters: %v", err)
	}
}
