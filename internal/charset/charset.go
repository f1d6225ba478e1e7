// Package charset turns request bodies in the charsets a Content-Type may
// name into UTF-8, as Python's codecs read them for Django REST
// Framework's JSON parser.
package charset

import (
	"unicode/utf16"
	"unicode/utf8"
)

// FromUTF16 is body, in UTF-16, as UTF-8: big- or little-endian as its
// byte order mark says (the mark dropped), else as charset names it
// ("utf-16be", "utf-16le"), else little-endian, as Python's "utf-16"
// codec reads it on the machines gatehouse runs on. false when body is
// not UTF-16: an odd length, or a surrogate that is not half of a pair.
func FromUTF16(body []byte, charset string) ([]byte, bool) {
	if len(body)%2 != 0 {
		return nil, false
	}
	big := charset == "utf-16be"
	if charset != "utf-16le" && charset != "utf-16be" && len(body) >= 2 {
		switch {
		case body[0] == 0xFE && body[1] == 0xFF:
			big, body = true, body[2:]
		case body[0] == 0xFF && body[1] == 0xFE:
			body = body[2:]
		}
	}
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); i += 2 {
		u := unit(body[i:], big)
		r := rune(u)
		if utf16.IsSurrogate(r) {
			if u >= 0xDC00 || i+3 >= len(body) {
				return nil, false
			}
			r = utf16.DecodeRune(r, rune(unit(body[i+2:], big)))
			if r == utf8.RuneError {
				return nil, false
			}
			i += 2
		}
		out = utf8.AppendRune(out, r)
	}
	return out, true
}

func unit(b []byte, big bool) uint16 {
	if big {
		return uint16(b[0])<<8 | uint16(b[1])
	}
	return uint16(b[1])<<8 | uint16(b[0])
}

// FromLatin1 is body, in ISO-8859-1, as UTF-8: each byte the code point
// of its value.
func FromLatin1(body []byte) []byte {
	out := make([]byte, 0, len(body)+len(body)/4)
	for _, c := range body {
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}
