package server

import (
	"fmt"
	"unicode/utf8"
)

// pythonJSONError describes why data is not valid JSON in the words of
// Python's json module, which DRF puts after "JSON parse error - ". It is
// only called on input encoding/json already refused.
func pythonJSONError(data []byte) string {
	p := &pyScanner{s: data}
	p.ws()
	if msg, at, ok := p.value(); !ok {
		return p.where(msg, at)
	}
	p.ws()
	if p.i < len(p.s) {
		return p.where("Extra data", p.i)
	}
	return p.where("Expecting value", 0)
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
	case p.lit("true"), p.lit("false"), p.lit("null"), p.lit("NaN"), p.lit("Infinity"):
		return "", 0, true
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
			return "", 0, true
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
