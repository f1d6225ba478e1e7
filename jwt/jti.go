package jwt

import (
	"encoding/hex"
	"fmt"
	"io"
	"time"
)

// A jti is a UUID version 7 (RFC 9562 §5.7) written as 32 lowercase hex digits, the shape of
// simplejwt's uuid4().hex that clients check. Its first 48 bits are the issue time in unix
// milliseconds and the 12 bits of rand_a the fraction of that millisecond, scaled to 4096
// (RFC 9562 §6.2, method 3); the remaining 62 bits after the version and variant are random.
// So the jti carries the issue time to a 4096th of a millisecond while the iat claim stays
// whole seconds, which simplejwt's clients require.
const subMilliSteps = 4096

// newJTI returns the jti of a token issued at t.
func (c *Codec) newJTI(t time.Time) (string, error) {
	var u [16]byte
	if c.randomMu != nil {
		c.randomMu.Lock()
		defer c.randomMu.Unlock()
	}
	if _, err := io.ReadFull(c.random, u[8:]); err != nil {
		return "", fmt.Errorf("jwt: reading random jti: %w", err)
	}
	// Times outside 1970 to 10889 do not fit in 48 bits; their jti carries a wrong time,
	// which IssuedAt detects because it falls outside the iat second.
	ms := uint64(t.UnixMilli())
	frac := uint64(t.Nanosecond()%1e6) * subMilliSteps / 1e6 // rounded down, so < 4096
	for i := range 6 {
		u[i] = byte(ms >> (40 - 8*i))
	}
	u[6] = 0x70 | byte(frac>>8) // version 7
	u[7] = byte(frac)
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	var h [32]byte
	hex.Encode(h[:], u[:])
	return string(h[:]), nil
}

// IssuedAt returns when the token was issued, more precisely than Iat when the jti says so.
//
// When JTI is a UUID version 7 in 32 lowercase hex digits (as Mint writes it) whose time lies
// within [Iat, Iat+1s), IssuedAt returns that time. It is at most 1 ms / 4096 (about 244 ns)
// before the time Mint was given, and never after it, so checking "issued before some
// instant" with it refuses a token at worst 244 ns too eagerly, never too late.
//
// Otherwise (tokens minted by simplejwt, whose jti is a uuid4; a jti of another shape; a
// version-7 jti whose time disagrees with iat) it returns time.Unix(Iat, 0), the start of the
// iat second: the earliest time consistent with the token, so again the conservative reading
// for such a check. For a token without iat that is the Unix epoch.
func (cl Claims) IssuedAt() time.Time {
	var u [16]byte
	if len(cl.JTI) != 32 || !decodeLowerHex(u[:], cl.JTI) || u[6]>>4 != 7 || u[8]>>6 != 0b10 {
		return time.Unix(cl.Iat, 0)
	}
	var ms uint64
	for _, b := range u[:6] {
		ms = ms<<8 | uint64(b)
	}
	if cl.Iat < 0 || ms/1000 != uint64(cl.Iat) {
		return time.Unix(cl.Iat, 0)
	}
	frac := uint64(u[6]&0x0f)<<8 | uint64(u[7])
	ns := ms%1000*1e6 + frac*1e6/subMilliSteps // frac rounded down again: never after the true time
	return time.Unix(cl.Iat, int64(ns))
}

// decodeLowerHex decodes s, which must be lowercase hex of exactly 2*len(dst) digits, into
// dst. Uppercase is refused because uuid4().hex never writes it, so such a jti was not
// minted by either implementation.
func decodeLowerHex(dst []byte, s string) bool {
	nibble := func(c byte) (byte, bool) {
		switch {
		case '0' <= c && c <= '9':
			return c - '0', true
		case 'a' <= c && c <= 'f':
			return c - 'a' + 10, true
		}
		return 0, false
	}
	for i := range dst {
		hi, ok1 := nibble(s[2*i])
		lo, ok2 := nibble(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}
