package djangoconf

import (
	"strings"
	"testing"
)

// FuzzRead feeds any input to Read and what it reads to Convert. Neither
// may panic or loop, and every setting written is a GATEHOUSE_* name with
// a value that has no line break (the configuration file quotes others,
// but none is expected outside the PEM key).
func FuzzRead(f *testing.F) {
	for _, seed := range []string{
		`{"SIMPLE_JWT": {"ACCESS_TOKEN_LIFETIME": 900.0, "ALGORITHM": "RS256", "SIGNING_KEY": "k"}, "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"]}`,
		`{"OAUTH2_PROVIDER": {"SCOPES": {"a": "b, c"}, "DEFAULT_SCOPES": ["a", "z"], "PKCE_REQUIRED": "<f>"}, "AUTH_PASSWORD_VALIDATORS": [{"NAME": 1}, {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": -1}}]}`,
		`{"REST_FRAMEWORK": {"DEFAULT_THROTTLE_RATES": {"anon": 5}, "DEFAULT_THROTTLE_CLASSES": "x", "PAGE_SIZE": 1e9}}`,
		"SIMPLE_JWT = {'LEEWAY': datetime.timedelta(days=1e308), 'AUTH_HEADER_TYPES': ('JWT',)}  ###\nSECRET_KEY = 'x'\n",
		"### PASSWORD_HASHERS = ['a', 'b']\nAUTH_PASSWORD_VALIDATORS = [{'NAME': 'x', 'OPTIONS': {'user_attributes': {'a', 'b'}}}]\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input string) {
		in, err := Read(strings.NewReader(input))
		if err != nil {
			return
		}
		for _, s := range Convert(in).Settings {
			if !strings.HasPrefix(s.Name, "GATEHOUSE_") {
				t.Fatalf("setting %q", s.Name)
			}
			if strings.ContainsAny(s.Value, "\r\n") && s.Name != "GATEHOUSE_JWT_PRIVATE_KEY" && s.Name != "GATEHOUSE_JWT_SIGNING_KEY" {
				t.Errorf("%s=%q has a line break", s.Name, s.Value)
			}
		}
	})
}
