// Package jwt mints and verifies the JSON Web Tokens that djangorestframework-simplejwt
// issues, byte for byte: the header {"alg":"HS256","typ":"JWT"} (keys sorted, compact, as
// PyJWT writes it), then the claims token_type, exp, iat, jti, user_id, and aud and iss when
// configured, in that order. Tokens minted by a simplejwt server with the same secret verify
// here, and tokens minted here verify there.
//
// HS256 (the Django SECRET_KEY as the HMAC key) is the default and the hot path: Parse checks
// one with a pooled HMAC and a hand-written claim decoder, close to the cost of a bare
// crypto/hmac check. HS384 and HS512 (which simplejwt also offers), RS256, ES256 and EdDSA
// keys are also supported, the asymmetric ones with key ids, rotation
// and a JWKS document of the public keys. Another program verifies gatehouse's tokens with a
// Verifier built from that document (ParseJWKS, NewVerifier), holding no signing key.
//
// Parse is deliberately stricter than PyJWT where PyJWT is lax: it refuses "alg":"none", an
// algorithm other than the one the chosen key is configured for, unknown key ids, the headers
// jku, x5u, jwk, x5c, crit and b64, tokens over MaxTokenLen, non-canonical base64url, and
// exp, iat or nbf claims that are not JSON integers.
package jwt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"time"
	"unicode/utf8"
)

// Algorithm names accepted in Key.Algorithm, as written in the JOSE "alg" header.
const (
	HS256 = "HS256"
	HS384 = "HS384"
	HS512 = "HS512"
	RS256 = "RS256"
	ES256 = "ES256"
	EdDSA = "EdDSA"
)

// Token types written to the token_type claim, as simplejwt names them.
const (
	Access  = "access"
	Refresh = "refresh"
)

const (
	// MaxLeeway is the largest Config.Leeway that New accepts.
	MaxLeeway = 60 * time.Second
	// MaxTokenLen is the longest token Parse looks at; longer ones are refused before any
	// decoding. simplejwt tokens are about 230 bytes.
	MaxTokenLen = 8 << 10
	// DefaultAccessLifetime and DefaultRefreshLifetime are simplejwt's defaults, used when
	// the Config leaves a lifetime at zero.
	DefaultAccessLifetime  = 10 * time.Minute
	DefaultRefreshLifetime = 24 * time.Hour
	// minRSABits is the smallest RSA modulus New accepts (RFC 7518 §3.3 requires 2048).
	minRSABits = 2048
)

// ErrInvalid is returned, possibly wrapped with a reason meant for logs, by every Parse
// failure: malformed, wrongly signed, expired or not-yet-valid tokens, and iss/aud mismatches.
// Test with errors.Is. Clients should only ever be told "Token is invalid or expired".
var ErrInvalid = errors.New("jwt: token is invalid or expired")

// ErrNoID is the Parse failure of a token without a jti claim (under its
// configured name), which simplejwt refuses ("Token has no id") after its
// other checks. It wraps ErrInvalid; test with errors.Is.
var ErrNoID error = invalidError("token has no id")

// ErrNoExp is the Parse failure of a token without an exp claim, which
// simplejwt refuses first ("Token has no 'exp' claim"). It wraps
// ErrInvalid; test with errors.Is.
var ErrNoExp error = invalidError("exp missing")

// invalidError is a Parse failure reason. It is a string type so that returning a constant
// reason allocates nothing, which keeps the refusal of garbage tokens cheap.
type invalidError string

func (e invalidError) Error() string { return ErrInvalid.Error() + ": " + string(e) }
func (e invalidError) Unwrap() error { return ErrInvalid }

// Key is one signing or verification key.
//
// An HS256 key (or HS384, HS512, which simplejwt also signs with) has Secret (the Django
// SECRET_KEY as bytes) and neither Private nor Public. An
// RS256 (RSA ≥ 2048 bits), ES256 (P-256) or EdDSA (Ed25519) key has Public, or Private from
// which Public is derived, or both (they must match), and a non-empty ID. ID is written as the
// "kid" header of tokens the key signs; it may be empty only for the HMAC algorithms, and
// then tokens carry no kid, as simplejwt's do.
type Key struct {
	ID        string
	Algorithm string           // HS256, HS384, HS512, RS256, ES256 or EdDSA; "" means HS256
	Secret    []byte           // HS256, HS384 and HS512 only
	Private   crypto.Signer    // asymmetric signing; nil for verify-only keys
	Public    crypto.PublicKey // asymmetric verification
}

// Config configures a Codec. The zero value is not usable: Signing must be set.
type Config struct {
	// Signing is the key new tokens are signed with. It is always accepted by Parse.
	Signing Key
	// Verification holds extra keys Parse accepts, typically the previous signing keys
	// during a rotation. Key ids must be unique across Signing and Verification.
	Verification []Key
	// Issuer and Audience, when set, are written to minted tokens (as simplejwt's ISSUER and
	// AUDIENCE settings do) and required by Parse. When Audience is empty, Parse refuses
	// tokens that carry a non-empty aud claim (RFC 7519 §4.1.3), which simplejwt would accept.
	Issuer, Audience string
	// Leeway is the clock skew allowed on exp, nbf and iat; at most MaxLeeway.
	Leeway time.Duration
	// Claims names the token type, jti and user id claims (simplejwt's TOKEN_TYPE_CLAIM,
	// JTI_CLAIM and USER_ID_CLAIM); its zero value is simplejwt's defaults.
	Claims ClaimNames
	// AccessLifetime and RefreshLifetime default to DefaultAccessLifetime and
	// DefaultRefreshLifetime when zero.
	AccessLifetime, RefreshLifetime time.Duration
	// Subject also writes the user id as a decimal string in the sub claim, right after the
	// user id claim, for verifiers that read the subject of RFC 7519 (simplejwt writes none,
	// so it is off by default and minted tokens stay simplejwt's byte for byte). New refuses
	// it when a claim name in Claims is "sub". Parse accepts tokens with and without sub.
	Subject bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Random supplies the random part of the jti of minted tokens, 8 bytes a token; nil means
	// crypto/rand. Reads from a custom reader are serialised by the Codec. Signatures always
	// use crypto/rand.
	Random io.Reader
}

// ClaimNames are the names of the claims simplejwt lets a project rename. Each empty name is
// simplejwt's default: token_type, jti, user_id. A name must be printable ASCII without '"'
// or '\\', and the three must differ from each other and from exp, iat, nbf, aud and iss.
type ClaimNames struct {
	TokenType, JTI, UserID string
}

// withDefaults fills the empty names.
func (n ClaimNames) withDefaults() ClaimNames {
	if n.TokenType == "" {
		n.TokenType = "token_type"
	}
	if n.JTI == "" {
		n.JTI = "jti"
	}
	if n.UserID == "" {
		n.UserID = "user_id"
	}
	return n
}

// check reports why the names cannot be used.
func (n ClaimNames) check() error {
	seen := map[string]bool{"exp": true, "iat": true, "nbf": true, "aud": true, "iss": true, IDClaim: true, RecordClaim: true}
	for _, name := range []string{n.TokenType, n.JTI, n.UserID} {
		for i := 0; i < len(name); i++ {
			if name[i] < 0x20 || name[i] > 0x7e || name[i] == '"' || name[i] == '\\' {
				return fmt.Errorf("claim name %q: printable ASCII without quotes or backslashes only", name)
			}
		}
		if seen[name] {
			return fmt.Errorf("claim name %q is used twice or is a registered claim", name)
		}
		seen[name] = true
	}
	return nil
}

// Claims are the claims of a simplejwt token.
type Claims struct {
	// TokenType is the token_type claim, "access" or "refresh" for tokens simplejwt or this
	// package mints, "" when absent or not a string. Parse does not check it: callers must.
	TokenType string
	// Exp and Iat are epoch seconds. Iat is 0 when the token has no iat. IssuedAt gives the
	// issue time to a fraction of a microsecond when the jti carries it.
	Exp, Iat int64
	// JTI is the jti claim, "" when absent or not a string.
	JTI string
	// UserID is the user_id claim. HasUserID is false when the claim is absent or is neither
	// a JSON integer nor a JSON string of 1 to 19 ASCII digits that fits in an int64 (a digit
	// string is accepted because simplejwt hands the raw value to a pk lookup, which Django
	// coerces to an int).
	UserID    int64
	HasUserID bool
	// UserIDNull is set when the user id claim is JSON null: simplejwt
	// looks up the user whose key is None ("User not found"), where an
	// absent claim is "no recognizable user identification".
	UserIDNull bool
	// UserKey is the user_id claim when it is a JSON string of at most
	// 255 bytes (simplejwt writes str(pk) for a key that is not an
	// integer: a custom user model's UUID); "" otherwise. It names no
	// user by itself: the services look it up among the keys of loaded
	// users first, and use UserID, when it is set, only when none has it.
	// A token minted with a key (MintKey, PairKey) carries it here, with
	// the id it was minted for in UserID.
	UserKey string
	// Issuer is the iss claim when it is a string. Audience is the configured audience when
	// one is configured (the token's aud contained it), else "".
	Issuer, Audience string
	// Record is the RecordClaim claim when it is a JSON string, else "": the
	// record a rotated refresh token is kept in (MintRotated).
	Record string
	// Extra is set when the payload holds claims this package does not read (a Django
	// project's token serializer added them); CopiedClaims returns them.
	Extra bool
}

// maxUserKey bounds Claims.UserKey: a Django primary key of a CharField
// of max_length 255 at most.
const maxUserKey = 255

// Codec mints and parses tokens. It is safe for concurrent use.
type Codec struct {
	keys     []*key  // keys[0] is the signing key, when there is one
	signer   *key    // nil in a Verifier's Codec
	anyKID   bool    // some key has an ID, so an unknown kid is refused
	routes   []route // canonical header segments, for Parse's fast path
	b64      *base64.Encoding
	issuer   string
	audience string
	// claimsTail is `,"aud":...,"iss":...}`, the end of every minted payload.
	claimsTail []byte
	// names are the claim names; the lit* fields are how they appear in a canonical
	// payload: `{"token_type":"`, `,"jti":"`, `,"user_id":`.
	names                           ClaimNames
	litTokenType, litJTI, litUserID string
	// subject: minted tokens carry sub (Config.Subject). skipSub: the canonical parser may
	// step over a sub claim after the user id, which no configured name can be.
	subject, skipSub bool

	leeway          time.Duration
	accessLifetime  time.Duration
	refreshLifetime time.Duration
	now             func() time.Time
	random          io.Reader
	randomMu        *sync.Mutex // nil when random is crypto/rand, which is already safe
	jwks            []byte
	scratch         sync.Pool // *scratch
}

// key is a validated Key in the form the hot paths want.
type key struct {
	index   int // position in Codec.keys, and in scratch.macs
	id      string
	alg     string
	secret  []byte
	newHash func() hash.Hash // the HMAC's hash; nil for asymmetric keys
	private crypto.Signer
	public  crypto.PublicKey
	header  string // base64url of the header this key's tokens carry
	sigLen  int    // length of a signature segment made by this key
}

// route maps a header segment exactly as Mint writes it to the keys Parse would choose for
// that header after decoding it; it lets Parse skip decoding the header of our own tokens.
type route struct {
	segment string
	keys    []*key
}

// scratch holds the per-Parse buffers and the per-key HMAC states, pooled so that verifying
// an HS256 token allocates only the returned strings.
type scratch struct {
	token   []byte
	payload []byte
	sum     []byte
	sig     [sha512.Size]byte // the longest HMAC
	macs    []hash.Hash       // by key index; nil for asymmetric keys or not yet created
}

// New validates cfg and returns a Codec. It fails when an algorithm is unsupported, key
// material does not match its algorithm (or is too weak), an asymmetric key has no ID, key
// ids repeat, the signing key cannot sign, Leeway is negative or above MaxLeeway, a lifetime
// is negative, or Issuer/Audience is not valid UTF-8. A program that only verifies tokens,
// and holds no signing key, uses NewVerifier instead.
func New(cfg Config) (*Codec, error) {
	return build(cfg, append([]Key{cfg.Signing}, cfg.Verification...), true)
}

// build validates cfg and keys and returns a Codec that Parse accepts tokens of keys for.
// When signing is true, keys[0] is the signing key and must be able to sign; otherwise the
// Codec has no signer and only Parse and JWKS may be called on it (NewVerifier hides the
// rest).
func build(cfg Config, keys []Key, signing bool) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("jwt: no keys")
	}
	if cfg.Leeway < 0 || cfg.Leeway > MaxLeeway {
		return nil, fmt.Errorf("jwt: leeway %v outside [0, %v]", cfg.Leeway, MaxLeeway)
	}
	c := &Codec{
		b64:             base64.RawURLEncoding.Strict(),
		issuer:          cfg.Issuer,
		audience:        cfg.Audience,
		leeway:          cfg.Leeway,
		accessLifetime:  cfg.AccessLifetime,
		refreshLifetime: cfg.RefreshLifetime,
		now:             cfg.Now,
		random:          cfg.Random,
	}
	if c.accessLifetime < 0 || c.refreshLifetime < 0 {
		return nil, errors.New("jwt: negative token lifetime")
	}
	if c.accessLifetime == 0 {
		c.accessLifetime = DefaultAccessLifetime
	}
	if c.refreshLifetime == 0 {
		c.refreshLifetime = DefaultRefreshLifetime
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.random == nil {
		c.random = rand.Reader
	} else {
		c.randomMu = new(sync.Mutex)
	}
	if !utf8.ValidString(cfg.Issuer) || !utf8.ValidString(cfg.Audience) {
		return nil, errors.New("jwt: issuer and audience must be valid UTF-8")
	}
	c.names = cfg.Claims.withDefaults()
	if err := c.names.check(); err != nil {
		return nil, fmt.Errorf("jwt: %w", err)
	}
	named := map[string]bool{c.names.TokenType: true, c.names.JTI: true, c.names.UserID: true}
	if cfg.Subject && named["sub"] {
		return nil, errors.New(`jwt: the sub claim (Subject) would repeat a token type, jti or user id claim named "sub"; rename that claim or leave Subject off`)
	}
	c.subject, c.skipSub = cfg.Subject, !named["sub"]
	c.litTokenType = `{"` + c.names.TokenType + `":"`
	c.litJTI = `,"` + c.names.JTI + `":"`
	c.litUserID = `,"` + c.names.UserID + `":`

	ids := make(map[string]bool, len(keys))
	for i, k := range keys {
		var role string
		switch {
		case !signing:
			role = fmt.Sprintf("key %d", i)
		case i == 0:
			role = "signing key"
		default:
			role = fmt.Sprintf("verification key %d", i-1)
		}
		kk, err := newKey(k, signing && i == 0)
		if err != nil {
			return nil, fmt.Errorf("jwt: %s: %w", role, err)
		}
		if kk.id != "" {
			if ids[kk.id] {
				return nil, fmt.Errorf("jwt: %s: duplicate key id %q", role, kk.id)
			}
			ids[kk.id] = true
			c.anyKID = true
		}
		kk.index = i
		c.keys = append(c.keys, kk)
	}
	if signing {
		c.signer = c.keys[0]
	}

	for _, k := range c.keys {
		if c.routeFor(k.header) == nil {
			c.routes = append(c.routes, route{segment: k.header, keys: c.candidates(k.alg, k.id)})
		}
	}

	// simplejwt's TokenBackend.encode adds aud before iss.
	var tail []byte
	if c.audience != "" {
		tail = appendJSONString(append(tail, `,"aud":`...), c.audience)
	}
	if c.issuer != "" {
		tail = appendJSONString(append(tail, `,"iss":`...), c.issuer)
	}
	c.claimsTail = append(tail, '}')

	jwks, err := buildJWKS(c.keys)
	if err != nil {
		return nil, err
	}
	c.jwks = jwks

	nkeys := len(c.keys)
	c.scratch.New = func() any { return &scratch{macs: make([]hash.Hash, nkeys)} }
	return c, nil
}

// newKey checks that k's material matches its algorithm.
func newKey(k Key, signing bool) (*key, error) {
	kk := &key{id: k.ID, alg: k.Algorithm}
	if kk.alg == "" {
		kk.alg = HS256
	}
	if !utf8.ValidString(kk.id) {
		return nil, errors.New("key id is not valid UTF-8")
	}
	switch kk.alg {
	case HS256, HS384, HS512:
		if len(k.Secret) == 0 {
			return nil, fmt.Errorf("%s key needs a non-empty Secret", kk.alg)
		}
		if k.Private != nil || k.Public != nil {
			return nil, fmt.Errorf("%s key must not have Private or Public", kk.alg)
		}
		kk.secret = bytes.Clone(k.Secret)
		kk.newHash = map[string]func() hash.Hash{HS256: sha256.New, HS384: sha512.New384, HS512: sha512.New}[kk.alg]
	case RS256, ES256, EdDSA:
		if len(k.Secret) != 0 {
			return nil, fmt.Errorf("%s key must not have a Secret", kk.alg)
		}
		if kk.id == "" {
			return nil, fmt.Errorf("%s key needs an ID", kk.alg)
		}
		pub := k.Public
		if k.Private != nil {
			derived := k.Private.Public()
			if pub == nil {
				pub = derived
			} else if eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(derived) {
				return nil, errors.New("the public key does not match the private key")
			}
			kk.private = k.Private
		} else if signing {
			return nil, errors.New("the signing key needs Private")
		}
		if err := checkPublic(kk.alg, pub); err != nil {
			return nil, err
		}
		kk.public = pub
	default:
		return nil, fmt.Errorf("unsupported algorithm %q", k.Algorithm)
	}
	kk.header = base64.RawURLEncoding.EncodeToString(headerJSON(kk.alg, kk.id))
	switch pub := kk.public.(type) {
	case nil:
		kk.sigLen = base64.RawURLEncoding.EncodedLen(kk.newHash().Size())
	case *rsa.PublicKey:
		kk.sigLen = base64.RawURLEncoding.EncodedLen(pub.Size())
	default: // ES256 (R and S, 32 bytes each) and Ed25519 signatures are both 64 bytes
		kk.sigLen = base64.RawURLEncoding.EncodedLen(64)
	}
	return kk, nil
}

// checkPublic reports whether pub is usable with alg.
func checkPublic(alg string, pub crypto.PublicKey) error {
	switch alg {
	case RS256:
		if p, ok := pub.(*rsa.PublicKey); ok && p.N != nil {
			if p.N.BitLen() < minRSABits {
				return fmt.Errorf("RSA key of %d bits; at least %d required", p.N.BitLen(), minRSABits)
			}
			return nil
		}
	case ES256:
		//lint:ignore SA1019 a key built by hand may lack its coordinates; ECDH would panic on nil ones
		if p, ok := pub.(*ecdsa.PublicKey); ok && p.Curve == elliptic.P256() && p.X != nil && p.Y != nil {
			if _, err := p.ECDH(); err != nil { // rejects points not on the curve
				return fmt.Errorf("ES256 public key: %w", err)
			}
			return nil
		}
	case EdDSA:
		if p, ok := pub.(ed25519.PublicKey); ok && len(p) == ed25519.PublicKeySize {
			return nil
		}
	}
	want := map[string]string{RS256: "*rsa.PublicKey", ES256: "P-256 *ecdsa.PublicKey", EdDSA: "ed25519.PublicKey"}[alg]
	return fmt.Errorf("%s key needs a %s, got %T", alg, want, pub)
}

// headerJSON is the JOSE header PyJWT writes: keys sorted, compact separators.
func headerJSON(alg, kid string) []byte {
	b := append([]byte(`{"alg":`), '"')
	b = append(b, alg...)
	b = append(b, '"')
	if kid != "" {
		b = appendJSONString(append(b, `,"kid":`...), kid)
	}
	return append(b, `,"typ":"JWT"}`...)
}

// candidates returns, in configuration order, the keys Parse tries for a token whose header
// names alg and kid ("" when absent). When any key has an ID, a kid selects the key with that
// ID, so an unknown kid gets no key; when none has, kid is ignored, as PyJWT ignores it. A
// token without kid may be signed by any key. The algorithm must equal the key's algorithm.
func (c *Codec) candidates(alg, kid string) []*key {
	var out []*key
	matchKID := kid != "" && c.anyKID
	for _, k := range c.keys {
		if k.alg == alg && (!matchKID || k.id == kid) {
			out = append(out, k)
		}
	}
	return out
}

func (c *Codec) routeFor(segment string) []*key {
	for i := range c.routes {
		if c.routes[i].segment == segment {
			return c.routes[i].keys
		}
	}
	return nil
}

// mac returns s's HMAC state for k, creating it on first use.
func (s *scratch) mac(k *key) hash.Hash {
	h := s.macs[k.index]
	if h == nil {
		h = hmac.New(k.newHash, k.secret)
		s.macs[k.index] = h
	} else {
		h.Reset()
	}
	return h
}

// appendJSONString appends s as a JSON string the way Python's json.dumps writes it with
// its default ensure_ascii: non-ASCII as lowercase \uXXXX escapes (surrogate pairs above
// the BMP), so headers and claims match PyJWT's bytes. s must be valid UTF-8.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	u := func(b []byte, r rune) []byte {
		return append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
	}
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"':
			b = append(b, '\\', '"')
		case r == '\\':
			b = append(b, '\\', '\\')
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r == '\b':
			b = append(b, '\\', 'b')
		case r == '\f':
			b = append(b, '\\', 'f')
		case r < 0x20:
			b = u(b, r)
		case r < 0x80:
			b = append(b, byte(r))
		case r < 0x10000:
			b = u(b, r)
		default:
			r -= 0x10000
			b = u(u(b, 0xd800+(r>>10)), 0xdc00+(r&0x3ff))
		}
	}
	return append(b, '"')
}
