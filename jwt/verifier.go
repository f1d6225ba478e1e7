package jwt

import "time"

// VerifierConfig configures a Verifier. The zero value is not usable: Keys must hold at
// least one key.
type VerifierConfig struct {
	// Keys are the keys Parse accepts, typically the public keys from the issuer's JWKS
	// document (see ParseJWKS). Keys may be HS256 secrets, and asymmetric keys need only
	// Public; a Private key is accepted and only its public half is used. Key ids must be
	// unique.
	Keys []Key
	// Issuer, Audience and Leeway are checked exactly as by a Codec with the same Config
	// fields: the verifier must be configured as the issuing server is.
	Issuer, Audience string
	Leeway           time.Duration
	// Claims names the token type, jti and user id claims, as Config.Claims.
	Claims ClaimNames
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Verifier checks tokens a Codec minted, holding only verification keys, for programs that
// must not be able to mint (a resource server holding gatehouse's public keys). It is safe
// for concurrent use.
type Verifier struct {
	// codec has no signer. Parse is delegated to it rather than written again, so a
	// Verifier is exactly as strict as the issuing server, and Mint and Pair are not
	// exposed at all instead of failing at run time.
	codec *Codec
}

// NewVerifier validates cfg and returns a Verifier. It fails when Keys is empty, for the
// reasons New fails on a key (unsupported algorithm, material that does not match it or is
// too weak, an asymmetric key without ID, a repeated key id), when Leeway is negative or
// above MaxLeeway, or when Issuer/Audience is not valid UTF-8.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	c, err := build(Config{Issuer: cfg.Issuer, Audience: cfg.Audience, Leeway: cfg.Leeway, Claims: cfg.Claims, Now: cfg.Now}, cfg.Keys, false)
	if err != nil {
		return nil, err
	}
	return &Verifier{codec: c}, nil
}

// Parse verifies token and returns its claims, with the same checks, in the same order and
// with the same errors as Codec.Parse: every failure wraps ErrInvalid.
func (v *Verifier) Parse(token string) (Claims, error) { return v.codec.Parse(token) }

// JWKS returns the RFC 7517 key set of the verifier's asymmetric public keys, as
// Codec.JWKS does; HS256 secrets are never published. The error is always nil.
func (v *Verifier) JWKS() ([]byte, error) { return v.codec.JWKS() }
