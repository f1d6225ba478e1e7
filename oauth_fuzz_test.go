package gatehouse

import (
	"net"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// FuzzRedirectURIAllowed holds the redirect URI matcher to its one
// exception: an accepted URI is a registered one, byte for byte (the
// scheme's case aside), or differs from a loopback IP literal registered
// without a port only by a port. Registered values are fuzzed too: a
// dumpdata file can hold any string.
func FuzzRedirectURIAllowed(f *testing.F) {
	for _, s := range [][2]string{
		{"http://127.0.0.1:9999/cb", "http://127.0.0.1:9999/cb"},
		{"https://app.example/cb", "https://app.example/cb"},
		{"http://127.0.0.1/native", "http://127.0.0.1:51000/native"},
		{"http://[::1]/v6", "http://[::1]:40000/v6"},
		{"http://127.0.0.1/cb", "http://127.0.0.1:1/%63b"},
		{"http://127.0.0.1/a/b", "http://127.0.0.1:1/a%2Fb"},
		{"http://127.0.0.1/cb", "http://127.0.0.1:1/cb?"},
		{"http://127.0.0.1/cb", "HTTP://127.0.0.1:1/cb"},
		{"http://127.0.0.1/cb", "http://user@127.0.0.1:1/cb"},
		{"http://127.0.0.1/cb", "http://127.0.0.1:1\\@evil.example/cb"},
		{"http://127.0.0.1/cb", "http://127.0.0.1:1/cb#@evil.example"},
		{"http://127.0.0.1/cb", "http://127.0.0.%31:1/cb"},
		{"http://127.0.0.1/cb", "http://127.0.0.1:1//evil.example/cb"},
		{"http://127.0.0.1/cb?x=1", "http://127.0.0.1:1/cb?x=1&y=2"},
		{"http://localhost/cb", "http://localhost:1/cb"},
		{"http://127.0.0.1/cb", "http://127.0.0.1:1/cb\x00"},
		{"http://127.0.0.1/\xff", "http://127.0.0.1:1/\xff"},
		{"", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, registered, got string) {
		a := Application{RedirectURIs: []string{registered}}
		if !a.RedirectURIAllowed(got) {
			if got == registered {
				t.Fatalf("%q refused though registered", got)
			}
			return
		}
		if got == registered {
			return
		}
		if !loopbackLiteralWithoutPort(registered) {
			t.Fatalf("%q accepted for %q, which is not a port-less loopback literal", got, registered)
		}
		if withoutPort(got) != withoutPort(registered) {
			t.Fatalf("%q accepted for %q: they differ by more than a port", got, registered)
		}
	})
}

// withoutPort writes uri with its scheme in lower case and without the
// port of its authority, by string operations only (no URL parser, whose
// decoding the matcher under test may share).
func withoutPort(uri string) string {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return uri
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	auth, tail := rest[:end], rest[end:]
	if i := strings.LastIndexByte(auth, ':'); i >= 0 && i > strings.LastIndexByte(auth, ']') {
		auth = auth[:i]
	}
	return strings.ToLower(scheme) + "://" + auth + tail
}

// loopbackLiteralWithoutPort reports whether uri is http:// followed by a
// loopback IP literal with no port and no user information.
func loopbackLiteralWithoutPort(uri string) bool {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok || !strings.EqualFold(scheme, "http") {
		return false
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host := rest[:end]
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// FuzzParseScopes checks the scope parameter's parser: no empty or
// white-space items, no duplicates, the order given, and a parse of its
// own output gives the same list.
func FuzzParseScopes(f *testing.F) {
	for _, s := range []string{"read", "read write", "  write read write  groups ", "read\twrite", "read\u00a0write",
		"read\u3000write", "", " ", "read\x00", "\xff\xfe", "read read read", "introspection", "a b c d e f g h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, param string) {
		got := ParseScopes(param)
		fields := strings.Fields(param)
		prev := -1
		for _, s := range got {
			if s == "" || strings.ContainsFunc(s, unicode.IsSpace) {
				t.Fatalf("%q: item %q", param, s)
			}
			i := slices.Index(fields, s)
			if i < 0 || i <= prev {
				t.Fatalf("%q: %q out of order or not in the parameter", param, got)
			}
			prev = i
		}
		for i := range got {
			if slices.Contains(got[i+1:], got[i]) {
				t.Fatalf("%q: duplicate %q", param, got[i])
			}
		}
		if !ScopeSubset(fields, got) || !HasScope(param, got...) {
			t.Fatalf("%q: %q does not cover the parameter", param, got)
		}
		if again := ParseScopes(strings.Join(got, " ")); !slices.Equal(again, got) {
			t.Fatalf("%q: %q parses again as %q", param, got, again)
		}
	})
}
