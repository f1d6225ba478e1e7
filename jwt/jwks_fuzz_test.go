package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// fuzzKeys are the asymmetric keys of the JWKS and verifier targets.
func fuzzKeys() []Key {
	k := keys()
	return []Key{
		{ID: "rsa-1", Algorithm: RS256, Private: k.rsa},
		{ID: "ec-1", Algorithm: ES256, Private: k.ec},
		{ID: "ed-1", Algorithm: EdDSA, Private: k.ed},
	}
}

// FuzzParseJWKS feeds key sets to ParseJWKS. Properties: the keys it
// returns are public keys of a supported algorithm that fits them, with
// unique non-empty ids; a verifier builds from them, and its own JWKS
// document parses back to the same keys.
func FuzzParseJWKS(f *testing.F) {
	var members []string
	for _, k := range fuzzKeys() {
		doc, err := newCodec(f, func(c *Config) { c.Signing = k }).JWKS()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(doc)
		members = append(members, strings.TrimSuffix(strings.TrimPrefix(string(doc), `{"keys":[`), `]}`))
	}
	for _, s := range []string{
		`{"keys":[` + strings.Join(members, ",") + `]}`,
		`{"keys":[` + members[0] + "," + members[0] + `]}`,
		`{"keys":[` + strings.Replace(members[1], `"alg":"ES256"`, `"alg":"RS256"`, 1) + `]}`,
		`{"keys":[` + strings.Replace(members[2], `"use":"sig"`, `"use":"enc"`, 1) + `]}`,
		`{"keys":[` + strings.Replace(members[1], `"kid":"ec-1",`, ``, 1) + `]}`,
		`{"keys":[` + strings.Replace(members[2], `"kty":"OKP"`, `"kty":"OKP","d":"AAAA"`, 1) + `]}`,
		`{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"hs","alg":"HS256"}]}`,
		`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"weak","alg":"RS256"}]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA","kid":"off","alg":"ES256"}]}`,
		`{"keys":[]}`, `{"KEYS":[]}`, `{"keys":{}}`, `{"keys":null}`, `[]`, `null`, ``, "{\"keys\":[\x00]}", "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		ks, err := ParseJWKS(doc)
		if err != nil || len(ks) == 0 {
			return
		}
		seen := map[string]bool{}
		for _, k := range ks {
			if k.ID == "" || seen[k.ID] || k.Private != nil || k.Secret != nil || !fitsAlg(k.Algorithm, k.Public) {
				t.Fatalf("%s: key %+v", doc, k)
			}
			seen[k.ID] = true
		}
		v, err := NewVerifier(VerifierConfig{Keys: ks})
		if err != nil {
			t.Fatalf("%s: parsed keys make no verifier: %v", doc, err)
		}
		again, _ := v.JWKS()
		ks2, err := ParseJWKS(again)
		if err != nil || len(ks2) != len(ks) {
			t.Fatalf("%s: written again as %s, which parses as %v, %v", doc, again, ks2, err)
		}
		for i := range ks {
			eq, _ := ks[i].Public.(interface{ Equal(crypto.PublicKey) bool })
			if ks2[i].ID != ks[i].ID || ks2[i].Algorithm != ks[i].Algorithm || eq == nil || !eq.Equal(ks2[i].Public) {
				t.Fatalf("%s: key %d comes back as %+v", doc, i, ks2[i])
			}
		}
	})
}

func fitsAlg(alg string, pub crypto.PublicKey) bool {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return alg == RS256 && p.N.BitLen() >= 2048
	case *ecdsa.PublicKey:
		return alg == ES256 && p.Curve.Params().Name == "P-256"
	case ed25519.PublicKey:
		return alg == EdDSA && len(p) == ed25519.PublicKeySize
	}
	return false
}

// FuzzVerifierParse is FuzzParse for the asymmetric algorithms, through a
// Verifier built from public keys only. Property: a token it accepts is a
// compact JWS that go-jose, an independent implementation, verifies with
// the public key its header names, under that key's algorithm.
func FuzzVerifierParse(f *testing.F) {
	now := time.Unix(1800000000, 0)
	var public []Key
	byID := map[string]Key{}
	for _, k := range fuzzKeys() {
		c := newCodec(f, func(c *Config) { c.Signing, c.Now = k, fixed(now) })
		tok, _, err := c.Mint(Access, 2, time.Time{})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok)
		head, rest, _ := strings.Cut(tok, ".")
		f.Add(b64(`{"alg":"HS256","kid":"`+k.ID+`"}`) + "." + rest)
		f.Add(b64(`{"alg":"none"}`) + "." + strings.TrimRight(rest, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"))
		f.Add(head + "." + rest + "=")
		pk := Key{ID: k.ID, Algorithm: k.Algorithm, Public: k.Private.Public()}
		public = append(public, pk)
		byID[k.ID] = pk
	}
	f.Add("")
	f.Add("a.b.c")
	v, err := NewVerifier(VerifierConfig{Keys: public, Now: fixed(now)})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token string) {
		cl, err := v.Parse(token)
		if err != nil {
			return
		}
		jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
		if err != nil || len(jws.Signatures) != 1 {
			t.Fatalf("accepted %q (%+v), which go-jose does not parse: %v", token, cl, err)
		}
		h := jws.Signatures[0].Header
		k, ok := byID[h.KeyID]
		if !ok || h.Algorithm != k.Algorithm {
			t.Fatalf("accepted %q under header kid %q alg %q", token, h.KeyID, h.Algorithm)
		}
		if _, err := jws.Verify(k.Public); err != nil {
			t.Fatalf("accepted %q, which go-jose does not verify with %s: %v", token, k.ID, err)
		}
	})
}

// FuzzIssuedAt checks the auth-epoch reading of a jti: whatever the jti,
// IssuedAt lies in the iat second, never before it and never after it.
func FuzzIssuedAt(f *testing.F) {
	c := newCodec(f)
	for _, at := range []time.Time{time.Unix(1700000000, 999_999_999), time.Unix(0, 0), time.Unix(1<<40, 5)} {
		jti, err := c.newJTI(at)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(jti, at.Unix())
		f.Add(jti, at.Unix()-1)
	}
	f.Add("e2ff709df1ca46bda6f997e5ef7d44ac", int64(1795395074))
	f.Add("E2FF709DF1CA46BDA6F997E5EF7D44AC", int64(1795395074))
	f.Add("", int64(-1))
	f.Fuzz(func(t *testing.T, jti string, iat int64) {
		if iat > 1<<50 || iat < -(1<<50) {
			return // instants time.Time cannot hold
		}
		got := Claims{JTI: jti, Iat: iat}.IssuedAt()
		start := time.Unix(iat, 0)
		if got.Before(start) || got.Sub(start) >= time.Second {
			t.Fatalf("jti %q iat %d: IssuedAt %v outside the iat second", jti, iat, got)
		}
	})
}
