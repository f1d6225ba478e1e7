package jwt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Parse verifies token and returns its claims. It checks, in order: length (at most
// MaxTokenLen) and shape (three base64url segments); the header (alg must equal the
// algorithm of a configured key, selected by kid when keys have ids; see the package doc
// for refused headers); the signature; then exp (required, an integer, later than now minus
// Leeway), iat and nbf when present (integers, not after now plus Leeway), iss when an
// Issuer is configured, and aud (must contain the configured Audience, or be absent or empty
// when none is configured). It does not check token_type or that the user exists.
//
// Every failure wraps ErrInvalid; the wrapped reason is for logs only.
func (c *Codec) Parse(token string) (Claims, error) {
	if len(token) > MaxTokenLen {
		return Claims{}, invalidError("token longer than MaxTokenLen")
	}
	i := strings.IndexByte(token, '.')
	j := strings.LastIndexByte(token, '.')
	if i < 0 || i == j || strings.IndexByte(token[i+1:j], '.') >= 0 {
		return Claims{}, invalidError("token does not have three segments")
	}
	// encoding/base64 skips CR and LF; refusing them keeps one spelling per token.
	if strings.IndexByte(token, '\n') >= 0 || strings.IndexByte(token, '\r') >= 0 {
		return Claims{}, invalidError("line break in token")
	}
	keys := c.routeFor(token[:i])
	if keys == nil {
		var err error
		if keys, err = c.keysForHeader(token[:i]); err != nil {
			return Claims{}, err
		}
	}

	s := c.scratch.Get().(*scratch)
	defer c.scratch.Put(s)
	s.token = append(s.token[:0], token...)
	signed, sig := s.token[:j], s.token[j+1:]
	verified := false
	for _, k := range keys {
		if c.verify(s, k, signed, sig) {
			verified = true
			break
		}
	}
	if !verified {
		return Claims{}, invalidError("signature does not verify")
	}

	seg := s.token[i+1 : j]
	if n := c.b64.DecodedLen(len(seg)); cap(s.payload) < n {
		s.payload = make([]byte, n)
	}
	n, err := c.b64.Decode(s.payload[:cap(s.payload)], seg)
	if err != nil {
		return Claims{}, invalidError("payload is not base64url")
	}
	var p parsed
	if !c.parseCanonical(s.payload[:n], &p) {
		if err := c.parseGeneral(s.payload[:n], &p); err != nil {
			return Claims{}, err
		}
	}
	if err := c.validate(&p, c.now()); err != nil {
		return Claims{}, err
	}
	return p.Claims, nil
}

// keysForHeader decodes a header segment that is not one Mint writes and returns the keys
// that may have signed the token.
func (c *Codec) keysForHeader(segment string) ([]*key, error) {
	raw, err := c.b64.DecodeString(segment)
	if err != nil {
		return nil, invalidError("header is not base64url")
	}
	var h map[string]json.RawMessage
	if json.Unmarshal(raw, &h) != nil || h == nil {
		return nil, invalidError("header is not a JSON object")
	}
	// Keys or key locations supplied by the token itself, critical extensions we do not
	// implement, and the unencoded payload option (RFC 7797) are refused, not half-understood.
	for _, name := range [...]string{"jku", "x5u", "jwk", "x5c", "crit", "b64"} {
		if _, ok := h[name]; ok {
			return nil, invalidError("refused header " + name)
		}
	}
	alg, ok := jsonString(h["alg"])
	if !ok {
		return nil, invalidError("alg missing or not a string")
	}
	if strings.EqualFold(alg, "none") {
		return nil, invalidError("alg none")
	}
	var kid string
	if r, present := h["kid"]; present {
		if kid, ok = jsonString(r); !ok {
			return nil, invalidError("kid not a string")
		}
	}
	keys := c.candidates(alg, kid)
	if len(keys) == 0 {
		return nil, invalidError("no key for this alg and kid")
	}
	return keys, nil
}

// verify reports whether sig (still base64url) is k's signature of signed.
func (c *Codec) verify(s *scratch, k *key, signed, sig []byte) bool {
	if len(sig) != k.sigLen { // also bounds the work below
		return false
	}
	if k.newHash != nil {
		n, err := c.b64.Decode(s.sig[:], sig)
		if err != nil {
			return false
		}
		h := s.mac(k)
		h.Write(signed)
		s.sum = h.Sum(s.sum[:0])
		return hmac.Equal(s.sum, s.sig[:n])
	}
	raw := make([]byte, c.b64.DecodedLen(len(sig)))
	n, err := c.b64.Decode(raw, sig)
	if err != nil {
		return false
	}
	raw = raw[:n]
	switch pub := k.public.(type) {
	case *rsa.PublicKey:
		digest := sha256.Sum256(signed)
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], raw) == nil
	case *ecdsa.PublicKey:
		if len(raw) != 64 {
			return false
		}
		digest := sha256.Sum256(signed)
		r, s := new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])
		return ecdsa.Verify(pub, digest[:], r, s)
	case ed25519.PublicKey:
		return ed25519.Verify(pub, signed, raw)
	}
	return false
}

// parsed is the result of decoding a payload, before validation.
type parsed struct {
	Claims
	hasExp, hasIat, hasNbf bool
	hasJTI                 bool // the jti claim is present, whatever its value
	nbf                    int64
	issMatch               bool // iss is a string equal to the configured issuer
	audPresent             bool // aud is present and not null, "" or []
	audMatch               bool // aud is, or is a list holding, the configured audience
}

// validate applies the time, issuer and audience rules to p.
func (c *Codec) validate(p *parsed, now time.Time) error {
	if !p.hasExp {
		return ErrNoExp
	}
	// simplejwt: expired when exp <= now - leeway, with now to the microsecond; for an
	// integer exp that is exp <= floor(now - leeway).
	if p.Exp <= now.Add(-c.leeway).Unix() {
		return invalidError("token expired")
	}
	// PyJWT: refused when iat or nbf > floor(now) + leeway.
	latest := now.Add(c.leeway).Unix()
	if p.hasIat && p.Iat > latest {
		return invalidError("iat in the future")
	}
	if p.hasNbf && p.nbf > latest {
		return invalidError("token not yet valid (nbf)")
	}
	if c.issuer != "" && !p.issMatch {
		return invalidError("issuer mismatch")
	}
	if c.audience != "" {
		if !p.audMatch {
			return invalidError("audience mismatch")
		}
		p.Audience = c.audience
	} else if p.audPresent {
		return invalidError("token has an audience but none is configured")
	}
	if !p.hasJTI {
		return ErrNoID
	}
	return nil
}

// parseCanonical decodes the payload of a token in exactly the form Mint (and simplejwt)
// writes: {"token_type":S,"exp":N,"iat":N,"jti":S,"user_id":N[,"sub":S][,"gatehouse_record":S][,"aud":S][,"iss":S]} (with the
// configured claim names) with no
// whitespace, strings without escapes and integers of at most 18 digits. It returns false
// for anything else, and parseGeneral takes over. On success, p holds exactly what
// parseGeneral would have produced (FuzzCanonicalMatchesGeneral checks this); it exists
// because encoding/json costs several times the HMAC on the hot path.
func (c *Codec) parseCanonical(b []byte, p *parsed) bool {
	r := cursor{b: b}
	var tt, jti, rec, aud, iss []byte
	var hasAud, hasIss bool
	var ok bool
	if !r.lit(c.litTokenType) {
		return false
	}
	if tt, ok = r.str(); !ok || !r.lit(`,"exp":`) {
		return false
	}
	if p.Exp, ok = r.int(); !ok || !r.lit(`,"iat":`) {
		return false
	}
	if p.Iat, ok = r.int(); !ok || !r.lit(c.litJTI) {
		return false
	}
	if jti, ok = r.str(); !ok || !r.lit(c.litUserID) {
		return false
	}
	if p.UserID, ok = r.int(); !ok {
		return false
	}
	if c.skipSub && r.lit(`,"sub":"`) {
		// Config.Subject's claim (or anyone's sub): not one Claims holds.
		if _, ok = r.str(); !ok {
			return false
		}
	}
	if r.lit(`,"` + RecordClaim + `":"`) {
		if rec, ok = r.str(); !ok {
			return false
		}
	}
	if r.lit(`,"aud":"`) {
		if aud, ok = r.str(); !ok {
			return false
		}
		hasAud = true
	}
	if r.lit(`,"iss":"`) {
		if iss, ok = r.str(); !ok {
			return false
		}
		hasIss = true
	}
	if !r.lit(`}`) || r.i != len(b) {
		return false
	}
	p.hasExp, p.hasIat, p.HasUserID, p.hasJTI = true, true, true, true
	p.TokenType = internType(tt)
	p.JTI = string(jti)
	p.Record = string(rec)
	if hasAud {
		p.audPresent = len(aud) > 0
		p.audMatch = c.audience != "" && string(aud) == c.audience
	}
	if hasIss {
		p.issMatch = c.issuer != "" && string(iss) == c.issuer
		if p.issMatch {
			p.Issuer = c.issuer
		} else {
			p.Issuer = string(iss)
		}
	}
	return true
}

// internType avoids allocating the two token types every token carries.
func internType(b []byte) string {
	switch string(b) {
	case Access:
		return Access
	case Refresh:
		return Refresh
	}
	return string(b)
}

// cursor reads the canonical payload form.
type cursor struct {
	b []byte
	i int
}

func (r *cursor) lit(s string) bool {
	if len(r.b)-r.i < len(s) || string(r.b[r.i:r.i+len(s)]) != s {
		return false
	}
	r.i += len(s)
	return true
}

// str reads the rest of a string whose opening quote was consumed, and the closing quote.
func (r *cursor) str() ([]byte, bool) {
	start := r.i
	for ; r.i < len(r.b); r.i++ {
		ch := r.b[r.i]
		if ch == '"' {
			r.i++
			return r.b[start : r.i-1], true
		}
		if ch < 0x20 || ch > 0x7e || ch == '\\' {
			return nil, false
		}
	}
	return nil, false
}

// int reads -?(0|[1-9][0-9]*) of at most 18 digits, so it cannot overflow.
func (r *cursor) int() (int64, bool) {
	neg := r.i < len(r.b) && r.b[r.i] == '-'
	if neg {
		r.i++
	}
	start := r.i
	var v int64
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		v = v*10 + int64(r.b[r.i]-'0')
		r.i++
	}
	digits := r.i - start
	if digits == 0 || digits > 18 || (digits > 1 && r.b[start] == '0') {
		return 0, false
	}
	// A fraction or exponent would make this a non-integer: leave it to parseGeneral.
	if r.i < len(r.b) && (r.b[r.i] == '.' || r.b[r.i] == 'e' || r.b[r.i] == 'E') {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

// parseGeneral decodes any JSON object payload with encoding/json. Keys match exactly and
// the last of duplicate keys wins, as with Python's json module.
func (c *Codec) parseGeneral(b []byte, p *parsed) error {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil || m == nil {
		return invalidError("payload is not a JSON object")
	}
	*p = parsed{}
	var ok bool
	if r, present := m["exp"]; present {
		if p.Exp, ok = jsonSeconds(r); !ok {
			return invalidError("exp is not a number of seconds")
		}
		p.hasExp = true
	}
	if r, present := m["iat"]; present {
		if p.Iat, ok = jsonSeconds(r); !ok {
			return invalidError("iat is not a number of seconds")
		}
		p.hasIat = true
	}
	if r, present := m["nbf"]; present {
		if p.nbf, ok = jsonSeconds(r); !ok {
			return invalidError("nbf is not a number of seconds")
		}
		p.hasNbf = true
	}
	if s, ok := jsonString(m[c.names.TokenType]); ok {
		p.TokenType = internType([]byte(s))
	}
	p.JTI, _ = jsonString(m[c.names.JTI])
	_, p.hasJTI = m[c.names.JTI]
	p.UserID, p.HasUserID = userID(m[c.names.UserID])
	p.UserIDNull = string(bytes.TrimSpace(m[c.names.UserID])) == "null"
	if s, ok := jsonString(m[c.names.UserID]); ok && s != "" && len(s) <= maxUserKey {
		p.UserKey = s
		if id, ok := jsonInt(m[IDClaim]); ok && id > 0 && !p.HasUserID {
			// gatehouse's own token for a user it names by key.
			p.UserID, p.HasUserID = id, true
		}
	}
	p.Record, _ = jsonString(m[RecordClaim])
	for name := range m {
		if !c.readsClaim(name) {
			p.Extra = true
			break
		}
	}
	if s, ok := jsonString(m["iss"]); ok {
		p.Issuer = s
		p.issMatch = c.issuer != "" && s == c.issuer
	}
	if r, present := m["aud"]; present {
		switch r[0] {
		case 'n': // null
		case '"':
			s, _ := jsonString(r)
			p.audPresent = s != ""
			p.audMatch = c.audience != "" && s == c.audience
		case '[':
			var list []json.RawMessage
			if json.Unmarshal(r, &list) != nil {
				return invalidError("aud is malformed")
			}
			p.audPresent = len(list) > 0
			for _, e := range list {
				s, ok := jsonString(e)
				if !ok {
					return invalidError("aud holds a non-string")
				}
				if c.audience != "" && s == c.audience {
					p.audMatch = true
				}
			}
		default:
			return invalidError("aud is neither a string nor a list")
		}
	}
	return nil
}

// jsonString decodes r when it is a JSON string.
func jsonString(r json.RawMessage) (string, bool) {
	if len(r) == 0 || r[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(r, &s) != nil {
		return "", false
	}
	return s, true
}

// jsonInt decodes r when it is a JSON integer (no fraction or exponent) that fits in int64.
func jsonInt(r json.RawMessage) (int64, bool) {
	if len(r) == 0 {
		return 0, false
	}
	digits := r
	if digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || (len(digits) > 1 && digits[0] == '0') {
		return 0, false
	}
	for _, ch := range digits {
		if ch < '0' || ch > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(string(r), 10, 64)
	return v, err == nil
}

// maxSeconds bounds a time claim read from a JSON number with a fraction
// or an exponent: 2^53, past which a float64 no longer holds every integer
// (and far past any date simplejwt or PyJWT can hold).
const maxSeconds = 1 << 53

// jsonSeconds reads a time claim as PyJWT does (int() of a JSON number):
// an integer, or a number with a fraction or an exponent cut to its
// integer part, within ±maxSeconds.
func jsonSeconds(r json.RawMessage) (int64, bool) {
	if v, ok := jsonInt(r); ok {
		return v, true
	}
	if len(r) == 0 || !(r[0] == '-' || r[0] >= '0' && r[0] <= '9') {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(r), 64)
	if err != nil || math.Abs(f) >= maxSeconds {
		return 0, false
	}
	return int64(f), true
}

// userID reads user_id: a JSON integer, or a JSON string of 1 to 19 ASCII digits, that fits
// in an int64.
func userID(r json.RawMessage) (int64, bool) {
	if v, ok := jsonInt(r); ok {
		return v, true
	}
	s, ok := jsonString(r)
	if !ok || len(s) == 0 || len(s) > 19 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}
