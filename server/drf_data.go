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
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/internal/charset"
)

// maxBody bounds request bodies (Django's default limit is 2.5 MB).
const maxBody = 1 << 20

// payload is a parsed request body: a JSON object or form values.
type payload struct {
	obj   map[string]json.RawMessage
	form  url.Values
	files map[string]bool // a multipart body's file fields
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
		if p.files[name] {
			return "", fieldInvalid // request.data's value is the file, added after the fields
		}
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
	if len(body) == 0 {
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
		text, e := jsonText(body, params["charset"])
		if e != nil {
			return nil, e
		}
		return parseJSONObject(text)
	case "application/x-www-form-urlencoded":
		return &payload{form: parseQuery(string(body))}, nil
	case "multipart/form-data":
		boundary := params["boundary"]
		if boundary == "" {
			return nil, &apiError{status: http.StatusBadRequest, body: detailOnly{Detail: "Multipart form parse error - Invalid boundary in multipart: None"}}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		vals := url.Values{}
		p := &payload{form: vals}
		// A body Django's multipart parser finds no parts in is empty data
		// to it (the fields are then required), never an error naming Go's
		// parser.
		if r.ParseMultipartForm(maxBody) == nil && r.MultipartForm != nil {
			for k, v := range r.MultipartForm.Value {
				vals[k] = v
			}
			for k := range r.MultipartForm.File {
				// A file where a string is expected: DRF's "Not a valid string."
				if p.files == nil {
					p.files = map[string]bool{}
				}
				p.files[k] = true
			}
			r.MultipartForm.RemoveAll()
		}
		return p, nil
	}
	return nil, &apiError{status: http.StatusUnsupportedMediaType,
		body: detailOnly{Detail: `Unsupported media type "` + ct + `" in request.`}}
}

// surrogate returns the lone UTF-16 surrogate escaped in the JSON string
// field name, which DRF's CharField refuses (Python keeps it in the
// string; encoding/json turns it into U+FFFD).
func (p *payload) surrogate(name string) (rune, bool) {
	if p == nil || p.form != nil {
		return 0, false
	}
	return loneSurrogate(p.obj[name])
}

// jsonText is a JSON body as UTF-8, decoded as DRF's JSONParser decodes
// it: with the charset the Content-Type names (UTF-8 by default; UTF-16
// and Latin-1 transcoded), invalid UTF-8 refused in the words of Python's
// decoder, a leading byte order mark in those of its json module. Other
// charsets are read as UTF-8.
func jsonText(body []byte, name string) ([]byte, *apiError) {
	parseError := func(msg string) *apiError {
		return &apiError{status: http.StatusBadRequest, body: detailOnly{Detail: "JSON parse error - " + msg}}
	}
	switch cs := strings.ToLower(strings.ReplaceAll(name, "_", "-")); cs {
	case "utf-16", "utf-16le", "utf-16be", "utf16":
		text, ok := charset.FromUTF16(body, cs)
		if !ok {
			return nil, parseError("'utf-16' codec can't decode the request body")
		}
		body = text
	case "latin-1", "latin1", "iso-8859-1", "iso8859-1", "l1":
		body = charset.FromLatin1(body)
	}
	if !utf8.Valid(body) {
		msg, cut, ok := pythonDecodeError(body)
		if ok {
			return nil, parseError(msg)
		}
		// A sequence cut off by the end: DRF's stream reader holds it back
		// and the JSON parser reads the text before it.
		body = body[:cut]
	}
	if bytes.HasPrefix(body, []byte("\xef\xbb\xbf")) {
		return nil, parseError("Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)")
	}
	return body, nil
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
