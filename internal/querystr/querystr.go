// Package querystr reads a query string, or an urlencoded form, as
// Django's QueryDict does (Python's urllib.parse.parse_qsl with
// keep_blank_values): pairs are separated by '&' alone, so a ';' is part
// of a name or value; '+' is a space; a '%' not followed by two
// hexadecimal digits is kept as it is; a pair without '=' is a name with
// an empty value; empty pairs are skipped. Nothing is an error, and no
// pair is dropped.
//
// Go's url.ParseQuery differs on each of the first three points: it drops
// a pair holding a ';' or a bad escape and reports an error, so that a
// filter, a narrower scope or a state sent that way vanished, where
// Django kept (and refused or matched) it.
//
// Unlike Python, bytes that decode to no UTF-8 are kept as they are, not
// replaced by U+FFFD: the callers' validation refuses them.
package querystr

import (
	"net/url"
	"strings"
)

// Parse reads s into values, in order.
func Parse(s string) url.Values {
	v := url.Values{}
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		name, value = unescape(name), unescape(value)
		v[name] = append(v[name], value)
	}
	return v
}

// unescape decodes '+' and the %XX escapes of s, keeping any other '%'.
func unescape(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
