package gatehouse

import (
	"strings"
	"testing"
	"time"
)

func TestRedirectURIAllowed(t *testing.T) {
	a := Application{RedirectURIs: []string{"https://app.example/cb", "http://127.0.0.1/native", "http://[::1]/v6", "http://127.0.0.1:9999/cb"}}
	slash := Application{RedirectURIs: []string{"http://127.0.0.1/a/b"}}
	if slash.RedirectURIAllowed("http://127.0.0.1:1/a%2Fb") || !slash.RedirectURIAllowed("http://127.0.0.1:1/a/b") {
		t.Error("an escaped slash matched a registered path segment")
	}
	cases := map[string]bool{
		"https://app.example/cb":         true,
		"https://app.example/cb/":        false,
		"https://app.example/cb?x=1":     false,
		"https://APP.example/cb":         false,
		"http://app.example/cb":          false,
		"https://app.example/cb#f":       false,
		"http://127.0.0.1/native":        true,
		"http://127.0.0.1:51000/native":  true, // RFC 8252: any port for a port-less loopback registration
		"http://127.0.0.1:51000/other":   false,
		"http://localhost:51000/native":  false, // loopback IP literal only
		"https://127.0.0.1:51000/native": false,
		"http://[::1]:40000/v6":          true,
		"http://127.0.0.1:9999/cb":       true,
		"http://127.0.0.1:9998/cb":       false, // a registered port is exact
		"http://user@127.0.0.1:1/native": false,
		"http://127.0.0.1:1/native?x=1":  false,
		// Found by FuzzRedirectURIAllowed: the path was compared decoded
		// and an empty query was ignored, so other spellings passed.
		"http://127.0.0.1:1/%6Eative": false,
		"http://127.0.0.1:1/nat%69ve": false,
		"http://127.0.0.1:1/native?":  false,
		"HTTP://127.0.0.1:1/native":   true, // the scheme is case-insensitive
		"http://[::1]:1/v%36":         false,
		"http://127.0.0.1:1/native#":  false,
		"http://127.0.0.1:/native":    false,
		"http://127.0.0.1:1:2/native": false,
		"":                            false,
	}
	for uri, want := range cases {
		if got := a.RedirectURIAllowed(uri); got != want {
			t.Errorf("%q: %v, want %v", uri, got, want)
		}
	}
}

func TestScopes(t *testing.T) {
	if got := strings.Join(ParseScopes("  write read write  groups "), " "); got != "write read groups" {
		t.Fatalf("ParseScopes: %q", got)
	}
	if !DefaultScopes().Valid([]string{"read", "groups"}) || DefaultScopes().Valid([]string{"read", "introspection"}) {
		t.Fatal("Valid")
	}
	if strings.Join(DefaultScopes().Names(), " ") != "read write groups" {
		t.Fatal("settings order")
	}
	if !HasScope("read write", "write") || HasScope("read", "write") || HasScope("readwrite", "read") {
		t.Fatal("HasScope")
	}
	if !ScopeSubset([]string{"read"}, []string{"read", "write"}) || ScopeSubset([]string{"read", "groups"}, []string{"read"}) {
		t.Fatal("ScopeSubset")
	}
}

func TestSecretHasher(t *testing.T) {
	h := NewSecretHasher("server-secret-one")
	stored := h.Hash("conf-secret")
	if string(stored) == "conf-secret" || len(stored) != 32 {
		t.Fatal("stored form")
	}
	if !h.Verify("conf-secret", stored) || h.Verify("conf-secreT", stored) || h.Verify("", stored) {
		t.Fatal("Verify")
	}
	if NewSecretHasher("server-secret-two").Verify("conf-secret", stored) {
		t.Fatal("the key does not matter")
	}
	if !h.Verify("", nil) || h.Verify("x", nil) {
		t.Fatal("public client (no stored hash)")
	}
}

func TestApplicationGrants(t *testing.T) {
	a := Application{GrantTypes: []string{GrantPassword}}
	if !a.Allows(GrantPassword) || a.Allows(GrantClientCredentials) || !a.AllowsRefresh() {
		t.Fatal("password app")
	}
	cc := Application{GrantTypes: []string{GrantClientCredentials}}
	if cc.AllowsRefresh() {
		t.Fatal("client-credentials app allows refresh")
	}
	one := Application{RedirectURIs: []string{"https://a/cb"}}
	if u, ok := one.DefaultRedirectURI(); !ok || u != "https://a/cb" {
		t.Fatal("default redirect")
	}
	if _, ok := (&Application{RedirectURIs: []string{"https://a/1", "https://a/2"}}).DefaultRedirectURI(); ok {
		t.Fatal("default with two URIs")
	}
}

func TestUserAccepts(t *testing.T) {
	epoch := time.Date(2026, 12, 1, 10, 0, 0, 400_000_000, time.UTC)
	u := User{AuthEpoch: epoch}
	for _, c := range []struct {
		name   string
		issued time.Time
		want   bool
	}{
		{"earlier in the same second", epoch.Add(-100 * time.Millisecond), false},
		{"a microsecond before", epoch.Add(-time.Microsecond), false},
		{"at the epoch", epoch, true},
		{"later in the same second", epoch.Add(time.Microsecond), true},
		{"known only to the second, that second", epoch.Truncate(time.Second), false},
		{"known only to the second, the next", epoch.Truncate(time.Second).Add(time.Second), true},
	} {
		if got := u.Accepts(c.issued); got != c.want {
			t.Errorf("%s: Accepts = %v, want %v", c.name, got, c.want)
		}
	}
	if !(&User{}).Accepts(time.Unix(0, 0)) {
		t.Error("a user whose epoch never moved refuses a credential")
	}
}

func TestParseOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://app.example.com":       "https://app.example.com",
		"HTTPS://App.Example.COM":       "https://app.example.com",
		"https://app.example.com:443":   "https://app.example.com",
		"https://app.example.com:8443":  "https://app.example.com:8443",
		"http://localhost:3000":         "http://localhost:3000",
		"http://127.0.0.1:80":           "http://127.0.0.1",
		"https://[::1]:8443":            "https://[::1]:8443",
		"https://xn--bcher-kva.example": "https://xn--bcher-kva.example",
	} {
		got, err := ParseOrigin(in, true)
		if err != nil || got != want {
			t.Errorf("ParseOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "app.example.com", "https://", "https://app.example.com/", "https://app.example.com/cb",
		"https://app.example.com?x", "https://app.example.com#x", "https://user@app.example.com", "https://*.example.com", "*",
		"ftp://app.example.com", "javascript://x", "https://app.example.com:0", "https://app.example.com:65536", "https://app.example.com:",
		"https://app.example.com:08", "https://app .example.com", "https://bücher.example", "https://-a.example", "https://a..b",
		"https://[1.2.3.4]", "https://a_b.example", "https://app.example.com https://b.example", "null", "https://" + strings.Repeat("a", 300)} {
		if got, err := ParseOrigin(in, true); err == nil {
			t.Errorf("ParseOrigin(%q) = %q, want an error", in, got)
		} else if !strings.Contains(err.Error(), "origin") {
			t.Errorf("ParseOrigin(%q): %v does not say what is wrong", in, err)
		}
	}
	if _, err := ParseOrigin("http://app.example.com", false); err == nil || !strings.Contains(err.Error(), "must be https") {
		t.Errorf("http without allowHTTP: %v", err)
	}
	a := Application{AllowedOrigins: []string{"https://app.example.com"}}
	if !a.AllowsOrigin("https://app.example.com") || !a.AllowsOrigin("https://APP.example.com") || a.AllowsOrigin("https://app.example.com:8443") ||
		a.AllowsOrigin("http://app.example.com") || a.AllowsOrigin("") || (&Application{}).AllowsOrigin("https://app.example.com") {
		t.Error("AllowsOrigin")
	}
}
