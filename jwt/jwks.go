package jwt

import (
	"bytes"
	"encoding/json"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// JWKS returns the RFC 7517 key set {"keys":[...]} of the public keys of the asymmetric
// signing and verification keys, in configuration order, each with kid, alg and "use":"sig".
// HS256 secrets are never published, so an HS256-only Codec returns {"keys":[]}. The
// document is built once by New; each call returns a fresh copy, and the error is always nil.
func (c *Codec) JWKS() ([]byte, error) {
	return bytes.Clone(c.jwks), nil
}

func buildJWKS(keys []*key) ([]byte, error) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range keys {
		if k.alg == HS256 {
			continue
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.public, KeyID: k.id, Algorithm: k.alg, Use: "sig"})
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("jwt: building JWKS: %w", err)
	}
	return b, nil
}
