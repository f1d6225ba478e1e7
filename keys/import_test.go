package keys_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/keys"

	jose "github.com/go-jose/go-jose/v4"
)

// rfc7638Key is the RSA public key of RFC 7638's example (section 3.1),
// whose SHA-256 thumbprint the RFC gives.
const (
	rfc7638N = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	rfc7638E = "AQAB"
	// rfc7638Thumbprint is the thumbprint the RFC gives for it.
	rfc7638Thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
)

func pemOf(t *testing.T, typ string, der []byte) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkcs8(t *testing.T, priv crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf(t, "PRIVATE KEY", der)
}

// signAsDjango signs claims with priv the way Django OAuth Toolkit signs
// an id_token: the header names alg and the key's RFC 7638 thumbprint as
// kid. The kid is computed here from the RFC's definition (the required
// members in lexicographic order, no spaces), not with package keys.
func signAsDjango(t *testing.T, priv *rsa.PrivateKey, claims string) (token, kid string) {
	t.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	members := `{"e":"` + b64(big.NewInt(int64(priv.E)).Bytes()) + `","kty":"RSA","n":"` + b64(priv.N.Bytes()) + `"}`
	sum := crypto.SHA256.New()
	sum.Write([]byte(members))
	kid = b64(sum.Sum(nil))
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: priv, KeyID: kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign([]byte(claims))
	if err != nil {
		t.Fatal(err)
	}
	token, err = obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return token, kid
}

// auditedManager is an RS256 Manager on a new store of backend, recording
// its audit events.
func auditedManager(t *testing.T, backend string) (*keys.Manager, *clock, *auditLog, keys.Deps) {
	t.Helper()
	c := newClock()
	d := deps(testdb.Open(t, backend), c, keys.RS256)
	audit := &auditLog{}
	d.Audit = audit
	return newManager(t, d), c, audit, d
}

// The kid of an imported key is the RFC 7638 thumbprint: the RFC's own
// example key gives the RFC's value.
func TestImportThumbprintRFC7638(t *testing.T) {
	n, _ := base64.RawURLEncoding.DecodeString(rfc7638N)
	e, _ := base64.RawURLEncoding.DecodeString(rfc7638E)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	if got := keys.ThumbprintForTest(pub); got != rfc7638Thumbprint {
		t.Fatalf("thumbprint %q, want %q", got, rfc7638Thumbprint)
	}
}

// A Django project's OIDC key (PKCS#1 PEM, as `openssl genrsa` writes it)
// imported to sign: what Django signed with it verifies, gatehouse signs
// with it from now on under the same kid (so a relying party holding
// Django's key set verifies with the key it has), and the key signing
// before stays published until KeepAfter. On each backend.
func TestImportSigning(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			m, c, audit, d := auditedManager(t, backend)
			before := sign(t, m, map[string]any{"sub": "1"})
			oldKID := header(t, before)["kid"].(string)

			priv, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				t.Fatal(err)
			}
			django, kid := signAsDjango(t, priv, `{"sub":"7","aud":"rp"}`)
			if _, _, err := m.Verify(t.Context(), django); err == nil {
				t.Fatal("Django's token verified before the import")
			}
			k, err := m.Import(t.Context(), pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(priv)), true)
			if err != nil {
				t.Fatal(err)
			}
			if k.KID != kid || k.Algorithm != keys.RS256 || k.Sealed != nil {
				t.Fatalf("imported %+v, want kid %s", k, kid)
			}
			if _, payload, err := m.Verify(t.Context(), django); err != nil || string(payload) != `{"sub":"7","aud":"rp"}` {
				t.Fatalf("Django's token after the import: %s %v", payload, err)
			}
			after := sign(t, m, map[string]any{"sub": "1"})
			if h := header(t, after); h["kid"] != kid || h["alg"] != "RS256" {
				t.Fatalf("signed after the import with %v", h)
			}
			// The relying party verifies with the key it already has.
			obj, err := jose.ParseSigned(after, []jose.SignatureAlgorithm{jose.RS256})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := obj.Verify(&priv.PublicKey); err != nil {
				t.Fatalf("not signed with the imported key: %v", err)
			}
			if _, _, err := m.Verify(t.Context(), before); err != nil {
				t.Errorf("the replaced key's token: %v", err)
			}
			list, _ := m.List(t.Context())
			states := map[string]string{}
			for _, l := range list {
				states[l.KID] = gatehouse.SigningKeyState(list, l, c.Now())
			}
			if len(list) != 2 || states[kid] != gatehouse.KeyCurrent || states[oldKID] != gatehouse.KeyPrevious {
				t.Fatalf("states %v", states)
			}
			// A restarted server signs with it too.
			if h := header(t, sign(t, newManager(t, d), 1)); h["kid"] != kid {
				t.Errorf("after a restart: %v", h)
			}
			if ev := audit.named(gatehouse.AuditKeyImported); len(ev) != 1 || ev[0].Detail["kid"] != kid ||
				ev[0].Detail["signs"] != "true" || ev[0].Detail["replaces"] != oldKID {
				t.Errorf("audit %+v", ev)
			}
			// The replaced key leaves the set KeepAfter later; the imported
			// one signs on until the next rotation.
			c.Advance(2*time.Hour + time.Second)
			if err := m.Maintain(t.Context()); err != nil {
				t.Fatal(err)
			}
			if _, _, err := m.Verify(t.Context(), before); err == nil {
				t.Error("the replaced key is still published")
			}
			if h := header(t, sign(t, m, 1)); h["kid"] != kid {
				t.Errorf("later: %v", h)
			}
			// Imported again: refused, nothing changed.
			if _, err := m.Import(t.Context(), pkcs8(t, priv), true); gatehouse.ErrorCode(err) != gatehouse.EINVALID ||
				!strings.Contains(gatehouse.ErrorMessage(err), "in the store already") {
				t.Errorf("imported twice: %v", err)
			}
			if again, _ := m.List(t.Context()); len(again) != 1 {
				t.Errorf("keys after the second import: %+v", again)
			}
		})
	}
}

// --inactive: a key Django signed with before (OIDC_RSA_PRIVATE_KEYS_INACTIVE,
// or a project moving to gatehouse's own keys) is published for KeepAfter
// and never signs, whatever its algorithm.
func TestImportInactive(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			c := newClock()
			st := testdb.Open(t, backend)
			m := newManager(t, deps(st, c, keys.ES256))
			signer := header(t, sign(t, m, 1))["kid"]
			priv, err := rsa.GenerateKey(rand.Reader, 3072)
			if err != nil {
				t.Fatal(err)
			}
			django, kid := signAsDjango(t, priv, `{"sub":"9"}`)
			k, err := m.Import(t.Context(), pkcs8(t, priv), false)
			if err != nil {
				t.Fatal(err)
			}
			if k.KID != kid || k.PublishedUntil == nil || !k.PublishedUntil.Equal(c.Now().Truncate(time.Microsecond).Add(2*time.Hour)) {
				t.Fatalf("imported %+v", k)
			}
			if _, _, err := m.Verify(t.Context(), django); err != nil {
				t.Fatalf("Django's token: %v", err)
			}
			if h := header(t, sign(t, m, 1)); h["kid"] != signer || h["alg"] != "ES256" {
				t.Errorf("the inactive key signs: %v", h)
			}
			doc, _, err := m.JWKS(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			var set jose.JSONWebKeySet
			if err := json.Unmarshal(doc, &set); err != nil || len(set.Key(kid)) != 1 || !set.Key(kid)[0].IsPublic() {
				t.Fatalf("key set %s: %v", doc, err)
			}
			list, _ := m.List(t.Context())
			for _, l := range list {
				if l.KID == kid && gatehouse.SigningKeyState(list, l, c.Now()) != gatehouse.KeyPrevious {
					t.Errorf("state %s", gatehouse.SigningKeyState(list, l, c.Now()))
				}
			}
			// A rotation does not bring it back, and it leaves at its time.
			if _, err := m.Rotate(t.Context()); err != nil {
				t.Fatal(err)
			}
			c.Advance(2*time.Hour + time.Second)
			if err := m.Maintain(t.Context()); err != nil {
				t.Fatal(err)
			}
			if _, _, err := m.Verify(t.Context(), django); err == nil {
				t.Error("the inactive key is still published")
			}
			if h := header(t, sign(t, m, 1)); h["kid"] == kid {
				t.Errorf("signs with the inactive key: %v", h)
			}
		})
	}
}

// What cannot be imported is refused with a message that says why and
// holds no key material, and the store is unchanged.
func TestImportRefused(t *testing.T) {
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rsa2048, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	pubDER, _ := x509.MarshalPKIXPublicKey(&rsa2048.PublicKey)
	good := pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsa2048))
	encrypted := strings.Replace(string(good), "-----BEGIN RSA PRIVATE KEY-----\n",
		"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n", 1)
	broken := pemOf(t, "PRIVATE KEY", []byte("not DER at all"))
	cases := []struct {
		name  string
		data  []byte
		signs bool
		want  string
	}{
		{"empty", nil, true, "the file is not PEM"},
		{"junk", []byte("OIDC_RSA_PRIVATE_KEY = os.environ['KEY']"), true, "the file is not PEM"},
		{"public key only", pemOf(t, "PUBLIC KEY", pubDER), true, "holds no PEM private key"},
		{"two keys", append(append([]byte{}, good...), pkcs8(t, p256)...), false, "holds 2 private keys"},
		{"encrypted, legacy", []byte(encrypted), true, "encrypted; decrypt it first"},
		{"encrypted, PKCS#8", pemOf(t, "ENCRYPTED PRIVATE KEY", []byte{1, 2, 3}), true, "encrypted; decrypt it first"},
		{"unknown block", pemOf(t, "OPENSSH PRIVATE KEY", []byte{1, 2, 3}), true, `block of type "OPENSSH PRIVATE KEY"`},
		{"bad DER", broken, true, "the PRIVATE KEY block does not parse"},
		{"RSA 1024", pkcs8(t, rsa1024), false, "an RSA key of 1024 bits"},
		{"P-384", pkcs8(t, p384), false, "on P-384"},
		{"algorithm other than the configured one", pkcs8(t, ed), true, "the key is EdDSA and new keys are RS256"},
		{"P-256 to sign under RS256", pemOf(t, "EC PRIVATE KEY", mustEC(t, p256)), true, "the key is ES256 and new keys are RS256"},
	}
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			m, _, audit, _ := auditedManager(t, backend)
			before, _ := m.List(t.Context())
			for _, tc := range cases {
				_, err := m.Import(t.Context(), tc.data, tc.signs)
				msg := gatehouse.ErrorMessage(err)
				if gatehouse.ErrorCode(err) != gatehouse.EINVALID || !strings.Contains(msg, tc.want) {
					t.Errorf("%s: %v (%s), want EINVALID with %q", tc.name, err, msg, tc.want)
				}
				if strings.Contains(msg, "MII") || strings.Contains(err.Error(), "MII") {
					t.Errorf("%s: key material in %q", tc.name, err)
				}
			}
			after, _ := m.List(t.Context())
			if len(after) != len(before) || len(audit.named(gatehouse.AuditKeyImported)) != 0 {
				t.Errorf("refused imports changed the store: %+v", after)
			}
			// The key the refusals were about imports fine, as PKCS#1.
			if _, err := m.Import(t.Context(), good, true); err != nil {
				t.Errorf("the good key: %v", err)
			}
		})
	}
}

func mustEC(t *testing.T, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
