package jwt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
)

// djangoKey is the SECRET_KEY of the Django reference's black-box fixture.
const djangoKey = "django-ref-insecure-fixed-secret-key-for-black-box-tests-0123456789"

// pyjwtToken was printed by PyJWT 2.6.0:
//
//	jwt.encode({"token_type":"access","exp":4102444800,"iat":1700000000,
//	  "jti":"e2ff709df1ca46bda6f997e5ef7d44ac","user_id":2}, djangoKey, algorithm="HS256")
const pyjwtToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." +
	"eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6ImUyZmY3MDlkZjFjYTQ2YmRhNmY5OTdlNWVmN2Q0NGFjIiwidXNlcl9pZCI6Mn0." +
	"B3BvuktuHu4oMp-4qySh7_GQTn4zOmKfzXTIkOqwVv4"

// simplejwtAudIssToken was printed by simplejwt 5.2.2 (str(AccessToken()) with SIMPLE_JWT
// AUDIENCE "gatehouse-api" and ISSUER "https://gatehouse.example", after setting exp
// 4102444800, iat 1700000000, jti 00112233445546778899aabbccddeeff and user_id 7). It shows
// that simplejwt writes aud before iss.
const simplejwtAudIssToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." +
	"eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAwMTEyMjMzNDQ1NTQ2Nzc4ODk5YWFiYmNjZGRlZWZmIiwidXNlcl9pZCI6NywiYXVkIjoiZ2F0ZWhvdXNlLWFwaSIsImlzcyI6Imh0dHBzOi8vZ2F0ZWhvdXNlLmV4YW1wbGUifQ." +
	"s1oZibIvBVkWxxsDgTz7VBSIMvtEMRO45rGjtQ0W1YM"

var t0 = time.Unix(1700000000, 0)

// fixed returns a clock stopped at t.
func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

// newCodec builds a Codec on djangoKey with the clock stopped at t0, after applying mods.
func newCodec(t testing.TB, mods ...func(*Config)) *Codec {
	t.Helper()
	cfg := Config{Signing: Key{Algorithm: HS256, Secret: []byte(djangoKey)}, Now: fixed(t0)}
	for _, m := range mods {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

type testKeys struct {
	rsa, rsa2 *rsa.PrivateKey
	ec        *ecdsa.PrivateKey
	ed        ed25519.PrivateKey
}

// keys generates the asymmetric test keys once per test binary: RSA generation is slow.
var keys = sync.OnceValue(func() testKeys {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	r1, err := rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	r2, err := rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	must(err)
	return testKeys{rsa: r1, rsa2: r2, ec: ec, ed: ed}
})

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// hsToken signs header and payload (raw JSON) with HMAC-SHA256, independently of Codec.
func hsToken(header, payload string, secret []byte) string {
	return hsSign(b64(header)+"."+b64(payload), secret)
}

// hsSign appends the HMAC-SHA256 signature segment to an arbitrary signing input.
func hsSign(input string, secret []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// segments splits a token and decodes its header and payload.
func segments(t *testing.T, tok string) (header, payload string) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q has %d segments", tok, len(parts))
	}
	h, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	p, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return string(h), string(p)
}

// jtiPattern is a UUID version 7 (RFC 9562 §5.7) in 32 lowercase hex digits, the shape of
// simplejwt's uuid4().hex but for the version nibble.
var jtiPattern = regexp.MustCompile(`^[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}$`)

func TestMintExactFormat(t *testing.T) {
	tests := []struct {
		name       string
		mods       []func(*Config)
		tokenType  string
		iat        time.Time
		wantHeader string
		wantClaims string // with JTI standing for the minted jti
	}{
		{
			name: "access default", tokenType: Access,
			wantHeader: `{"alg":"HS256","typ":"JWT"}`,
			wantClaims: `{"token_type":"access","exp":1700000600,"iat":1700000000,"jti":"JTI","user_id":2}`,
		},
		{
			name: "refresh default", tokenType: Refresh,
			wantHeader: `{"alg":"HS256","typ":"JWT"}`,
			wantClaims: `{"token_type":"refresh","exp":1700086400,"iat":1700000000,"jti":"JTI","user_id":2}`,
		},
		{
			name: "access from refresh keeps the refresh iat", tokenType: Access, iat: t0.Add(-3 * time.Second),
			wantHeader: `{"alg":"HS256","typ":"JWT"}`,
			wantClaims: `{"token_type":"access","exp":1700000600,"iat":1699999997,"jti":"JTI","user_id":2}`,
		},
		{
			name:      "custom lifetimes, aud before iss as simplejwt writes them",
			tokenType: Access,
			mods: []func(*Config){func(c *Config) {
				c.AccessLifetime, c.RefreshLifetime = time.Minute, time.Hour
				c.Issuer, c.Audience = `https://gatehouse.example/"é"`, "api"
			}},
			wantHeader: `{"alg":"HS256","typ":"JWT"}`,
			wantClaims: `{"token_type":"access","exp":1700000060,"iat":1700000000,"jti":"JTI","user_id":2,"aud":"api","iss":"https://gatehouse.example/\"\u00e9\""}`,
		},
		{
			name: "HS256 with kid", tokenType: Refresh,
			mods:       []func(*Config){func(c *Config) { c.Signing.ID = "hs-2025" }},
			wantHeader: `{"alg":"HS256","kid":"hs-2025","typ":"JWT"}`,
			wantClaims: `{"token_type":"refresh","exp":1700086400,"iat":1700000000,"jti":"JTI","user_id":2}`,
		},
		{
			name: "RS256", tokenType: Access,
			mods: []func(*Config){func(c *Config) {
				c.Signing = Key{ID: "rsa-1", Algorithm: RS256, Private: keys().rsa}
			}},
			wantHeader: `{"alg":"RS256","kid":"rsa-1","typ":"JWT"}`,
			wantClaims: `{"token_type":"access","exp":1700000600,"iat":1700000000,"jti":"JTI","user_id":2}`,
		},
		{
			name: "ES256", tokenType: Access,
			mods: []func(*Config){func(c *Config) {
				c.Signing = Key{ID: "ec-1", Algorithm: ES256, Private: keys().ec}
			}},
			wantHeader: `{"alg":"ES256","kid":"ec-1","typ":"JWT"}`,
			wantClaims: `{"token_type":"access","exp":1700000600,"iat":1700000000,"jti":"JTI","user_id":2}`,
		},
		{
			name: "EdDSA", tokenType: Access,
			mods: []func(*Config){func(c *Config) {
				c.Signing = Key{ID: "ed-1", Algorithm: EdDSA, Private: keys().ed}
			}},
			wantHeader: `{"alg":"EdDSA","kid":"ed-1","typ":"JWT"}`,
			wantClaims: `{"token_type":"access","exp":1700000600,"iat":1700000000,"jti":"JTI","user_id":2}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCodec(t, tt.mods...)
			tok, cl, err := c.Mint(tt.tokenType, 2, tt.iat)
			if err != nil {
				t.Fatal(err)
			}
			if !jtiPattern.MatchString(cl.JTI) {
				t.Errorf("jti %q is not a uuid7 in 32 lowercase hex digits", cl.JTI)
			}
			h, p := segments(t, tok)
			if h != tt.wantHeader {
				t.Errorf("header\n got %s\nwant %s", h, tt.wantHeader)
			}
			if want := strings.Replace(tt.wantClaims, "JTI", cl.JTI, 1); p != want {
				t.Errorf("claims\n got %s\nwant %s", p, want)
			}
			got, err := c.Parse(tok)
			if err != nil {
				t.Fatalf("Parse of a minted token: %v", err)
			}
			if got != cl {
				t.Errorf("Parse = %+v, Mint returned %+v", got, cl)
			}
		})
	}
}

// TestMintMatchesPyJWT signs the claims behind pyjwtToken and simplejwtAudIssToken and
// expects the same bytes, signature included. It signs the Claims directly: Mint's jti is a
// uuid7 of the issue time, so it cannot reproduce these uuid4 jtis (TestJTI covers it).
func TestMintMatchesPyJWT(t *testing.T) {
	tests := []struct {
		name, jti, want string
		userID          int64
		mods            func(*Config)
	}{
		{name: "PyJWT", jti: "e2ff709df1ca46bda6f997e5ef7d44ac", userID: 2, want: pyjwtToken},
		{name: "simplejwt with aud and iss", jti: "00112233445546778899aabbccddeeff", userID: 7, want: simplejwtAudIssToken,
			mods: func(c *Config) { c.Issuer, c.Audience = "https://gatehouse.example", "gatehouse-api" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCodec(t, func(c *Config) {
				if tt.mods != nil {
					tt.mods(c)
				}
			})
			cl := Claims{TokenType: Access, Exp: 4102444800, Iat: 1700000000, JTI: tt.jti, UserID: tt.userID, HasUserID: true}
			tok, err := c.sign(&cl, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tok != tt.want {
				t.Errorf("got  %s\nwant %s", tok, tt.want)
			}
		})
	}
}

func TestPair(t *testing.T) {
	c := newCodec(t)
	refresh, access, rc, ac, err := c.Pair(47)
	if err != nil {
		t.Fatal(err)
	}
	if rc.TokenType != Refresh || ac.TokenType != Access {
		t.Errorf("types %q, %q", rc.TokenType, ac.TokenType)
	}
	if rc.Exp-rc.Iat != 86400 || ac.Exp-ac.Iat != 600 || rc.Iat != t0.Unix() || ac.Iat != t0.Unix() {
		t.Errorf("refresh %+v access %+v: want lifetimes 86400 and 600 from iat %d", rc, ac, t0.Unix())
	}
	if rc.JTI == ac.JTI || !jtiPattern.MatchString(rc.JTI) || !jtiPattern.MatchString(ac.JTI) {
		t.Errorf("jti %q and %q: want two distinct uuid7 hex", rc.JTI, ac.JTI)
	}
	for tok, want := range map[string]Claims{refresh: rc, access: ac} {
		if got, err := c.Parse(tok); err != nil || got != want {
			t.Errorf("Parse = %+v, %v; want %+v", got, err, want)
		}
	}
	seen := map[string]bool{}
	for range 200 {
		_, cl, err := c.Mint(Access, 1, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if seen[cl.JTI] {
			t.Fatalf("jti %s repeated", cl.JTI)
		}
		seen[cl.JTI] = true
	}

	if _, _, err := c.Mint("sliding", 1, time.Time{}); err == nil {
		t.Error("Mint accepted an unknown token type")
	}
	broken := newCodec(t, func(c *Config) { c.Random = bytes.NewReader(make([]byte, 64)) })
	if _, _, _, _, err := broken.Pair(1); err == nil {
		t.Error("Pair accepted a random source that repeats itself")
	}
	empty := newCodec(t, func(c *Config) { c.Random = bytes.NewReader(nil) })
	if _, _, err := empty.Mint(Access, 1, time.Time{}); err == nil {
		t.Error("Mint ignored a failing random source")
	}
}

func TestParseKnownAnswer(t *testing.T) {
	tests := []struct {
		name  string
		token string
		mods  func(*Config)
		want  Claims
	}{
		{name: "PyJWT HS256", token: pyjwtToken, want: Claims{
			TokenType: Access, Exp: 4102444800, Iat: 1700000000,
			JTI: "e2ff709df1ca46bda6f997e5ef7d44ac", UserID: 2, HasUserID: true,
		}},
		{name: "simplejwt with aud and iss", token: simplejwtAudIssToken,
			mods: func(c *Config) { c.Issuer, c.Audience = "https://gatehouse.example", "gatehouse-api" },
			want: Claims{
				TokenType: Access, Exp: 4102444800, Iat: 1700000000, JTI: "00112233445546778899aabbccddeeff",
				UserID: 7, HasUserID: true, Issuer: "https://gatehouse.example", Audience: "gatehouse-api",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCodec(t, func(c *Config) {
				c.Now = fixed(time.Unix(1800000000, 0))
				if tt.mods != nil {
					tt.mods(c)
				}
			})
			got, err := c.Parse(tt.token)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestParseRefuses holds every refusal rule. Most tokens are correctly signed with the
// configured secret, so each is refused for the reason its name gives.
func TestParseRefuses(t *testing.T) {
	secret := []byte(djangoKey)
	const hdr = `{"alg":"HS256","typ":"JWT"}`
	claims := func(extra string) string {
		return `{"token_type":"access","exp":1700000600,"iat":1700000000,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac","user_id":2` + extra + `}`
	}
	ok := claims("")
	good := hsToken(hdr, ok, secret)
	goodSig := good[strings.LastIndexByte(good, '.')+1:]

	hs := newCodec(t)
	withIDs := newCodec(t, func(c *Config) { c.Signing.ID = "hs-1" })
	rsaPub := &keys().rsa.PublicKey
	rsaOnly := newCodec(t, func(c *Config) { c.Signing = Key{ID: "rsa-1", Algorithm: RS256, Private: keys().rsa} })
	mixed := newCodec(t, func(c *Config) {
		c.Verification = []Key{{ID: "rsa-1", Algorithm: RS256, Public: rsaPub}}
	})
	der, err := x509.MarshalPKIXPublicKey(rsaPub)
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	rsaSigned, _, err := rsaOnly.Mint(Access, 2, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	// The last base64url character of a 32-byte signature carries 4 bits and 2 zero bits;
	// setting those makes a non-canonical spelling of the same signature.
	last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", good[len(good)-1])
	malleable := good[:len(good)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last|1])
	huge := hsToken(hdr, claims(`,"pad":"`+strings.Repeat("x", MaxTokenLen)+`"`), secret)

	tests := []struct {
		name  string
		codec *Codec
		token string
	}{
		{"alg none, empty signature", hs, b64(`{"alg":"none","typ":"JWT"}`) + "." + b64(ok) + "."},
		{"alg none, HMAC signature", hs, hsToken(`{"alg":"none","typ":"JWT"}`, ok, secret)},
		{"alg None", hs, hsToken(`{"alg":"None","typ":"JWT"}`, ok, secret)},
		{"alg missing", hs, hsToken(`{"typ":"JWT"}`, ok, secret)},
		{"alg not a string", hs, hsToken(`{"alg":["HS256"],"typ":"JWT"}`, ok, secret)},
		{"alg HS512", hs, hsToken(`{"alg":"HS512","typ":"JWT"}`, ok, secret)},
		{"alg RS256 on an HS256 key", hs, b64(`{"alg":"RS256","typ":"JWT"}`) + "." + b64(ok) + "." + goodSig},
		{"HS256 signed with the RSA public key as secret", rsaOnly, hsToken(hdr, ok, rsaPEM)},
		{"HS256 signed with the RSA public key as secret, kid", rsaOnly, hsToken(`{"alg":"HS256","kid":"rsa-1","typ":"JWT"}`, ok, rsaPEM)},
		{"HS256 signed with the RSA DER as secret", rsaOnly, hsToken(hdr, ok, der)},
		{"kid of a key with another alg", mixed, hsToken(`{"alg":"HS256","kid":"rsa-1","typ":"JWT"}`, ok, secret)},
		{"unknown kid", withIDs, hsToken(`{"alg":"HS256","kid":"hs-0","typ":"JWT"}`, ok, secret)},
		{"kid not a string", withIDs, hsToken(`{"alg":"HS256","kid":1,"typ":"JWT"}`, ok, secret)},
		{"jku header", hs, hsToken(`{"alg":"HS256","jku":"https://evil.example/jwks","typ":"JWT"}`, ok, secret)},
		{"x5u header", hs, hsToken(`{"alg":"HS256","typ":"JWT","x5u":"https://evil.example/c.pem"}`, ok, secret)},
		{"jwk header", hs, hsToken(`{"alg":"HS256","jwk":{"kty":"oct","k":"AAAA"},"typ":"JWT"}`, ok, secret)},
		{"x5c header", hs, hsToken(`{"alg":"HS256","typ":"JWT","x5c":["MIIB"]}`, ok, secret)},
		{"crit header", hs, hsToken(`{"alg":"HS256","crit":["exp"],"exp":1,"typ":"JWT"}`, ok, secret)},
		{"b64 header", hs, hsToken(`{"alg":"HS256","b64":false,"typ":"JWT"}`, ok, secret)},
		{"header not JSON", hs, hsToken(`{"alg":"HS256",`, ok, secret)},
		{"header a JSON array", hs, hsToken(`["HS256"]`, ok, secret)},
		{"header null", hs, hsToken(`null`, ok, secret)},
		{"header not base64url", hs, "eyJ!bGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + b64(ok) + "." + goodSig},
		{"header padded", hs, b64(hdr) + "=." + b64(ok) + "." + goodSig},
		{"payload not base64url, signed", hs, hsSign(b64(hdr)+"."+b64(ok)[:10]+"*"+b64(ok)[11:], secret)},
		{"payload of impossible length, signed", hs, hsSign(b64(hdr)+".e30ab", secret)},
		{"payload non-canonical base64url, signed", hs, hsSign(b64(hdr)+".e31", secret)},
		{"payload standard base64, signed", hs, hsSign(b64(hdr)+"."+base64.StdEncoding.EncodeToString([]byte(`{"exp":1800000000,"user_id":">>?"}`)), secret)},
		{"payload not JSON", hs, hsToken(hdr, `{"exp":`, secret)},
		{"payload a JSON array", hs, hsToken(hdr, `[1700000600]`, secret)},
		{"payload null", hs, hsToken(hdr, `null`, secret)},
		{"payload a string", hs, hsToken(hdr, `"exp"`, secret)},
		{"signature not base64url", hs, good[:len(good)-2] + "+/"},
		{"signature padded", hs, good + "="},
		{"signature non-canonical base64url", hs, malleable},
		{"signature with a line break", hs, good[:len(good)-5] + "\n" + good[len(good)-5:]},
		{"signature truncated", hs, good[:len(good)-1]},
		{"signature empty", hs, good[:strings.LastIndexByte(good, '.')+1]},
		{"wrong secret", hs, hsToken(hdr, ok, []byte(djangoKey+"x"))},
		{"payload swapped after signing", hs, good[:strings.IndexByte(good, '.')+1] + b64(claims(`,"is_staff":true`)) + "." + goodSig},
		{"RS256 token with HS256 codec", hs, rsaSigned},
		{"one segment", hs, b64(hdr)},
		{"two segments", hs, b64(hdr) + "." + b64(ok)},
		{"four segments", hs, good + "." + goodSig},
		{"empty", hs, ""},
		{"dots only", hs, ".."},
		{"over MaxTokenLen, correctly signed", hs, huge},
		{"exp missing", hs, hsToken(hdr, `{"token_type":"access","iat":1700000000,"user_id":2}`, secret)},
		{"exp null", hs, hsToken(hdr, `{"token_type":"access","exp":null,"user_id":2}`, secret)},
		{"exp a string", hs, hsToken(hdr, `{"token_type":"access","exp":"1700000600","user_id":2}`, secret)},
		{"exp a fraction", hs, hsToken(hdr, `{"token_type":"access","exp":1700000600.5,"user_id":2}`, secret)},
		{"exp with exponent", hs, hsToken(hdr, `{"token_type":"access","exp":1.7e10,"user_id":2}`, secret)},
		{"exp beyond int64", hs, hsToken(hdr, `{"token_type":"access","exp":99999999999999999999,"user_id":2}`, secret)},
		{"exp in the past", hs, hsToken(hdr, `{"token_type":"access","exp":1699999999,"user_id":2}`, secret)},
		{"exp now", hs, hsToken(hdr, `{"token_type":"access","exp":1700000000,"user_id":2}`, secret)},
		{"exp negative", hs, hsToken(hdr, `{"token_type":"access","exp":-1,"user_id":2}`, secret)},
		{"iat in the future", hs, hsToken(hdr, `{"token_type":"access","exp":1700000600,"iat":1700000001,"user_id":2}`, secret)},
		{"iat not an integer", hs, hsToken(hdr, `{"token_type":"access","exp":1700000600,"iat":"now","user_id":2}`, secret)},
		{"nbf in the future", hs, hsToken(hdr, claims(`,"nbf":1700000001`), secret)},
		{"nbf not an integer", hs, hsToken(hdr, claims(`,"nbf":true`), secret)},
		{"aud present, none configured", hs, hsToken(hdr, claims(`,"aud":"other"`), secret)},
		{"aud list present, none configured", hs, hsToken(hdr, claims(`,"aud":["other"]`), secret)},
		{"aud a number", hs, hsToken(hdr, claims(`,"aud":1`), secret)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl, err := tt.codec.Parse(tt.token)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse = %+v, %v; want ErrInvalid", cl, err)
			}
			if cl != (Claims{}) {
				t.Errorf("claims returned with an error: %+v", cl)
			}
		})
	}
	if _, err := hs.Parse(good); err != nil {
		t.Fatalf("the unmodified token is refused, so the table proves nothing: %v", err)
	}
}

// TestParseRefusesCheaply checks that refusing an oversized or malformed token costs no
// allocation: such tokens are stopped before any decoding.
func TestParseRefusesCheaply(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	c := newCodec(t)
	for name, tok := range map[string]string{
		"huge":         strings.Repeat("a", 1<<20),
		"one segment":  strings.Repeat("a", 200),
		"five dots":    "a.b.c.d.e.f",
		"line break":   "a.b\n.c",
		"bad our sig":  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ9.x",
		"big our sigs": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30." + strings.Repeat("A", 43),
	} {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := c.Parse(tok); err == nil {
				t.Fatalf("%s accepted", name)
			}
		})
		if allocs > 0 {
			t.Errorf("%s: %v allocations to refuse", name, allocs)
		}
	}
}

// TestParseAccepts covers tokens that must parse, including payloads in other JSON spellings,
// which take the encoding/json path.
func TestParseAccepts(t *testing.T) {
	secret := []byte(djangoKey)
	const hdr = `{"alg":"HS256","typ":"JWT"}`
	base := Claims{TokenType: Access, Exp: 1700000600, Iat: 1700000000, JTI: "e2ff709df1ca46bda6f997e5ef7d44ac", UserID: 2, HasUserID: true}
	with := func(f func(*Claims)) Claims { c := base; f(&c); return c }
	tests := []struct {
		name    string
		header  string
		payload string
		want    Claims
	}{
		{"canonical", hdr, `{"token_type":"access","exp":1700000600,"iat":1700000000,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac","user_id":2}`, base},
		{"spaces as Python's default json.dumps", `{"alg": "HS256", "typ": "JWT"}`,
			`{"token_type": "access", "exp": 1700000600, "iat": 1700000000, "jti": "e2ff709df1ca46bda6f997e5ef7d44ac", "user_id": 2}`, base},
		{"other order and escapes", `{"typ":"JWT","alg":"HS256"}`,
			`{"user_id":2,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac","iat":1700000000,"exp":1700000600,"token_type":"\u0061ccess"}`, base},
		{"duplicate keys: the last wins, as in Python", hdr,
			`{"token_type":"refresh","token_type":"access","exp":1,"exp":1700000600,"iat":1700000000,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac","user_id":2}`, base},
		{"no user_id", hdr, `{"token_type":"access","exp":1700000600,"iat":1700000000,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac"}`,
			with(func(c *Claims) { c.UserID, c.HasUserID = 0, false })},
		{"user_id a digit string: an id and a key", hdr, `{"token_type":"access","exp":1700000600,"iat":1700000000,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac","user_id":"2"}`,
			with(func(c *Claims) { c.UserKey = "2" })},
		{"user_id a word: a key, no id", hdr, `{"token_type":"access","exp":1700000600,"iat":1700000000,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac","user_id":"admin"}`,
			with(func(c *Claims) { c.UserID, c.HasUserID, c.UserKey = 0, false, "admin" })},
		{"user_id a UUID, as simplejwt writes a UUIDField's", hdr, `{"token_type":"access","exp":1700000600,"iat":1700000000,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac","user_id":"3026d28e-dbc0-4dea-8da0-8aa9f5a3118d"}`,
			with(func(c *Claims) { c.UserID, c.HasUserID, c.UserKey = 0, false, "3026d28e-dbc0-4dea-8da0-8aa9f5a3118d" })},
		{"user_id a string of 256 bytes: neither", hdr, `{"token_type":"access","exp":1700000600,"iat":1700000000,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac","user_id":"` + strings.Repeat("k", 256) + `"}`,
			with(func(c *Claims) { c.UserID, c.HasUserID = 0, false })},
		{"user_id empty: neither", hdr, `{"token_type":"access","exp":1700000600,"iat":1700000000,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac","user_id":""}`,
			with(func(c *Claims) { c.UserID, c.HasUserID = 0, false })},
		{"user_id a fraction", hdr, `{"token_type":"access","exp":1700000600,"iat":1700000000,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac","user_id":2.0}`,
			with(func(c *Claims) { c.UserID, c.HasUserID = 0, false })},
		{"user_id null", hdr, `{"token_type":"access","exp":1700000600,"iat":1700000000,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac","user_id":null}`,
			with(func(c *Claims) { c.UserID, c.HasUserID, c.UserIDNull = 0, false, true })},
		{"user_id true", hdr, `{"token_type":"access","exp":1700000600,"iat":1700000000,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac","user_id":true}`,
			with(func(c *Claims) { c.UserID, c.HasUserID = 0, false })},
		{"user_id too large: a key", hdr, `{"token_type":"access","exp":1700000600,"iat":1700000000,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac","user_id":"99999999999999999999"}`,
			with(func(c *Claims) { c.UserID, c.HasUserID, c.UserKey = 0, false, "99999999999999999999" })},
		{"user_id negative", hdr, `{"token_type":"access","exp":1700000600,"iat":1700000000,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac","user_id":-3}`,
			with(func(c *Claims) { c.UserID = -3 })},
		{"refresh type is returned, not checked", hdr, `{"token_type":"refresh","exp":1700000600,"iat":1700000000,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac","user_id":2}`,
			with(func(c *Claims) { c.TokenType = Refresh })},
		{"no token_type or iat, jti null", hdr, `{"exp":1700000600,"jti":null,"user_id":2}`,
			with(func(c *Claims) { c.TokenType, c.JTI, c.Iat = "", "", 0 })},
		{"token_type not a string", hdr, `{"token_type":1,"exp":1700000600,"iat":1700000000,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac","user_id":2}`,
			with(func(c *Claims) { c.TokenType = "" })},
		{"nbf in the past, iat now", hdr, `{"token_type":"access","exp":1700000600,"iat":1700000000,"nbf":1700000000,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac","user_id":2}`, base},
		{"iss ignored when none is configured", hdr, `{"token_type":"access","exp":1700000600,"iat":1700000000,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac","user_id":2,"iss":"x"}`,
			with(func(c *Claims) { c.Issuer = "x" })},
		{"empty aud when none is configured", hdr, `{"token_type":"access","exp":1700000600,"iat":1700000000,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac","user_id":2,"aud":""}`, base},
		{"typ is not checked", `{"alg":"HS256","typ":"at+jwt"}`, `{"token_type":"access","exp":1700000600,"iat":1700000000,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac","user_id":2}`, base},
		{"exp and iat with fractions, cut as PyJWT's int()", hdr, `{"token_type":"access","exp":1700000600.9,"iat":1.7e9,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac","user_id":2}`, base},
		{"kid ignored when no key has an id", `{"alg":"HS256","kid":"whatever","typ":"JWT"}`, `{"token_type":"access","exp":1700000600,"iat":1700000000,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac","user_id":2}`, base},
	}
	c := newCodec(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Parse(hsToken(tt.header, tt.payload, secret))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestLeewayAndClock(t *testing.T) {
	secret := []byte(djangoKey)
	tok := func(exp, nbf int64) string {
		return hsToken(`{"alg":"HS256","typ":"JWT"}`, fmt.Sprintf(`{"token_type":"access","exp":%d,"iat":1600000000,"nbf":%d,"jti":"x","user_id":1}`, exp, nbf), secret)
	}
	const T = 1700000000
	tests := []struct {
		name   string
		now    time.Time
		leeway time.Duration
		token  string
		ok     bool
	}{
		{"exp one second ahead", time.Unix(T-1, 0), 0, tok(T, 0), true},
		{"exp reached", time.Unix(T, 0), 0, tok(T, 0), false},
		{"exp half a second ahead", time.Unix(T-1, 5e8), 0, tok(T, 0), true},
		{"exp half a second behind", time.Unix(T, 5e8), 0, tok(T, 0), false},
		{"exp 30s behind, leeway 60s", time.Unix(T+30, 0), time.Minute, tok(T, 0), true},
		{"exp 59.9s behind, leeway 60s", time.Unix(T+59, 9e8), time.Minute, tok(T, 0), true},
		{"exp 60s behind, leeway 60s", time.Unix(T+60, 0), time.Minute, tok(T, 0), false},
		{"nbf 60s ahead, leeway 60s", time.Unix(T-100, 0), time.Minute, tok(T, T-40), true},
		{"nbf 61s ahead, leeway 60s", time.Unix(T-100, 0), time.Minute, tok(T, T-39), false},
		{"nbf 1s ahead, no leeway", time.Unix(T-100, 0), 0, tok(T, T-99), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCodec(t, func(c *Config) { c.Now, c.Leeway = fixed(tt.now), tt.leeway })
			_, err := c.Parse(tt.token)
			if (err == nil) != tt.ok {
				t.Fatalf("Parse error = %v, want ok=%v", err, tt.ok)
			}
		})
	}

	// One codec, clock moved by hand: a minted access token lives exactly 600 s.
	now := t0
	c := newCodec(t, func(c *Config) { c.Now = func() time.Time { return now } })
	access, _, err := c.Mint(Access, 1, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	now = t0.Add(599 * time.Second)
	if _, err := c.Parse(access); err != nil {
		t.Errorf("at 599 s: %v", err)
	}
	now = t0.Add(600 * time.Second)
	if _, err := c.Parse(access); !errors.Is(err, ErrInvalid) {
		t.Errorf("at 600 s: %v, want ErrInvalid", err)
	}
}

func TestRotation(t *testing.T) {
	k := keys()
	oldHS := []byte("previous-secret-key-previous-secret-key")
	oldRSA := Key{ID: "rsa-2024", Algorithm: RS256, Private: k.rsa}
	newEC := Key{ID: "ec-2025", Algorithm: ES256, Private: k.ec}

	hsOld := newCodec(t, func(c *Config) { c.Signing.Secret = oldHS })
	hsNew := newCodec(t, func(c *Config) { c.Verification = []Key{{Secret: oldHS}} })
	tok, want, err := hsOld.Mint(Access, 3, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := hsNew.Parse(tok); err != nil || got != want {
		t.Errorf("HS256 token of the previous secret: %+v, %v", got, err)
	}
	if _, err := newCodec(t).Parse(tok); !errors.Is(err, ErrInvalid) {
		t.Errorf("previous secret accepted after it was dropped: %v", err)
	}

	before := newCodec(t, func(c *Config) { c.Signing = oldRSA })
	after := newCodec(t, func(c *Config) {
		c.Signing = newEC
		c.Verification = []Key{{ID: oldRSA.ID, Algorithm: RS256, Public: &k.rsa.PublicKey}, {ID: "hs-legacy", Secret: oldHS}}
	})
	old, want, err := before.Mint(Refresh, 4, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := after.Parse(old); err != nil || got != want {
		t.Errorf("RS256 token of the previous key: %+v, %v", got, err)
	}
	fresh, _, err := after.Mint(Access, 4, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := after.Parse(fresh); err != nil {
		t.Errorf("new ES256 token: %v", err)
	}
	if _, err := before.Parse(fresh); !errors.Is(err, ErrInvalid) {
		t.Errorf("the old codec accepted a token of a key it does not know: %v", err)
	}
	// A kid-less token may be signed by any key of its algorithm, such as the legacy HS key.
	if _, err := after.Parse(tok); err != nil {
		t.Errorf("kid-less HS256 token of a key with an id: %v", err)
	}
	// The right signature under an unknown kid is refused.
	_, p := segments(t, tok)
	if _, err := after.Parse(hsToken(`{"alg":"HS256","kid":"hs-2023","typ":"JWT"}`, p, oldHS)); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown kid: %v", err)
	}
	if _, err := after.Parse(hsToken(`{"alg":"HS256","kid":"hs-legacy","typ":"JWT"}`, p, oldHS)); err != nil {
		t.Errorf("known kid: %v", err)
	}
	// A token naming one key but signed by another is refused.
	sw := strings.Replace(old, before.signer.header, after.signer.header, 1)
	if _, err := after.Parse(sw); !errors.Is(err, ErrInvalid) {
		t.Errorf("RS256 signature under the ES256 key's header: %v", err)
	}
}

func TestIssuerAudience(t *testing.T) {
	mint := func(iss, aud string) string {
		c := newCodec(t, func(c *Config) { c.Issuer, c.Audience = iss, aud })
		tok, _, err := c.Mint(Access, 1, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	secret := []byte(djangoKey)
	hdr := `{"alg":"HS256","typ":"JWT"}`
	strict := newCodec(t, func(c *Config) { c.Issuer, c.Audience = "https://gatehouse.example", "api" })
	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"both match", mint("https://gatehouse.example", "api"), true},
		{"aud in a list", hsToken(hdr, `{"exp":1700000600,"jti":"x","user_id":1,"iss":"https://gatehouse.example","aud":["web","api"]}`, secret), true},
		{"aud list without ours", hsToken(hdr, `{"exp":1700000600,"jti":"x","user_id":1,"iss":"https://gatehouse.example","aud":["web"]}`, secret), false},
		{"aud list with a non-string", hsToken(hdr, `{"exp":1700000600,"jti":"x","user_id":1,"iss":"https://gatehouse.example","aud":["api",1]}`, secret), false},
		{"issuer differs", mint("https://evil.example", "api"), false},
		{"audience differs", mint("https://gatehouse.example", "web"), false},
		{"no issuer", mint("", "api"), false},
		{"no audience", mint("https://gatehouse.example", ""), false},
		{"neither (a simplejwt default token)", mint("", ""), false},
		{"iss not a string", hsToken(hdr, `{"exp":1700000600,"jti":"x","user_id":1,"iss":1,"aud":"api"}`, secret), false},
		{"escaped spellings of both", hsToken(hdr, `{"exp":1700000600,"jti":"x","user_id":1,"iss":"https:\/\/gatehouse.example","aud":"\u0061pi"}`, secret), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl, err := strict.Parse(tt.token)
			if tt.ok {
				if err != nil || cl.Issuer != "https://gatehouse.example" || cl.Audience != "api" {
					t.Errorf("Parse = %+v, %v", cl, err)
				}
			} else if !errors.Is(err, ErrInvalid) {
				t.Errorf("Parse = %+v, %v; want ErrInvalid", cl, err)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	k := keys()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hs := Key{Secret: []byte("s")}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"zero config", Config{}},
		{"unsupported algorithm", Config{Signing: Key{Algorithm: "PS256", Secret: []byte("s")}}},
		{"alg none", Config{Signing: Key{Algorithm: "none", Secret: []byte("s")}}},
		{"HS256 with a public key", Config{Signing: Key{Secret: []byte("s"), Public: &k.rsa.PublicKey}}},
		{"RS256 with a secret", Config{Signing: Key{ID: "r", Algorithm: RS256, Private: k.rsa, Secret: []byte("s")}}},
		{"RS256 without id", Config{Signing: Key{Algorithm: RS256, Private: k.rsa}}},
		{"RS256 signing key without private", Config{Signing: Key{ID: "r", Algorithm: RS256, Public: &k.rsa.PublicKey}}},
		{"RS256 with 1024 bits", Config{Signing: Key{ID: "r", Algorithm: RS256, Private: small}}},
		{"RS256 with an EC key", Config{Signing: Key{ID: "r", Algorithm: RS256, Private: k.ec}}},
		{"ES256 public key without a point", Config{Signing: hs, Verification: []Key{{ID: "e", Algorithm: ES256, Public: &ecdsa.PublicKey{Curve: elliptic.P256()}}}}},
		{"ES256 on P-384", Config{Signing: Key{ID: "e", Algorithm: ES256, Private: p384}}},
		{"EdDSA with an RSA public key", Config{Signing: hs, Verification: []Key{{ID: "e", Algorithm: EdDSA, Public: &k.rsa.PublicKey}}}},
		{"verification key without material", Config{Signing: hs, Verification: []Key{{ID: "e", Algorithm: EdDSA}}}},
		{"public does not match private", Config{Signing: Key{ID: "r", Algorithm: RS256, Private: k.rsa, Public: &k.rsa2.PublicKey}}},
		{"duplicate kid", Config{Signing: Key{ID: "a", Secret: []byte("s")}, Verification: []Key{{ID: "a", Algorithm: EdDSA, Public: k.ed.Public()}}}},
		{"leeway over 60s", Config{Signing: hs, Leeway: 61 * time.Second}},
		{"negative leeway", Config{Signing: hs, Leeway: -time.Second}},
		{"negative lifetime", Config{Signing: hs, AccessLifetime: -time.Second}},
		{"issuer not UTF-8", Config{Signing: hs, Issuer: "\xff"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := New(tt.cfg); err == nil {
				t.Fatalf("New accepted it: %+v", c)
			}
		})
	}
	good := []Config{
		{Signing: hs, Leeway: MaxLeeway},
		{Signing: Key{ID: "r", Algorithm: RS256, Private: k.rsa, Public: &k.rsa.PublicKey}},
		{Signing: Key{ID: "e", Algorithm: ES256, Private: k.ec}, Verification: []Key{{ID: "d", Algorithm: EdDSA, Public: k.ed.Public()}, hs}},
	}
	for i, cfg := range good {
		if _, err := New(cfg); err != nil {
			t.Errorf("good config %d: %v", i, err)
		}
	}
}

// TestIndependentDecoder checks minted tokens with go-jose's JWT parser.
func TestIndependentDecoder(t *testing.T) {
	k := keys()
	tests := []struct {
		alg    jose.SignatureAlgorithm
		signer Key
		verify any
	}{
		{jose.HS256, Key{Secret: []byte(djangoKey)}, []byte(djangoKey)},
		{jose.RS256, Key{ID: "r", Algorithm: RS256, Private: k.rsa}, &k.rsa.PublicKey},
		{jose.ES256, Key{ID: "e", Algorithm: ES256, Private: k.ec}, &k.ec.PublicKey},
		{jose.EdDSA, Key{ID: "d", Algorithm: EdDSA, Private: k.ed}, k.ed.Public()},
	}
	for _, tt := range tests {
		t.Run(string(tt.alg), func(t *testing.T) {
			c := newCodec(t, func(c *Config) {
				c.Signing, c.Issuer, c.Audience, c.Now = tt.signer, "gatehouse", "api", time.Now
			})
			tok, want, err := c.Mint(Access, 42, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := josejwt.ParseSigned(tok, []jose.SignatureAlgorithm{tt.alg})
			if err != nil {
				t.Fatal(err)
			}
			if got := parsed.Headers[0].KeyID; got != tt.signer.ID {
				t.Errorf("kid %q, want %q", got, tt.signer.ID)
			}
			var std josejwt.Claims
			var own struct {
				TokenType string `json:"token_type"`
				UserID    int64  `json:"user_id"`
			}
			if err := parsed.Claims(tt.verify, &std, &own); err != nil {
				t.Fatal(err)
			}
			if err := std.Validate(josejwt.Expected{Issuer: "gatehouse", AnyAudience: []string{"api"}, ID: want.JTI}); err != nil {
				t.Error(err)
			}
			if std.Expiry.Time().Unix() != want.Exp || std.IssuedAt.Time().Unix() != want.Iat || own.TokenType != Access || own.UserID != 42 {
				t.Errorf("go-jose read %+v %+v, minted %+v", std, own, want)
			}
		})
	}
}

// python returns /usr/bin/python3 when it can import every module, else skips the test.
func python(t *testing.T, modules ...string) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if out, err := exec.Command(py, "-c", "import "+strings.Join(modules, ", ")).CombinedOutput(); err != nil {
		t.Skipf("skipping: %s cannot import %s (%v: %s); install Debian's python3-jwt / python3-djangorestframework-simplejwt", py, strings.Join(modules, ", "), err, bytes.TrimSpace(out))
	}
	return py
}

// TestPyJWTDecodes has PyJWT itself verify a minted token.
func TestPyJWTDecodes(t *testing.T) {
	py := python(t, "jwt")
	c := newCodec(t, func(c *Config) { c.Now = time.Now })
	tok, want, err := c.Mint(Access, 2, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	script := `import json, sys, jwt
print(json.dumps({"header": jwt.get_unverified_header(sys.argv[1]),
                  "claims": jwt.decode(sys.argv[1], sys.argv[2], algorithms=["HS256"])}))`
	out, err := exec.Command(py, "-c", script, tok, djangoKey).CombinedOutput()
	if err != nil {
		t.Fatalf("PyJWT refused the token: %v\n%s", err, out)
	}
	wantJSON := fmt.Sprintf(`{"header": {"alg": "HS256", "typ": "JWT"}, "claims": {"token_type": "access", "exp": %d, "iat": %d, "jti": "%s", "user_id": 2}}`, want.Exp, want.Iat, want.JTI)
	if got := string(bytes.TrimSpace(out)); got != wantJSON {
		t.Errorf("PyJWT decoded\n %s\nwant\n %s", got, wantJSON)
	}
}

// TestSimpleJWTAccepts has simplejwt's own token classes verify a minted pair.
func TestSimpleJWTAccepts(t *testing.T) {
	py := python(t, "django", "rest_framework_simplejwt")
	c := newCodec(t, func(c *Config) { c.Now = time.Now })
	refresh, access, rc, ac, err := c.Pair(2)
	if err != nil {
		t.Fatal(err)
	}
	script := `import json, sys, django
from django.conf import settings
settings.configure(SECRET_KEY=sys.argv[1], INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework_simplejwt"])
django.setup()
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
print(json.dumps([RefreshToken(sys.argv[2]).payload, AccessToken(sys.argv[3]).payload]))`
	out, err := exec.Command(py, "-c", script, djangoKey, refresh, access).CombinedOutput()
	if err != nil {
		t.Fatalf("simplejwt refused the tokens: %v\n%s", err, out)
	}
	var got []map[string]any
	if err := json.Unmarshal(out, &got); err != nil || len(got) != 2 {
		t.Fatalf("simplejwt printed %s (%v)", out, err)
	}
	for i, want := range []Claims{rc, ac} {
		if got[i]["jti"] != want.JTI || got[i]["token_type"] != want.TokenType || got[i]["user_id"] != float64(2) || got[i]["exp"] != float64(want.Exp) {
			t.Errorf("simplejwt read %v, minted %+v", got[i], want)
		}
	}
}

func TestJWKS(t *testing.T) {
	k := keys()
	hsOnly := newCodec(t, func(c *Config) { c.Verification = []Key{{ID: "old", Secret: []byte("old")}} })
	doc, err := hsOnly.JWKS()
	if err != nil || string(doc) != `{"keys":[]}` {
		t.Fatalf("HS-only JWKS = %s, %v", doc, err)
	}

	c := newCodec(t, func(c *Config) {
		c.Signing = Key{ID: "ec-2025", Algorithm: ES256, Private: k.ec}
		c.Verification = []Key{
			{ID: "hs-legacy", Secret: []byte("do-not-publish-me")},
			{ID: "rsa-2024", Algorithm: RS256, Public: &k.rsa.PublicKey},
			{ID: "ed-2024", Algorithm: EdDSA, Public: k.ed.Public()},
		}
	})
	doc, err = c.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(doc, []byte(`"k"`)) || bytes.Contains(doc, []byte(`"d"`)) || bytes.Contains(doc, []byte("hs-legacy")) {
		t.Errorf("JWKS leaks secret or private material: %s", doc)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kid, alg string
		pub      crypto.PublicKey
	}{{"ec-2025", ES256, &k.ec.PublicKey}, {"rsa-2024", RS256, &k.rsa.PublicKey}, {"ed-2024", EdDSA, k.ed.Public()}}
	if len(set.Keys) != len(want) {
		t.Fatalf("JWKS has %d keys, want %d: %s", len(set.Keys), len(want), doc)
	}
	for i, w := range want {
		got := set.Keys[i]
		eq, _ := w.pub.(interface{ Equal(crypto.PublicKey) bool })
		if got.KeyID != w.kid || got.Algorithm != w.alg || got.Use != "sig" || !got.IsPublic() || !eq.Equal(got.Key) {
			t.Errorf("key %d = %+v, want kid %s alg %s", i, got, w.kid, w.alg)
		}
	}
	doc[0] = 'X'
	if again, _ := c.JWKS(); again[0] != '{' {
		t.Error("JWKS returned a shared buffer")
	}
}

// TestConcurrentUse lets the race detector see Mint and Parse share a Codec.
func TestConcurrentUse(t *testing.T) {
	c := newCodec(t, func(c *Config) { c.Random = &countingReader{} })
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				r, a, _, _, err := c.Pair(1)
				if err != nil {
					t.Error(err)
					return
				}
				for _, tok := range []string{r, a, pyjwtToken} {
					if _, err := c.Parse(tok); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// countingReader is a deterministic Random that is not safe for concurrent use on its own.
type countingReader struct{ n uint64 }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		r.n++
		p[i] = byte(r.n * 0x9e3779b97f4a7c15 >> 56)
	}
	return len(p), nil
}

var _ io.Reader = (*countingReader)(nil)

func TestParseAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	c := newCodec(t)
	tok, _, err := c.Mint(Access, 2, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := c.Parse(tok); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 { // the jti string
		t.Errorf("Parse of an HS256 token: %v allocations, want at most 1", allocs)
	}
}

// FuzzParse feeds arbitrary tokens to Parse: it must not panic, and whatever it accepts must
// carry, in canonical base64url, the HMAC of its first two segments under the key.
func FuzzParse(f *testing.F) {
	c := newCodec(f, func(c *Config) { c.Now = fixed(time.Unix(1800000000, 0)) })
	mint := newCodec(f, func(c *Config) { c.Now = fixed(time.Unix(1800000000, 0)) })
	tok, _, err := mint.Mint(Access, 2, time.Time{})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{tok, pyjwtToken, simplejwtAudIssToken, "", "..", "a.b.c",
		hsToken(`{"alg":"HS256","typ":"JWT"}`, `{"exp":1900000000,"user_id":"3","aud":[]}`, []byte(djangoKey)),
		hsToken(`{"alg":"HS256","kid":"x"}`, `{"exp":1900000000,"user_id":1}`, []byte(djangoKey)),
		b64(`{"alg":"none"}`) + "." + b64(`{"exp":1900000000}`) + "."} {
		f.Add(s)
	}
	secret := []byte(djangoKey)
	f.Fuzz(func(t *testing.T, token string) {
		cl, err := c.Parse(token)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		dot := strings.LastIndexByte(token, '.')
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(token[:dot]))
		if token[dot+1:] != base64.RawURLEncoding.EncodeToString(m.Sum(nil)) {
			t.Fatalf("accepted a token not signed by the key: %q -> %+v", token, cl)
		}
	})
}

// FuzzCanonicalMatchesGeneral checks that the hand-written fast path decodes a payload
// exactly as the encoding/json path does whenever it accepts one.
func FuzzCanonicalMatchesGeneral(f *testing.F) {
	for _, s := range []string{
		`{"token_type":"access","exp":1700000600,"iat":1700000000,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac","user_id":2}`,
		`{"token_type":"refresh","exp":-0,"iat":0,"jti":"","user_id":-12,"aud":"api","iss":"x"}`,
		`{"token_type":"access","exp":1,"iat":1,"jti":"a","user_id":1,"iss":"https://gatehouse.example"}`,
		`{"token_type":"acc\"ess","exp":1,"iat":1,"jti":"a","user_id":1}`,
		`{"token_type":"access","exp":1.5,"iat":1,"jti":"a","user_id":1}`,
		`{"token_type":"access","exp":123456789012345678,"iat":1,"jti":"a","user_id":01}`,
		`{"token_type":"access","exp":1,"iat":1,"jti":"a","user_id":7,"sub":"7","aud":"api","iss":"x"}`,
		`{"token_type":"access","exp":1,"iat":1,"jti":"a","user_id":7,"sub":"7","sub":"8"}`,
		`{"token_type":"refresh","exp":1,"iat":1,"jti":"b","user_id":7,"gatehouse_record":"a","iss":"x"}`,
		`{"token_type":"refresh","exp":1,"iat":1,"jti":"b","user_id":7,"gatehouse_record":"","gatehouse_record":"c"}`,
	} {
		f.Add([]byte(s), true)
	}
	codecs := map[bool]*Codec{
		false: newCodec(f),
		true:  newCodec(f, func(c *Config) { c.Issuer, c.Audience = "x", "api" }),
	}
	f.Fuzz(func(t *testing.T, payload []byte, configured bool) {
		c := codecs[configured]
		var fast, general parsed
		if !c.parseCanonical(payload, &fast) {
			return
		}
		if err := c.parseGeneral(payload, &general); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json path refused it: %v", payload, err)
		}
		if fast != general {
			t.Fatalf("%q:\nfast    %+v\ngeneral %+v", payload, fast, general)
		}
	})
}

func BenchmarkParseHS256(b *testing.B) {
	c := newCodec(b)
	tok, _, err := c.Mint(Access, 2, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Parse(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkYardstickHS256 is the shared/perf/limit check, written again here so that
// BenchmarkParseHS256 can be read as a ratio against it from the same run: HMAC-SHA256,
// base64 and encoding/json of a two-field struct, with no header, iat, nbf, iss or aud checks.
func BenchmarkYardstickHS256(b *testing.B) {
	c := newCodec(b)
	tok, _, err := c.Mint(Access, 2, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	key := []byte(djangoKey)
	now := t0.Unix()
	b.ReportAllocs()
	for b.Loop() {
		dot := strings.LastIndexByte(tok, '.')
		sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
		if err != nil {
			b.Fatal(err)
		}
		m := hmac.New(sha256.New, key)
		m.Write([]byte(tok[:dot]))
		if !hmac.Equal(sig, m.Sum(nil)) {
			b.Fatal("bad signature")
		}
		raw, err := base64.RawURLEncoding.DecodeString(tok[strings.IndexByte(tok, '.')+1 : dot])
		if err != nil {
			b.Fatal(err)
		}
		var cl struct {
			UserID int   `json:"user_id"`
			Exp    int64 `json:"exp"`
		}
		if json.Unmarshal(raw, &cl) != nil || cl.Exp < now {
			b.Fatal("bad claims")
		}
	}
}

func BenchmarkParseAsymmetric(b *testing.B) {
	k := keys()
	for _, key := range []Key{
		{ID: "r", Algorithm: RS256, Private: k.rsa},
		{ID: "e", Algorithm: ES256, Private: k.ec},
		{ID: "d", Algorithm: EdDSA, Private: k.ed},
	} {
		b.Run(key.Algorithm, func(b *testing.B) {
			c := newCodec(b, func(c *Config) { c.Signing = key })
			tok, _, err := c.Mint(Access, 2, time.Time{})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Parse(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMintPair(b *testing.B) {
	c := newCodec(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, _, err := c.Pair(2); err != nil {
			b.Fatal(err)
		}
	}
}

// A token without its jti claim is refused with ErrNoID, as simplejwt
// refuses it ("Token has no id"), but only once it passes the other
// checks; a jti of any value, null included, is an id to simplejwt.
func TestParseNoID(t *testing.T) {
	secret := []byte(djangoKey)
	const hdr = `{"alg":"HS256","typ":"JWT"}`
	now := time.Unix(1700000100, 0)
	c := newCodec(t, func(c *Config) { c.Now = func() time.Time { return now } })
	for _, tc := range []struct {
		name, payload string
		noID, ok      bool
	}{
		{"no jti", `{"token_type":"access","exp":1700000600,"iat":1700000000,"user_id":2}`, true, false},
		{"no jti, expired", `{"token_type":"access","exp":1700000000,"iat":1700000000,"user_id":2}`, false, false},
		{"jti null", `{"token_type":"access","exp":1700000600,"iat":1700000000,"jti":null,"user_id":2}`, false, true},
		{"jti a number", `{"token_type":"access","exp":1700000600,"iat":1700000000,"jti":7,"user_id":2}`, false, true},
		{"jti under another name only", `{"token_type":"access","exp":1700000600,"iat":1700000000,"id":"x","user_id":2}`, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Parse(hsToken(hdr, tc.payload, secret))
			if errors.Is(err, ErrNoID) != tc.noID || (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Fatalf("err = %v; want no-id %v, accepted %v", err, tc.noID, tc.ok)
			}
		})
	}
}
