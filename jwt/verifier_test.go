package jwt

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// jwk returns the JSON of one JWK of key with kid and alg, after edit changes its members.
func jwk(t *testing.T, key any, kid, alg string, edit func(map[string]any)) string {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: alg, Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	if edit == nil {
		return string(b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func keySet(members ...string) []byte { return []byte(`{"keys":[` + strings.Join(members, ",") + `]}`) }

// TestVerifierFromJWKS builds a verifier from nothing but a Codec's JWKS document and checks
// that it accepts exactly that Codec's tokens.
func TestVerifierFromJWKS(t *testing.T) {
	k := keys()
	tests := []struct {
		name    string
		signing Key
		other   Key // another key under the same kid and algorithm
	}{
		{"RS256", Key{ID: "rsa-1", Algorithm: RS256, Private: k.rsa}, Key{ID: "rsa-1", Algorithm: RS256, Private: k.rsa2}},
		{"ES256", Key{ID: "ec-1", Algorithm: ES256, Private: k.ec}, Key{ID: "ec-1", Algorithm: ES256, Private: mustEC(t)}},
		{"EdDSA", Key{ID: "ed-1", Algorithm: EdDSA, Private: k.ed}, Key{ID: "ed-1", Algorithm: EdDSA, Private: mustEd(t)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			configure := func(signing Key) func(*Config) {
				return func(c *Config) { c.Signing, c.Issuer, c.Audience = signing, "https://gatehouse.example", "api" }
			}
			issuer := newCodec(t, configure(tt.signing))
			doc, err := issuer.JWKS()
			if err != nil {
				t.Fatal(err)
			}
			ks, err := ParseJWKS(doc)
			if err != nil {
				t.Fatalf("ParseJWKS(%s): %v", doc, err)
			}
			if len(ks) != 1 || ks[0].ID != tt.signing.ID || ks[0].Algorithm != tt.signing.Algorithm || ks[0].Private != nil || ks[0].Secret != nil {
				t.Fatalf("ParseJWKS = %+v", ks)
			}
			v, err := NewVerifier(VerifierConfig{Keys: ks, Issuer: "https://gatehouse.example", Audience: "api", Now: fixed(t0)})
			if err != nil {
				t.Fatal(err)
			}
			if again, _ := v.JWKS(); string(again) != string(doc) {
				t.Errorf("verifier JWKS\n %s\nissuer JWKS\n %s", again, doc)
			}

			refresh, access, rc, ac, err := issuer.Pair(9)
			if err != nil {
				t.Fatal(err)
			}
			for tok, want := range map[string]Claims{refresh: rc, access: ac} {
				if got, err := v.Parse(tok); err != nil || got != want {
					t.Errorf("Parse = %+v, %v; want %+v", got, err, want)
				}
			}

			hsTok, _, err := newCodec(t, func(c *Config) { c.Issuer, c.Audience = "https://gatehouse.example", "api" }).Mint(Access, 9, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			otherTok, _, err := newCodec(t, configure(tt.other)).Mint(Access, 9, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			renamed := tt.signing
			renamed.ID = "unknown"
			unknownTok, _, err := newCodec(t, configure(renamed)).Mint(Access, 9, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			_, p := segments(t, access)
			hsUnderKID := hsToken(`{"alg":"HS256","kid":"`+tt.signing.ID+`","typ":"JWT"}`, p, doc)
			for name, tok := range map[string]string{
				"HS256 token": hsTok, "another key, same kid": otherTok, "the same key under an unknown kid": unknownTok,
				"HS256 under the key's kid, the JWKS as secret": hsUnderKID,
			} {
				if cl, err := v.Parse(tok); !errors.Is(err, ErrInvalid) || cl != (Claims{}) {
					t.Errorf("%s: Parse = %+v, %v; want ErrInvalid", name, cl, err)
				}
			}
		})
	}

	// A rotated key set: the tokens of the previous key verify as well as the new ones.
	before := newCodec(t, func(c *Config) { c.Signing = Key{ID: "rsa-2024", Algorithm: RS256, Private: k.rsa} })
	after := newCodec(t, func(c *Config) {
		c.Signing = Key{ID: "ec-2025", Algorithm: ES256, Private: k.ec}
		c.Verification = []Key{
			{ID: "rsa-2024", Algorithm: RS256, Public: &k.rsa.PublicKey},
			{ID: "ed-2024", Algorithm: EdDSA, Public: k.ed.Public()},
			{ID: "hs-legacy", Secret: []byte("not published")},
		}
	})
	doc, _ := after.JWKS()
	ks, err := ParseJWKS(doc)
	if err != nil || len(ks) != 3 {
		t.Fatalf("ParseJWKS = %+v, %v", ks, err)
	}
	v, err := NewVerifier(VerifierConfig{Keys: ks, Now: fixed(t0)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Codec{before, after} {
		tok, want, err := c.Mint(Refresh, 5, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := v.Parse(tok); err != nil || got != want {
			t.Errorf("Parse = %+v, %v; want %+v", got, err, want)
		}
	}
}

func mustEC(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustEd(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestParseJWKSRefuses(t *testing.T) {
	k := keys()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaPub := jwk(t, &k.rsa.PublicKey, "rsa-1", RS256, nil)
	edPub := jwk(t, k.ed.Public(), "ed-1", EdDSA, nil)
	without := func(member string) func(map[string]any) { return func(m map[string]any) { delete(m, member) } }
	set := func(member string, v any) func(map[string]any) { return func(m map[string]any) { m[member] = v } }
	tests := []struct {
		name string
		want string // in the error
		doc  string
	}{
		{"not JSON", "not a JSON object", `{"keys":[`},
		{"empty", "not a JSON object", ``},
		{"trailing garbage", "not a JSON object", string(keySet(rsaPub)) + "x"},
		{"a JSON array", "not a JSON object", `[` + rsaPub + `]`},
		{"null", "not a JSON object", `null`},
		{"no keys member", `no "keys" member`, `{"keys_":[]}`},
		{"keys in another case", `no "keys" member`, `{"KEYS":[]}`},
		{"keys null", "not an array", `{"keys":null}`},
		{"keys an object", "not an array", `{"keys":` + rsaPub + `}`},
		{"a key that is not an object", "key 0: not a JSON object", string(keySet(`"rsa-1"`))},
		{"RSA private key", `private key member "d"`, string(keySet(jwk(t, k.rsa, "rsa-1", RS256, nil)))},
		{"EC private key", `private key member "d"`, string(keySet(jwk(t, k.ec, "ec-1", ES256, nil)))},
		{"Ed25519 private key", `private key member "d"`, string(keySet(jwk(t, k.ed, "ed-1", EdDSA, nil)))},
		{"RSA public key with a stray p", `private key member "p"`, string(keySet(jwk(t, &k.rsa.PublicKey, "rsa-1", RS256, set("p", "AQAB"))))},
		{"symmetric key", "symmetric", string(keySet(jwk(t, []byte("django-secret"), "hs-1", HS256, nil)))},
		{"symmetric key without alg", "symmetric", string(keySet(jwk(t, []byte("django-secret"), "hs-1", "", nil)))},
		{"k member on an RSA key", "symmetric", string(keySet(jwk(t, &k.rsa.PublicKey, "rsa-1", RS256, set("k", "c2VjcmV0"))))},
		{"unknown alg RS512", "unsupported alg", string(keySet(jwk(t, &k.rsa.PublicKey, "rsa-1", "RS512", nil)))},
		{"unknown alg PS256", "unsupported alg", string(keySet(jwk(t, &k.rsa.PublicKey, "rsa-1", "PS256", nil)))},
		{"alg none", "unsupported alg", string(keySet(jwk(t, &k.rsa.PublicKey, "rsa-1", "none", nil)))},
		{"alg missing", `no "alg"`, string(keySet(jwk(t, &k.rsa.PublicKey, "rsa-1", "", nil)))},
		{"alg not a string", "cannot unmarshal", string(keySet(jwk(t, &k.rsa.PublicKey, "rsa-1", RS256, set("alg", 256))))},
		{"ES256 alg on an RSA key", "ES256 key needs", string(keySet(jwk(t, &k.rsa.PublicKey, "rsa-1", ES256, nil)))},
		{"RS256 alg on an Ed25519 key", "RS256 key needs", string(keySet(jwk(t, k.ed.Public(), "ed-1", RS256, nil)))},
		{"ES256 on P-384", "ES256 key needs", string(keySet(jwk(t, &p384.PublicKey, "ec-1", ES256, nil)))},
		{"EC point off the curve", "not on declared curve", string(keySet(jwk(t, &k.ec.PublicKey, "ec-1", ES256, set("y", strings.Repeat("A", 43)))))},
		{"RSA of 1024 bits", "1024 bits", string(keySet(jwk(t, &small.PublicKey, "rsa-1", RS256, nil)))},
		{"unknown kty", "unsupported key type", string(keySet(jwk(t, &k.rsa.PublicKey, "rsa-1", RS256, set("kty", "DSA"))))},
		{"kty missing", "missing json web key type", string(keySet(jwk(t, &k.rsa.PublicKey, "rsa-1", RS256, without("kty"))))},
		{"no kid", "no kid", string(keySet(jwk(t, &k.rsa.PublicKey, "", RS256, nil)))},
		{"empty kid", "no kid", string(keySet(jwk(t, &k.rsa.PublicKey, "rsa-1", RS256, set("kid", ""))))},
		{"kid not a string", "cannot unmarshal", string(keySet(jwk(t, &k.rsa.PublicKey, "rsa-1", RS256, set("kid", 1))))},
		{"duplicate kid", "key 1: duplicate kid", string(keySet(rsaPub, jwk(t, k.ed.Public(), "rsa-1", EdDSA, nil)))},
		{"duplicate key", "key 1: duplicate kid", string(keySet(edPub, edPub))},
		{"use enc", `"use"`, string(keySet(jwk(t, &k.rsa.PublicKey, "rsa-1", RS256, set("use", "enc"))))},
		{"one bad key among good ones", "key 2: holds private", string(keySet(rsaPub, edPub, jwk(t, k.ec, "ec-1", ES256, nil)))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := ParseJWKS([]byte(tt.doc))
			if err == nil {
				t.Fatalf("ParseJWKS accepted %s: %+v", tt.doc, ks)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}

	// The refusals above are not those of a parser that refuses everything.
	ks, err := ParseJWKS(keySet(rsaPub, edPub, jwk(t, &k.ec.PublicKey, "ec-1", ES256, without("use"))))
	if err != nil || len(ks) != 3 || ks[0].ID != "rsa-1" || ks[1].Algorithm != EdDSA || ks[2].ID != "ec-1" {
		t.Errorf("good key set: %+v, %v", ks, err)
	}
	if ks, err := ParseJWKS([]byte(`{"keys":[]}`)); err != nil || len(ks) != 0 {
		t.Errorf("empty key set: %+v, %v", ks, err)
	}
}

func TestNewVerifierValidates(t *testing.T) {
	k := keys()
	rsaPub := Key{ID: "r", Algorithm: RS256, Public: &k.rsa.PublicKey}
	tests := []struct {
		name string
		cfg  VerifierConfig
	}{
		{"zero config", VerifierConfig{}},
		{"empty key list", VerifierConfig{Keys: []Key{}}},
		{"a zero key", VerifierConfig{Keys: []Key{{}}}},
		{"asymmetric key without id", VerifierConfig{Keys: []Key{{Algorithm: RS256, Public: &k.rsa.PublicKey}}}},
		{"asymmetric key without material", VerifierConfig{Keys: []Key{{ID: "r", Algorithm: RS256}}}},
		{"unsupported algorithm", VerifierConfig{Keys: []Key{{ID: "r", Algorithm: "PS256", Public: &k.rsa.PublicKey}}}},
		{"duplicate kid", VerifierConfig{Keys: []Key{rsaPub, {ID: "r", Algorithm: EdDSA, Public: k.ed.Public()}}}},
		{"leeway over 60s", VerifierConfig{Keys: []Key{rsaPub}, Leeway: 61 * time.Second}},
		{"audience not UTF-8", VerifierConfig{Keys: []Key{rsaPub}, Audience: "\xff"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v, err := NewVerifier(tt.cfg); err == nil {
				t.Fatalf("NewVerifier accepted it: %+v", v)
			}
		})
	}
	good := []VerifierConfig{
		{Keys: []Key{rsaPub}},
		{Keys: []Key{{Secret: []byte(djangoKey)}}, Leeway: MaxLeeway},
		{Keys: []Key{{ID: "e", Algorithm: ES256, Private: k.ec}, rsaPub}},
	}
	for i, cfg := range good {
		if _, err := NewVerifier(cfg); err != nil {
			t.Errorf("good config %d: %v", i, err)
		}
	}
}

// TestVerifierMatchesCodec checks that a Verifier configured like a Codec decides like it,
// on the same HS256 tokens TestParseRefuses and TestParseAccepts use.
func TestVerifierMatchesCodec(t *testing.T) {
	secret := []byte(djangoKey)
	const hdr = `{"alg":"HS256","typ":"JWT"}`
	c := newCodec(t, func(c *Config) { c.Leeway = 5 * time.Second })
	v, err := NewVerifier(VerifierConfig{Keys: []Key{{Secret: secret}}, Leeway: 5 * time.Second, Now: fixed(t0)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{
		pyjwtToken,
		hsToken(hdr, `{"exp":1700000600,"user_id":"2","aud":[]}`, secret),
		hsToken(hdr, `{"exp":1700000003,"iat":1700000005,"user_id":2}`, secret),
		hsToken(hdr, `{"exp":1700000003,"iat":1700000006,"user_id":2}`, secret),
		hsToken(hdr, `{"exp":1699999996,"user_id":2}`, secret),
		hsToken(hdr, `{"exp":1699999995,"user_id":2}`, secret),
		hsToken(`{"alg":"none"}`, `{"exp":1700000600}`, secret),
		hsToken(hdr, `{"exp":1700000600,"user_id":2,"aud":"api"}`, secret),
		hsToken(hdr, `{"exp":1700000600,"user_id":2}`, []byte("other")),
	} {
		want, wantErr := c.Parse(tok)
		got, err := v.Parse(tok)
		if got != want || (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
			t.Errorf("%s:\nverifier %+v, %v\ncodec    %+v, %v", tok, got, err, want, wantErr)
		}
	}
}
