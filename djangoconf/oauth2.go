package djangoconf

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

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
		// gatehouse is a provider whenever it has an issuer (docs/oidc.md);
		// DOT's key is a secret, so it is not in the configuration file:
		// `gatehouse keys import` carries it into the database.
		c.refuse(s.from("OIDC_ENABLED"), "True: gatehouse is an OpenID Connect provider too (GATEHOUSE_OIDC_ENABLED, on by default, "+
			"once GATEHOUSE_ISSUER names its public URL), signing id_tokens with keys of its own: OIDC_RSA_PRIVATE_KEY is not carried here. "+
			"Import it (python manage.py shell -c \"from django.conf import settings; print(settings.OAUTH2_PROVIDER['OIDC_RSA_PRIVATE_KEY'])\" | GATEHOUSE_CONFIG=gatehouse.conf gatehouse keys import -, with the configuration written here, so that the key reaches its database) "+
			"and gatehouse signs with it under Django's kid, so id_tokens Django issued keep verifying against the JWKS")
		if iss, _ := s.get("OIDC_ISS_ENDPOINT").(string); iss != "" {
			c.set("GATEHOUSE_OIDC_ISSUER", strings.TrimSuffix(iss, "/"), s.from("OIDC_ISS_ENDPOINT"))
			c.note(s.from("OIDC_ISS_ENDPOINT"), "kept as the iss of id_tokens: it must be GATEHOUSE_ISSUER or GATEHOUSE_ISSUER + /o (set GATEHOUSE_ISSUER to the site's public URL)")
		} else {
			c.refuse(s.from("OIDC_ISS_ENDPOINT"), "unset: DOT's issuer is the site's URL and /o, which relying parties compare with every id_token's iss; "+
				"set GATEHOUSE_OIDC_ISSUER to GATEHOUSE_ISSUER + /o (https://auth.example.com/o) to keep it, or tell the relying parties the new one")
		}
		if s.changed("ID_TOKEN_EXPIRE_SECONDS") {
			if d, ok := seconds(s.get("ID_TOKEN_EXPIRE_SECONDS")); ok && d > 0 {
				c.set("GATEHOUSE_OIDC_ID_TOKEN_LIFETIME", FormatDuration(d), s.from("ID_TOKEN_EXPIRE_SECONDS"))
			} else {
				c.refuse(s.from("ID_TOKEN_EXPIRE_SECONDS"), "%s is not a positive number of seconds; gatehouse keeps its default", show(s.get("ID_TOKEN_EXPIRE_SECONDS")))
			}
		}
	}
	for _, k := range []struct{ key, why string }{
		{"CLIENT_ID_GENERATOR_CLASS", "gatehouse generates 40 letters and digits, as DOT's default"},
		{"CLIENT_SECRET_GENERATOR_CLASS", "gatehouse generates client secrets as DOT's default"},
		{"CLIENT_SECRET_GENERATOR_LENGTH", "gatehouse generates client secrets of 128 characters"},
		{"ACCESS_TOKEN_GENERATOR", "gatehouse's access tokens are 30 random letters and digits, as DOT's default"},
		{"REFRESH_TOKEN_GENERATOR", "gatehouse's refresh tokens are 30 random letters and digits, as DOT's default"},
		{"EXTRA_SERVER_KWARGS", "oauthlib server arguments do not apply"},
		{"OAUTH2_SERVER_CLASS", "a custom oauthlib server's behaviour is not carried"},
		{"OIDC_SERVER_CLASS", "a custom OpenID Connect server's behaviour is not carried"},
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
			why := "set (not shown): gatehouse is no resource server of another; it is not carried"
			switch k {
			case "OIDC_RSA_PRIVATE_KEY":
				why = "set (not shown): a secret, not written to the configuration; import it into the database with gatehouse keys import FILE (or - for standard input)"
			case "OIDC_RSA_PRIVATE_KEYS_INACTIVE":
				why = "set (not shown): secrets, not written to the configuration; import each key that signed id_tokens still in use with gatehouse keys import --inactive FILE"
			}
			c.refuse(s.from(k), "%s", why)
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
