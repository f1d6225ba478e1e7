package jwt

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

var renamed = ClaimNames{TokenType: "typ_", JTI: "tid", UserID: "uid"}

// Renamed claims (simplejwt's TOKEN_TYPE_CLAIM, JTI_CLAIM, USER_ID_CLAIM)
// are minted under their names, in simplejwt's order, and read back; a
// token under the default names has no id for such a codec, so simplejwt
// refuses it.
func TestClaimNames(t *testing.T) {
	c := newCodec(t, func(c *Config) { c.Claims = renamed })
	tok, cl, err := c.Mint(Access, 7, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	_, payload := segments(t, tok)
	want := fmt.Sprintf(`{"typ_":"access","exp":%d,"iat":%d,"tid":"%s","uid":7}`, cl.Exp, cl.Iat, cl.JTI)
	if payload != want {
		t.Errorf("payload %s, want %s", payload, want)
	}
	got, err := c.Parse(tok)
	if err != nil || got.UserID != 7 || !got.HasUserID || got.TokenType != Access || got.JTI != cl.JTI {
		t.Errorf("parsed %+v, %v", got, err)
	}
	// The same claims written otherwise (spaces: the general decoder).
	spaced := hsToken(`{"alg":"HS256","typ":"JWT"}`, fmt.Sprintf(`{"uid": "7", "tid": "x", "typ_": "refresh", "exp": %d}`, cl.Exp), []byte(djangoKey))
	if got, err := c.Parse(spaced); err != nil || got.UserID != 7 || got.TokenType != Refresh || got.JTI != "x" {
		t.Errorf("general form: %+v, %v", got, err)
	}
	plain, _, _ := newCodec(t).Mint(Access, 7, time.Time{})
	if _, err := c.Parse(plain); !errors.Is(err, ErrNoID) {
		t.Errorf("a default-named token has no id under the renamed claims, as simplejwt finds; got %v", err)
	}
	for _, bad := range []ClaimNames{{UserID: "exp"}, {JTI: "uid", UserID: "uid"}, {TokenType: `a"b`}, {UserID: "é"}} {
		if _, err := New(Config{Signing: Key{Secret: []byte(djangoKey)}, Claims: bad}); err == nil || !strings.Contains(err.Error(), "claim name") {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

// simplejwt configured with renamed claims accepts the tokens minted here,
// and its own tokens verify here.
func TestSimpleJWTRenamedClaims(t *testing.T) {
	py := python(t, "django", "rest_framework_simplejwt")
	c := newCodec(t, func(c *Config) { c.Now, c.Claims = time.Now, renamed })
	_, access, _, ac, err := c.Pair(7)
	if err != nil {
		t.Fatal(err)
	}
	script := `import json, sys, django
from django.conf import settings
settings.configure(SECRET_KEY=sys.argv[1], INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework_simplejwt"],
    SIMPLE_JWT={"TOKEN_TYPE_CLAIM": "typ_", "JTI_CLAIM": "tid", "USER_ID_CLAIM": "uid"})
django.setup()
from rest_framework_simplejwt.tokens import AccessToken
t = AccessToken()
t["uid"] = 8
print(json.dumps([AccessToken(sys.argv[2]).payload, str(t)]))`
	out, err := exec.Command(py, "-c", script, djangoKey, access).CombinedOutput()
	if err != nil {
		t.Fatalf("simplejwt refused the token: %v\n%s", err, out)
	}
	var got []any
	if err := json.Unmarshal(out, &got); err != nil || len(got) != 2 {
		t.Fatalf("simplejwt printed %s (%v)", out, err)
	}
	if p := got[0].(map[string]any); p["uid"] != float64(7) || p["tid"] != ac.JTI || p["typ_"] != Access {
		t.Errorf("simplejwt read %v", p)
	}
	theirs, err := c.Parse(got[1].(string))
	if err != nil || theirs.UserID != 8 || theirs.TokenType != Access || len(theirs.JTI) != 32 {
		t.Errorf("simplejwt's token read as %+v, %v", theirs, err)
	}
}

// HS384 and HS512, which simplejwt also signs with: simplejwt's tokens
// verify here and ours there; a token of one HMAC algorithm is refused by
// a key of another.
func TestSimpleJWTOtherHMACs(t *testing.T) {
	py := python(t, "django", "rest_framework_simplejwt")
	for _, alg := range []string{HS384, HS512} {
		c := newCodec(t, func(c *Config) { c.Now, c.Signing.Algorithm = time.Now, alg })
		_, access, _, ac, err := c.Pair(7)
		if err != nil {
			t.Fatal(err)
		}
		if h, _ := segments(t, access); h != `{"alg":"`+alg+`","typ":"JWT"}` {
			t.Errorf("header %s", h)
		}
		script := `import json, sys, django
from django.conf import settings
settings.configure(SECRET_KEY=sys.argv[1], INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework_simplejwt"],
    SIMPLE_JWT={"ALGORITHM": sys.argv[3]})
django.setup()
from rest_framework_simplejwt.tokens import AccessToken
t = AccessToken()
t["user_id"] = 8
print(json.dumps([AccessToken(sys.argv[2]).payload, str(t)]))`
		out, err := exec.Command(py, "-c", script, djangoKey, access, alg).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: simplejwt refused the token: %v\n%s", alg, err, out)
		}
		var got []any
		if err := json.Unmarshal(out, &got); err != nil || len(got) != 2 {
			t.Fatalf("simplejwt printed %s (%v)", out, err)
		}
		if p := got[0].(map[string]any); p["user_id"] != float64(7) || p["jti"] != ac.JTI {
			t.Errorf("%s: simplejwt read %v", alg, p)
		}
		if theirs, err := c.Parse(got[1].(string)); err != nil || theirs.UserID != 8 {
			t.Errorf("%s: simplejwt's token read as %+v, %v", alg, theirs, err)
		}
		if _, err := newCodec(t).Parse(access); err == nil {
			t.Errorf("an HS256 key accepted an %s token", alg)
		}
	}
}
