package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"unicode/utf8"
)

// apiError is a finished error response of a DRF view: its status and JSON body.
type apiError struct {
	status int
	body   any
}

type detailOnly struct {
	Detail string `json:"detail"`
}

type detailCode struct {
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

// fieldErrors maps a field (or "non_field_errors") to its messages, in the
// order the fields were checked.
type fieldErrors struct {
	keys []string
	msgs map[string][]string
}

func (f *fieldErrors) add(field, msg string) {
	if f.msgs == nil {
		f.msgs = map[string][]string{}
	}
	if _, ok := f.msgs[field]; !ok {
		f.keys = append(f.keys, field)
	}
	f.msgs[field] = append(f.msgs[field], msg)
}

func (f *fieldErrors) empty() bool { return len(f.keys) == 0 }

// MarshalJSON writes the fields in the order they were added.
func (f *fieldErrors) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range f.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, _ := marshal(f.msgs[k])
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func badRequest(f *fieldErrors) *apiError { return &apiError{status: http.StatusBadRequest, body: f} }

func nonField(msg string) *apiError {
	f := &fieldErrors{}
	f.add("non_field_errors", msg)
	return badRequest(f)
}

// marshal encodes v compactly without HTML escaping, as DRF's JSONRenderer does.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	out := b.Bytes()
	return out[:len(out)-1], nil // drop Encode's newline
}

// writeJSON writes a compact JSON body with DRF's content type (no charset).
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"detail":"A server error occurred."}`)
	}
	h := w.Header()
	h["Content-Type"] = hvJSON
	w.WriteHeader(status)
	w.Write(b)
}

// jsonAppender is a response that encodes itself without reflection (for
// the hot endpoints); its output must equal encoding/json's.
type jsonAppender interface {
	appendJSON([]byte) []byte
}

// appendString appends s as a JSON string the way marshal writes it (no
// HTML escaping; invalid UTF-8 replaced).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
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
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
