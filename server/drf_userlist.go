package server

import (
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
)

type userPage struct {
	Count    int       `json:"count"`
	Next     *string   `json:"next"`
	Previous *string   `json:"previous"`
	Results  []userOut `json:"results"`
}

func invalidPage() *apiError {
	return &apiError{status: http.StatusNotFound, body: detailOnly{Detail: "Invalid page."}}
}

// listUsers answers like DRF's PageNumberPagination over an exact-match
// django-filter FilterSet on email and username, over the users the
// caller may list (Config.UserList).
func (s *Server) listUsers(c *call) *apiError {
	q := queryOf(c.r)
	last := func(k string) string { return lastValue(q, k) }
	// The filter form's CharFields refuse NUL (django-filter's form
	// errors, 400), in the FilterSet's field order.
	bad := &fieldErrors{}
	for _, k := range []string{"email", "username"} {
		if strings.ContainsRune(last(k), 0) {
			bad.add(k, msgNullCharacters)
		}
	}
	if !bad.empty() {
		return badRequest(bad)
	}
	f, err := s.cfg.UserList.Restrict(c.user.User, gatehouse.UserFilter{Username: last("username"), Email: last("email")})
	if err != nil {
		return s.internal(c, err)
	}
	ctx := c.r.Context()
	count, err := s.accounts.Count(ctx, f)
	if err != nil {
		return s.internal(c, err)
	}
	size := s.cfg.PageSize
	pages := (count + size - 1) / size
	if pages < 1 {
		pages = 1 // an empty first page is allowed
	}
	page := 1
	if raw, ok := q["page"]; ok {
		v := raw[len(raw)-1]
		if v == "last" {
			page = pages
		} else {
			n, ok := pythonInt(v)
			if !ok || n < 1 || n > pages {
				return invalidPage()
			}
			page = n
		}
	}
	users, err := s.accounts.List(ctx, f, (page-1)*size, size)
	if err != nil {
		return s.internal(c, err)
	}
	out := userPage{Count: count, Results: make([]userOut, 0, len(users))}
	for _, u := range users {
		out.Results = append(out.Results, toUserOut(u))
	}
	base := s.absoluteURL(c.r)
	if page < pages {
		next := withPage(base, q, page+1)
		out.Next = &next
	}
	if page > 1 {
		prev := withPage(base, q, page-1)
		out.Previous = &prev
	}
	c.respond(http.StatusOK, out)
	return nil
}

// pythonInt parses like Python's int(str): surrounding white space (Go's
// unicode.IsSpace is the set int() strips) and one sign are allowed, as
// are single underscores between ASCII digits. A value beyond int is
// refused: the caller compares it with a page count.
func pythonInt(s string) (int, bool) {
	s = strings.TrimSpace(s)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' || strings.Contains(s, "__") {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
		case c < '0' || c > '9' || n > (math.MaxInt-int(c-'0'))/10:
			return 0, false
		default:
			n = n*10 + int(c-'0')
		}
	}
	if neg {
		n = -n
	}
	return n, true
}

// absoluteURL is scheme://host/path of the request (under the mount
// prefix), without query.
func (s *Server) absoluteURL(r *http.Request) string {
	o := s.originOf(r)
	return o.scheme + "://" + o.host + s.url(r.URL.EscapedPath())
}

// withPage rebuilds the query with page set (or removed for page 1), keys
// sorted, as DRF's replace_query_param and remove_query_param do.
func withPage(base string, q url.Values, page int) string {
	vals := url.Values{}
	for k, v := range q {
		vals[k] = v
	}
	if page == 1 {
		delete(vals, "page")
	} else {
		vals["page"] = []string{strconv.Itoa(page)}
	}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range vals[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k))
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(v))
		}
	}
	if b.Len() == 0 {
		return base
	}
	return base + "?" + b.String()
}
