package jwt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// JWKS returns the RFC 7517 key set {"keys":[...]} of the public keys of the asymmetric
// signing and verification keys, in configuration order, each with kid, alg and "use":"sig".
// HMAC secrets are never published, so an HS256-only Codec returns {"keys":[]}. The
// document is built once by New; each call returns a fresh copy, and the error is always nil.
func (c *Codec) JWKS() ([]byte, error) {
	return bytes.Clone(c.jwks), nil
}

func buildJWKS(keys []*key) ([]byte, error) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range keys {
		if k.newHash != nil { // secrets are never published
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

// ParseJWKS returns the verification keys of an RFC 7517 key set in the form Codec.JWKS
// writes: {"keys":[...]} whose members are RS256 (RSA), ES256 (EC P-256) or EdDSA (OKP
// Ed25519) public keys, each with a "kid" and an "alg". The keys come back in document order
// with ID, Algorithm and Public set, ready for VerifierConfig.Keys.
//
// It fails, naming the position of the offending key, on: a document that is not a JSON
// object with a "keys" array; a member that holds private key material (d, p, q, dp, dq, qi,
// oth or priv); a symmetric key ("kty":"oct" or a "k" member); an "alg" that is missing or
// not one of RS256, ES256 and EdDSA (the key type alone does not say: an RSA key may be meant
// for PS256), or that does not fit the key; a "use" other than "sig"; a missing or repeated
// "kid"; and key material New would refuse (RSA under 2048 bits, points off the curve). An
// empty set gives no keys and no error; NewVerifier then refuses to start.
func ParseJWKS(doc []byte) ([]Key, error) {
	// Members are looked up by exact name (encoding/json would match "KEYS" too), as
	// go-jose does for the members of each key.
	var set map[string]json.RawMessage
	if json.Unmarshal(doc, &set) != nil || set == nil {
		return nil, errors.New("jwt: JWKS is not a JSON object")
	}
	raw, ok := set["keys"]
	if !ok {
		return nil, errors.New(`jwt: JWKS has no "keys" member`)
	}
	var members []json.RawMessage
	if json.Unmarshal(raw, &members) != nil || members == nil {
		return nil, errors.New(`jwt: JWKS "keys" is not an array`)
	}
	out := make([]Key, 0, len(members))
	ids := make(map[string]bool, len(members))
	for i, m := range members {
		k, err := parseJWK(m)
		if err != nil {
			return nil, fmt.Errorf("jwt: JWKS key %d: %w", i, err)
		}
		if ids[k.ID] {
			return nil, fmt.Errorf("jwt: JWKS key %d: duplicate kid %q", i, k.ID)
		}
		ids[k.ID] = true
		out = append(out, k)
	}
	return out, nil
}

// parseJWK turns one member of a key set into a verification Key.
func parseJWK(m json.RawMessage) (Key, error) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(m, &fields) != nil || fields == nil {
		return Key{}, errors.New("not a JSON object")
	}
	// go-jose would silently turn these into a private or symmetric key; a key set that
	// carries them was published by mistake, and accepting it would hide the leak.
	for _, name := range [...]string{"d", "p", "q", "dp", "dq", "qi", "oth", "priv"} {
		if _, ok := fields[name]; ok {
			return Key{}, fmt.Errorf("holds private key member %q", name)
		}
	}
	if _, ok := fields["k"]; ok {
		return Key{}, errors.New("symmetric key refused")
	}
	if kty, _ := jsonString(fields["kty"]); kty == "oct" {
		return Key{}, errors.New("symmetric key refused")
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(m); err != nil {
		return Key{}, err
	}
	if !jwk.IsPublic() {
		return Key{}, fmt.Errorf("not a public key (%T)", jwk.Key)
	}
	if jwk.KeyID == "" {
		return Key{}, errors.New("no kid")
	}
	if jwk.Use != "" && jwk.Use != "sig" {
		return Key{}, fmt.Errorf(`"use" is %q, not "sig"`, jwk.Use)
	}
	switch jwk.Algorithm {
	case RS256, ES256, EdDSA:
	case "":
		return Key{}, errors.New(`no "alg"`)
	default:
		return Key{}, fmt.Errorf("unsupported alg %q", jwk.Algorithm)
	}
	k := Key{ID: jwk.KeyID, Algorithm: jwk.Algorithm, Public: jwk.Key}
	// The same checks New applies: the key type fits alg, and the key is strong enough.
	if _, err := newKey(k, false); err != nil {
		return Key{}, err
	}
	return k, nil
}
