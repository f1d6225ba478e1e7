package server

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// pythonJSONError describes why data is not valid JSON in the words of
// Python's json module, which DRF puts after "JSON parse error - ". It is
// only called on input encoding/json already refused.
func pythonJSONError(data []byte) string {
	p := &pyScanner{s: data}
	p.ws()
	if msg, at, ok := p.value(); !ok {
		if at == outOfRange {
			return msg
		}
		return p.where(msg, at)
	}
	p.ws()
	if p.i < len(p.s) {
		return p.where("Extra data", p.i)
	}
	return p.where("Expecting value", 0)
}

// outOfRange is the message of DRF's strict JSON parser for a constant
// Python's json module reads but JSON lacks (NaN, Infinity, -Infinity):
// its parse_constant raises it where the scan meets the constant.
const outOfRange = -1

func (p *pyScanner) constant(word string) (string, int, bool) {
	return "Out of range float values are not JSON compliant: '" + word + "'", outOfRange, false
}

type pyScanner struct {
	s     []byte
	i     int
	depth int
}

// where formats "msg: line L column C (char N)" counting characters.
func (p *pyScanner) where(msg string, at int) string {
	if at > len(p.s) {
		at = len(p.s)
	}
	line, col := 1, 1
	chars := 0
	for j := 0; j < at; {
		r, n := utf8.DecodeRune(p.s[j:])
		if r == '\n' {
			line++
			col = 0
		}
		col++
		chars++
		j += n
	}
	return fmt.Sprintf("%s: line %d column %d (char %d)", msg, line, col, chars)
}

func (p *pyScanner) ws() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *pyScanner) lit(word string) bool {
	if len(p.s)-p.i >= len(word) && string(p.s[p.i:p.i+len(word)]) == word {
		p.i += len(word)
		return true
	}
	return false
}

// value scans one value; on failure it returns the message and position.
func (p *pyScanner) value() (string, int, bool) {
	if p.i >= len(p.s) {
		return "Expecting value", p.i, false
	}
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > 1000 {
		return "maximum recursion depth exceeded", p.i, false
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case p.lit("true"), p.lit("false"), p.lit("null"):
		return "", 0, true
	case p.lit("NaN"):
		return p.constant("NaN")
	case p.lit("Infinity"):
		return p.constant("Infinity")
	}
	return "Expecting value", p.i, false
}

func (p *pyScanner) object() (string, int, bool) {
	p.i++ // {
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return "", 0, true
	}
	for {
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return "Expecting property name enclosed in double quotes", p.i, false
		}
		if msg, at, ok := p.str(); !ok {
			return msg, at, false
		}
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return "Expecting ':' delimiter", p.i, false
		}
		p.i++
		p.ws()
		if msg, at, ok := p.value(); !ok {
			return msg, at, false
		}
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return "", 0, true
		}
		if p.i >= len(p.s) || p.s[p.i] != ',' {
			return "Expecting ',' delimiter", p.i, false
		}
		p.i++
		p.ws()
	}
}

func (p *pyScanner) array() (string, int, bool) {
	p.i++ // [
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return "", 0, true
	}
	for {
		if msg, at, ok := p.value(); !ok {
			return msg, at, false
		}
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			return "", 0, true
		}
		if p.i >= len(p.s) || p.s[p.i] != ',' {
			return "Expecting ',' delimiter", p.i, false
		}
		p.i++
		p.ws()
	}
}

func (p *pyScanner) str() (string, int, bool) {
	start := p.i
	p.i++ // opening quote
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return "", 0, true
		case c == '\\':
			if p.i+1 >= len(p.s) {
				return "Unterminated string starting at", start, false
			}
			e := p.s[p.i+1]
			switch e {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i += 2
			case 'u':
				if p.i+6 > len(p.s) || !isHex4(p.s[p.i+2:p.i+6]) {
					return "Invalid \\uXXXX escape", p.i + 1, false
				}
				p.i += 6
			default:
				return "Invalid \\escape", p.i, false
			}
		case c < 0x20:
			return "Invalid control character at", p.i, false
		default:
			p.i++
		}
	}
	return "Unterminated string starting at", start, false
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func (p *pyScanner) number() (string, int, bool) {
	start := p.i
	if p.s[p.i] == '-' {
		p.i++
		if p.lit("Infinity") {
			return p.constant("-Infinity")
		}
	}
	digits := 0
	if p.i < len(p.s) && p.s[p.i] == '0' {
		p.i++ // a leading zero stands alone, as in Python's scanner
		digits++
	} else {
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
			digits++
		}
	}
	if digits == 0 {
		return "Expecting value", start, false
	}
	if p.i < len(p.s) && p.s[p.i] == '.' && p.i+1 < len(p.s) && p.s[p.i+1] >= '0' && p.s[p.i+1] <= '9' {
		p.i++
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		j := p.i + 1
		if j < len(p.s) && (p.s[j] == '+' || p.s[j] == '-') {
			j++
		}
		if j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			p.i = j
			for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
				p.i++
			}
		}
	}
	return "", 0, true
}

// pythonDecodeError is the message of Python's UTF-8 decoder for the first
// invalid sequence of data, which utf8.Valid refused: the maximal part of
// a sequence the decoder took in (a start byte and the continuation bytes
// that fit it), at its byte offset. A sequence cut off by the end of the
// body is held back by DRF's stream reader, so the JSON scanner sees the
// text without it (ok false: the caller scans that).
func pythonDecodeError(data []byte) (msg string, cut int, ok bool) {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r != utf8.RuneError || n > 1 {
			i += n
			continue
		}
		c := data[i]
		want, lo, hi := 0, byte(0x80), byte(0xBF)
		switch {
		case c >= 0xC2 && c <= 0xDF:
			want = 1
		case c == 0xE0:
			want, lo = 2, 0xA0
		case c == 0xED:
			want, hi = 2, 0x9F
		case c >= 0xE1 && c <= 0xEF:
			want = 2
		case c == 0xF0:
			want, lo = 3, 0x90
		case c == 0xF4:
			want, hi = 3, 0x8F
		case c >= 0xF1 && c <= 0xF3:
			want = 3
		default:
			return utf8Error(data, i, 1, "invalid start byte"), 0, true
		}
		n = 1
		for n <= want && i+n < len(data) {
			b := data[i+n]
			if n == 1 && (b < lo || b > hi) || n > 1 && (b < 0x80 || b > 0xBF) {
				break
			}
			n++
		}
		if i+n >= len(data) && n <= want {
			return "", i, false
		}
		return utf8Error(data, i, n, "invalid continuation byte"), 0, true
	}
	return "", len(data), false
}

// utf8Error is Python's UnicodeDecodeError message for the n bytes of
// data at i.
func utf8Error(data []byte, i, n int, reason string) string {
	if n == 1 {
		return fmt.Sprintf("'utf-8' codec can't decode byte 0x%02x in position %d: %s", data[i], i, reason)
	}
	return fmt.Sprintf("'utf-8' codec can't decode bytes in position %d-%d: %s", i, i+n-1, reason)
}

// loneSurrogate returns the first \uD800-\uDFFF escape of a JSON string
// (raw, with its quotes) that is not half of a pair: Python's json module
// keeps one in the string, which DRF's CharField then refuses.
func loneSurrogate(raw []byte) (rune, bool) {
	for i := 0; i+5 < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if raw[i+1] != 'u' {
			i++ // an escaped character, perhaps a backslash
			continue
		}
		v, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16)
		if err != nil {
			continue
		}
		switch {
		case v >= 0xD800 && v <= 0xDBFF:
			if i+11 < len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
				if w, err := strconv.ParseUint(string(raw[i+8:i+12]), 16, 16); err == nil && w >= 0xDC00 && w <= 0xDFFF {
					i += 11
					continue
				}
			}
			return rune(v), true
		case v >= 0xDC00 && v <= 0xDFFF:
			return rune(v), true
		}
		i += 5
	}
	return 0, false
}
