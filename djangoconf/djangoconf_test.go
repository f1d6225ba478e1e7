package djangoconf

import (
	"reflect"
	"strings"
	"testing"
)

func TestParsePython(t *testing.T) {
	obj := func(kv ...any) *Object {
		o := &Object{Values: map[string]any{}}
		for i := 0; i < len(kv); i += 2 {
			o.set(kv[i].(string), kv[i+1])
		}
		return o
	}
	for _, tc := range []struct {
		in   string
		want any
	}{
		{`None`, nil},
		{`True`, true},
		{`-12`, int64(-12)},
		{`0.5`, 0.5},
		{`1e3`, 1000.0},
		{`'it\'s \\ "x"\n\x41\u00e9'`, "it's \\ \"x\"\nAé"},
		{`"double 'quoted'"`, "double 'quoted'"},
		{`['a', ('b', 'c'), (), ('d',)]`, []any{"a", []any{"b", "c"}, []any{}, []any{"d"}}},
		{`{'b': 1, 'a': [2, 3], }`, obj("b", int64(1), "a", []any{int64(2), int64(3)})},
		{`{}`, obj()},
		{`{'x', 'y'}`, []any{"x", "y"}},
		{`datetime.timedelta(seconds=900)`, 900.0},
		{`datetime.timedelta(days=7)`, 604800.0},
		{`datetime.timedelta(days=1, seconds=3600, microseconds=500000)`, 90000.5},
		{`datetime.timedelta(0)`, 0.0},
		{`PosixPath('/srv/app')`, Opaque("PosixPath('/srv/app')")},
		{`{'f': <function rule at 0x7f>}`, obj("f", Opaque("<function rule at 0x7f>"))},
	} {
		got, err := parsePython(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %#v, %v; want %#v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{``, `'open`, `[1, 2`, `{'a' 1}`, `{'a': 1} x`, `frobnicate`, `'\q'`, `datetime.timedelta(fortnights=1)`,
		`<function`, strings.Repeat("[", 100) + strings.Repeat("]", 100), `'\x4'`} {
		if v, err := parsePython(bad); err == nil {
			t.Errorf("%q read as %#v", bad, v)
		}
	}
}

// The JSON of the shell lines and diffsettings' Python reprs of the same
// settings are read alike.
func TestReadBothForms(t *testing.T) {
	fromJSON, err := Read(strings.NewReader(`{"INSTALLED_APPS": ["a"], "SIMPLE_JWT": {"ACCESS_TOKEN_LIFETIME": 900.0, "AUTH_HEADER_TYPES": ["Bearer", "JWT"], "AUDIENCE": null},
		"PASSWORD_HASHERS": ["django.contrib.auth.hashers.PBKDF2PasswordHasher"], "SECRET_KEY": "k"}`))
	if err != nil {
		t.Fatal(err)
	}
	fromRepr, err := Read(strings.NewReader("ABSOLUTE_URL_OVERRIDES = {}\n" +
		"### AUTH_USER_MODEL = 'auth.User'\n" +
		"INSTALLED_APPS = ['a']\n" +
		"PASSWORD_HASHERS = ['django.contrib.auth.hashers.PBKDF2PasswordHasher']\n" +
		"SECRET_KEY = 'k'\n" +
		"SIMPLE_JWT = {'ACCESS_TOKEN_LIFETIME': datetime.timedelta(seconds=900), 'AUTH_HEADER_TYPES': ('Bearer', 'JWT'), 'AUDIENCE': None}  ###\n" +
		"STATICFILES_DIRS = [PosixPath('/x')]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if fromJSON.Format != "json" || fromRepr.Format != "diffsettings" || fromRepr.AuthUserModel != "auth.User" {
		t.Errorf("formats %q %q, user model %q", fromJSON.Format, fromRepr.Format, fromRepr.AuthUserModel)
	}
	fromJSON.Format, fromRepr.Format, fromRepr.AuthUserModel = "", "", ""
	if !reflect.DeepEqual(fromJSON, fromRepr) {
		t.Errorf("JSON  %+v\nrepr  %+v", fromJSON, fromRepr)
	}
}

// Input that is neither form is refused with the reason.
func TestReadRefuses(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "the input is empty"},
		{"\xef\xbb\xbf  \n", "the input is empty"},
		{"hello world\n", "line 1 is not NAME = value"},
		{`{"SIMPLE_JWT": {}} {"x": 1}`, "more data after the JSON object"},
		{`{"SIMPLE_JWT": {}`, "not the JSON of the shell lines"},
		{`{"DEBUG": true}`, "none of INSTALLED_APPS"},
		{`{"SIMPLE_JWT": ["ACCESS_TOKEN_LIFETIME"]}`, "SIMPLE_JWT is not a dictionary"},
		{`{"PASSWORD_HASHERS": [7]}`, "PASSWORD_HASHERS[0]: neither a class path nor an object"},
		{`{"PASSWORD_HASHERS": [{"algorithm": "argon2"}]}`, "PASSWORD_HASHERS[0]: no path"},
		{"DEBUG = False\nTIME_ZONE = 'UTC'\n", "none of INSTALLED_APPS"},
		{"DEBUG = False\nSIMPLE_JWT = {'A': \n", "line 2: SIMPLE_JWT:"},
		{"SECRET_KEY = 5\n", "line 1: SECRET_KEY is not a string"},
		{`{"USERNAME_FIELD": ["email"]}`, "USERNAME_FIELD is not a string"},
		{`{"SIMPLE_JWT": ` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "}", "nested too deeply"},
	} {
		if _, err := Read(strings.NewReader(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.40q: %v, want %q", tc.in, err, tc.want)
		}
	}
}

func convert(t *testing.T, js string) Result {
	t.Helper()
	in, err := Read(strings.NewReader(js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return Convert(in)
}

func (r Result) value(name string) (string, bool) {
	for _, s := range r.Settings {
		if s.Name == name {
			return s.Value, true
		}
	}
	return "", false
}

// Absent dictionaries mean the packages' defaults, which are written out:
// gatehouse's own defaults differ (simplejwt's access lifetime is 5
// minutes, DOT's scopes are read and write).
func TestConvertDefaults(t *testing.T) {
	r := convert(t, `{"versions": {"django-oauth-toolkit": "1.7.0"}, "INSTALLED_APPS": [], "SECRET_KEY": "0123456789abcdef0123456789abcdef0123456789"}`)
	for name, want := range map[string]string{
		"GATEHOUSE_JWT_ACCESS_LIFETIME": "5m", "GATEHOUSE_JWT_REFRESH_LIFETIME": "24h", "GATEHOUSE_JWT_ROTATE_REFRESH_TOKENS": "false",
		"GATEHOUSE_JWT_BLACKLIST_AFTER_ROTATION": "false", "GATEHOUSE_JWT_ALGORITHM": "HS256",
		"GATEHOUSE_JWT_SIGNING_KEY": "0123456789abcdef0123456789abcdef0123456789", "GATEHOUSE_JWT_USER_ID_CLAIM": "user_id",
		"GATEHOUSE_JWT_AUTH_HEADER_TYPES": "Bearer", "GATEHOUSE_OAUTH_SCOPES": "read:Reading scope,write:Writing scope",
		"GATEHOUSE_OAUTH_DEFAULT_SCOPES": "__all__", "GATEHOUSE_OAUTH_ACCESS_TOKEN_LIFETIME": "36000", "GATEHOUSE_OAUTH_CODE_LIFETIME": "60",
		"GATEHOUSE_OAUTH_REFRESH_TOKEN_LIFETIME": "0", "GATEHOUSE_OAUTH_REQUIRE_PKCE": "false",
		"GATEHOUSE_OAUTH_ALLOWED_REDIRECT_URI_SCHEMES": "http,https",
	} {
		if got, ok := r.value(name); !ok || got != want {
			t.Errorf("%s = %q (%v), want %q", name, got, ok, want)
		}
	}
	if !r.HasSecret() {
		t.Error("the signing key is not marked secret")
	}
	// DRF's defaults do not paginate; PASSWORD_HASHERS and the validators
	// are left alone when the input does not give them.
	for _, name := range []string{"GATEHOUSE_PAGE_SIZE", "GATEHOUSE_PASSWORD_HASHERS", "GATEHOUSE_PASSWORD_VALIDATORS"} {
		if v, ok := r.value(name); ok {
			t.Errorf("%s = %q written from nothing", name, v)
		}
	}
	if r := convert(t, `{"versions": {"django-oauth-toolkit": "2.3.0"}, "INSTALLED_APPS": []}`); !hasNote(r, "versions", "django-oauth-toolkit 2.3.0 is installed") {
		t.Errorf("DOT 2: %v", r.Notes)
	} else if v, _ := r.value("GATEHOUSE_OAUTH_REQUIRE_PKCE"); v != "true" {
		t.Errorf("DOT 2's PKCE_REQUIRED default: %q", v)
	}
}

func hasNote(r Result, from, text string) bool {
	for _, n := range r.Notes {
		if strings.HasPrefix(n.From, from) && strings.Contains(n.Text, text) {
			return true
		}
	}
	return false
}

// Each rule: the settings written, and the note (not honoured, or a fact)
// that says why.
func TestConvertRules(t *testing.T) {
	const pem = "-----BEGIN PRIVATE KEY-----\\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\\n-----END PRIVATE KEY-----\\n"
	for _, tc := range []struct {
		name   string
		js     string
		want   map[string]string // "" means: not written
		from   string            // the note's setting
		note   string
		honour bool // the note is a fact, not a refusal
	}{
		{"RS512", `{"SIMPLE_JWT": {"ALGORITHM": "RS512"}}`, map[string]string{"GATEHOUSE_JWT_ALGORITHM": ""},
			"SIMPLE_JWT['ALGORITHM']", "tokens simplejwt issued stop verifying", false},
		{"HS512", `{"SECRET_KEY": "django-secret-key-django-secret-key-0123", "SIMPLE_JWT": {"ALGORITHM": "HS512"}}`,
			map[string]string{"GATEHOUSE_JWT_ALGORITHM": "HS512", "GATEHOUSE_JWT_SIGNING_KEY": "django-secret-key-django-secret-key-0123"}, "", "", false},
		{"short key", `{"SIMPLE_JWT": {"SIGNING_KEY": "short"}}`, map[string]string{"GATEHOUSE_JWT_SIGNING_KEY": ""},
			"SIMPLE_JWT['SIGNING_KEY']", "an HMAC key of 5 bytes", false},
		{"hidden key", `{"SIMPLE_JWT": {"SIGNING_KEY": "<hidden>"}}`, map[string]string{"GATEHOUSE_JWT_SIGNING_KEY": ""},
			"SIMPLE_JWT['SIGNING_KEY']", "set GATEHOUSE_JWT_SIGNING_KEY", true},
		{"own signing key over SECRET_KEY", `{"SECRET_KEY": "django-secret-key-django-secret-key-0123", "SIMPLE_JWT": {"SIGNING_KEY": "own-signing-key-own-signing-key-own-0123"}}`,
			map[string]string{"GATEHOUSE_JWT_SIGNING_KEY": "own-signing-key-own-signing-key-own-0123"}, "", "", false},
		{"ES256", `{"SIMPLE_JWT": {"ALGORITHM": "ES256", "SIGNING_KEY": "` + pem + `", "VERIFYING_KEY": "x"}}`,
			map[string]string{"GATEHOUSE_JWT_ALGORITHM": "ES256", "GATEHOUSE_JWT_KEY_ID": "simplejwt", "GATEHOUSE_JWT_PRIVATE_KEY": strings.ReplaceAll(pem, `\n`, "\n")},
			"SIMPLE_JWT['VERIFYING_KEY']", "derives the public key", true},
		{"long leeway", `{"SIMPLE_JWT": {"LEEWAY": 120}}`, map[string]string{"GATEHOUSE_JWT_LEEWAY": "60s"}, "SIMPLE_JWT['LEEWAY']", "at most 60s", false},
		{"two audiences", `{"SIMPLE_JWT": {"AUDIENCE": ["a", "b"]}}`, map[string]string{"GATEHOUSE_JWT_AUDIENCE": ""}, "SIMPLE_JWT['AUDIENCE']", "one audience", false},
		{"one audience in a list", `{"SIMPLE_JWT": {"AUDIENCE": ["a"]}}`, map[string]string{"GATEHOUSE_JWT_AUDIENCE": "a"}, "", "", false},
		{"user id field", `{"SIMPLE_JWT": {"USER_ID_FIELD": "username"}}`, nil, "SIMPLE_JWT['USER_ID_FIELD']", "by their id", false},
		{"header type as a string", `{"SIMPLE_JWT": {"AUTH_HEADER_TYPES": "JWT", "AUTH_HEADER_NAME": "HTTP_X_TOKEN"}}`,
			map[string]string{"GATEHOUSE_JWT_AUTH_HEADER_TYPES": "JWT", "GATEHOUSE_JWT_AUTH_HEADER_NAME": "HTTP_X_TOKEN"}, "", "", false},
		{"header name not a header", `{"SIMPLE_JWT": {"AUTH_HEADER_NAME": "REMOTE_USER"}}`, map[string]string{"GATEHOUSE_JWT_AUTH_HEADER_NAME": ""},
			"SIMPLE_JWT['AUTH_HEADER_NAME']", "not a request header", false},
		{"sliding tokens", `{"SIMPLE_JWT": {"AUTH_TOKEN_CLASSES": ["rest_framework_simplejwt.tokens.SlidingToken"]}}`, nil,
			"SIMPLE_JWT['AUTH_TOKEN_CLASSES']", "no sliding tokens", false},
		{"unknown key", `{"SIMPLE_JWT": {"ACCES_TOKEN_LIFETIME": 60}}`, nil, "SIMPLE_JWT['ACCES_TOKEN_LIFETIME']", "not a setting of simplejwt 5.2", false},
		{"zero lifetime", `{"SIMPLE_JWT": {"ACCESS_TOKEN_LIFETIME": 0}}`, map[string]string{"GATEHOUSE_JWT_ACCESS_LIFETIME": ""},
			"SIMPLE_JWT['ACCESS_TOKEN_LIFETIME']", "not a positive duration", false},
		{"blacklist without its app", `{"INSTALLED_APPS": ["rest_framework_simplejwt"], "SIMPLE_JWT": {"ROTATE_REFRESH_TOKENS": true, "BLACKLIST_AFTER_ROTATION": true}}`,
			map[string]string{"GATEHOUSE_JWT_BLACKLIST_AFTER_ROTATION": "false"}, "SIMPLE_JWT['BLACKLIST_AFTER_ROTATION']", "not in INSTALLED_APPS", true},
		{"no refresh rotation", `{"OAUTH2_PROVIDER": {"ROTATE_REFRESH_TOKEN": false}}`, nil, "OAUTH2_PROVIDER['ROTATE_REFRESH_TOKEN']", "always rotates", false},
		{"long code", `{"OAUTH2_PROVIDER": {"AUTHORIZATION_CODE_EXPIRE_SECONDS": 3600}}`, map[string]string{"GATEHOUSE_OAUTH_CODE_LIFETIME": "600"},
			"OAUTH2_PROVIDER['AUTHORIZATION_CODE_EXPIRE_SECONDS']", "at most 600 seconds", false},
		{"PKCE by callable", `{"OAUTH2_PROVIDER": {"PKCE_REQUIRED": "<function pkce at 0x7f>"}}`, map[string]string{"GATEHOUSE_OAUTH_REQUIRE_PKCE": "true"},
			"OAUTH2_PROVIDER['PKCE_REQUIRED']", "requires PKCE of every client", false},
		{"script schemes", `{"OAUTH2_PROVIDER": {"ALLOWED_REDIRECT_URI_SCHEMES": ["https", "JavaScript", "com.example.app", "9x"]}}`,
			map[string]string{"GATEHOUSE_OAUTH_ALLOWED_REDIRECT_URI_SCHEMES": "https,com.example.app"}, "OAUTH2_PROVIDER['ALLOWED_REDIRECT_URI_SCHEMES']", "would run script", false},
		{"no default scopes", `{"OAUTH2_PROVIDER": {"DEFAULT_SCOPES": []}}`, map[string]string{"GATEHOUSE_OAUTH_DEFAULT_SCOPES": "__all__"},
			"OAUTH2_PROVIDER['DEFAULT_SCOPES']", "grants every scope instead", false},
		{"unknown default scope", `{"OAUTH2_PROVIDER": {"SCOPES": {"read": "R", "write": "W"}, "DEFAULT_SCOPES": ["read", "admin"]}}`,
			map[string]string{"GATEHOUSE_OAUTH_DEFAULT_SCOPES": "read", "GATEHOUSE_OAUTH_SCOPES": "read:R,write:W"}, "OAUTH2_PROVIDER['DEFAULT_SCOPES']", "'admin' is not among SCOPES", false},
		{"OIDC", `{"OAUTH2_PROVIDER": {"OIDC_ENABLED": true, "OIDC_RSA_PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----"}}`, nil,
			"OAUTH2_PROVIDER['OIDC_ENABLED']", "| GATEHOUSE_CONFIG=gatehouse.conf gatehouse keys import -, with the configuration written here", false},
		{"OIDC issuer kept", `{"OAUTH2_PROVIDER": {"OIDC_ENABLED": true, "OIDC_ISS_ENDPOINT": "https://auth.example.com/o/"}}`,
			map[string]string{"GATEHOUSE_OIDC_ISSUER": "https://auth.example.com/o"}, "OAUTH2_PROVIDER['OIDC_ISS_ENDPOINT']", "kept as the iss of id_tokens", true},
		{"OIDC issuer by default", `{"OAUTH2_PROVIDER": {"OIDC_ENABLED": true}}`, map[string]string{"GATEHOUSE_OIDC_ISSUER": ""},
			"OAUTH2_PROVIDER['OIDC_ISS_ENDPOINT']", "set GATEHOUSE_OIDC_ISSUER to GATEHOUSE_ISSUER + /o", false},
		{"id_token lifetime", `{"OAUTH2_PROVIDER": {"OIDC_ENABLED": true, "ID_TOKEN_EXPIRE_SECONDS": 300}}`,
			map[string]string{"GATEHOUSE_OIDC_ID_TOKEN_LIFETIME": "5m"}, "OAUTH2_PROVIDER['OIDC_ENABLED']", "gatehouse keys import", false},
		{"OIDC key", `{"OAUTH2_PROVIDER": {"OIDC_RSA_PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----"}}`, nil,
			"OAUTH2_PROVIDER['OIDC_RSA_PRIVATE_KEY']", "import it into the database with gatehouse keys import FILE", false},
		{"OIDC inactive keys", `{"OAUTH2_PROVIDER": {"OIDC_RSA_PRIVATE_KEYS_INACTIVE": ["-----BEGIN RSA PRIVATE KEY-----"]}}`, nil,
			"OAUTH2_PROVIDER['OIDC_RSA_PRIVATE_KEYS_INACTIVE']", "gatehouse keys import --inactive FILE", false},
		{"resource server token", `{"OAUTH2_PROVIDER": {"RESOURCE_SERVER_AUTH_TOKEN": "x"}}`, nil,
			"OAUTH2_PROVIDER['RESOURCE_SERVER_AUTH_TOKEN']", "no resource server of another", false},
		{"refresh lifetime", `{"OAUTH2_PROVIDER": {"REFRESH_TOKEN_EXPIRE_SECONDS": 86400}}`, map[string]string{"GATEHOUSE_OAUTH_REFRESH_TOKEN_LIFETIME": "86400"},
			"OAUTH2_PROVIDER['REFRESH_TOKEN_EXPIRE_SECONDS']", "cleartokens", true},
		{"no pagination", `{"REST_FRAMEWORK": {"PAGE_SIZE": 30}}`, map[string]string{"GATEHOUSE_PAGE_SIZE": ""},
			"REST_FRAMEWORK['DEFAULT_PAGINATION_CLASS']", "pages as PageNumberPagination", false},
		{"page size", `{"REST_FRAMEWORK": {"DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination", "PAGE_SIZE": 30}}`,
			map[string]string{"GATEHOUSE_PAGE_SIZE": "30"}, "", "", false},
		{"rate without its class", `{"REST_FRAMEWORK": {"DEFAULT_THROTTLE_RATES": {"anon": "10/min"}}}`, map[string]string{"GATEHOUSE_THROTTLE_RATES": ""},
			"REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']", "not in DEFAULT_THROTTLE_CLASSES", false},
		{"rates", `{"REST_FRAMEWORK": {"DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination", "PAGE_SIZE": 20, "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle", "rest_framework.throttling.UserRateThrottle"],
			"DEFAULT_THROTTLE_RATES": {"user": null, "anon": "10/minute"}}}`, map[string]string{"GATEHOUSE_THROTTLE_RATES": "user=none,anon=10/minute"}, "", "", false},
		{"bad rate", `{"REST_FRAMEWORK": {"DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle"], "DEFAULT_THROTTLE_RATES": {"anon": "often"}}}`,
			map[string]string{"GATEHOUSE_THROTTLE_RATES": ""}, "REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']", "not a rate", false},
		{"basic authentication", `{"REST_FRAMEWORK": {"DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.BasicAuthentication", "rest_framework.authentication.TokenAuthentication"]}}`,
			nil, "REST_FRAMEWORK['DEFAULT_AUTHENTICATION_CLASSES']", "'rest_framework.authentication.BasicAuthentication': gatehouse's /api/ does not authenticate this way", false},
		{"md5 first", `{"PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher", "django.contrib.auth.hashers.PBKDF2PasswordHasher"]}`,
			map[string]string{"GATEHOUSE_PASSWORD_HASHERS": "argon2,md5,pbkdf2_sha256"}, "PASSWORD_HASHERS", "argon2 writes new hashes instead", false},
		{"bcrypt first", `{"PASSWORD_HASHERS": ["django.contrib.auth.hashers.BCryptPasswordHasher", "django.contrib.auth.hashers.Argon2PasswordHasher"]}`,
			map[string]string{"GATEHOUSE_PASSWORD_HASHERS": "argon2,bcrypt"}, "PASSWORD_HASHERS", "past the 72nd", false},
		{"crypt", `{"PASSWORD_HASHERS": ["django.contrib.auth.hashers.Argon2PasswordHasher", "django.contrib.auth.hashers.CryptPasswordHasher"]}`,
			map[string]string{"GATEHOUSE_PASSWORD_HASHERS": "argon2", "GATEHOUSE_ARGON2_MEMORY": "102400", "GATEHOUSE_ARGON2_THREADS": "8"},
			"PASSWORD_HASHERS", "Unix crypt is not verified", false},
		{"Django 4.2's iterations", `{"versions": {"django": "4.2.11"}, "PASSWORD_HASHERS": ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]}`,
			map[string]string{"GATEHOUSE_PBKDF2_ITERATIONS": "600000"}, "", "", false},
		{"more iterations", `{"PASSWORD_HASHERS": [{"path": "x.Slow", "algorithm": "pbkdf2_sha256", "iterations": 900000}]}`,
			map[string]string{"GATEHOUSE_PASSWORD_HASHERS": "pbkdf2_sha256", "GATEHOUSE_PBKDF2_ITERATIONS": "900000"}, "", "", false},
		{"weak argon2", `{"PASSWORD_HASHERS": [{"path": "x.Fast", "algorithm": "argon2", "time_cost": 1, "memory_cost": 1024, "parallelism": 1}]}`,
			map[string]string{"GATEHOUSE_ARGON2_MEMORY": ""}, "PASSWORD_HASHERS[0]", "below OWASP's minimum", false},
		{"cheap bcrypt", `{"PASSWORD_HASHERS": [{"path": "x.B", "algorithm": "bcrypt_sha256", "rounds": 8}]}`,
			map[string]string{"GATEHOUSE_BCRYPT_ROUNDS": "10"}, "PASSWORD_HASHERS[0]", "cost 8", false},
		{"custom hasher, no algorithm", `{"PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher", "x.Mine", "django.contrib.auth.hashers.BCryptSHA256PasswordHasher"]}`,
			map[string]string{"GATEHOUSE_PASSWORD_HASHERS": "argon2,md5,bcrypt_sha256,pbkdf2_sha256,scrypt"}, "PASSWORD_HASHERS",
			"['x.Mine']: hasher classes gatehouse does not know, whose algorithm and cost the input does not give (the shell lines print them); so that their users can log in, argon2, pbkdf2_sha256, scrypt hashes are accepted too", false},
		{"custom hasher first", `{"PASSWORD_HASHERS": ["x.Mine", "django.contrib.auth.hashers.PBKDF2PasswordHasher"]}`,
			map[string]string{"GATEHOUSE_PASSWORD_HASHERS": "argon2,pbkdf2_sha256,bcrypt_sha256,scrypt", "GATEHOUSE_PBKDF2_ITERATIONS": "", "GATEHOUSE_ARGON2_MEMORY": ""},
			"PASSWORD_HASHERS", "'x.Mine' first: its algorithm is not known, so argon2 writes new hashes", false},
		{"no validators", `{"AUTH_PASSWORD_VALIDATORS": []}`, map[string]string{"GATEHOUSE_PASSWORD_VALIDATORS": "none"},
			"AUTH_PASSWORD_VALIDATORS", "any password is accepted", true},
		{"validator options", `{"AUTH_PASSWORD_VALIDATORS": [
			{"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
			{"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 6}},
			{"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator", "OPTIONS": {"user_attributes": ["email", "nickname"], "max_similarity": 0.05}},
			{"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator", "OPTIONS": {"password_list_path": "/srv/app/common.txt"}},
			{"NAME": "myproject.validators.NoEmoji"}]}`,
			map[string]string{"GATEHOUSE_PASSWORD_VALIDATORS": "numeric,length,similarity,common", "GATEHOUSE_PASSWORD_MIN_LENGTH": "6",
				"GATEHOUSE_PASSWORD_SIMILARITY_ATTRIBUTES": "email", "GATEHOUSE_PASSWORD_MAX_SIMILARITY": "0.1",
				"GATEHOUSE_PASSWORD_COMMON_FILE": "/srv/app/common.txt"},
			"AUTH_PASSWORD_VALIDATORS[4]", "'myproject.validators.NoEmoji': a validator gatehouse does not have", false},
		{"custom user model", `{"AUTH_USER_MODEL": "accounts.User"}`, map[string]string{"GATEHOUSE_USERNAME_FIELD": ""}, "AUTH_USER_MODEL", "--user-model accounts.User", false},
		{"custom user model by e-mail", `{"AUTH_USER_MODEL": "accounts.User", "USERNAME_FIELD": "email"}`,
			map[string]string{"GATEHOUSE_USERNAME_FIELD": "email"}, "AUTH_USER_MODEL", "custom user model", false},
		{"swapped DOT application", `{"OAUTH2_PROVIDER_APPLICATION_MODEL": "clients.Application", "OAUTH2_PROVIDER_GRANT_MODEL": "oauth2_provider.Grant"}`,
			nil, "OAUTH2_PROVIDER_APPLICATION_MODEL", "--oauth-application-model clients.Application", false},
		{"DOT's own models", `{"OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL": "oauth2_provider.AccessToken", "OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL": "oauth2_provider.RefreshToken"}`,
			nil, "", "", false},
		{"username field of auth.User", `{"AUTH_USER_MODEL": "auth.User", "USERNAME_FIELD": "username"}`,
			map[string]string{"GATEHOUSE_USERNAME_FIELD": ""}, "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := convert(t, tc.js)
			for name, want := range tc.want {
				got, ok := r.value(name)
				if want == "" && ok {
					t.Errorf("%s = %q written", name, got)
				}
				if want != "" && got != want {
					t.Errorf("%s = %q (%v), want %q", name, got, ok, want)
				}
			}
			if tc.note == "" {
				// DOT 1.7's PKCE_REQUIRED and DRF's default authentication
				// (Session, Basic) are reported for every input that does
				// not set them otherwise.
				for _, n := range r.Notes {
					if n.NotHonoured && !strings.HasPrefix(n.From, "OAUTH2_PROVIDER['PKCE_REQUIRED']") &&
						!(strings.HasPrefix(n.From, "REST_FRAMEWORK") && !strings.Contains(tc.js, "REST_FRAMEWORK")) &&
						!strings.HasPrefix(n.From, "REST_FRAMEWORK['DEFAULT_AUTHENTICATION_CLASSES']") {
						t.Errorf("unexpected %s", n)
					}
				}
				return
			}
			found := false
			for _, n := range r.Notes {
				if n.From == tc.from && strings.Contains(n.Text, tc.note) && n.NotHonoured != tc.honour {
					found = true
				}
			}
			if !found {
				t.Errorf("no note %s: %q (not honoured: %v) in\n%v", tc.from, tc.note, !tc.honour, r.Notes)
			}
		})
	}
}

// No note or comment shows a secret: the signing key, SECRET_KEY or DOT's
// private key, whatever else is wrong with them.
func TestNotesShowNoSecret(t *testing.T) {
	r := convert(t, `{"SECRET_KEY": "tiny-secret", "SIMPLE_JWT": {"ALGORITHM": "RS384"},
		"OAUTH2_PROVIDER": {"OIDC_RSA_PRIVATE_KEY": "rsa-private-secret", "RESOURCE_SERVER_AUTH_TOKEN": "rs-token-secret"}}`)
	r2 := convert(t, `{"SIMPLE_JWT": {"SIGNING_KEY": "short-secret"}}`)
	for _, n := range append(r.Notes, r2.Notes...) {
		for _, secret := range []string{"tiny-secret", "rsa-private-secret", "rs-token-secret", "short-secret"} {
			if strings.Contains(n.String(), secret) {
				t.Errorf("%s shows %s", n, secret)
			}
		}
	}
}
