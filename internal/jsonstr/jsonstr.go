// Package jsonstr quotes strings as JSON exactly as the standard library's
// encoders do, without their reflection: the hot responses' hand-written
// encoders (server) and the log's JSON handler (internal/jsonlog) share it.
// Both encoders escape ", \ and bytes below 0x20, write invalid UTF-8 as
// \ufffd, escape U+2028 and U+2029 and leave <, > and & alone (no HTML
// escaping); they differ only in \b and \f.
package jsonstr

import "unicode/utf8"

// Append appends s quoted as encoding/json (with SetEscapeHTML(false))
// quotes it: \b and \f in their short forms.
func Append(b []byte, s string) []byte { return appendQuoted(b, s, true) }

// AppendSlog appends s quoted as log/slog's JSON handler quotes it: as
// Append, but \b and \f written \u0008 and \u000c.
func AppendSlog(b []byte, s string) []byte { return appendQuoted(b, s, false) }

const hex = "0123456789abcdef"

func appendQuoted(b []byte, s string, shortBF bool) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b' && shortBF:
				b = append(b, '\\', 'b')
			case c == '\f' && shortBF:
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
