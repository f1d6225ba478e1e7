package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-auth/gatehouse"

	jose "github.com/go-jose/go-jose/v4"
)

// Import adds a private key made elsewhere to the key set: a Django
// project's OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"] (or one of its
// OIDC_RSA_PRIVATE_KEYS_INACTIVE), PEM-encoded as PKCS#1, PKCS#8 or SEC 1.
// Its kid is the key's RFC 7638 thumbprint (SHA-256, base64url), the kid
// Django OAuth Toolkit gives it, so what Django signed verifies against
// gatehouse's key set and relying parties that cached Django's key set
// know the key.
//
// With signs, the key signs from now on in place of the current key
// (which stays published KeepAfter longer, as after a rotation) and is
// then rotated on the schedule like any other; it must have the
// configured algorithm. Without, it is published for KeepAfter and never
// signs: Django's tokens keep verifying until they expire.
//
// Bad input (no key, an encrypted one, a public key only, an algorithm or
// size gatehouse does not sign with, a key already in the store) is an
// EINVALID *gatehouse.Error whose message never holds key material.
func (m *Manager) Import(ctx context.Context, pemData []byte, signs bool) (gatehouse.SigningKey, error) {
	priv, err := parsePrivatePEM(pemData)
	if err != nil {
		return gatehouse.SigningKey{}, err
	}
	alg, err := algorithmOf(priv)
	if err != nil {
		return gatehouse.SigningKey{}, err
	}
	if signs && alg != m.d.Algorithm {
		return gatehouse.SigningKey{}, invalidKey("the key is %s and new keys are %s (GATEHOUSE_SIGNING_KEY_ALGORITHM): relying parties registered for %s would refuse what it signs. "+
			"Import it with --inactive to publish it for the tokens it signed, or set the algorithm to %s first", alg, m.d.Algorithm, m.d.Algorithm, alg)
	}
	kid, err := thumbprint(priv.Public())
	if err != nil {
		return gatehouse.SigningKey{}, err
	}
	fresh, err := m.seal(priv, kid, alg)
	if err != nil {
		return gatehouse.SigningKey{}, err
	}
	var replaced []string
	err = m.d.Store.UpdateSigningKeys(ctx, func(keys []gatehouse.SigningKey) (gatehouse.SigningKeyChange, error) {
		now := m.stamp()
		replaced = nil
		if i := slices.IndexFunc(keys, func(k gatehouse.SigningKey) bool { return k.KID == kid }); i >= 0 {
			state := gatehouse.SigningKeyState(keys, keys[i], now)
			return gatehouse.SigningKeyChange{}, invalidKey("the key is in the store already, as %s (%s): gatehouse keys list shows it", kid, state)
		}
		fresh.Created, fresh.SignsFrom = now, now
		change := gatehouse.SigningKeyChange{Create: []gatehouse.SigningKey{fresh}}
		if !signs {
			until := now.Add(m.d.KeepAfter)
			fresh.SignsUntil, fresh.PublishedUntil = &now, &until
			change.Create[0] = fresh
			return change, nil
		}
		// As a rotation whose new key signs at once: the newest key able
		// to sign (the current one, or a rotation's next key, which then
		// never signs) ends now and stays published KeepAfter longer.
		for _, o := range keys {
			if o.CanSign(now) && o.SignsUntil == nil {
				end, published := now, now.Add(m.d.KeepAfter)
				o.SignsUntil, o.PublishedUntil = &end, &published
				change.Update = append(change.Update, o)
				replaced = append(replaced, o.KID)
			}
		}
		return change, nil
	})
	if err != nil {
		return gatehouse.SigningKey{}, fmt.Errorf("keys: importing: %w", err)
	}
	fresh.Sealed = nil
	m.d.Log.Info("signing key imported", "kid", kid, "algorithm", alg, "signs", signs, "replaces", replaced)
	m.d.Audit.Record(ctx, gatehouse.AuditEvent{Event: gatehouse.AuditKeyImported, Detail: map[string]string{
		"kid": kid, "algorithm": alg, "signs": fmt.Sprint(signs), "replaces": strings.Join(replaced, ",")}})
	return fresh, m.Refresh(ctx)
}

func invalidKey(format string, args ...any) error {
	return &gatehouse.Error{Code: gatehouse.EINVALID, Message: "Cannot import the signing key: " + fmt.Sprintf(format, args...) + "."}
}

// parsePrivatePEM reads the one private key of a PEM file; other blocks
// (a certificate, a public key) are skipped.
func parsePrivatePEM(data []byte) (crypto.Signer, error) {
	var found []*pem.Block
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if strings.Contains(b.Type, "PRIVATE KEY") {
			found = append(found, b)
		}
	}
	switch {
	case len(found) == 0 && bytes.Contains(data, []byte("-----BEGIN")):
		return nil, invalidKey("the file holds no PEM private key (a public key or a certificate is not enough: gatehouse signs with the key)")
	case len(found) == 0:
		return nil, invalidKey("the file is not PEM (it should start with -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)")
	case len(found) > 1:
		return nil, invalidKey("the file holds %d private keys; import each from a file of its own", len(found))
	}
	b := found[0]
	if b.Type == "ENCRYPTED PRIVATE KEY" || b.Headers["Proc-Type"] != "" {
		return nil, invalidKey("the private key is encrypted; decrypt it first (openssl pkey -in FILE -out PLAIN) and remove the plain copy after the import")
	}
	var parsed any
	var err error
	switch b.Type {
	case "RSA PRIVATE KEY":
		parsed, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		parsed, err = x509.ParseECPrivateKey(b.Bytes)
	case "PRIVATE KEY":
		parsed, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	default:
		return nil, invalidKey("a PEM block of type %q; want PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY", b.Type)
	}
	if err != nil {
		// The parser's own words name formats, never the key's bytes.
		return nil, invalidKey("the %s block does not parse: %v", b.Type, err)
	}
	priv, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, invalidKey("the %s block is no signing key", b.Type)
	}
	return priv, nil
}

// algorithmOf is the JWS algorithm gatehouse signs with for priv.
func algorithmOf(priv crypto.Signer) (string, error) {
	switch p := priv.(type) {
	case *rsa.PrivateKey:
		if bits := p.N.BitLen(); bits < rsaBits {
			return "", invalidKey("an RSA key of %d bits; gatehouse signs with RSA keys of %d bits or more", bits, rsaBits)
		}
		if err := p.Validate(); err != nil {
			return "", invalidKey("the RSA key is not consistent: %v", err)
		}
		return RS256, nil
	case *ecdsa.PrivateKey:
		if p.Curve != elliptic.P256() {
			return "", invalidKey("an elliptic-curve key on %s; gatehouse signs with P-256 (ES256) only", p.Curve.Params().Name)
		}
		return ES256, nil
	case ed25519.PrivateKey:
		return EdDSA, nil
	}
	return "", invalidKey("a %T key; gatehouse signs with RSA, P-256 and Ed25519 keys", priv)
}

// thumbprint is pub's RFC 7638 thumbprint with SHA-256, base64url
// without padding: Django OAuth Toolkit's kid (jwcrypto's JWK.thumbprint).
func thumbprint(pub crypto.PublicKey) (string, error) {
	sum, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("keys: thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// seal is the stored form of priv: its public JWK and its sealed
// private key; the schedule is the caller's to fill in.
func (m *Manager) seal(priv crypto.Signer, kid, alg string) (gatehouse.SigningKey, error) {
	pub, err := json.Marshal(jose.JSONWebKey{Key: priv.Public(), KeyID: kid, Algorithm: alg, Use: "sig"})
	if err != nil {
		return gatehouse.SigningKey{}, fmt.Errorf("keys: public key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return gatehouse.SigningKey{}, fmt.Errorf("keys: private key: %w", err)
	}
	sealed, err := m.d.Box.Seal(der)
	clear(der)
	if err != nil {
		return gatehouse.SigningKey{}, fmt.Errorf("keys: sealing: %w", err)
	}
	return gatehouse.SigningKey{KID: kid, Algorithm: alg, PublicKey: pub, Sealed: sealed}, nil
}
