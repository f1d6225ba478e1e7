package server

import (
	"bytes"
	"encoding/json"
	"net/http"
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
