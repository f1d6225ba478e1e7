package jwt

import (
	"strings"
	"testing"
	"time"
)

// With Subject, the sub claim (the user id as a string) follows the user
// id claim and nothing else changes; without it (the default) the token
// is PyJWT's byte for byte. Either codec parses either token, to the same
// claims.
func TestSubjectClaim(t *testing.T) {
	plain := newCodec(t)
	sub := newCodec(t, func(c *Config) { c.Subject = true })
	cl := Claims{TokenType: Access, Exp: 4102444800, Iat: 1700000000, JTI: "e2ff709df1ca46bda6f997e5ef7d44ac", UserID: 2, HasUserID: true}
	tok, err := plain.sign(&cl, nil)
	if err != nil || tok != pyjwtToken {
		t.Fatalf("default token\n got %s\nwant %s (%v)", tok, pyjwtToken, err)
	}
	subTok, err := sub.sign(&cl, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := decodePayload(t, subTok), `{"token_type":"access","exp":4102444800,"iat":1700000000,"jti":"e2ff709df1ca46bda6f997e5ef7d44ac","user_id":2,"sub":"2"}`; got != want {
		t.Fatalf("payload\n got %s\nwant %s", got, want)
	}
	for _, c := range []*Codec{plain, sub} {
		for _, tk := range []string{tok, subTok} {
			if got, err := c.Parse(tk); err != nil || got != cl {
				t.Fatalf("Parse = %+v, %v; want %+v", got, err, cl)
			}
		}
	}

	// With aud, iss and extra claims, sub stays right after the user id.
	full := newCodec(t, func(c *Config) { c.Subject, c.Issuer, c.Audience = true, "https://gatehouse.example", "api" })
	tk, _, err := full.Mint(Access, 41, time.Time{}, Claim{"groups", []string{"editors"}})
	if err != nil {
		t.Fatal(err)
	}
	if p := decodePayload(t, tk); !strings.HasSuffix(p, `,"user_id":41,"sub":"41","groups":["editors"],"aud":"api","iss":"https://gatehouse.example"}`) {
		t.Fatalf("payload %s", p)
	}
	if got, err := full.Parse(tk); err != nil || got.UserID != 41 {
		t.Fatalf("Parse: %+v, %v", got, err)
	}
	if _, _, err := full.Mint(Access, 41, time.Time{}, Claim{"sub", "x"}); err == nil || !strings.Contains(err.Error(), `"sub" is a claim of every token`) {
		t.Fatalf("an extra sub claim: %v", err)
	}
	// Without Subject, sub is an extra claim like any other.
	if _, _, err := plain.Mint(Access, 41, time.Time{}, Claim{"sub", "x"}); err != nil {
		t.Fatal(err)
	}
}

// Subject is refused with a claim renamed "sub", which it would repeat.
func TestSubjectClaimCollision(t *testing.T) {
	for _, names := range []ClaimNames{{UserID: "sub"}, {JTI: "sub"}, {TokenType: "sub"}} {
		_, err := New(Config{Signing: Key{Algorithm: HS256, Secret: []byte(djangoKey)}, Subject: true, Claims: names})
		if err == nil || !strings.Contains(err.Error(), `named "sub"`) {
			t.Errorf("%+v: %v", names, err)
		}
		if _, err := New(Config{Signing: Key{Algorithm: HS256, Secret: []byte(djangoKey)}, Claims: names}); err != nil {
			t.Errorf("%+v without Subject: %v", names, err)
		}
	}
	// A token whose user id claim is named sub, repeated with another
	// value, parses as encoding/json reads it (the last one), not by the
	// canonical fast path.
	c := newCodec(t, func(c *Config) { c.Claims.UserID = "sub" })
	cl := Claims{TokenType: Access, Exp: 4102444800, Iat: 1700000000, JTI: "e2ff709df1ca46bda6f997e5ef7d44ac", UserID: 2, HasUserID: true}
	tok, err := c.sign(&cl, []byte(`,"sub":"3"`))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Parse(tok); err != nil || got.UserID != 3 {
		t.Fatalf("Parse = %+v, %v", got, err)
	}
}

// The sub claim costs minting and parsing no allocation.
func TestSubjectAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	plain := newCodec(t)
	sub := newCodec(t, func(c *Config) { c.Subject = true })
	mintAllocs := func(c *Codec) float64 {
		return testing.AllocsPerRun(100, func() {
			if _, _, err := c.Mint(Access, 1234567, time.Time{}); err != nil {
				t.Fatal(err)
			}
		})
	}
	if a, b := mintAllocs(plain), mintAllocs(sub); b > a {
		t.Errorf("Mint: %v allocations with sub, %v without", b, a)
	}
	tok, _, err := sub.Mint(Access, 1234567, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := sub.Parse(tok); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 { // the jti string, as without sub
		t.Errorf("Parse of a token with sub: %v allocations, want at most 1", allocs)
	}
}

// A user named by a key (MintKey): user_id is the key as a JSON string
// (non-ASCII escaped, as PyJWT writes it), sub is the key too with
// Config.Subject, and IDClaim carries the id; Parse gives both back. An
// id of 0 writes no IDClaim, a key over 255 bytes is refused, and no
// project may add IDClaim itself.
func TestMintKey(t *testing.T) {
	const key = "3026d28e-dbc0-4dea-8da0-8aa9f5a3118d"
	for _, c := range []struct {
		name    string
		subject bool
		key     string
		id      int64
		want    string
	}{
		{"uuid", false, key, 41, `"user_id":"` + key + `","gatehouse_user_id":41}`},
		{"uuid with sub", true, key, 41, `"user_id":"` + key + `","sub":"` + key + `","gatehouse_user_id":41}`},
		{"non-ASCII key", false, "zoë", 7, `"user_id":"zo\u00eb","gatehouse_user_id":7}`},
		{"no id", false, key, 0, `"user_id":"` + key + `"}`},
		{"no key", true, "", 41, `"user_id":41,"sub":"41"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			codec := newCodec(t, func(cfg *Config) { cfg.Subject = c.subject })
			tok, cl, err := codec.MintKey(Access, c.id, c.key, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if got := decodePayload(t, tok); !strings.HasSuffix(got, c.want) {
				t.Fatalf("payload %s, want it to end with %s", got, c.want)
			}
			back, err := codec.Parse(tok)
			if err != nil {
				t.Fatal(err)
			}
			if back.UserKey != c.key || back.UserID != c.id || back.HasUserID != (c.id > 0) || cl.UserKey != c.key || cl.UserID != c.id {
				t.Fatalf("minted %+v, parsed %+v", cl, back)
			}
		})
	}
	if _, _, err := newCodec(t).MintKey(Access, 1, strings.Repeat("k", 256), time.Time{}); err == nil {
		t.Fatal("a key over 255 bytes was minted")
	}
	if err := CheckClaimName(IDClaim); err == nil {
		t.Fatalf("%s accepted as an extra claim", IDClaim)
	}
}
