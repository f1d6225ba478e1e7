package jwt

import (
	"encoding/base64"
	"strings"
	"testing"
)

// simplejwtExtraClaimsToken was printed by simplejwt 5.2.2 (str(AccessToken()) with AUDIENCE
// and ISSUER set, after setting exp, iat, jti and user_id as below and then
// token["groups"] = ["editors", "Zürich readers"] and token["permissions"] =
// ["auth.add_user", "emoji.🙂"], as a project's serializer adds claims): extra claims go
// after user_id and before aud and iss, with non-ASCII escaped in UTF-16.
const simplejwtExtraClaimsToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." +
	"eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAwMTEyMjMzNDQ1NTQ2Nzc4ODk5YWFiYmNjZGRlZWZmIiwidXNlcl9pZCI6NywiZ3JvdXBzIjpbImVkaXRvcnMiLCJaXHUwMGZjcmljaCByZWFkZXJzIl0sInBlcm1pc3Npb25zIjpbImF1dGguYWRkX3VzZXIiLCJlbW9qaS5cdWQ4M2RcdWRlNDIiXSwiYXVkIjoiZ2F0ZWhvdXNlLWFwaSIsImlzcyI6Imh0dHBzOi8vZ2F0ZWhvdXNlLmV4YW1wbGUifQ." +
	"GuvBBCblOJlKvUGIWecHyaQB2d2SUEBqX5x8poHsiRY"

func TestExtraClaimsMatchSimplejwt(t *testing.T) {
	c := newCodec(t, func(c *Config) { c.Issuer, c.Audience = "https://gatehouse.example", "gatehouse-api" })
	more, err := appendClaims(nil, []Claim{{"groups", []string{"editors", "Zürich readers"}}, {"permissions", []string{"auth.add_user", "emoji.🙂"}}})
	if err != nil {
		t.Fatal(err)
	}
	cl := Claims{TokenType: Access, Exp: 4102444800, Iat: 1700000000, JTI: "00112233445546778899aabbccddeeff", UserID: 7, HasUserID: true}
	tok, err := c.sign(&cl, more)
	if err != nil {
		t.Fatal(err)
	}
	if tok != simplejwtExtraClaimsToken {
		t.Fatalf("got  %s\nwant %s", tok, simplejwtExtraClaimsToken)
	}
	got, err := c.Parse(simplejwtExtraClaimsToken)
	if err != nil || got.UserID != 7 || got.TokenType != Access || got.Audience != "gatehouse-api" {
		t.Fatalf("Parse = %+v, %v", got, err)
	}
}

func TestMintExtraClaims(t *testing.T) {
	c := newCodec(t)
	refresh, access, _, ac, err := c.Pair(5, Claim{"groups", []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(decodePayload(t, access), `"user_id":5,"groups":["a"]}`) || strings.Contains(decodePayload(t, refresh), "groups") {
		t.Fatalf("access %s\nrefresh %s", decodePayload(t, access), decodePayload(t, refresh))
	}
	if got, err := c.Parse(access); err != nil || got.JTI != ac.JTI || got.UserID != 5 {
		t.Fatalf("Parse = %+v, %v", got, err)
	}
	for _, bad := range [][]Claim{
		{{"user_id", 1}}, {{"exp", 1}}, {{"", 1}}, {{"a", 1}, {"a", 2}}, {{"f", func() {}}},
	} {
		if _, _, err := c.Mint(Access, 1, t0, bad...); err == nil {
			t.Errorf("minted with %v", bad)
		}
	}
}

// decodePayload returns the JSON payload of tok.
func decodePayload(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
