package server

import (
	"regexp"
	"strings"
	"testing"
)

// djangoHost is Django's host_validation_re (django.http.request).
var djangoHost = regexp.MustCompile(`^([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(:[0-9]+)?$`)

// djangoAllows is Django's get_host check: split_domain_port, then
// validate_host against the patterns as normalHosts writes them (IPv6
// literals compared without brackets, as gatehouse does), for ASCII hosts.
func djangoAllows(host string, patterns []string) bool {
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 {
			// Python's lower() makes ASCII of a few other letters (the
			// Kelvin sign); gatehouse refuses them, as net/http refuses
			// any non-ASCII Host.
			return false
		}
	}
	host = strings.ToLower(host)
	m := djangoHost.FindStringSubmatch(host)
	if m == nil {
		return false
	}
	domain := m[1]
	if !strings.HasPrefix(domain, "[") {
		domain = strings.TrimSuffix(domain, ".")
	}
	domain = strings.Trim(domain, "[]")
	if domain == "" {
		return false
	}
	for _, p := range patterns {
		if p == "*" || p[0] == '.' && (strings.HasSuffix(domain, p) || domain == p[1:]) || p == domain {
			return true
		}
	}
	return false
}

// FuzzHostAllowed checks the Host (or trusted X-Forwarded-Host) check
// against Django's: the same hosts pass, for exact names, a domain
// pattern, an IPv6 literal and "*". A host Django refuses would otherwise
// reach the absolute links gatehouse writes (pagination).
func FuzzHostAllowed(f *testing.F) {
	for _, h := range []string{"localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "[::1]", "[::2]", "example.com",
		"api.example.com", "API.Example.COM.", "evil.test", "badexample.com", "example.com.evil.test", "", ":8000", "localhost:",
		"evil.test/.example.com", "evil.test#.example.com", "evil.test?.example.com", "evil.test%2f.example.com", "a@example.com",
		"evil.test,.example.com", "exa mple.com", "example.com\x00", "ｅxample.com", "[::1]:80:80", "[fe80::1%25eth0]", "1.2.3.4:99999999999"} {
		f.Add(h)
	}
	servers := []*Server{
		{hosts: normalHosts([]string{"localhost", "127.0.0.1", "::1", ".example.com"})},
		{hosts: normalHosts([]string{"*"})},
	}
	f.Fuzz(func(t *testing.T, host string) {
		for _, s := range servers {
			if got, want := s.hostAllowed(host), djangoAllows(host, s.hosts); got != want {
				t.Fatalf("hosts %q: hostAllowed(%q) = %v, Django says %v", s.hosts, host, got, want)
			}
		}
		if f := lastField(host); strings.Contains(f, ",") || f != strings.ToLower(strings.TrimSpace(f)) {
			t.Fatalf("lastField(%q) = %q", host, f)
		}
	})
}
