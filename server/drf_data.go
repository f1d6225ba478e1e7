package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// maxBody bounds request bodies (Django's default limit is 2.5 MB).
const maxBody = 1 << 20

// payload is a parsed request body: a JSON object or form values.
type payload struct {
	obj  map[string]json.RawMessage
	form url.Values
}

type fieldState int

const (
	fieldMissing fieldState = iota
	fieldNull
	fieldString
	fieldInvalid // present but not a string, number or null
)

// str reads a field as DRF's CharField would see it (numbers become their
// text; true/false, lists and objects are invalid).
func (p *payload) str(name string) (string, fieldState) {
	if p == nil {
		return "", fieldMissing
	}
	if p.form != nil {
		vs, ok := p.form[name]
		if !ok || len(vs) == 0 {
			return "", fieldMissing
		}
		return vs[len(vs)-1], fieldString
	}
	raw, ok := p.obj[name]
	if !ok {
		return "", fieldMissing
	}
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0:
		return "", fieldMissing
	case string(raw) == "null":
		return "", fieldNull
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fieldInvalid
		}
		return s, fieldString
	case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
		return string(raw), fieldString
	}
	return "", fieldInvalid
}

// readBody parses the body as DRF's JSON, form and multipart parsers do.
// parses lists the media types the view accepts.
func readBody(w http.ResponseWriter, r *http.Request, parses []string) (*payload, *apiError) {
	ct := r.Header.Get("Content-Type")
	tooLarge := &apiError{status: http.StatusRequestEntityTooLarge, body: detailOnly{Detail: "Request body is too large."}}
	if formTooLarge(r, maxBody) {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, tooLarge
		}
		return nil, &apiError{status: http.StatusBadRequest, body: detailOnly{Detail: "Could not read the request body."}}
	}
	if len(body) == 0 || ct == "" {
		// DRF sees no stream: the data is empty.
		return &payload{obj: map[string]json.RawMessage{}}, nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	}
	accepted := false
	for _, p := range parses {
		if p == mt {
			accepted = true
		}
	}
	if !accepted {
		return nil, &apiError{status: http.StatusUnsupportedMediaType,
			body: detailOnly{Detail: `Unsupported media type "` + ct + `" in request.`}}
	}
	switch mt {
	case "application/json":
		return parseJSONObject(body)
	case "application/x-www-form-urlencoded":
		return &payload{form: parseQuery(string(body))}, nil
	case "multipart/form-data":
		boundary := params["boundary"]
		if boundary == "" {
			return nil, &apiError{status: http.StatusBadRequest, body: detailOnly{Detail: "Multipart form parse error - Invalid boundary in multipart: None"}}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := r.ParseMultipartForm(maxBody); err != nil {
			return nil, &apiError{status: http.StatusBadRequest, body: detailOnly{Detail: "Multipart form parse error - " + err.Error()}}
		}
		vals := url.Values{}
		if r.MultipartForm != nil {
			for k, v := range r.MultipartForm.Value {
				vals[k] = v
			}
			r.MultipartForm.RemoveAll()
		}
		return &payload{form: vals}, nil
	}
	return nil, &apiError{status: http.StatusUnsupportedMediaType,
		body: detailOnly{Detail: `Unsupported media type "` + ct + `" in request.`}}
}

// parseJSONObject decodes a JSON body that must be an object.
func parseJSONObject(body []byte) (*payload, *apiError) {
	if !json.Valid(body) {
		return nil, &apiError{status: http.StatusBadRequest, body: detailOnly{Detail: "JSON parse error - " + pythonJSONError(body)}}
	}
	trimmed := bytes.TrimSpace(body)
	switch trimmed[0] {
	case '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &obj); err != nil {
			return nil, &apiError{status: http.StatusBadRequest, body: detailOnly{Detail: "JSON parse error - " + err.Error()}}
		}
		return &payload{obj: obj}, nil
	case 'n':
		return nil, nonField("This field may not be null.")
	}
	kind := "str"
	switch c := trimmed[0]; {
	case c == '[':
		kind = "list"
	case c == 't' || c == 'f':
		kind = "bool"
	case c == '-' || c >= '0' && c <= '9':
		kind = "int"
		if bytes.ContainsAny(trimmed, ".eE") {
			kind = "float"
		}
	}
	return nil, nonField("Invalid data. Expected a dictionary, but got " + kind + ".")
}
