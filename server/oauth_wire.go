package server

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/jsonstr"
	"github.com/gatehouse-auth/gatehouse/oauth"
)

// dotView answers methods as a Django class-based view does: OPTIONS 200
// with an empty body, any method not listed 405 with Allow.
func dotView(h http.HandlerFunc, methods ...string) http.Handler {
	allow := strings.Join(append(append([]string{}, methods...), "OPTIONS"), ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			w.Header().Set("Allow", allow)
			emptyHTML(w, http.StatusOK)
			return
		}
		for _, m := range methods {
			if r.Method == m {
				h(w, r)
				return
			}
		}
		w.Header().Set("Allow", allow)
		emptyHTML(w, http.StatusMethodNotAllowed)
	})
}

// getHeadPost answers OPTIONS with 200 and Allow, and any method other
// than GET, HEAD and POST with 405 and Allow, as Django's views do; it
// reports whether the request may go on.
func getHeadPost(w http.ResponseWriter, r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
		return true
	}
	w.Header().Set("Allow", "GET, POST, HEAD, OPTIONS")
	if r.Method == http.MethodOptions {
		emptyHTML(w, http.StatusOK)
	} else {
		emptyHTML(w, http.StatusMethodNotAllowed)
	}
	return false
}

// emptyHTML writes an empty response with Django's default content type.
func emptyHTML(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
}

// writeOAuthError writes e as oauthlib does: JSON with DOT's separators,
// no-store headers, and a Bearer challenge on invalid_client.
func writeOAuthError(w http.ResponseWriter, e *oauth.Error) {
	body := []kv{{"error", e.Code}}
	if e.Description != "" {
		body = append(body, kv{"error_description", e.Description})
	}
	h := w.Header()
	if e.Code == "invalid_client" {
		h.Set("WWW-Authenticate", `Bearer error="invalid_client"`)
	}
	writeDOTJSON(w, e.Status, body...)
}

// kv is one member of a JSON object written in order.
type kv struct {
	k string
	v any
}

// dotJSON encodes members in order with Python's json.dumps separators
// (", " and ": "), as DOT writes its bodies.
func dotJSON(members ...kv) []byte {
	b := make([]byte, 0, 256)
	b = append(b, '{')
	for i, m := range members {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = jsonstr.Append(b, m.k)
		b = append(b, ": "...)
		// Strings and integers, the members of every token response, are
		// written directly; anything else through encoding/json.
		switch v := m.v.(type) {
		case string:
			b = jsonstr.Append(b, v)
		case int:
			b = strconv.AppendInt(b, int64(v), 10)
		case int64:
			b = strconv.AppendInt(b, v, 10)
		default:
			out, err := marshal(v)
			if err != nil {
				out = []byte("null")
			}
			b = append(b, out...)
		}
	}
	return append(b, '}')
}

// noStore marks a response that carries a credential: no cache may keep
// it (Cache-Control: no-store, and Pragma: no-cache for HTTP/1.0 caches,
// as RFC 6749 5.1 asks of token responses). It allocates nothing.
func noStore(w http.ResponseWriter) {
	h := w.Header()
	h["Cache-Control"], h["Pragma"] = hvNoStore, hvNoCache
}

// writeDOTJSON writes a JSON answer of a DOT endpoint. Each carries a
// credential or says something of one (token, error, introspection), so
// none is cached: Cache-Control no-store and Pragma no-cache, as oauthlib
// sets them on the token endpoint's answers.
func writeDOTJSON(w http.ResponseWriter, status int, members ...kv) {
	w.Header()["Content-Type"] = hvJSON
	noStore(w)
	w.WriteHeader(status)
	w.Write(dotJSON(members...))
}

// oauthForm reads the parameters of a DOT view: the urlencoded or
// multipart body only (DOT reads request.POST). Any other body, JSON
// included, reads as no parameters, which is why a JSON token request is
// answered unsupported_grant_type.
func oauthForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if formTooLarge(r, maxBody) {
		return nil, &http.MaxBytesError{Limit: maxBody}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/x-www-form-urlencoded":
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		return parseQuery(string(body)), nil
	case "multipart/form-data":
		if params["boundary"] == "" {
			return url.Values{}, nil
		}
		if err := r.ParseMultipartForm(maxBody); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return nil, err
			}
			return url.Values{}, nil
		}
		v := url.Values{}
		if r.MultipartForm != nil {
			for k, vs := range r.MultipartForm.Value {
				v[k] = vs
			}
		}
		return v, nil
	}
	io.Copy(io.Discard, r.Body)
	return url.Values{}, nil
}

// readOAuthForm reads the parameters or answers the error itself.
// readPostOnlyForm is readOAuthForm for the endpoints whose parameters
// must not be in the URL, where they leak into logs (the token and
// revocation endpoints; DOT answers 500 to a query string there).
func readPostOnlyForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if r.URL.RawQuery != "" {
		writeOAuthError(w, oauth.ErrInvalidRequest("URL query parameters are not allowed"))
		return nil, false
	}
	return readOAuthForm(w, r)
}

func readOAuthForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	form, err := oauthForm(w, r)
	if err != nil {
		writeOAuthError(w, oauth.ErrInvalidRequest("The request body could not be read."))
		return nil, false
	}
	return form, true
}
