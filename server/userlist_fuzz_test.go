package server

import (
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// pyIntShape is the text Python's int() reads once the white space it
// strips (exactly unicode.IsSpace's, checked with CPython 3.11) is gone:
// one sign, then ASCII digits with single underscores between them.
var pyIntShape = regexp.MustCompile(`^([+-]?)([0-9]+(?:_[0-9]+)*)$`)

// FuzzUserListQuery checks the /api/users/ query: the page number reads
// as Python's int() reads it (DRF's paginator calls int()), and the next
// and previous links carry the query back, every value intact, keys
// sorted, page set or removed.
func FuzzUserListQuery(f *testing.F) {
	for _, q := range []string{"page=2", "page=2&foo=bar&format=json", "page=last", "page=0", "page=-1", "page=abc", "page=",
		"page=1.5", "page=++1", "page=%2B%2B1", "page=%2B-1", "page=-%2B1", "page=%201%20", "page=1_000", "page=1__0", "page=_1",
		"page=0000000000000000000002", "page=99999999999999999999", "page=9223372036854775807", "page=%1c3%1f", "page=%c2%a03",
		"page=%e3%80%803%0b", "page=%d9%a3", "email=user07@example.com&email=user08@example.com", "email=&foo=1",
		"username=%00&x=%ff", "a=1;b=2", "%zz=1&page=3", "page=2&page=3"} {
		f.Add(q, 3)
	}
	f.Fuzz(func(t *testing.T, rawQuery string, page int) {
		q, _ := url.ParseQuery(rawQuery) // lenient, as Request.URL.Query
		if vs := q["page"]; len(vs) > 0 {
			checkPythonInt(t, vs[len(vs)-1]) // the last value, as listUsers reads it
		}

		if page < 1 {
			page = 1
		}
		const base = "http://localhost/api/users/"
		link := withPage(base, q, page)
		rest, ok := strings.CutPrefix(link, base)
		if !ok {
			t.Fatalf("%q: link %q", rawQuery, link)
		}
		want := url.Values{}
		for k, vs := range q {
			want[k] = vs
		}
		delete(want, "page")
		if page != 1 {
			want["page"] = []string{strconv.Itoa(page)}
		}
		got := url.Values{}
		if rest != "" {
			var err error
			if got, err = url.ParseQuery(strings.TrimPrefix(rest, "?")); err != nil || rest[0] != '?' {
				t.Fatalf("%q: link %q does not parse: %v", rawQuery, link, err)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q page %d: link %q carries %v, want %v", rawQuery, page, link, got, want)
		}
		var keys []string
		for _, kv := range strings.Split(strings.TrimPrefix(rest, "?"), "&") {
			k, _, _ := strings.Cut(kv, "=")
			k, _ = url.QueryUnescape(k)
			keys = append(keys, k)
		}
		if !sort.StringsAreSorted(keys) {
			t.Fatalf("%q: link %q keys out of order (DRF sorts them by name)", rawQuery, link)
		}
	})
}

// checkPythonInt compares pythonInt(v) with Python's int(v), except for
// non-ASCII digits (int() reads them; pythonInt refuses them) and for
// numbers near the ends of int64 (either answer is "Invalid page.").
func checkPythonInt(t *testing.T, v string) {
	t.Helper()
	if strings.ContainsFunc(v, func(r rune) bool { return r > unicode.MaxASCII && unicode.IsDigit(r) }) {
		return
	}
	n, ok := pythonInt(v)
	wantN, wantOK := 0, false
	if m := pyIntShape.FindStringSubmatch(strings.TrimFunc(v, unicode.IsSpace)); m != nil {
		digits := strings.ReplaceAll(m[2], "_", "")
		if len(strings.TrimLeft(digits, "0")) >= 19 {
			return
		}
		parsed, _ := strconv.ParseInt(m[1]+digits, 10, 64)
		wantN, wantOK = int(parsed), true
	}
	if n != wantN || ok != wantOK {
		t.Fatalf("pythonInt(%q) = %d, %v; Python's int() gives %d, %v", v, n, ok, wantN, wantOK)
	}
}
