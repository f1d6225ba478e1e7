package djangoconf

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/throttle"
)

// Setting is one gatehouse setting carried over: its variable, the value
// to write, and the Django setting it comes from.
type Setting struct {
	Name, Value, From string
	// Secret is set when Value is a secret (the JWT signing key): it must
	// not be shown, and the file holding it must be private.
	Secret bool
}

// Note is something the reader of the result must know: a Django setting
// gatehouse does not honour, with the reason (NotHonoured), or a fact
// about one that is honoured.
type Note struct {
	From, Text  string
	NotHonoured bool
}

func (n Note) String() string {
	if n.NotHonoured {
		return "not honoured: " + n.From + ": " + n.Text
	}
	return "note: " + n.From + ": " + n.Text
}

// Result is what Convert makes of an Input.
type Result struct {
	Settings []Setting
	Notes    []Note
}

// HasSecret reports whether a setting of r is a secret.
func (r Result) HasSecret() bool {
	return slices.ContainsFunc(r.Settings, func(s Setting) bool { return s.Secret })
}

// Convert turns in into gatehouse settings. It never fails: what it cannot
// use becomes a Note.
func Convert(in Input) Result {
	c := &converter{in: in}
	c.versions()
	c.simpleJWT()
	c.oauth2()
	c.restFramework()
	c.hashers()
	c.validators()
	if in.AuthUserModel != "" && in.AuthUserModel != "auth.User" {
		c.refuse("AUTH_USER_MODEL", "%q is a custom user model: gatehouse's users have the fields of auth.User (its id, username, e-mail, names, flags, password, dates); other fields are not carried", in.AuthUserModel)
	}
	return c.res
}

// knownVersions are the versions whose defaults Convert knows, by
// distribution, major.minor.
var knownVersions = map[string]string{"django": "3.2", "djangorestframework": "3.14", "djangorestframework-simplejwt": "5.2", "django-oauth-toolkit": "1.7"}

// versions says when the defaults assumed for the keys settings.py leaves
// out may not be the installed packages'.
func (c *converter) versions() {
	if c.in.Format == "diffsettings" {
		c.note("input", "diffsettings does not give the installed versions: the defaults of Django 3.2, DRF 3.14, simplejwt 5.2 and DOT 1.7 are assumed for the keys settings.py leaves out; the shell lines print the versions")
		return
	}
	if len(c.in.Versions) == 0 {
		c.note("input", "the input does not give the installed versions: the defaults of Django 3.2, DRF 3.14, simplejwt 5.2 and DOT 1.7 are assumed for the keys settings.py leaves out; the shell lines print the versions")
		return
	}
	for _, dist := range []string{"django", "djangorestframework", "djangorestframework-simplejwt", "django-oauth-toolkit"} {
		v := c.in.Versions[dist]
		if v == "" {
			continue
		}
		if parts := strings.SplitN(v, ".", 3); len(parts) < 2 || parts[0]+"."+parts[1] != knownVersions[dist] {
			c.note("versions", "%s %s is installed; the defaults of %s %s are assumed for the keys settings.py leaves out (DOT 2's PKCE_REQUIRED=True excepted): check them", dist, v, dist, knownVersions[dist])
		}
	}
}

type converter struct {
	in  Input
	res Result
}

func (c *converter) set(name, value, from string) {
	c.res.Settings = append(c.res.Settings, Setting{Name: name, Value: value, From: from})
}

func (c *converter) refuse(from, format string, args ...any) {
	c.res.Notes = append(c.res.Notes, Note{From: from, Text: fmt.Sprintf(format, args...), NotHonoured: true})
}

func (c *converter) note(from, format string, args ...any) {
	c.res.Notes = append(c.res.Notes, Note{From: from, Text: fmt.Sprintf(format, args...)})
}

// section is one settings dictionary with its package's defaults.
type section struct {
	name     string
	user     *Object
	defaults map[string]any
	used     map[string]bool
}

func newSection(name string, user *Object, defaults map[string]any) *section {
	return &section{name: name, user: user, defaults: defaults, used: map[string]bool{}}
}

// get returns the effective value of key: the project's, else the default.
func (s *section) get(key string) any {
	s.used[key] = true
	if v, ok := s.user.Get(key); ok {
		return v
	}
	return s.defaults[key]
}

// isSet reports whether the project sets key.
func (s *section) isSet(key string) bool {
	_, ok := s.user.Get(key)
	return ok
}

func (s *section) from(key string) string { return s.name + "['" + key + "']" }

// changed reports whether the project sets key to something other than
// its default.
func (s *section) changed(key string) bool {
	s.used[key] = true
	v, ok := s.user.Get(key)
	return ok && !same(v, s.defaults[key])
}

// unused returns the keys the project sets that nothing read.
func (s *section) unused() []string {
	if s.user == nil {
		return nil
	}
	var out []string
	for _, k := range s.user.Keys {
		if !s.used[k] {
			out = append(out, k)
		}
	}
	return out
}

// same compares settings values, a tuple and a list of the same items
// being the same, and ints and floats by value.
func same(a, b any) bool {
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		return ok && fa == fb
	}
	if la, ok := a.([]any); ok {
		lb, ok := b.([]any)
		if !ok || len(la) != len(lb) {
			return false
		}
		for i := range la {
			if !same(la[i], lb[i]) {
				return false
			}
		}
		return true
	}
	if oa, ok := a.(*Object); ok {
		ob, ok := b.(*Object)
		if !ok || len(oa.Keys) != len(ob.Keys) {
			return false
		}
		for _, k := range oa.Keys {
			if !same(oa.Values[k], ob.Values[k]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// show writes a value as Python would, for messages.
func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return "'" + strings.ReplaceAll(x, "'", `\'`) + "'"
	case Opaque:
		return string(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = show(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case *Object:
		parts := make([]string, len(x.Keys))
		for i, k := range x.Keys {
			parts[i] = show(k) + ": " + show(x.Values[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

// seconds reads a duration in seconds (timedeltas arrive as seconds).
func seconds(v any) (time.Duration, bool) {
	f, ok := number(v)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > float64(math.MaxInt64/int64(time.Second)) {
		return 0, false
	}
	return time.Duration(math.Round(f * float64(time.Second))), true
}

// duration writes d as gatehouse's settings read it, briefly.
func duration(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return d.String()
}

func stringList(v any) ([]string, bool) {
	if s, ok := v.(string); ok {
		return []string{s}, true
	}
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func boolean(v any) (bool, bool) {
	b, ok := v.(bool)
	return b, ok
}

// majorVersion is the major version of dist, 0 when unknown.
func (c *converter) majorVersion(dist string) int {
	v := c.in.Versions[dist]
	n, err := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	if err != nil {
		return 0
	}
	return n
}

// --- SIMPLE_JWT (djangorestframework-simplejwt 5.2)

func simplejwtDefaults() map[string]any {
	return map[string]any{
		"ACCESS_TOKEN_LIFETIME": float64(300), "REFRESH_TOKEN_LIFETIME": float64(86400),
		"ROTATE_REFRESH_TOKENS": false, "BLACKLIST_AFTER_ROTATION": false, "UPDATE_LAST_LOGIN": false,
		"ALGORITHM": "HS256", "VERIFYING_KEY": "", "AUDIENCE": nil, "ISSUER": nil, "JSON_ENCODER": nil,
		"JWK_URL": nil, "LEEWAY": int64(0), "AUTH_HEADER_TYPES": []any{"Bearer"}, "AUTH_HEADER_NAME": "HTTP_AUTHORIZATION",
		"USER_ID_FIELD": "id", "USER_ID_CLAIM": "user_id",
		"USER_AUTHENTICATION_RULE": "rest_framework_simplejwt.authentication.default_user_authentication_rule",
		"AUTH_TOKEN_CLASSES":       []any{"rest_framework_simplejwt.tokens.AccessToken"},
		"TOKEN_TYPE_CLAIM":         "token_type", "JTI_CLAIM": "jti",
		"TOKEN_USER_CLASS":                "rest_framework_simplejwt.models.TokenUser",
		"SLIDING_TOKEN_REFRESH_EXP_CLAIM": "refresh_exp", "SLIDING_TOKEN_LIFETIME": float64(300),
		"SLIDING_TOKEN_REFRESH_LIFETIME":   float64(86400),
		"TOKEN_OBTAIN_SERIALIZER":          "rest_framework_simplejwt.serializers.TokenObtainPairSerializer",
		"TOKEN_REFRESH_SERIALIZER":         "rest_framework_simplejwt.serializers.TokenRefreshSerializer",
		"TOKEN_VERIFY_SERIALIZER":          "rest_framework_simplejwt.serializers.TokenVerifySerializer",
		"TOKEN_BLACKLIST_SERIALIZER":       "rest_framework_simplejwt.serializers.TokenBlacklistSerializer",
		"SLIDING_TOKEN_OBTAIN_SERIALIZER":  "rest_framework_simplejwt.serializers.TokenObtainSlidingSerializer",
		"SLIDING_TOKEN_REFRESH_SERIALIZER": "rest_framework_simplejwt.serializers.TokenRefreshSlidingSerializer",
	}
}

// hiddenKey is how the shell lines write a secret they were not asked to
// print.
const hiddenKey = "<hidden>"

// minHS256Key is the shortest HS256 key gatehouse accepts, in bytes (RFC
// 7518 3.2: at least the hash's length).
const minHS256Key = 32

func (c *converter) simpleJWT() {
	s := newSection("SIMPLE_JWT", c.in.SimpleJWT, simplejwtDefaults())
	for _, k := range []struct{ key, name string }{{"ACCESS_TOKEN_LIFETIME", "GATEHOUSE_JWT_ACCESS_LIFETIME"}, {"REFRESH_TOKEN_LIFETIME", "GATEHOUSE_JWT_REFRESH_LIFETIME"}} {
		v := s.get(k.key)
		d, ok := seconds(v)
		if !ok || d <= 0 {
			c.refuse(s.from(k.key), "%s is not a positive duration; gatehouse keeps its default", show(v))
			continue
		}
		c.set(k.name, duration(d), s.from(k.key))
	}
	rotate := c.flag(s, "ROTATE_REFRESH_TOKENS", "GATEHOUSE_JWT_ROTATE_REFRESH_TOKENS")
	blacklist, ok := boolean(s.get("BLACKLIST_AFTER_ROTATION"))
	from := s.from("BLACKLIST_AFTER_ROTATION")
	switch {
	case !ok:
		c.refuse(from, "%s is not True or False", show(s.get("BLACKLIST_AFTER_ROTATION")))
	case blacklist && c.in.HasInstalledApps && !contains(c.in.InstalledApps, "rest_framework_simplejwt.token_blacklist"):
		c.set("GATEHOUSE_JWT_BLACKLIST_AFTER_ROTATION", "false", from)
		c.note(from, "True, but rest_framework_simplejwt.token_blacklist is not in INSTALLED_APPS, so simplejwt never blacklisted a rotated token: written false, as the project behaves")
	default:
		c.set("GATEHOUSE_JWT_BLACKLIST_AFTER_ROTATION", strconv.FormatBool(blacklist), from)
		if rotate && !blacklist {
			c.note(from, "False with rotation on: a rotated refresh token keeps working until it expires, as in the project")
		}
	}
	c.flag(s, "UPDATE_LAST_LOGIN", "GATEHOUSE_JWT_UPDATE_LAST_LOGIN")
	c.jwtKeys(s)
	for _, k := range []struct{ key, name string }{{"AUDIENCE", "GATEHOUSE_JWT_AUDIENCE"}, {"ISSUER", "GATEHOUSE_JWT_ISSUER"}} {
		switch v := s.get(k.key).(type) {
		case nil:
			c.set(k.name, "", s.from(k.key))
		case string:
			c.set(k.name, v, s.from(k.key))
		case []any:
			if len(v) == 1 {
				if one, ok := v[0].(string); ok {
					c.set(k.name, one, s.from(k.key))
					continue
				}
			}
			c.refuse(s.from(k.key), "%s: gatehouse mints and requires one %s", show(v), strings.ToLower(k.key))
		default:
			c.refuse(s.from(k.key), "%s is not a string", show(v))
		}
	}
	if d, ok := seconds(s.get("LEEWAY")); !ok {
		c.refuse(s.from("LEEWAY"), "%s is not a number of seconds or a timedelta", show(s.get("LEEWAY")))
	} else if d > time.Minute {
		c.set("GATEHOUSE_JWT_LEEWAY", "60s", s.from("LEEWAY"))
		c.refuse(s.from("LEEWAY"), "%v accepts tokens expired that long ago; gatehouse allows at most 60s, which is written", d)
	} else {
		c.set("GATEHOUSE_JWT_LEEWAY", d.String(), s.from("LEEWAY"))
	}
	if types, ok := stringList(s.get("AUTH_HEADER_TYPES")); ok && len(types) > 0 {
		c.set("GATEHOUSE_JWT_AUTH_HEADER_TYPES", strings.Join(types, ","), s.from("AUTH_HEADER_TYPES"))
	} else {
		c.refuse(s.from("AUTH_HEADER_TYPES"), "%s is not a string or a list of strings", show(s.get("AUTH_HEADER_TYPES")))
	}
	if name, ok := s.get("AUTH_HEADER_NAME").(string); ok && strings.HasPrefix(name, "HTTP_") && len(name) > 5 {
		c.set("GATEHOUSE_JWT_AUTH_HEADER_NAME", name, s.from("AUTH_HEADER_NAME"))
	} else {
		c.refuse(s.from("AUTH_HEADER_NAME"), "%s is not a request header's HTTP_* name; tokens are read from Authorization", show(s.get("AUTH_HEADER_NAME")))
	}
	if f, _ := s.get("USER_ID_FIELD").(string); f != "id" && f != "pk" {
		c.refuse(s.from("USER_ID_FIELD"), "%s: gatehouse identifies users in tokens by their id; tokens naming users otherwise stop working", show(s.get("USER_ID_FIELD")))
	}
	for _, k := range []struct{ key, name string }{{"USER_ID_CLAIM", "GATEHOUSE_JWT_USER_ID_CLAIM"}, {"TOKEN_TYPE_CLAIM", "GATEHOUSE_JWT_TOKEN_TYPE_CLAIM"}, {"JTI_CLAIM", "GATEHOUSE_JWT_JTI_CLAIM"}} {
		if v, ok := s.get(k.key).(string); ok && v != "" {
			c.set(k.name, v, s.from(k.key))
		} else {
			c.refuse(s.from(k.key), "%s is not a claim name", show(s.get(k.key)))
		}
	}
	for _, k := range []struct{ key, why string }{
		{"USER_AUTHENTICATION_RULE", "gatehouse's rule is simplejwt's default: the user must exist and be active"},
		{"AUTH_TOKEN_CLASSES", "gatehouse authenticates with simplejwt's AccessToken only (no sliding tokens)"},
		{"TOKEN_USER_CLASS", "gatehouse looks the user up (JWTAuthentication), it builds no TokenUser"},
		{"JSON_ENCODER", "gatehouse's claims are numbers and strings, which need no encoder"},
		{"JWK_URL", "gatehouse verifies its own tokens with its own keys; it does not fetch keys from a JWKS URL"},
		{"SLIDING_TOKEN_REFRESH_EXP_CLAIM", "gatehouse serves no sliding tokens"},
		{"SLIDING_TOKEN_LIFETIME", "gatehouse serves no sliding tokens"},
		{"SLIDING_TOKEN_REFRESH_LIFETIME", "gatehouse serves no sliding tokens"},
		{"TOKEN_OBTAIN_SERIALIZER", "a custom serializer's extra claims or checks are not carried"},
		{"TOKEN_REFRESH_SERIALIZER", "a custom serializer's extra claims or checks are not carried"},
		{"TOKEN_VERIFY_SERIALIZER", "a custom serializer's checks are not carried"},
		{"TOKEN_BLACKLIST_SERIALIZER", "a custom serializer's checks are not carried"},
		{"SLIDING_TOKEN_OBTAIN_SERIALIZER", "gatehouse serves no sliding tokens"},
		{"SLIDING_TOKEN_REFRESH_SERIALIZER", "gatehouse serves no sliding tokens"},
	} {
		if s.changed(k.key) {
			c.refuse(s.from(k.key), "%s: %s", show(s.get(k.key)), k.why)
		}
	}
	for _, k := range s.unused() {
		c.refuse(s.from(k), "not a setting of simplejwt 5.2, and unknown to gatehouse")
	}
}

// flag carries a boolean setting and returns its value.
func (c *converter) flag(s *section, key, name string) bool {
	b, ok := boolean(s.get(key))
	if !ok {
		c.refuse(s.from(key), "%s is not True or False", show(s.get(key)))
		return false
	}
	c.set(name, strconv.FormatBool(b), s.from(key))
	return b
}

// jwtKeys carries ALGORITHM, SIGNING_KEY and VERIFYING_KEY.
func (c *converter) jwtKeys(s *section) {
	alg, _ := s.get("ALGORITHM").(string)
	s.used["SIGNING_KEY"], s.used["VERIFYING_KEY"] = true, true
	key, keySet := s.user.Get("SIGNING_KEY")
	keyText, _ := key.(string)
	from := s.from("SIGNING_KEY")
	if !keySet {
		from = "SIMPLE_JWT['SIGNING_KEY'] (SECRET_KEY)"
		keyText = c.in.SecretKey
		if !c.in.HasSecretKey {
			keyText = hiddenKey
		}
	}
	switch alg {
	case "HS256", "HS384", "HS512":
		c.set("GATEHOUSE_JWT_ALGORITHM", alg, s.from("ALGORITHM"))
		switch {
		case keyText == hiddenKey:
			c.note(from, "the input does not hold it: set GATEHOUSE_JWT_SIGNING_KEY to it (in this file, chmod 600), or tokens simplejwt issued stop verifying and their users must log in again")
		case len(keyText) < minHS256Key:
			c.refuse(from, "an HMAC key of %d bytes can be guessed offline from any token (RFC 7518 3.2 asks for at least %d); gatehouse signs with its own key instead, so tokens simplejwt issued stop verifying", len(keyText), minHS256Key)
		default:
			c.res.Settings = append(c.res.Settings, Setting{Name: "GATEHOUSE_JWT_SIGNING_KEY", Value: keyText, From: from, Secret: true})
		}
		if v, _ := s.get("VERIFYING_KEY").(string); v != "" {
			c.note(s.from("VERIFYING_KEY"), "ignored with %s, as simplejwt ignores it", alg)
		}
	case "RS256", "ES256":
		c.set("GATEHOUSE_JWT_ALGORITHM", alg, s.from("ALGORITHM"))
		c.set("GATEHOUSE_JWT_KEY_ID", "simplejwt", s.from("ALGORITHM"))
		if keyText == hiddenKey || keyText == "" {
			c.note(from, "the input does not hold the private key: set GATEHOUSE_JWT_PRIVATE_KEY_FILE to the PEM file of SIMPLE_JWT's SIGNING_KEY")
		} else {
			c.res.Settings = append(c.res.Settings, Setting{Name: "GATEHOUSE_JWT_PRIVATE_KEY", Value: keyText, From: from, Secret: true})
		}
		c.note(s.from("ALGORITHM"), "new tokens carry a kid header (simplejwt); tokens without one, as simplejwt's, still verify")
		if v, _ := s.get("VERIFYING_KEY").(string); v != "" {
			c.note(s.from("VERIFYING_KEY"), "not written: gatehouse derives the public key from the private key")
		}
	default:
		c.refuse(s.from("ALGORITHM"), "%s: gatehouse signs with HS256, HS384, HS512, RS256, ES256 or EdDSA; HS256 with gatehouse's own key is used, so tokens simplejwt issued stop verifying and their users must log in again", show(s.get("ALGORITHM")))
	}
}

// --- OAUTH2_PROVIDER (django-oauth-toolkit 1.7; PKCE_REQUIRED's default
// became True in 2.0)

func (c *converter) dotDefaults() map[string]any {
	return map[string]any{
		"CLIENT_ID_GENERATOR_CLASS": "oauth2_provider.generators.ClientIdGenerator", "CLIENT_SECRET_GENERATOR_CLASS": "oauth2_provider.generators.ClientSecretGenerator",
		"CLIENT_SECRET_GENERATOR_LENGTH": int64(128), "ACCESS_TOKEN_GENERATOR": nil, "REFRESH_TOKEN_GENERATOR": nil,
		"EXTRA_SERVER_KWARGS": &Object{}, "OAUTH2_SERVER_CLASS": "oauthlib.oauth2.Server", "OIDC_SERVER_CLASS": "oauthlib.openid.Server",
		"OAUTH2_VALIDATOR_CLASS": "oauth2_provider.oauth2_validators.OAuth2Validator", "OAUTH2_BACKEND_CLASS": "oauth2_provider.oauth2_backends.OAuthLibCore",
		"SCOPES":         &Object{Keys: []string{"read", "write"}, Values: map[string]any{"read": "Reading scope", "write": "Writing scope"}},
		"DEFAULT_SCOPES": []any{"__all__"}, "SCOPES_BACKEND_CLASS": "oauth2_provider.scopes.SettingsScopes",
		"READ_SCOPE": "read", "WRITE_SCOPE": "write", "AUTHORIZATION_CODE_EXPIRE_SECONDS": int64(60),
		"ACCESS_TOKEN_EXPIRE_SECONDS": int64(36000), "ID_TOKEN_EXPIRE_SECONDS": int64(36000), "REFRESH_TOKEN_EXPIRE_SECONDS": nil,
		"REFRESH_TOKEN_GRACE_PERIOD_SECONDS": int64(0), "ROTATE_REFRESH_TOKEN": true, "ERROR_RESPONSE_WITH_SCOPES": false,
		"APPLICATION_MODEL": "oauth2_provider.Application", "ACCESS_TOKEN_MODEL": "oauth2_provider.AccessToken",
		"ID_TOKEN_MODEL": "oauth2_provider.IDToken", "GRANT_MODEL": "oauth2_provider.Grant", "REFRESH_TOKEN_MODEL": "oauth2_provider.RefreshToken",
		"APPLICATION_ADMIN_CLASS": "oauth2_provider.admin.ApplicationAdmin", "ACCESS_TOKEN_ADMIN_CLASS": "oauth2_provider.admin.AccessTokenAdmin",
		"GRANT_ADMIN_CLASS": "oauth2_provider.admin.GrantAdmin", "ID_TOKEN_ADMIN_CLASS": "oauth2_provider.admin.IDTokenAdmin",
		"REFRESH_TOKEN_ADMIN_CLASS": "oauth2_provider.admin.RefreshTokenAdmin", "REQUEST_APPROVAL_PROMPT": "force",
		"ALLOWED_REDIRECT_URI_SCHEMES": []any{"http", "https"}, "OIDC_ENABLED": false, "OIDC_ISS_ENDPOINT": "",
		"OIDC_USERINFO_ENDPOINT": "", "OIDC_JWKS_MAX_AGE_SECONDS": int64(3600),
		"OIDC_RESPONSE_TYPES_SUPPORTED":              []any{"code", "token", "id_token", "id_token token", "code token", "code id_token", "code id_token token"},
		"OIDC_SUBJECT_TYPES_SUPPORTED":               []any{"public"},
		"OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": []any{"client_secret_post", "client_secret_basic"},
		"RESOURCE_SERVER_INTROSPECTION_URL":          nil, "RESOURCE_SERVER_TOKEN_CACHING_SECONDS": int64(36000),
		"PKCE_REQUIRED": c.majorVersion("django-oauth-toolkit") >= 2, "ALWAYS_RELOAD_OAUTHLIB_CORE": false,
		"CLEAR_EXPIRED_TOKENS_BATCH_SIZE": int64(10000), "CLEAR_EXPIRED_TOKENS_BATCH_INTERVAL": int64(0),
	}
}

// maxCodeLifetime is the longest authorization code lifetime gatehouse
// accepts (RFC 6749 4.1.2 recommends 10 minutes at most).
const maxCodeLifetime = 10 * time.Minute

func (c *converter) oauth2() {
	s := newSection("OAUTH2_PROVIDER", c.in.OAuth2Provider, c.dotDefaults())
	scopes := c.scopes(s)
	c.defaultScopes(s, scopes)
	for _, k := range []struct {
		key, name string
		max       time.Duration
		zeroOK    bool
	}{
		{"ACCESS_TOKEN_EXPIRE_SECONDS", "GATEHOUSE_OAUTH_ACCESS_TOKEN_LIFETIME", 0, false},
		{"AUTHORIZATION_CODE_EXPIRE_SECONDS", "GATEHOUSE_OAUTH_CODE_LIFETIME", maxCodeLifetime, false},
		{"REFRESH_TOKEN_GRACE_PERIOD_SECONDS", "GATEHOUSE_OAUTH_REFRESH_GRACE_PERIOD", 0, true},
	} {
		v := s.get(k.key)
		d, ok := seconds(v)
		switch {
		case !ok || (d == 0 && !k.zeroOK):
			c.refuse(s.from(k.key), "%s is not a positive number of seconds; gatehouse keeps its default", show(v))
		case k.max > 0 && d > k.max:
			c.set(k.name, strconv.FormatInt(int64(k.max/time.Second), 10), s.from(k.key))
			c.refuse(s.from(k.key), "%s: an authorization code is a bearer secret in a URL; gatehouse allows at most %d seconds, which is written", show(v), int64(k.max/time.Second))
		default:
			c.set(k.name, secondsValue(d), s.from(k.key))
		}
	}
	if v := s.get("REFRESH_TOKEN_EXPIRE_SECONDS"); v == nil {
		c.set("GATEHOUSE_OAUTH_REFRESH_TOKEN_LIFETIME", "0", s.from("REFRESH_TOKEN_EXPIRE_SECONDS"))
	} else if d, ok := seconds(v); ok && d > 0 {
		c.set("GATEHOUSE_OAUTH_REFRESH_TOKEN_LIFETIME", secondsValue(d), s.from("REFRESH_TOKEN_EXPIRE_SECONDS"))
		c.note(s.from("REFRESH_TOKEN_EXPIRE_SECONDS"), "DOT 1.7 ends such refresh tokens only when cleartokens runs; gatehouse refuses them as soon as they expire")
	} else {
		c.refuse(s.from("REFRESH_TOKEN_EXPIRE_SECONDS"), "%s is not None or a positive number of seconds; refresh tokens never expire", show(v))
	}
	if rotate, ok := boolean(s.get("ROTATE_REFRESH_TOKEN")); !ok || !rotate {
		c.refuse(s.from("ROTATE_REFRESH_TOKEN"), "%s: gatehouse always rotates refresh tokens (RFC 9700 4.14.2: a public client's refresh token must be rotated or sender-constrained) and revokes the family when a rotated one is replayed; "+
			"clients must use the refresh_token of each answer, as RFC 6749 6 requires (GATEHOUSE_OAUTH_REFRESH_GRACE_PERIOD eases a client that retries)", show(s.get("ROTATE_REFRESH_TOKEN")))
	}
	c.pkce(s)
	c.redirectSchemes(s)
	if r, _ := s.get("READ_SCOPE").(string); r != "read" || s.changed("WRITE_SCOPE") {
		c.refuse("OAUTH2_PROVIDER['READ_SCOPE'], ['WRITE_SCOPE']", "%s, %s: gatehouse's read/write scope check (GATEHOUSE_OAUTH_REQUIRE_SCOPES) uses read and write", show(s.get("READ_SCOPE")), show(s.get("WRITE_SCOPE")))
	}
	if on, _ := boolean(s.get("OIDC_ENABLED")); on {
		c.refuse(s.from("OIDC_ENABLED"), "True: gatehouse is not an OpenID Connect provider; clients asking for the openid scope get no ID token")
	}
	for _, k := range []struct{ key, why string }{
		{"CLIENT_ID_GENERATOR_CLASS", "gatehouse generates 40 letters and digits, as DOT's default"},
		{"CLIENT_SECRET_GENERATOR_CLASS", "gatehouse generates client secrets as DOT's default"},
		{"CLIENT_SECRET_GENERATOR_LENGTH", "gatehouse generates client secrets of 128 characters"},
		{"ACCESS_TOKEN_GENERATOR", "gatehouse's access tokens are 30 random letters and digits, as DOT's default"},
		{"REFRESH_TOKEN_GENERATOR", "gatehouse's refresh tokens are 30 random letters and digits, as DOT's default"},
		{"EXTRA_SERVER_KWARGS", "oauthlib server arguments do not apply"},
		{"OAUTH2_SERVER_CLASS", "a custom oauthlib server's behaviour is not carried"},
		{"OIDC_SERVER_CLASS", "gatehouse is not an OpenID Connect provider"},
		{"OAUTH2_VALIDATOR_CLASS", "a custom validator's rules are not carried"},
		{"OAUTH2_BACKEND_CLASS", "a custom backend's behaviour is not carried"},
		{"SCOPES_BACKEND_CLASS", "gatehouse's scopes are the SCOPES setting"},
		{"ERROR_RESPONSE_WITH_SCOPES", "gatehouse's 403 on /api/ carries no scope list"},
		{"REQUEST_APPROVAL_PROMPT", "gatehouse asks for consent unless the application skips authorization (skip_authorization)"},
		{"APPLICATION_MODEL", "loaddata reads DOT's own models"}, {"ACCESS_TOKEN_MODEL", "loaddata reads DOT's own models"},
		{"ID_TOKEN_MODEL", "loaddata reads DOT's own models"}, {"GRANT_MODEL", "loaddata reads DOT's own models"},
		{"REFRESH_TOKEN_MODEL", "loaddata reads DOT's own models"},
		{"RESOURCE_SERVER_INTROSPECTION_URL", "gatehouse is the authorization server: it checks its own tokens"},
	} {
		if s.changed(k.key) {
			c.refuse(s.from(k.key), "%s: %s", show(s.get(k.key)), k.why)
		}
	}
	// Secrets the shell lines never print; diffsettings does.
	for _, k := range []string{"OIDC_RSA_PRIVATE_KEY", "OIDC_RSA_PRIVATE_KEYS_INACTIVE", "RESOURCE_SERVER_AUTH_TOKEN", "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS"} {
		s.used[k] = true
		if v, ok := s.user.Get(k); ok && v != nil && v != "" && !same(v, []any{}) {
			c.refuse(s.from(k), "set (not shown): gatehouse is no OpenID Connect provider and no resource server of another; it is not carried")
		}
	}
	// Inert here: admin classes, OIDC details (OIDC_ENABLED is reported),
	// cleanup pacing, test switches.
	for _, k := range []string{"APPLICATION_ADMIN_CLASS", "ACCESS_TOKEN_ADMIN_CLASS", "GRANT_ADMIN_CLASS", "ID_TOKEN_ADMIN_CLASS",
		"REFRESH_TOKEN_ADMIN_CLASS", "OIDC_ISS_ENDPOINT", "OIDC_USERINFO_ENDPOINT", "OIDC_JWKS_MAX_AGE_SECONDS",
		"OIDC_RESPONSE_TYPES_SUPPORTED", "OIDC_SUBJECT_TYPES_SUPPORTED", "OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED",
		"ID_TOKEN_EXPIRE_SECONDS", "RESOURCE_SERVER_TOKEN_CACHING_SECONDS", "ALWAYS_RELOAD_OAUTHLIB_CORE",
		"CLEAR_EXPIRED_TOKENS_BATCH_SIZE", "CLEAR_EXPIRED_TOKENS_BATCH_INTERVAL", "_SCOPES", "_DEFAULT_SCOPES"} {
		s.used[k] = true
	}
	for _, k := range s.unused() {
		c.refuse(s.from(k), "not a setting of django-oauth-toolkit 1.7, and unknown to gatehouse")
	}
}

// secondsValue writes d as whole seconds when it is, as DOT's settings are.
func secondsValue(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10)
	}
	return d.String()
}

// scopes carries SCOPES and returns the scope names written.
func (c *converter) scopes(s *section) []string {
	v := s.get("SCOPES")
	o, ok := v.(*Object)
	from := s.from("SCOPES")
	if !ok || len(o.Keys) == 0 {
		c.refuse(from, "%s is not a non-empty dictionary of scope names to descriptions; gatehouse keeps its default", show(v))
		return nil
	}
	var items, names []string
	for _, name := range o.Keys {
		desc, _ := o.Values[name].(string)
		if name == "" || strings.ContainsAny(name, " \t\"\\,:") {
			c.refuse(from, "scope %s: a scope name with a space, quote, backslash, comma or colon cannot be carried; it is left out", show(name))
			continue
		}
		if strings.Contains(desc, ",") {
			c.note(from, "scope %s: the commas of its description are written as semicolons (GATEHOUSE_OAUTH_SCOPES separates scopes with commas)", show(name))
			desc = strings.ReplaceAll(desc, ",", ";")
		}
		if strings.TrimSpace(desc) == "" {
			desc = name
		}
		items = append(items, name+":"+strings.TrimSpace(desc))
		names = append(names, name)
	}
	if len(items) == 0 {
		return nil
	}
	c.set("GATEHOUSE_OAUTH_SCOPES", strings.Join(items, ","), from)
	return names
}

func (c *converter) defaultScopes(s *section, scopes []string) {
	v := s.get("DEFAULT_SCOPES")
	from := s.from("DEFAULT_SCOPES")
	list, ok := stringList(v)
	switch {
	case !ok:
		c.refuse(from, "%s is not a list of scope names", show(v))
	case slices.Contains(list, "__all__"):
		c.set("GATEHOUSE_OAUTH_DEFAULT_SCOPES", "__all__", from)
	case len(list) == 0:
		c.refuse(from, "[]: a token asked for without a scope would get none in the project; gatehouse grants every scope instead (__all__)")
		c.set("GATEHOUSE_OAUTH_DEFAULT_SCOPES", "__all__", from)
	default:
		var keep []string
		for _, sc := range list {
			if scopes != nil && !slices.Contains(scopes, sc) {
				c.refuse(from, "%s is not among SCOPES; it is left out", show(sc))
				continue
			}
			keep = append(keep, sc)
		}
		if len(keep) > 0 {
			c.set("GATEHOUSE_OAUTH_DEFAULT_SCOPES", strings.Join(keep, " "), from)
		}
	}
}

func (c *converter) pkce(s *section) {
	v := s.get("PKCE_REQUIRED")
	from := s.from("PKCE_REQUIRED")
	switch b, ok := boolean(v); {
	case !ok:
		c.set("GATEHOUSE_OAUTH_REQUIRE_PKCE", "true", from)
		c.refuse(from, "%s decides per client in the project; gatehouse requires PKCE of every client, which is written", show(v))
	case b:
		c.set("GATEHOUSE_OAUTH_REQUIRE_PKCE", "true", from)
	default:
		c.set("GATEHOUSE_OAUTH_REQUIRE_PKCE", "false", from)
		c.refuse(from, "False: confidential clients may go without PKCE, as in the project, but public clients must always send an S256 code_challenge (RFC 9700 2.1.1); the plain method is refused")
	}
}

func (c *converter) redirectSchemes(s *section) {
	v := s.get("ALLOWED_REDIRECT_URI_SCHEMES")
	from := s.from("ALLOWED_REDIRECT_URI_SCHEMES")
	list, ok := stringList(v)
	if !ok {
		c.refuse(from, "%s is not a list of URI schemes; gatehouse keeps http and https", show(v))
		return
	}
	var keep []string
	for _, sc := range list {
		low := strings.ToLower(sc)
		switch {
		case low == "javascript" || low == "data" || low == "vbscript":
			c.refuse(from, "%s would run script or show content in the browser with the code in it; it is left out", show(sc))
		case !validScheme(low):
			c.refuse(from, "%s is not a URI scheme; it is left out", show(sc))
		case !slices.Contains(keep, low):
			keep = append(keep, low)
		}
	}
	if len(keep) == 0 {
		c.refuse(from, "no usable scheme; gatehouse keeps http and https")
		return
	}
	c.set("GATEHOUSE_OAUTH_ALLOWED_REDIRECT_URI_SCHEMES", strings.Join(keep, ","), from)
}

func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || i > 0 && (ch >= '0' && ch <= '9' || ch == '+' || ch == '-' || ch == '.')) {
			return false
		}
	}
	return s != ""
}

// --- REST_FRAMEWORK (Django REST framework 3.14)

// gatehouseAuthentication is the authentication chain of gatehouse's
// /api/ views, the reference project's.
var gatehouseAuthentication = []string{
	"oauth2_provider.contrib.rest_framework.OAuth2Authentication",
	"rest_framework_simplejwt.authentication.JWTAuthentication",
	"rest_framework.authentication.TokenAuthentication",
	"rest_framework.authentication.SessionAuthentication",
}

func (c *converter) restFramework() {
	s := newSection("REST_FRAMEWORK", c.in.RestFramework, map[string]any{
		"DEFAULT_AUTHENTICATION_CLASSES": []any{"rest_framework.authentication.SessionAuthentication", "rest_framework.authentication.BasicAuthentication"},
		"DEFAULT_PAGINATION_CLASS":       nil, "PAGE_SIZE": nil, "DEFAULT_THROTTLE_CLASSES": []any{}, "DEFAULT_THROTTLE_RATES": &Object{},
	})
	c.pagination(s)
	c.throttles(s)
	if classes, ok := stringList(s.get("DEFAULT_AUTHENTICATION_CLASSES")); !ok {
		c.refuse(s.from("DEFAULT_AUTHENTICATION_CLASSES"), "%s is not a list of class paths", show(s.get("DEFAULT_AUTHENTICATION_CLASSES")))
	} else if !slices.Equal(classes, gatehouseAuthentication) {
		for _, cl := range classes {
			if !slices.Contains(gatehouseAuthentication, cl) {
				c.refuse(s.from("DEFAULT_AUTHENTICATION_CLASSES"), "%s: gatehouse's /api/ does not authenticate this way", show(cl))
			}
		}
		var extra []string
		for _, cl := range gatehouseAuthentication {
			if !slices.Contains(classes, cl) {
				extra = append(extra, cl[strings.LastIndexByte(cl, '.')+1:])
			}
		}
		if len(extra) > 0 {
			c.refuse(s.from("DEFAULT_AUTHENTICATION_CLASSES"), "gatehouse's /api/ also accepts %s, which the project does not", strings.Join(extra, ", "))
		}
		c.note(s.from("DEFAULT_AUTHENTICATION_CLASSES"), "gatehouse's /api/ authenticates in this order: OAuth2Authentication, JWTAuthentication, TokenAuthentication, SessionAuthentication")
	}
	if s.isSet("DEFAULT_FILTER_BACKENDS") {
		if b, ok := stringList(s.get("DEFAULT_FILTER_BACKENDS")); !ok || !slices.Equal(b, []string{"django_filters.rest_framework.DjangoFilterBackend"}) {
			c.refuse(s.from("DEFAULT_FILTER_BACKENDS"), "%s: gatehouse's /api/users/ filters by username and email as the reference project's DjangoFilterBackend does", show(s.get("DEFAULT_FILTER_BACKENDS")))
		}
	}
	for _, k := range s.unused() {
		c.refuse(s.from(k), "not carried: it concerns the project's own views; gatehouse's views behave as the reference project's")
	}
}

func (c *converter) pagination(s *section) {
	class := s.get("DEFAULT_PAGINATION_CLASS")
	size := s.get("PAGE_SIZE")
	from := s.from("PAGE_SIZE")
	n, isInt := size.(int64)
	switch {
	case class != "rest_framework.pagination.PageNumberPagination":
		c.refuse(s.from("DEFAULT_PAGINATION_CLASS"), "%s: gatehouse's /api/users/ pages as PageNumberPagination (count, next, previous, results); the page size is left at its default", show(class))
	case size == nil:
		c.refuse(from, "None: the project's lists are not paginated; gatehouse's /api/users/ is, and the page size is left at its default")
	case !isInt || n < 1:
		c.refuse(from, "%s is not a positive whole number; the page size is left at its default", show(size))
	default:
		c.set("GATEHOUSE_PAGE_SIZE", strconv.FormatInt(n, 10), from)
	}
}

// throttleScopes maps the scopes of DRF's rate throttles to their classes.
var throttleScopes = map[string]string{
	throttle.ScopeAnon: "rest_framework.throttling.AnonRateThrottle",
	throttle.ScopeUser: "rest_framework.throttling.UserRateThrottle",
}

func (c *converter) throttles(s *section) {
	classes, ok := stringList(s.get("DEFAULT_THROTTLE_CLASSES"))
	if !ok {
		c.refuse(s.from("DEFAULT_THROTTLE_CLASSES"), "%s is not a list of class paths", show(s.get("DEFAULT_THROTTLE_CLASSES")))
	}
	for _, cl := range classes {
		if cl != throttleScopes[throttle.ScopeAnon] && cl != throttleScopes[throttle.ScopeUser] {
			c.refuse(s.from("DEFAULT_THROTTLE_CLASSES"), "%s: gatehouse throttles by its own scopes (anon, user, login, sign_up, token); this class is not carried", show(cl))
		}
	}
	rates, ok := s.get("DEFAULT_THROTTLE_RATES").(*Object)
	from := s.from("DEFAULT_THROTTLE_RATES")
	if !ok {
		c.refuse(from, "%s is not a dictionary", show(s.get("DEFAULT_THROTTLE_RATES")))
		return
	}
	var out []string
	for _, scope := range rates.Keys {
		v := rates.Values[scope]
		class, ours := throttleScopes[scope]
		if !ours {
			c.refuse(from, "scope %s belongs to the project's own views (ScopedRateThrottle or a class of its own); gatehouse's scopes are anon, user, login, sign_up and token", show(scope))
			continue
		}
		if !slices.Contains(classes, class) {
			c.refuse(from, "scope %s: %s is not in DEFAULT_THROTTLE_CLASSES, so the project applied this rate only to views that name the class; not carried", show(scope), class)
			continue
		}
		rate := "none"
		if v != nil {
			text, _ := v.(string)
			if _, err := throttle.ParseRate(text); err != nil || text == "" {
				c.refuse(from, "scope %s: %s is not a rate such as 100/day", show(scope), show(v))
				continue
			}
			rate = text
		}
		out = append(out, scope+"="+rate)
	}
	if len(out) > 0 {
		c.set("GATEHOUSE_THROTTLE_RATES", strings.Join(out, ","), from)
		c.note(from, "gatehouse's own scopes not named here (login, sign_up, token) keep their defaults (gatehouse config)")
	}
}

// --- PASSWORD_HASHERS (Django 3.2)

// stockHashers maps Django's hasher classes to their algorithms.
var stockHashers = map[string]string{
	"django.contrib.auth.hashers.PBKDF2PasswordHasher":       password.AlgPBKDF2SHA256,
	"django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher":   password.AlgPBKDF2SHA1,
	"django.contrib.auth.hashers.Argon2PasswordHasher":       password.AlgArgon2,
	"django.contrib.auth.hashers.BCryptSHA256PasswordHasher": password.AlgBcryptSHA256,
	"django.contrib.auth.hashers.BCryptPasswordHasher":       password.AlgBcrypt,
	"django.contrib.auth.hashers.ScryptPasswordHasher":       password.AlgScrypt,
	"django.contrib.auth.hashers.SHA1PasswordHasher":         password.AlgSHA1,
	"django.contrib.auth.hashers.MD5PasswordHasher":          password.AlgMD5,
	"django.contrib.auth.hashers.UnsaltedSHA1PasswordHasher": password.AlgUnsaltedSHA1,
	"django.contrib.auth.hashers.UnsaltedMD5PasswordHasher":  password.AlgUnsaltedMD5,
	"django.contrib.auth.hashers.CryptPasswordHasher":        "crypt",
}

// djangoPBKDF2Iterations are PBKDF2PasswordHasher's iterations by Django
// version, for input that names the class only.
var djangoPBKDF2Iterations = map[string]int64{"3.2": 260000, "4.0": 320000, "4.1": 390000, "4.2": 600000, "5.0": 720000, "5.1": 870000, "5.2": 1000000}

func (c *converter) hashers() {
	const from = "PASSWORD_HASHERS"
	if !c.in.HasHashers {
		return
	}
	var algs, unknown []string
	var first *Hasher
	for i := range c.in.Hashers {
		h := c.in.Hashers[i]
		alg := h.Algorithm
		if alg == "" {
			alg = stockHashers[h.Path]
			h.Params = c.stockParams(alg)
		}
		switch {
		case alg == "":
			unknown = append(unknown, h.Path)
			if i == 0 {
				first = &Hasher{Path: h.Path} // its algorithm is not known
			}
			continue
		case alg == "crypt":
			c.refuse(from, "%s: Unix crypt is not verified (loaddata reports its users, who must set a new password)", show(h.Path))
			continue
		case !slices.Contains(password.Algorithms(), alg):
			c.refuse(from, "%s: algorithm %s is unknown to gatehouse: its hashes do not verify", show(h.Path), show(alg))
			continue
		case slices.Contains(algs, alg):
			continue // Django uses the first hasher of an algorithm
		}
		if first == nil {
			h.Algorithm = alg
			first = &h
		}
		algs = append(algs, alg)
	}
	if len(unknown) > 0 {
		// Which algorithm a class of the project's own writes is not in
		// the input: accept every strong one, so that its users can log
		// in, but no weak one the project did not list.
		var added []string
		for _, a := range []string{password.AlgArgon2, password.AlgPBKDF2SHA256, password.AlgBcryptSHA256, password.AlgScrypt} {
			if !slices.Contains(algs, a) {
				algs = append(algs, a)
				added = append(added, a)
			}
		}
		c.refuse(from, "%s: hasher classes gatehouse does not know, whose algorithm and cost the input does not give (the shell lines print them); so that their users can log in, %s hashes are accepted too",
			show(anySlice(unknown)), strings.Join(added, ", "))
	}
	if len(algs) == 0 {
		c.refuse(from, "no hasher gatehouse can use: every stored hash is refused; gatehouse keeps its default")
		return
	}
	switch {
	case first.Algorithm == "":
		c.refuse(from, "%s first: its algorithm is not known, so argon2 writes new hashes; the others verify and are replaced at login", show(first.Path))
	case !password.Writable(first.Algorithm):
		c.refuse(from, "%s (%s) first: gatehouse does not write %s hashes (%s); argon2 writes new hashes instead, and %s hashes verify and are replaced at login",
			show(first.Path), first.Algorithm, first.Algorithm, weakness(first.Algorithm), first.Algorithm)
	}
	if !password.Writable(first.Algorithm) {
		algs = append([]string{password.AlgArgon2}, slices.DeleteFunc(algs, func(a string) bool { return a == password.AlgArgon2 })...)
		first = &Hasher{Algorithm: password.AlgArgon2}
	}
	c.set("GATEHOUSE_PASSWORD_HASHERS", strings.Join(algs, ","), from)
	c.hasherCost(*first)
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

// weakness says why gatehouse writes no hashes of algorithm.
func weakness(algorithm string) string {
	switch algorithm {
	case password.AlgBcrypt:
		return "bcrypt ignores a password's bytes past the 72nd"
	case password.AlgPBKDF2SHA1:
		return "PBKDF2 over SHA-1"
	case password.AlgScrypt:
		return "Django 3.2 cannot read them"
	}
	return "a fast digest, guessed at billions a second"
}

// stockParams are the costs of Django's own hasher of algorithm, for
// input that names the class only.
func (c *converter) stockParams(algorithm string) map[string]any {
	switch algorithm {
	case password.AlgPBKDF2SHA256:
		v := c.in.Versions["django"]
		parts := strings.SplitN(v, ".", 3)
		it, ok := int64(260000), false
		if len(parts) >= 2 {
			it, ok = djangoPBKDF2Iterations[parts[0]+"."+parts[1]]
		}
		if !ok {
			it = 260000
		}
		return map[string]any{"iterations": it}
	case password.AlgArgon2:
		return map[string]any{"time_cost": int64(2), "memory_cost": int64(102400), "parallelism": int64(8)}
	case password.AlgBcryptSHA256:
		return map[string]any{"rounds": int64(12)}
	}
	return nil
}

// hasherCost carries the cost of the hasher that writes new hashes.
func (c *converter) hasherCost(h Hasher) {
	from := "PASSWORD_HASHERS[0]"
	param := func(name string) (int64, bool) {
		n, ok := h.Params[name].(int64)
		return n, ok
	}
	switch h.Algorithm {
	case password.AlgPBKDF2SHA256:
		it, ok := param("iterations")
		switch {
		case !ok:
			c.note(from, "the iterations of pbkdf2_sha256 are not in the input: gatehouse writes %d", password.DefaultPBKDF2Iterations)
		case it < password.MinPBKDF2Iterations:
			c.refuse(from, "pbkdf2_sha256 at %d iterations: gatehouse writes new hashes with at least %d (OWASP 2023, Django 4.2's default); stored hashes at %d verify and are replaced at login", it, password.MinPBKDF2Iterations, it)
			c.set("GATEHOUSE_PBKDF2_ITERATIONS", strconv.Itoa(password.MinPBKDF2Iterations), from)
		default:
			c.set("GATEHOUSE_PBKDF2_ITERATIONS", strconv.FormatInt(it, 10), from)
		}
	case password.AlgBcryptSHA256:
		r, ok := param("rounds")
		switch {
		case !ok:
			c.note(from, "the rounds of bcrypt_sha256 are not in the input: gatehouse writes cost %d", password.DefaultBcryptRounds)
		case r < password.MinBcryptRounds:
			c.refuse(from, "bcrypt_sha256 at cost %d: gatehouse writes new hashes at cost %d at least (OWASP)", r, password.MinBcryptRounds)
			c.set("GATEHOUSE_BCRYPT_ROUNDS", strconv.Itoa(password.MinBcryptRounds), from)
		case r > 16:
			c.refuse(from, "bcrypt_sha256 at cost %d: gatehouse writes at cost 16 at most", r)
			c.set("GATEHOUSE_BCRYPT_ROUNDS", "16", from)
		default:
			c.set("GATEHOUSE_BCRYPT_ROUNDS", strconv.FormatInt(r, 10), from)
		}
	case password.AlgArgon2:
		if h.Params == nil {
			return // argon2 written first in place of an unusable hasher: gatehouse's parameters
		}
		t, okT := param("time_cost")
		m, okM := param("memory_cost")
		p, okP := param("parallelism")
		if !okT || !okM || !okP {
			c.note(from, "the argon2 costs are not in the input: gatehouse's own are used (gatehouse config)")
			return
		}
		params := password.Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(p)}
		if m > math.MaxUint32 || t > math.MaxUint32 || p > 255 || params.Validate() != nil {
			c.refuse(from, "argon2 with time_cost %d, memory_cost %d KiB, parallelism %d is outside gatehouse's bounds; gatehouse's own costs are used", t, m, p)
			return
		}
		weak := m < 19456 || m*t < 19456*2
		if weak {
			c.refuse(from, "argon2 with %d KiB and %d passes is below OWASP's minimum (19 MiB, 2 passes); gatehouse's own costs are used", m, t)
			return
		}
		c.set("GATEHOUSE_ARGON2_MEMORY", strconv.FormatInt(m, 10), from)
		c.set("GATEHOUSE_ARGON2_TIME", strconv.FormatInt(t, 10), from)
		c.set("GATEHOUSE_ARGON2_THREADS", strconv.FormatInt(p, 10), from)
		if m > 19456 {
			c.note(from, "each argon2 login costs %d MiB of memory, as in the project (gatehouse's default is 19 MiB, OWASP's minimum); GATEHOUSE_MEMORY_LIMIT=auto makes room for it", m/1024)
		}
	}
}

// --- AUTH_PASSWORD_VALIDATORS (Django 3.2)

var stockValidators = map[string]string{
	"django.contrib.auth.password_validation.UserAttributeSimilarityValidator": password.ValidatorSimilarity,
	"django.contrib.auth.password_validation.MinimumLengthValidator":           password.ValidatorLength,
	"django.contrib.auth.password_validation.CommonPasswordValidator":          password.ValidatorCommon,
	"django.contrib.auth.password_validation.NumericPasswordValidator":         password.ValidatorNumeric,
}

func (c *converter) validators() {
	if !c.in.HasValidators {
		return
	}
	const from = "AUTH_PASSWORD_VALIDATORS"
	var names []string
	for i, v := range c.in.Validators {
		at := fmt.Sprintf("%s[%d]", from, i)
		o, ok := v.(*Object)
		if !ok {
			c.refuse(at, "%s is not a dictionary with NAME", show(v))
			continue
		}
		path, _ := o.Values["NAME"].(string)
		name, known := stockValidators[path]
		if !known {
			c.refuse(at, "%s: a validator gatehouse does not have; its rule is not applied", show(o.Values["NAME"]))
			continue
		}
		if slices.Contains(names, name) {
			c.refuse(at, "%s is listed twice; gatehouse applies it once, with the first one's options", path)
			continue
		}
		names = append(names, name)
		opts, _ := o.Values["OPTIONS"].(*Object)
		if raw, ok := o.Values["OPTIONS"]; ok && opts == nil && raw != nil {
			c.refuse(at, "OPTIONS %s is not a dictionary; the defaults apply", show(raw))
		}
		c.validatorOptions(at, name, opts)
	}
	if len(names) == 0 {
		c.set("GATEHOUSE_PASSWORD_VALIDATORS", "none", from)
		c.note(from, "no validator applies, as in the project: any password is accepted (gatehouse's default applies Django's four)")
		return
	}
	c.set("GATEHOUSE_PASSWORD_VALIDATORS", strings.Join(names, ","), from)
}

func (c *converter) validatorOptions(at, name string, opts *Object) {
	if opts == nil {
		opts = &Object{}
	}
	known := map[string][]string{password.ValidatorSimilarity: {"user_attributes", "max_similarity"},
		password.ValidatorLength: {"min_length"}, password.ValidatorCommon: {"password_list_path"}}[name]
	for _, k := range opts.Keys {
		if !slices.Contains(known, k) {
			c.refuse(at, "option %s is not one of %s", show(k), name)
		}
	}
	switch name {
	case password.ValidatorLength:
		n := int64(8)
		if v, ok := opts.Get("min_length"); ok {
			if x, ok := v.(int64); ok && x >= 0 {
				n = x
			} else {
				c.refuse(at, "min_length %s is not a whole number; 8 is written", show(v))
			}
		}
		c.set("GATEHOUSE_PASSWORD_MIN_LENGTH", strconv.FormatInt(n, 10), at)
		if n < 8 {
			c.note(at, "a minimum length of %d is below gatehouse's default of 8 (ASVS 2.1.1)", n)
		}
	case password.ValidatorSimilarity:
		attrs := password.SimilarityAttrs()
		if v, ok := opts.Get("user_attributes"); ok {
			list, ok := stringList(v)
			if !ok {
				c.refuse(at, "user_attributes %s is not a list of field names; the default ones are written", show(v))
			} else {
				attrs = nil
				for _, a := range list {
					if !slices.Contains(password.SimilarityAttrs(), a) {
						c.refuse(at, "user attribute %s: gatehouse's users have username, first_name, last_name and email; it is left out", show(a))
						continue
					}
					if !slices.Contains(attrs, a) {
						attrs = append(attrs, a)
					}
				}
			}
		}
		c.set("GATEHOUSE_PASSWORD_SIMILARITY_ATTRIBUTES", strings.Join(attrs, ","), at)
		sim := 0.7
		if v, ok := opts.Get("max_similarity"); ok {
			f, ok := number(v)
			switch {
			case !ok:
				c.refuse(at, "max_similarity %s is not a number; 0.7 is written", show(v))
			case f < 0.1:
				c.refuse(at, "max_similarity %s would refuse nearly every password (Django 4 refuses values below 0.1); 0.1 is written", show(v))
				sim = 0.1
			case f > 1:
				c.note(at, "max_similarity %s never matches; 1 is written, which matches only an equal value", show(v))
				sim = 1
			default:
				sim = f
			}
		}
		c.set("GATEHOUSE_PASSWORD_MAX_SIMILARITY", strconv.FormatFloat(sim, 'g', -1, 64), at)
		if len(attrs) == 0 {
			c.note(at, "no attribute is left to compare: the validator checks nothing")
		}
	case password.ValidatorCommon:
		if v, ok := opts.Get("password_list_path"); ok {
			if p, ok := v.(string); ok && p != "" {
				c.set("GATEHOUSE_PASSWORD_COMMON_FILE", p, at)
				c.note(at, "gatehouse reads %s at start: copy the file to that path on the gatehouse host (or change the setting)", show(p))
			} else {
				c.refuse(at, "password_list_path %s is not a file path; Django's list is used", show(v))
			}
		}
	}
}
