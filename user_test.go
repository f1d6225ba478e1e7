package gatehouse

import "testing"

// Found by FuzzValidEmail: a domain literal or localhost skipped every
// check of the local part, so addresses Django's EmailValidator refuses
// (control characters, line breaks, NUL, invalid UTF-8, markup) were
// accepted, and so was any text in brackets as the domain.
func TestValidEmail(t *testing.T) {
	for s, want := range map[string]bool{
		"alice@example.com":      true,
		"admin@localhost":        true,
		"a.b+c@example.com":      true,
		"o'neil@example.com":     true,
		"a@[127.0.0.1]":          true,
		"a@[::1]":                true,
		"a@exämple.com":          true,
		"x\r\n@[evil]":           false,
		"x@[evil]":               false,
		"a@[IPv6:::1]":           false, // Django's literal is the address alone
		"a@[fe80::1%25eth0]":     false,
		"<script>@[1.2.3.4]":     false,
		"a b@[1.2.3.4]":          false,
		"\"a\x01\"@[1.2.3.4]":    false,
		"\x8d@localhost":         false,
		"a\x00b@localhost":       false,
		"a\x01@localhost":        false,
		"a..b@localhost":         false,
		".a@example.com":         false,
		"a.@example.com":         false,
		"not-an-email":           false,
		"a@b@example.com":        false,
		"é@example.com":          false, // Django's local part is ASCII
		"a@[]":                   false,
		"@example.com":           false,
		"a@example.com\n":        false,
		"a\t@example.com":        false,
		"a@example":              false,
		"a(comment)@example.com": false,
	} {
		if got := ValidEmail(s); got != want {
			t.Errorf("ValidEmail(%q) = %v, want %v", s, got, want)
		}
	}
}

// A user's subject is its id, or the Django key it was imported with
// when that key is no integer (DOT's sub was str(user.id)); a key of
// digits alone could spell another user's id and is not used.
func TestUserSubject(t *testing.T) {
	for _, c := range []struct {
		key, want string
	}{
		{"", "42"},
		{"3026d28e-dbc0-4dea-8da0-8aa9f5a3118d", "3026d28e-dbc0-4dea-8da0-8aa9f5a3118d"},
		{"ada-key", "ada-key"},
		{"7", "42"},
		{"0042", "42"},
		{"-7", "-7"},
	} {
		u := User{ID: 42, DjangoKey: c.key}
		if got := u.Subject(); got != c.want {
			t.Errorf("key %q: subject %q, want %q", c.key, got, c.want)
		}
	}
}
