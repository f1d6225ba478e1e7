package djangoconf

import (
	"strconv"
	"strings"
	"time"
)

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
		c.set(k.name, FormatDuration(d), s.from(k.key))
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
