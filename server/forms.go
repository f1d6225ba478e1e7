package server

import (
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/gatehouse-auth/gatehouse/internal/querystr"
)

// The one place requests' query strings and HTML forms are read, as
// Django's QueryDict reads them (internal/querystr): a ';' or a stray '%'
// is part of a value, never a reason to drop it.

// queryOf is r's query string as Django's request.GET.
func queryOf(r *http.Request) url.Values { return parseQuery(r.URL.RawQuery) }

// lastValue is Django's QueryDict.get: the last value of name, "" when
// there is none.
func lastValue(v url.Values, name string) string {
	if vs := v[name]; len(vs) > 0 {
		return vs[len(vs)-1]
	}
	return ""
}

// formTooLarge reports a body that announces more than limit bytes. It is
// refused before any of it is read: a client that sent "Expect:
// 100-continue" then hears the refusal instead of having its connection
// reset while it sends what would not be read.
func formTooLarge(r *http.Request, limit int64) bool { return r.ContentLength > limit }

// readPostForm reads an urlencoded body of at most limit bytes into
// r.PostForm (and r.Form), as Django's request.POST; any other body reads
// as no fields, as net/http's ParseForm would. False when the body is
// larger than limit or cannot be read. A form already read is kept, as
// net/http's ParseForm keeps it.
func readPostForm(w http.ResponseWriter, r *http.Request, limit int64) bool {
	if r.PostForm != nil {
		return true
	}
	if formTooLarge(r, limit) {
		return false
	}
	form := url.Values{}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		if err != nil {
			return false
		}
		form = parseQuery(string(body))
	}
	r.PostForm, r.Form = form, form
	return true
}

// parseQuery reads a query string or an urlencoded body as QueryDict.
func parseQuery(s string) url.Values { return querystr.Parse(s) }
