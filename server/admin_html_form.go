package server

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/admin"
)

// The admin pages' forms and pagination: fields built in Go (label, help,
// value, errors), rendered by the "field", "check" and "checklist"
// templates of fields.html; a service's EINVALID error spread over the
// fields it names.

// siteField is one input of a form.
type siteField struct {
	Name, Label, Type string
	Value             string
	Help              string
	Autocomplete      string
	Required          bool
	Readonly          bool
	Checked           bool // a checkbox
	Multiple          bool // a select
	Size, Rows        int
	Options           []siteOption // a select or a checklist
	Errors            []string
	// ID is the element's id ("id_" + Name unless set).
	ID string
}

// siteOption is one choice of a select or a checklist.
type siteOption struct {
	Value, Label string
	Selected     bool
}

// Describedby lists the ids of the help and the errors of f, for
// aria-describedby ("" when there are none).
func (f siteField) Describedby() string {
	var ids []string
	if f.Help != "" {
		ids = append(ids, f.ID+"-help")
	}
	if len(f.Errors) > 0 {
		ids = append(ids, f.ID+"-errors")
	}
	return strings.Join(ids, " ")
}

// siteForm is a form's fields and its errors, as a page shows them.
type siteForm struct {
	Fields []siteField
	// Errors are the problems of no field of the form (or of a field the
	// form does not show), listed at its top.
	Errors []string
}

// newSiteForm prepares fields (their ids) and spreads err over them: an
// EINVALID error's field errors go to the fields they name, the others
// (and any other error's message) to the form's top.
func newSiteForm(err error, fields ...siteField) *siteForm {
	f := &siteForm{Fields: fields}
	for i := range f.Fields {
		if f.Fields[i].ID == "" {
			f.Fields[i].ID = "id_" + f.Fields[i].Name
		}
	}
	if err == nil {
		return f
	}
	var e *gatehouse.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		f.Errors = append(f.Errors, gatehouse.ErrorMessage(err))
		return f
	}
	for _, fe := range e.Fields {
		i := slices.IndexFunc(f.Fields, func(x siteField) bool { return x.Name == fe.Field })
		msg := siteFieldMessage(fe)
		if i < 0 {
			label := fe.Field
			if label == "non_field_errors" || label == "" {
				f.Errors = append(f.Errors, msg)
				continue
			}
			f.Errors = append(f.Errors, label+": "+msg)
			continue
		}
		f.Fields[i].Errors = append(f.Fields[i].Errors, msg)
	}
	return f
}

// siteFieldMessage words a field error for a person, as Django's forms
// word the common codes.
func siteFieldMessage(fe gatehouse.FieldError) string {
	switch fe.Code {
	case gatehouse.FieldRequired, gatehouse.FieldBlank:
		return "This field is required."
	case gatehouse.FieldUnique:
		if fe.Field == "username" {
			return "A user with that username already exists."
		}
		return "This value is already taken."
	}
	if fe.Message == "" {
		return "This value is not valid."
	}
	m := fe.Message
	return strings.ToUpper(m[:1]) + m[1:]
}

// Field returns the field named name (for a template that places it).
func (f *siteForm) Field(name string) siteField {
	for _, x := range f.Fields {
		if x.Name == name {
			return x
		}
	}
	panic("admin form: no field " + name)
}

// HasErrors reports whether any field or the form has an error.
func (f *siteForm) HasErrors() bool {
	if len(f.Errors) > 0 {
		return true
	}
	return slices.ContainsFunc(f.Fields, func(x siteField) bool { return len(x.Errors) > 0 })
}

// siteProblem is one line of a form's error summary: Href links to the
// field in error ("" for an error of the whole form).
type siteProblem struct{ Text, Href string }

// Summary lists every error of the form, each field's with its label and
// a link to it.
func (f *siteForm) Summary() []siteProblem {
	var out []siteProblem
	for _, e := range f.Errors {
		out = append(out, siteProblem{Text: e})
	}
	for _, x := range f.Fields {
		for _, e := range x.Errors {
			out = append(out, siteProblem{Text: x.Label + ": " + e, Href: "#" + x.ID})
		}
	}
	return out
}

// siteFormBool reads a checkbox.
func siteFormBool(v url.Values, name string) bool { return v.Get(name) == "on" }

// siteFormIDs reads the ids a checklist posted, ignoring duplicates; a value
// that is not an id is an error naming the field.
func siteFormIDs(v url.Values, name string) ([]int64, error) {
	ids := []int64{}
	for _, s := range v[name] {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return nil, gatehouse.Invalid(gatehouse.FieldError{Field: name, Code: gatehouse.FieldInvalid,
				Message: "Select a valid choice. " + s + " is not one of the available choices."})
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// siteTriState reads a yes/no/any filter: nil for any.
func siteTriState(s string) *bool {
	switch s {
	case "yes", "true", "1":
		b := true
		return &b
	case "no", "false", "0":
		b := false
		return &b
	}
	return nil
}

// siteTriOptions are the choices of a yes/no/any filter.
func siteTriOptions(cur string) []siteOption {
	return []siteOption{{"", "Any", cur == ""}, {"yes", "Yes", cur == "yes"}, {"no", "No", cur == "no"}}
}

// sitePager is the pagination of a listing: links to pages that keep the
// listing's filters.
type sitePager struct {
	Page, Pages, Count int
	// Capped: the listing counted up to Count and has more; Pages is
	// unknown, Last asks for the last page by name.
	Capped                  bool
	First, Prev, Next, Last string
	Around                  []sitePageLink
}

type sitePageLink struct {
	N       int
	Href    string
	Current bool
}

// newSitePager links the pages of a listing of count items, size a page,
// page number being shown, at path with the query q (its "page"
// replaced).
func newSitePager(path string, q url.Values, number, size, count int) *sitePager {
	pages := max(1, (count+size-1)/size)
	link := sitePageHref(path, q)
	p := &sitePager{Page: number, Pages: pages, Count: count}
	if number > 1 {
		p.Prev = link(number - 1)
		if number > 2 {
			p.First = link(1)
		}
	}
	if number < pages {
		p.Next = link(number + 1)
		if number < pages-1 {
			p.Last = link(pages)
		}
	}
	for n := max(1, number-3); n <= min(pages, number+3); n++ {
		p.Around = append(p.Around, sitePageLink{N: n, Href: link(n), Current: n == number})
	}
	return p
}

// newSiteCappedPager links the pages of a listing that counted up to
// count and holds more (admin.Listing.Capped): the pages up to this one,
// the next when next, and the last by name (?page=last, counted then).
func newSiteCappedPager(path string, q url.Values, number, count int, next bool) *sitePager {
	link := sitePageHref(path, q)
	p := &sitePager{Page: number, Count: count, Capped: true}
	if number > 1 {
		p.Prev = link(number - 1)
		if number > 2 {
			p.First = link(1)
		}
	}
	last := number
	if next {
		p.Next = link(number + 1)
		p.Last = link(0)
		last = number + 1
	}
	for n := max(1, number-3); n <= last; n++ {
		p.Around = append(p.Around, sitePageLink{N: n, Href: link(n), Current: n == number})
	}
	return p
}

// sitePageHref returns the link to page n (0: the last page by name) of
// the listing at path with the query q, its other parameters kept.
func sitePageHref(path string, q url.Values) func(n int) string {
	return func(n int) string {
		v := url.Values{}
		for k, vs := range q {
			if k != "page" && k != "done" && k != "n" {
				v[k] = vs
			}
		}
		switch {
		case n == 0:
			v.Set("page", "last")
		case n > 1:
			v.Set("page", strconv.Itoa(n))
		}
		if len(v) == 0 {
			return path
		}
		return path + "?" + v.Encode()
	}
}

// sitePageNumber reads ?page= (1 when absent): "last" is the last page;
// anything else not a positive number is 0, which the service refuses.
func sitePageNumber(q url.Values) (n int, last bool) {
	s := q.Get("page")
	switch s {
	case "":
		return 1, false
	case "last":
		return 0, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return -1, false
	}
	return n, false
}

// siteList reads one page of a listing for the page at path (under the
// site): ?page= decoded, list called, an error or a page past the last
// answered (false), else the items and their pager.
func siteList[T any](s *Server, w http.ResponseWriter, r *http.Request, a *siteRequest, path string,
	list func(admin.Page) (admin.Listing[T], error)) ([]T, *sitePager, bool) {
	number, last := sitePageNumber(queryOf(r))
	l, err := list(admin.Page{Number: number, Size: siteListPageSize, Last: last})
	if err != nil {
		s.siteFail(w, r, a, err)
		return nil, nil, false
	}
	if l.OutOfRange() {
		s.siteErrorPage(w, r, a, http.StatusNotFound, "Not found", "Invalid page.")
		return nil, nil, false
	}
	return l.Items, newSitePager(s.url(path), queryOf(r), l.Page.Number, l.Page.Size, l.Count), true
}

// siteID reads the path's {id}; false (and a 404 page saying there is no
// such what) when it is no id.
func (s *Server) siteID(w http.ResponseWriter, r *http.Request, a *siteRequest, what string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.siteErrorPage(w, r, a, http.StatusNotFound, "Not found", "There is no such "+what+".")
		return 0, false
	}
	return id, true
}

// siteFetch reads the path's {id} and the thing get returns for it; false
// when it answered (a 404 for no id, the service's refusal).
func siteFetch[T any](s *Server, w http.ResponseWriter, r *http.Request, a *siteRequest, what string, get func(id int64) (T, error)) (int64, T, bool) {
	var zero T
	id, ok := s.siteID(w, r, a, what)
	if !ok {
		return 0, zero, false
	}
	v, err := get(id)
	if err != nil {
		s.siteFail(w, r, a, err)
		return 0, zero, false
	}
	return id, v, true
}

// siteConfirmDelete asks to confirm (GET) and deletes (POST) the thing
// the path's id names: get reads it for the confirmation page, del deletes
// it, and the browser goes back to the section's list.
func siteConfirmDelete[T any](s *Server, w http.ResponseWriter, r *http.Request, a *siteRequest, what, section, page, perm string,
	get func(id int64) (T, error), del func(id int64) error, title func(T) string) {
	if !s.siteRequire(w, r, a, perm) {
		return
	}
	id, cur, ok := siteFetch(s, w, r, a, what, get)
	if !ok {
		return
	}
	if r.Method == http.MethodPost {
		if err := del(id); err != nil {
			s.siteFail(w, r, a, err)
			return
		}
		s.siteRedirect(w, sitePrefix+section+"/", "deleted", 0)
		return
	}
	s.siteRender(w, r, a, http.StatusOK, page, siteView{Title: title(cur), Section: section, Data: cur})
}
