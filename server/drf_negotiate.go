package server

import (
	"net/http"
	"strings"
)

// negotiate picks the renderer as DRF's DefaultContentNegotiation does:
// ?format= (its last value) keeps the renderers of that format (none: 404),
// then the Accept header's media types are tried most specific first (by
// precedence, not by q), and within one precedence the view's renderers in
// their order (JSON, then the browsable page), so "text/html,
// application/json" is JSON. No Accept header is */*; an empty one
// matches nothing (406). The JSON renderer honours an indent parameter
// (0 to 8).
func (c *call) negotiate() *apiError {
	renderers := []string{"application/json"}
	if c.canHTML() {
		renderers = append(renderers, "text/html")
	}
	if c.r.URL.RawQuery != "" {
		if f := lastValue(queryOf(c.r), "format"); f != "" {
			switch {
			case f == "json":
				renderers = renderers[:1]
			case f == "api" && c.canHTML():
				renderers = renderers[1:]
			default:
				return &apiError{status: http.StatusNotFound, body: detailOnly{Detail: "Not found."}}
			}
		}
	}
	values, present := c.r.Header["Accept"]
	if !present {
		values = []string{"*/*"}
	}
	if len(values) == 1 && (values[0] == "*/*" || values[0] == "application/json") && renderers[0] == "application/json" {
		return nil // the usual answer, without parsing
	}
	var accepts []acceptedType
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			accepts = append(accepts, parseAccepted(part))
		}
	}
	for prec := 3; prec >= 0; prec-- {
		for _, renderer := range renderers {
			main, sub, _ := strings.Cut(renderer, "/")
			for _, a := range accepts {
				if a.precedence() != prec || !a.matches(main, sub) {
					continue
				}
				if renderer == "text/html" {
					c.html = true
				} else if n, ok := pythonInt(a.params["indent"]); ok && n > 0 {
					c.indent = min(n, 8)
				}
				return nil
			}
		}
	}
	return &apiError{status: http.StatusNotAcceptable, body: detailOnly{Detail: "Could not satisfy the request Accept header."}}
}

// acceptedType is one media type of an Accept header, as DRF's _MediaType
// reads it: the type lower-cased and split at its slash, the parameters
// by lower-cased name.
type acceptedType struct {
	main, sub string
	params    map[string]string
}

func parseAccepted(s string) acceptedType {
	full, rest, _ := strings.Cut(s, ";")
	var a acceptedType
	a.main, a.sub, _ = strings.Cut(strings.ToLower(strings.TrimSpace(full)), "/")
	for rest != "" {
		var p string
		p, rest, _ = strings.Cut(rest, ";")
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		if a.params == nil {
			a.params = map[string]string{}
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		a.params[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return a
}

// precedence is DRF's: */* 0, type/* 1, a full type without parameters
// (q aside) 2, with parameters 3.
func (a acceptedType) precedence() int {
	switch {
	case a.main == "*":
		return 0
	case a.sub == "*":
		return 1
	}
	for k := range a.params {
		if k != "q" {
			return 3
		}
	}
	return 2
}

// matches reports whether a renderer of main/sub satisfies a.
func (a acceptedType) matches(main, sub string) bool {
	return (a.sub == "*" || a.sub == sub) && (a.main == "*" || a.main == main)
}
