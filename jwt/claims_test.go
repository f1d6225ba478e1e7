package jwt

import (
	"encoding/base64"
	"encoding/json"
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

// A token with a serializer's claims is marked Extra, and CopiedClaims
// gives them in order, each value as written (a duplicate's last value at
// its first place), leaving out every claim the package reads itself. A
// token as Mint writes it has none.
func TestCopiedClaims(t *testing.T) {
	c := newCodec(t, func(c *Config) { c.Issuer, c.Audience = "https://gatehouse.example", "gatehouse-api" })
	got, err := c.Parse(simplejwtExtraClaimsToken)
	if err != nil || !got.Extra {
		t.Fatalf("Parse = %+v, %v", got, err)
	}
	copied, err := c.CopiedClaims(simplejwtExtraClaimsToken)
	if err != nil {
		t.Fatal(err)
	}
	var names, values []string
	for _, cl := range copied {
		raw, _ := cl.Value.(json.RawMessage)
		names, values = append(names, cl.Name), append(values, string(raw))
	}
	if strings.Join(names, " ") != "groups permissions" ||
		values[0] != `["editors","Z\u00fcrich readers"]` || values[1] != `["auth.add_user","emoji.\ud83d\ude42"]` {
		t.Fatalf("copied %v %v", names, values)
	}
	// Minted again, the values come out as PyJWT writes them.
	more, err := appendClaims(nil, copied)
	if err != nil || string(more) != `,"groups":["editors","Z\u00fcrich readers"],"permissions":["auth.add_user","emoji.\ud83d\ude42"]` {
		t.Fatalf("appended %s, %v", more, err)
	}

	plain := newCodec(t)
	payload := `{"token_type":"refresh","exp":4102444800,"iat":1700000000,"jti":"j1","user_id":7,"sub":"7",` +
		`"name":"first","gatehouse_user_id":7,"nbf":1,"tenant":{"id":3,"tags":[1.5,null]},"name":"last"}`
	tok := hsToken(`{"alg":"HS256","typ":"JWT"}`, payload, []byte(djangoKey))
	got, err = plain.Parse(tok)
	if err != nil || !got.Extra {
		t.Fatalf("Parse = %+v, %v", got, err)
	}
	copied, err = plain.CopiedClaims(tok)
	if err != nil || len(copied) != 2 || copied[0].Name != "name" || string(copied[0].Value.(json.RawMessage)) != `"last"` ||
		copied[1].Name != "tenant" || string(copied[1].Value.(json.RawMessage)) != `{"id":3,"tags":[1.5,null]}` {
		t.Fatalf("copied %+v, %v", copied, err)
	}

	minted, _, err := plain.Mint(Refresh, 7, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := plain.Parse(minted); err != nil || got.Extra {
		t.Fatalf("a minted token: %+v, %v", got, err)
	}
	if copied, err := plain.CopiedClaims(minted); err != nil || len(copied) != 0 {
		t.Fatalf("a minted token's copied claims: %v, %v", copied, err)
	}
}

// A rotated refresh token names its record in RecordClaim, right after the
// user id and before a serializer's claims; Parse reads it back on the
// canonical path and the general one alike, never as a claim to copy, and
// the claim cannot be added as an extra one or configured as a name.
func TestMintRotated(t *testing.T) {
	c := newCodec(t, func(c *Config) { c.Issuer = "x" })
	tok, cl, err := c.MintRotated("0192f0aa7b3c7def8a1b2c3d4e5f6a7b", 7, "", t0, Claim{"tenant", 3})
	if err != nil || cl.Record != "0192f0aa7b3c7def8a1b2c3d4e5f6a7b" || cl.TokenType != Refresh {
		t.Fatalf("MintRotated = %+v, %v", cl, err)
	}
	want := `"user_id":7,"gatehouse_record":"0192f0aa7b3c7def8a1b2c3d4e5f6a7b","tenant":3,"iss":"x"}`
	if p := decodePayload(t, tok); !strings.HasSuffix(p, want) {
		t.Fatalf("payload %s, want it to end %s", p, want)
	}
	got, err := c.Parse(tok)
	if err != nil || got.Record != cl.Record || got.JTI != cl.JTI || !got.Extra {
		t.Fatalf("Parse = %+v, %v", got, err)
	}
	if copied, err := c.CopiedClaims(tok); err != nil || len(copied) != 1 || copied[0].Name != "tenant" {
		t.Fatalf("copied %+v, %v", copied, err)
	}
	// Without extra claims the payload is canonical.
	tok, _, err = c.MintRotated("rec-1", 7, "", t0)
	if err != nil {
		t.Fatal(err)
	}
	var p parsed
	raw := decodePayload(t, tok)
	if !c.parseCanonical([]byte(raw), &p) || p.Record != "rec-1" || p.Extra {
		t.Fatalf("canonical parse of %s: %+v", raw, p)
	}
	// A user named by key, and a record needing escapes, take the general path.
	tok, _, err = c.MintRotated("r\"é", 7, "7b1c", t0)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Parse(tok); err != nil || got.Record != "r\"é" || got.UserKey != "7b1c" || got.Extra {
		t.Fatalf("Parse = %+v, %v", got, err)
	}
	// Tokens minted otherwise carry no record.
	if _, cl, err := c.Mint(Refresh, 7, t0); err != nil || cl.Record != "" {
		t.Fatalf("Mint = %+v, %v", cl, err)
	}
	if _, _, err := c.MintRotated("", 7, "", t0); err == nil {
		t.Error("minted a rotated token without a record")
	}
	if _, _, err := c.Mint(Access, 7, t0, Claim{RecordClaim, "x"}); err == nil {
		t.Errorf("minted %s as an extra claim", RecordClaim)
	}
	if _, err := New(Config{Signing: Key{Secret: []byte(djangoKey)}, Claims: ClaimNames{UserID: RecordClaim}}); err == nil {
		t.Errorf("configured %s as the user id claim", RecordClaim)
	}
}
