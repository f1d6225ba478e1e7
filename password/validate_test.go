package password

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// The expected messages for DefaultPolicy() were produced by Django 3.2.25's
// validate_password with its four default validators and an unsaved
// django.contrib.auth.models.User carrying the attributes.
func TestValidateDefaultPolicy(t *testing.T) {
	const (
		short   = "This password is too short. It must contain at least 8 characters."
		common  = "This password is too common."
		numeric = "This password is entirely numeric."
	)
	tests := []struct {
		password string
		attrs    Attrs
		want     []string
	}{
		{"", Attrs{}, []string{short}},
		{"a", Attrs{}, []string{short, common}},
		{"short", Attrs{}, []string{short}},
		{"password", Attrs{}, []string{common}},
		{"Password ", Attrs{}, []string{common}},
		{"12345678", Attrs{}, []string{common, numeric}},
		{"1234567", Attrs{}, []string{short, common, numeric}},
		{"²³¹⁴⁵⁶⁷⁸", Attrs{}, []string{numeric}},
		{"٣٤٥٦٧٨٩٠", Attrs{}, []string{numeric}},
		{"correct horse battery staple", Attrs{}, nil},
		{"alexander", Attrs{Username: "alexander"}, []string{"The password is too similar to the username.", common}},
		{"Alexander99!", Attrs{Username: "alexander"}, []string{"The password is too similar to the username."}},
		{"qwertyuiop-jdoe", Attrs{Email: "jdoe@example.com"}, nil},
		{"example.com", Attrs{Email: "jdoe@example.com"}, []string{"The password is too similar to the email address."}},
		{"jdoe@example.com", Attrs{Email: "jdoe@example.com"}, []string{"The password is too similar to the email address."}},
		{"Smithereens7", Attrs{LastName: "Smith"}, nil},
		{"JohnJohnJohn", Attrs{FirstName: "John", LastName: "Johnson"}, nil},
		{"nosjohn-xyz", Attrs{Username: "bob", FirstName: "John", LastName: "Johnson", Email: "jj@x.io"}, []string{"The password is too similar to the last name."}},
		{"tr0ub4dor&3xyz", Attrs{Username: "troubador", Email: "t@t.t"}, nil},
		{"", Attrs{Username: "a."}, []string{"The password is too similar to the username.", short}},
		{"sunshine", Attrs{Username: "sunshine"}, []string{"The password is too similar to the username.", common}},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Attrs{Username: "a"}, nil},
		{"émilie2024", Attrs{FirstName: "Émilie"}, []string{"The password is too similar to the first name."}},
		{"zzzzzzzz", Attrs{Email: "zz@zz.zz"}, []string{"The password is too similar to the email address.", common}},
	}
	for _, tc := range tests {
		t.Run(tc.password, func(t *testing.T) {
			if got := DefaultPolicy().Validate(tc.password, tc.attrs); !slices.Equal(got, tc.want) {
				t.Errorf("Validate(%q, %+v) =\n %q\nwant\n %q", tc.password, tc.attrs, got, tc.want)
			}
		})
	}
}

var djangoOrdered = Policy{Numeric: true, MinLength: 10, MaxSimilarity: 0.5, SimilarityAttrs: []string{"email", "username"},
	Order: []string{ValidatorNumeric, ValidatorLength, ValidatorSimilarity}}

var ownList = func() *CommonList {
	l, err := ReadCommonList(strings.NewReader("hunter2\n  tr0ub4dor \n"))
	if err != nil {
		panic(err)
	}
	return l
}()

func TestValidatePolicies(t *testing.T) {
	tests := []struct {
		name     string
		policy   Policy
		password string
		attrs    Attrs
		want     []string
	}{
		{"zero policy accepts anything", Policy{}, "1", Attrs{Username: "1"}, nil},
		{"singular character", Policy{MinLength: 1}, "", Attrs{}, []string{"This password is too short. It must contain at least 1 character."}},
		{"length counts code points", Policy{MinLength: 4}, "密码密码", Attrs{}, nil},
		{"length 12", Policy{MinLength: 12}, "elevenchars", Attrs{}, []string{"This password is too short. It must contain at least 12 characters."}},
		{"numeric only", Policy{Numeric: true}, "2024", Attrs{}, []string{"This password is entirely numeric."}},
		{"empty is not numeric", Policy{Numeric: true}, "", Attrs{}, nil},
		{"fraction is not a digit", Policy{Numeric: true}, "½", Attrs{}, nil},
		{"common only", Policy{Common: true}, "  QWERTY\t", Attrs{}, []string{"This password is too common."}},
		{"similarity only", Policy{MaxSimilarity: 0.7}, "bob", Attrs{Username: "bob"}, []string{"The password is too similar to the username."}},
		{"first matching attribute wins", Policy{MaxSimilarity: 0.7}, "kim", Attrs{FirstName: "kim", LastName: "kim", Email: "kim@kim"}, []string{"The password is too similar to the first name."}},
		{"email part", Policy{MaxSimilarity: 0.7}, "margaret.x", Attrs{Email: "margaret@example.org"}, []string{"The password is too similar to the email address."}},
		{"strict threshold", Policy{MaxSimilarity: 1}, "abcd", Attrs{Username: "dcba"}, []string{"The password is too similar to the username."}},
		{"threshold not reached", Policy{MaxSimilarity: 1}, "abcde", Attrs{Username: "dcba"}, nil},
		// The next three as Django 3.2.25's validate_password answered with
		// AUTH_PASSWORD_VALIDATORS numeric, min_length 10, similarity on
		// ("email", "username") at 0.5, in that order.
		{"settings order", djangoOrdered, "1234567", Attrs{Username: "bob", Email: "x@y.z"},
			[]string{"This password is entirely numeric.", "This password is too short. It must contain at least 10 characters."}},
		{"only the listed attributes", djangoOrdered, "alice-wonder", Attrs{Username: "alice", FirstName: "alice", Email: "a@b.c"},
			[]string{"The password is too similar to the username."}},
		{"attributes in their order", djangoOrdered, "robertson", Attrs{Username: "bob", LastName: "Robertson", Email: "robert@son.io"},
			[]string{"This password is too short. It must contain at least 10 characters.", "The password is too similar to the email address."}},
		{"own common list", Policy{Common: true, CommonList: ownList}, "Hunter2 ", Attrs{}, []string{"This password is too common."}},
		{"own list replaces Django's", Policy{Common: true, CommonList: ownList}, "password", Attrs{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.policy.Validate(tc.password, tc.attrs); !slices.Equal(got, tc.want) {
				t.Errorf("Validate = %q, want %q", got, tc.want)
			}
		})
	}
}

// Expected values are Python's difflib.SequenceMatcher(a=a, b=b).quick_ratio().
func TestQuickRatio(t *testing.T) {
	tests := []struct {
		a, b string
		want float64
	}{
		{"", "", 1},
		{"abc", "", 0},
		{"abcd", "bcde", 0.75},
		{"aab", "abb", 2.0 * 2 / 6},
		{"a", strings.Repeat("a", 10), 0.18181818181818182},
		{"密码", "码", 2.0 / 3},
	}
	for _, tc := range tests {
		if got := quickRatio([]rune(tc.a), []rune(tc.b)); got != tc.want {
			t.Errorf("quickRatio(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// Expected values are Python's re.split(r"\W+", s).
func TestSplitNonWord(t *testing.T) {
	tests := []struct {
		s    string
		want []string
	}{
		{"jdoe@example.com", []string{"jdoe", "example", "com"}},
		{"a.", []string{"a", ""}},
		{"--a--b", []string{"", "a", "b"}},
		{"snake_case", []string{"snake_case"}},
		{"émilie d'arc", []string{"émilie", "d", "arc"}},
		{"x²", []string{"x²"}},
		{"...", []string{"", ""}},
	}
	for _, tc := range tests {
		if got := splitNonWord(tc.s); !slices.Equal(got, tc.want) {
			t.Errorf("splitNonWord(%q) = %q, want %q", tc.s, got, tc.want)
		}
	}
}

func TestCommonList(t *testing.T) {
	set, err := loadCommon(commonPasswordsGz)
	if err != nil {
		t.Fatal(err)
	}
	// Django 3.2.25 loads 19,727 distinct entries from this file.
	if len(set) != 19727 {
		t.Errorf("common list has %d entries, want 19727", len(set))
	}
	for _, pw := range []string{"password", "123456", "qwerty", "z k.lovemom", "chobits"} {
		if _, found := set[pw]; !found {
			t.Errorf("%q missing from common list", pw)
		}
	}
	if _, found := set[""]; found {
		t.Error("empty string in common list")
	}
	if _, err := loadCommon([]byte("not gzip")); err == nil {
		t.Error("loadCommon accepted non-gzip data")
	}
}

func BenchmarkValidateDefault(b *testing.B) {
	a := Attrs{Username: "jdoe", FirstName: "John", LastName: "Doe", Email: "jdoe@example.com"}
	DefaultPolicy().Validate("warm up the common list", a)
	for b.Loop() {
		DefaultPolicy().Validate("correct horse battery staple", a)
	}
}

// A list of common passwords is read as Django reads password_list_path:
// gzip or plain text, lines stripped.
func TestReadCommonList(t *testing.T) {
	gz, err := ReadCommonList(bytes.NewReader(commonPasswordsGz))
	if err != nil || !gz.has("Password") || gz.has("correct horse battery staple") {
		t.Fatalf("Django's own list, gzipped: %v", err)
	}
	if _, err := ReadCommonList(bytes.NewReader([]byte{0x1f, 0x8b, 0, 1})); err == nil {
		t.Error("a broken gzip list was read")
	}
	if _, err := ReadCommonList(bytes.NewReader([]byte{0xff, 0xfe, 'a'})); err == nil {
		t.Error("a list that is not UTF-8 was read")
	}
}
