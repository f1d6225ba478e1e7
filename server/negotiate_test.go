package server_test

import (
	"strings"
	"testing"
)

// Content negotiation as DRF's DefaultContentNegotiation does it, each
// case answered so by the Django reference: ?format= (its last value)
// filters the renderers, Accept's media types count by precedence, not by
// q, and within one precedence JSON comes first; no Accept header is */*,
// an empty one 406; indent=n (at most 8) pretty-prints the JSON.
func TestContentNegotiationAsDRF(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.user("alice", "alicepass")
		key := e.tokenOf("alice", "alicepass")
		const absent = "\x00absent"
		cases := []struct {
			path, accept string
			status       int
			want         string // "json", "html", or the indented JSON's start
		}{
			{"/api/me/", absent, 200, "json"},
			{"/api/me/", "", 406, "json"},
			{"/api/me/", "text/html, application/json", 200, "json"},
			{"/api/me/", "text/html;q=0.5, application/json;q=0.9", 200, "json"},
			{"/api/me/", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", 200, "html"},
			{"/api/me/", "text/*", 200, "html"},
			{"/api/me/", "application/*", 200, "json"},
			{"/api/me/", "Application/JSON", 200, "json"},
			{"/api/me/", "application/xml", 406, "json"},
			{"/api/me/", "application/json; indent=4", 200, "{\n    \"id\": "},
			{"/api/me/", "application/json; indent=20", 200, "{\n        \"id\": "},
			{"/api/me/", "application/json; indent=0", 200, "json"},
			{"/api/me/", "application/json; indent=abc", 200, "json"},
			{"/api/me/", "*/*; indent=2", 200, "{\n  \"id\": "},
			{"/api/me/", "application/json;indent=2, text/html", 200, "{\n  \"id\": "},
			{"/api/me/?format=json&format=api", absent, 200, "html"},
			{"/api/me/?format=api&format=json", absent, 200, "json"},
			{"/api/me/?format=api", "application/json", 406, "json"},
			{"/api/me/?format=json", "application/xml", 406, "json"},
			{"/api/me/?format=xml", absent, 404, "json"},
			{"/api/users/?page=99", "application/json; indent=2", 404, "{\n  \"detail\": \"Invalid page.\"\n}"},
		}
		for _, c := range cases {
			headers := []string{"Authorization", "Token " + key}
			if c.accept != absent {
				headers = append(headers, "Accept", c.accept)
			}
			r := e.do("GET", c.path, nil, headers...)
			ct := r.header.Get("Content-Type")
			var got string
			switch {
			case strings.HasPrefix(ct, "text/html"):
				got = "html"
			case strings.HasPrefix(string(r.body), "{\n"):
				got = string(r.body)
			default:
				got = "json"
			}
			if r.status != c.status || !strings.HasPrefix(got, c.want) {
				t.Errorf("%s Accept %q: %d %s %q, want %d %q", c.path, c.accept, r.status, ct, r.body, c.status, c.want)
			}
		}
	})
}
