package jwt

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"time"
)

// Mint returns a new token of tokenType (Access or Refresh) for userID and its claims. exp is
// now plus the type's lifetime; iat is the given time, or now when iat is zero: simplejwt's
// refresh endpoint copies the refresh token's iat into the access token it issues, so the
// caller decides. The iat claim is whole seconds, as simplejwt writes it; the jti, 32
// lowercase hex digits like simplejwt's uuid4().hex, is a UUID version 7 that carries iat to
// the sub-millisecond (see Claims.IssuedAt). Errors come only from an unknown tokenType, the
// random source or the signer, or from extra claims (see Claim) with a name CheckClaimName
// refuses, repeated, or a value encoding/json cannot encode.
func (c *Codec) Mint(tokenType string, userID int64, iat time.Time, extra ...Claim) (string, Claims, error) {
	return c.mint(c.now(), tokenType, userID, "", iat, extra, "")
}

// MintKey is Mint for a user named by a key rather than its id: when key
// is not empty, the user id claim (and sub, with Config.Subject) is key as
// a JSON string, as simplejwt writes str(pk) for a user model whose key is
// no integer (a UUID), userID (when above 0) follows in IDClaim, and the Claims returned
// carry key as UserKey beside userID. An empty key is Mint.
func (c *Codec) MintKey(tokenType string, userID int64, key string, iat time.Time, extra ...Claim) (string, Claims, error) {
	return c.mint(c.now(), tokenType, userID, key, iat, extra, "")
}

// MintRotated mints the refresh token that replaces one kept in record (a
// jti): MintKey's refresh token, with record in RecordClaim after the user
// id (and sub, and IDClaim) and before the extra claims.
func (c *Codec) MintRotated(record string, userID int64, key string, iat time.Time, extra ...Claim) (string, Claims, error) {
	if record == "" {
		return "", Claims{}, errors.New("jwt: a rotated refresh token needs its record")
	}
	return c.mint(c.now(), Refresh, userID, key, iat, extra, record)
}

// Pair mints the refresh and access tokens simplejwt's login returns, both with iat = now and
// exp counted from the same now, with distinct jti values. The access token carries the
// extra claims (see Mint), the refresh token none.
func (c *Codec) Pair(userID int64, accessClaims ...Claim) (refresh, access string, rc, ac Claims, err error) {
	return c.PairKey(userID, "", accessClaims...)
}

// PairKey is Pair for a user named by key (see MintKey).
func (c *Codec) PairKey(userID int64, key string, accessClaims ...Claim) (refresh, access string, rc, ac Claims, err error) {
	now := c.now()
	if refresh, rc, err = c.mint(now, Refresh, userID, key, now, nil, ""); err != nil {
		return "", "", Claims{}, Claims{}, err
	}
	if access, ac, err = c.mint(now, Access, userID, key, now, accessClaims, ""); err != nil {
		return "", "", Claims{}, Claims{}, err
	}
	if rc.JTI == ac.JTI {
		return "", "", Claims{}, Claims{}, errors.New("jwt: random source repeated itself")
	}
	return refresh, access, rc, ac, nil
}

func (c *Codec) mint(now time.Time, tokenType string, userID int64, key string, iat time.Time, extra []Claim, record string) (string, Claims, error) {
	if len(key) > maxUserKey {
		return "", Claims{}, fmt.Errorf("jwt: a user key of %d bytes (at most %d)", len(key), maxUserKey)
	}
	var lifetime time.Duration
	switch tokenType {
	case Access:
		lifetime = c.accessLifetime
	case Refresh:
		lifetime = c.refreshLifetime
	default:
		return "", Claims{}, fmt.Errorf("jwt: unknown token type %q", tokenType)
	}
	if iat.IsZero() {
		iat = now
	}
	jti, err := c.newJTI(iat)
	if err != nil {
		return "", Claims{}, err
	}
	cl := Claims{
		TokenType: tokenType,
		Exp:       now.Add(lifetime).Unix(),
		Iat:       iat.Unix(),
		JTI:       jti,
		UserID:    userID,
		HasUserID: true,
		UserKey:   key,
		Record:    record,
		Issuer:    c.issuer,
		Audience:  c.audience,
	}
	var more []byte
	if len(extra) > 0 {
		if c.subject {
			for _, x := range extra {
				if x.Name == "sub" {
					return "", Claims{}, errors.New(`jwt: "sub" is a claim of every token (Subject), not an extra one`)
				}
			}
		}
		if more, err = appendClaims(nil, extra); err != nil {
			return "", Claims{}, err
		}
	}
	tok, err := c.sign(&cl, more)
	if err != nil {
		return "", Claims{}, err
	}
	return tok, cl, nil
}

// appendPayload writes the claims in simplejwt's order, under the configured names, with
// PyJWT's compact separators; more (`,"name":value...`, the extra claims) goes after the user
// id (and sub, with Config.Subject), where a serializer's claims go.
func (c *Codec) appendPayload(b []byte, cl *Claims, more []byte) []byte {
	b = append(b, c.litTokenType...)
	b = append(b, cl.TokenType...)
	b = append(b, `","exp":`...)
	b = strconv.AppendInt(b, cl.Exp, 10)
	b = append(b, `,"iat":`...)
	b = strconv.AppendInt(b, cl.Iat, 10)
	b = append(b, c.litJTI...)
	b = append(b, cl.JTI...)
	b = append(b, '"')
	b = append(b, c.litUserID...)
	if cl.UserKey != "" {
		key, _ := jsonText(cl.UserKey) // a string always encodes
		b = appendASCII(b, key)
		if c.subject {
			b = append(b, `,"sub":`...)
			b = appendASCII(b, key)
		}
		if cl.UserID > 0 {
			b = append(b, `,"`+IDClaim+`":`...)
			b = strconv.AppendInt(b, cl.UserID, 10)
		}
	} else {
		b = strconv.AppendInt(b, cl.UserID, 10)
		if c.subject {
			b = append(b, `,"sub":"`...)
			b = strconv.AppendInt(b, cl.UserID, 10)
			b = append(b, '"')
		}
	}
	if cl.Record != "" {
		rec, _ := jsonText(cl.Record)
		b = append(b, `,"`+RecordClaim+`":`...)
		b = appendASCII(b, rec)
	}
	b = append(b, more...)
	return append(b, c.claimsTail...)
}

// sign serialises cl (and the extra claims more) and signs it with the signing key.
func (c *Codec) sign(cl *Claims, more []byte) (string, error) {
	var pbuf [256]byte
	payload := c.appendPayload(pbuf[:0], cl, more)
	k := c.signer
	enc := base64.RawURLEncoding
	out := make([]byte, 0, len(k.header)+2+enc.EncodedLen(len(payload))+k.sigLen)
	out = append(out, k.header...)
	out = append(out, '.')
	out = enc.AppendEncode(out, payload)

	if k.newHash != nil {
		s := c.scratch.Get().(*scratch)
		h := s.mac(k)
		h.Write(out)
		s.sum = h.Sum(s.sum[:0])
		out = append(out, '.')
		out = enc.AppendEncode(out, s.sum)
		c.scratch.Put(s)
		return string(out), nil
	}
	sig, err := signAsymmetric(k, out)
	if err != nil {
		return "", fmt.Errorf("jwt: signing with %s key %q: %w", k.alg, k.id, err)
	}
	out = append(out, '.')
	out = enc.AppendEncode(out, sig)
	return string(out), nil
}

// signAsymmetric returns the JWS signature (RFC 7518 §3) of msg.
func signAsymmetric(k *key, msg []byte) ([]byte, error) {
	switch k.alg {
	case RS256:
		digest := sha256.Sum256(msg)
		return k.private.Sign(rand.Reader, digest[:], crypto.SHA256) // PKCS #1 v1.5
	case ES256:
		digest := sha256.Sum256(msg)
		der, err := k.private.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			return nil, err
		}
		// crypto.Signer gives ASN.1 DER; JWS wants R and S as two 32-byte big-endian halves.
		var rs struct{ R, S *big.Int }
		rest, err := asn1.Unmarshal(der, &rs)
		if err != nil || len(rest) != 0 || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 ||
			rs.R.BitLen() > 256 || rs.S.BitLen() > 256 {
			return nil, errors.New("malformed ECDSA signature from signer")
		}
		sig := make([]byte, 64)
		rs.R.FillBytes(sig[:32])
		rs.S.FillBytes(sig[32:])
		return sig, nil
	case EdDSA:
		return k.private.Sign(rand.Reader, msg, crypto.Hash(0))
	}
	return nil, fmt.Errorf("unsupported algorithm %q", k.alg)
}
