package jwt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Claim is an extra claim of a minted token, as a simplejwt project adds
// one in its token serializer (token["groups"] = [...]): it is written
// after user_id and before aud and iss, in the order given, encoded as
// PyJWT encodes it (compact, non-ASCII escaped). Parse accepts tokens with
// claims it does not know and marks them (Claims.Extra); CopiedClaims
// returns them.
type Claim struct {
	Name  string
	Value any // anything encoding/json encodes
}

// registered are the claims this package writes or checks itself.
var registered = map[string]bool{"token_type": true, "exp": true, "iat": true, "jti": true, "user_id": true,
	"aud": true, "iss": true, "nbf": true, IDClaim: true, RecordClaim: true}

// IDClaim carries the user's integer id in a token whose user id claim
// names the user by a key (MintKey): a verifier that cannot look the key
// up (guard without introspection) still knows whose the token is, while
// Django's simplejwt, which ignores claims it does not know, reads the key.
const IDClaim = "gatehouse_user_id"

// RecordClaim names, in a refresh token that replaced another (MintRotated),
// the record gatehouse keeps the token in: the jti of the token that record
// was made for. A rotation rewrites that record instead of adding one per
// token (package simplejwt). Django's simplejwt ignores it.
const RecordClaim = "gatehouse_record"

// CheckClaimName reports why name cannot be an extra claim: it is empty,
// or a claim this package writes or checks itself.
func CheckClaimName(name string) error {
	if name == "" || !utf8.ValidString(name) {
		return fmt.Errorf("jwt: a claim needs a name")
	}
	if registered[name] {
		return fmt.Errorf("jwt: %q is a claim of every token, not an extra one", name)
	}
	return nil
}

// appendClaims writes `,"name":value` for each claim.
func appendClaims(b []byte, extra []Claim) ([]byte, error) {
	seen := make(map[string]bool, len(extra))
	for _, cl := range extra {
		if err := CheckClaimName(cl.Name); err != nil {
			return nil, err
		}
		if seen[cl.Name] {
			return nil, fmt.Errorf("jwt: claim %q given twice", cl.Name)
		}
		seen[cl.Name] = true
		name, _ := jsonText(cl.Name)
		value, err := jsonText(cl.Value)
		if err != nil {
			return nil, fmt.Errorf("jwt: claim %q: %w", cl.Name, err)
		}
		b = append(b, ',')
		b = appendASCII(b, name)
		b = append(b, ':')
		b = appendASCII(b, value)
	}
	return b, nil
}

// jsonText is v as compact JSON without HTML escaping.
func jsonText(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// appendASCII appends JSON text with every character outside printable
// ASCII escaped as \uXXXX (UTF-16, as Python's json.dumps writes it with
// ensure_ascii), so that the payload is PyJWT's byte for byte.
func appendASCII(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	esc := func(b []byte, r rune) []byte {
		return append(b, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
	}
	for _, r := range s {
		switch {
		case r >= 0x20 && r < 0x7f:
			b = append(b, byte(r))
		case r < 0x10000:
			b = esc(b, r)
		default:
			r -= 0x10000
			b = esc(esc(b, 0xd800+(r>>10)), 0xdc00+(r&0x3ff))
		}
	}
	return b
}

// readsClaim reports whether name is a claim Parse reads or Mint writes
// itself: the registered ones, the configured names and sub.
func (c *Codec) readsClaim(name string) bool {
	return registered[name] || name == "sub" || name == c.names.TokenType || name == c.names.JTI || name == c.names.UserID
}

// CopiedClaims returns the claims of token's payload that simplejwt's
// RefreshToken.access_token copies into the access token it makes and
// this package does not write itself (readsClaim): a Django project's
// serializer's claims, in the payload's order, each value as it was
// written (for duplicate names the last value, at the first one's place,
// as Python's json module and dict keep them). token must be one Parse
// accepted (Claims.Extra): the signature is not checked again.
func (c *Codec) CopiedClaims(token string) ([]Claim, error) {
	i := strings.IndexByte(token, '.')
	j := strings.LastIndexByte(token, '.')
	if i < 0 || i == j {
		return nil, invalidError("token does not have three segments")
	}
	payload, err := c.b64.DecodeString(token[i+1 : j])
	if err != nil {
		return nil, invalidError("payload is not base64url")
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, invalidError("payload is not a JSON object")
	}
	var out []Claim
	at := map[string]int{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, invalidError("payload is not a JSON object")
		}
		name, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, invalidError("payload is not a JSON object")
		}
		if c.readsClaim(name) {
			continue
		}
		if k, seen := at[name]; seen {
			out[k].Value = v
			continue
		}
		at[name] = len(out)
		out = append(out, Claim{Name: name, Value: v})
	}
	return out, nil
}
