// Package oidctest is an in-memory OpenID Connect signer for tests that
// need id_tokens without signing keys in a database: one RSA key, RS256.
package oidctest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Signer signs with one RSA key (oidc.Signer).
type Signer struct {
	key *rsa.PrivateKey
	kid string
}

// New returns a Signer with a fresh 2048-bit key.
func New(t testing.TB) *Signer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &Signer{key: k, kid: "test-key"}
}

// Sign signs claims as a compact JWS.
func (s *Signer) Sign(_ context.Context, typ string, claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	opts := (&jose.SignerOptions{}).WithHeader("kid", s.kid)
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: s.key}, opts)
	if err != nil {
		return "", err
	}
	obj, err := sig.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// Verify checks the signature and returns the typ and payload.
func (s *Signer) Verify(_ context.Context, token string) (string, []byte, error) {
	obj, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return "", nil, err
	}
	if len(obj.Signatures) != 1 || obj.Signatures[0].Header.KeyID != s.kid {
		return "", nil, errors.New("oidctest: unknown key")
	}
	payload, err := obj.Verify(&s.key.PublicKey)
	if err != nil {
		return "", nil, err
	}
	typ, _ := obj.Signatures[0].Header.ExtraHeaders["typ"].(string)
	return typ, payload, nil
}

// Algorithms is RS256.
func (s *Signer) Algorithms() []string { return []string{"RS256"} }

// JWKS is the public key.
func (s *Signer) JWKS(context.Context) ([]byte, time.Duration, error) {
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &s.key.PublicKey, KeyID: s.kid, Algorithm: "RS256", Use: "sig"}}})
	return b, 5 * time.Minute, err
}

// Key is the public key, for verifying in tests.
func (s *Signer) Key() *rsa.PublicKey { return &s.key.PublicKey }
