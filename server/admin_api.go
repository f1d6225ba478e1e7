package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse/admin"
)

// The admin API (/api/admin/, docs/admin-api.md): JSON views over package
// admin, in DRF's shapes, one file per resource (admin_api_users.go,
// admin_api_groups.go, ...). This file holds what they share: the view
// maker that turns the authenticated principal into an admin.Actor, the
// pagination of listings, and the readers of JSON fields DRF's serializers
// would parse (booleans, lists of ids). Every decision is the service's;
// every error goes through errors.go (s.internal).

// adminHandler serves one method of an admin view for actor a.
type adminHandler func(s *Server, c *call, a admin.Actor) *apiError

// adminView is a DRF view of the admin API: any of the /api/ schemes
// authenticates (a client's own OAuth token included), then the admin
// service decides whether the caller may administer (admin.Service.ActorFor:
// 403 otherwise) and each operation what it may do. Bodies are JSON.
func (s *Server) adminView(name string, methods map[string]adminHandler) http.Handler {
	v := &apiView{name: name, perm: permAdmin, renders: []string{"application/json"}, parses: []string{"application/json"},
		methods: map[string]handlerFunc{}}
	for m, h := range methods {
		v.methods[m] = func(s *Server, c *call) *apiError {
			a, err := s.admin.ActorFor(c.r.Context(), c.principal)
			if err != nil {
				return s.internal(c, err)
			}
			return h(s, c, a)
		}
	}
	return s.view(v)
}

// adminIDHandler serves one method of an admin view on the object the
// path's {id} names.
type adminIDHandler func(s *Server, c *call, a admin.Actor, id int64) *apiError

// byID adapts h to a view: a path id that is not a positive number is 404.
func byID(h adminIDHandler) adminHandler {
	return func(s *Server, c *call, a admin.Actor) *apiError {
		id, ok := pathID(c, "id")
		if !ok {
			return notFoundAPI()
		}
		return h(s, c, a, id)
	}
}

// answer is an admin view's response to a service call: its error through
// errors.go, else status with v (204: no body).
func (s *Server) answer(c *call, err error, status int, v any) *apiError {
	if err != nil {
		return s.internal(c, err)
	}
	if status == http.StatusNoContent {
		return noContent(c)
	}
	c.respond(status, v)
	return nil
}

// adminPage reads DRF's PageNumberPagination parameters: ?page= (a number
// from 1, or "last"; anything else is 404 "Invalid page.") and
// ?page_size= (as DRF's page_size_query_param: a bad value means the
// default, a larger one admin.MaxPageSize).
func adminPage(c *call) (admin.Page, *apiError) {
	q := queryOf(c.r)
	p := admin.Page{Number: 1, Size: admin.DefaultPageSize}
	if vs := q["page_size"]; len(vs) > 0 {
		if n, ok := pythonInt(vs[len(vs)-1]); ok && n > 0 {
			p.Size = min(n, admin.MaxPageSize)
		}
	}
	if vs := q["page"]; len(vs) > 0 {
		v := vs[len(vs)-1]
		if v == "last" {
			p.Last = true
		} else if n, ok := pythonInt(v); ok && n >= 1 {
			p.Number = n
		} else {
			return p, invalidPage()
		}
	}
	return p, nil
}

// listPage is a page of a listing as DRF's PageNumberPagination writes it.
type listPage[T any] struct {
	Count int `json:"count"`
	// CountCapped says that more than count items match: the listing
	// stopped counting at admin.MaxCount (the users).
	CountCapped bool    `json:"count_capped,omitempty"`
	Next        *string `json:"next"`
	Previous    *string `json:"previous"`
	Results     []T     `json:"results"`
}

// respondListing answers one page of l, each item shown by out; a page
// past the last is 404 "Invalid page.".
func respondListing[T, O any](s *Server, c *call, l admin.Listing[T], out func(T) O) *apiError {
	if l.OutOfRange() {
		return invalidPage()
	}
	page := listPage[O]{Count: l.Count, CountCapped: l.Capped, Results: make([]O, 0, len(l.Items))}
	for _, it := range l.Items {
		page.Results = append(page.Results, out(it))
	}
	q := queryOf(c.r)
	base := s.absoluteURL(c.r)
	if n := l.Page.Number; l.Next {
		next := withPage(base, q, n+1)
		page.Next = &next
	}
	if n := l.Page.Number; n > 1 {
		prev := withPage(base, q, n-1)
		page.Previous = &prev
	}
	c.respond(http.StatusOK, page)
	return nil
}

// pathID reads the integer id in the path's {name}: false for anything
// that is not a positive decimal number (Django's <int:pk> would not
// match: 404).
func pathID(c *call, name string) (int64, bool) {
	v := c.r.PathValue(name)
	if v == "" || len(v) > 18 || strings.Trim(v, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && n > 0
}

// notFoundAPI is DRF's 404 of a detail view.
func notFoundAPI() *apiError {
	return &apiError{status: http.StatusNotFound, body: detailOnly{Detail: "Not found."}}
}

// queryBool reads a boolean filter (?is_active=true): nil when absent or
// empty; DRF's and django-filter's spellings; anything else is a field
// error.
func queryBool(c *call, errs *fieldErrors, name string) *bool {
	vs := queryOf(c.r)[name]
	if len(vs) == 0 || vs[len(vs)-1] == "" {
		return nil
	}
	b, ok := parseBool(vs[len(vs)-1])
	if !ok {
		errs.add(name, "Must be a valid boolean.")
		return nil
	}
	return &b
}

// parseBool reads the values DRF's BooleanField takes as true or false.
func parseBool(v string) (bool, bool) {
	switch v {
	case "true", "True", "TRUE", "t", "T", "yes", "Yes", "YES", "y", "Y", "on", "On", "ON", "1":
		return true, true
	case "false", "False", "FALSE", "f", "F", "no", "No", "NO", "n", "N", "off", "Off", "OFF", "0":
		return false, true
	}
	return false, false
}

// boolField reads a JSON body's boolean field as DRF's BooleanField: nil
// when absent; true, false, 1, 0 and their string spellings; null and
// anything else are field errors.
func boolField(p *payload, errs *fieldErrors, name string) *bool {
	raw, ok := p.obj[name]
	if !ok {
		return nil
	}
	raw = bytes.TrimSpace(raw)
	var b bool
	switch {
	case string(raw) == "null":
		errs.add(name, msgNull)
		return nil
	case string(raw) == "true" || string(raw) == "1":
		b = true
	case string(raw) == "false" || string(raw) == "0":
		b = false
	case len(raw) > 0 && raw[0] == '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			errs.add(name, "Must be a valid boolean.")
			return nil
		}
		if b, ok = parseBool(s); !ok {
			errs.add(name, "Must be a valid boolean.")
			return nil
		}
	default:
		errs.add(name, "Must be a valid boolean.")
		return nil
	}
	return &b
}

// idsField reads a JSON body's list of primary keys as DRF's
// PrimaryKeyRelatedField(many=True): nil when absent; a list of integers
// (or strings of digits); anything else is a field error in DRF's words.
func idsField(p *payload, errs *fieldErrors, name string) *[]int64 {
	raw, ok := p.obj[name]
	if !ok {
		return nil
	}
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		errs.add(name, msgNull)
		return nil
	}
	var items []json.RawMessage
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
		errs.add(name, `Expected a list of items but got type "`+jsonTypeName(raw)+`".`)
		return nil
	}
	ids := make([]int64, 0, len(items))
	bad := false
	for _, it := range items {
		v := string(bytes.TrimSpace(it))
		if len(v) > 1 && v[0] == '"' {
			v = v[1 : len(v)-1]
		}
		if v == "" || len(v) > 18 || strings.Trim(v, "0123456789") != "" {
			errs.add(name, "Incorrect type. Expected pk value, received "+jsonTypeName(it)+".")
			bad = true
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		ids = append(ids, n)
	}
	if bad {
		return nil
	}
	return &ids
}

// jsonTypeName is the Python type name of a JSON value, as DRF's messages
// say it.
func jsonTypeName(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "str"
	}
	switch c := raw[0]; {
	case c == '"':
		return "str"
	case c == '{':
		return "dict"
	case c == '[':
		return "list"
	case c == 't' || c == 'f':
		return "bool"
	case c == 'n':
		return "NoneType"
	case bytes.ContainsAny(raw, ".eE"):
		return "float"
	}
	return "int"
}

// optChar reads an optional string field with DRF's CharField rules
// (charField): nil when absent.
func optChar(p *payload, errs *fieldErrors, name string, allowBlank bool, max int) *string {
	if _, st := p.str(name); st == fieldMissing {
		return nil
	}
	v, ok := charField(p, errs, name, false, allowBlank, max)
	if !ok {
		return nil
	}
	return &v
}

// adminBody parses a request body as a JSON object, with the parse
// errors to collect.
func adminBody(c *call) (*payload, *fieldErrors, *apiError) {
	p, e := c.data()
	if e != nil {
		return nil, nil, e
	}
	if p.obj == nil {
		p.obj = map[string]json.RawMessage{}
	}
	return p, &fieldErrors{}, nil
}
