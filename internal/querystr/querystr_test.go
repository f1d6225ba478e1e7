package querystr

import (
	"encoding/json"
	"net/url"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// cases are query strings with what Django's QueryDict reads from them
// (checked against Python's parse_qsl by TestParseAsPython).
var cases = []struct {
	in   string
	want url.Values
}{
	{"", url.Values{}},
	{"a=1&b=2&a=3", url.Values{"a": {"1", "3"}, "b": {"2"}}},
	{"scope=read;write", url.Values{"scope": {"read;write"}}},
	{"username=alice;x&page=2", url.Values{"username": {"alice;x"}, "page": {"2"}}},
	{"a;b=c", url.Values{"a;b": {"c"}}},
	{"pw=100%&x=%zz&y=%4&z=%41%4a%4A", url.Values{"pw": {"100%"}, "x": {"%zz"}, "y": {"%4"}, "z": {"AJJ"}}},
	{"q=a+b%2Bc", url.Values{"q": {"a b+c"}}},
	{"flag&empty=&=v", url.Values{"flag": {""}, "empty": {""}, "": {"v"}}},
	{"&&a=1&&", url.Values{"a": {"1"}}},
	{"a=b=c", url.Values{"a": {"b=c"}}},
	{"n%C3%A4me=v%C3%A4lue", url.Values{"näme": {"välue"}}},
	{"state=abc;def&redirect_uri=https%3A%2F%2Fc.example%2Fcb%3Bx", url.Values{"state": {"abc;def"}, "redirect_uri": {"https://c.example/cb;x"}}},
}

func TestParse(t *testing.T) {
	for _, c := range cases {
		if got := Parse(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Parse(%q) = %v, want %v", c.in, got, c.want)
		}
	}
	// Bytes that are no UTF-8 are kept, for the callers to refuse.
	if got := Parse("u=%FF%00"); got.Get("u") != "\xff\x00" {
		t.Errorf("invalid UTF-8: %q", got.Get("u"))
	}
}

// TestParseAsPython compares Parse with Python's own parse_qsl, as
// Django 3.2 and later call it, on every case and on strings made of the
// characters that matter, when a python3 is at hand.
func TestParseAsPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	var inputs []string
	for _, c := range cases {
		inputs = append(inputs, c.in)
	}
	alphabet := []string{"a", "=", "&", ";", "%", "+", "4", "1", "%41", "%3B", "%26", "%3D", "%2", "é"}
	for i := 0; i < 3000; i++ {
		var b strings.Builder
		for n, x := 0, i; n < 6; n, x = n+1, x*7+3 {
			b.WriteString(alphabet[(x/(n+1))%len(alphabet)])
		}
		inputs = append(inputs, b.String())
	}
	in, _ := json.Marshal(inputs)
	cmd := exec.Command(py, "-c", `import json, sys
from urllib.parse import parse_qsl
out = [parse_qsl(q, keep_blank_values=True, separator="&") for q in json.load(sys.stdin)]
json.dump(out, sys.stdout)`)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("python3's parse_qsl: %v", err)
	}
	var want [][][2]string
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	for i, q := range inputs {
		w := url.Values{}
		for _, kv := range want[i] {
			w[kv[0]] = append(w[kv[0]], kv[1])
		}
		got := Parse(q)
		valid := true
		for k, vs := range got {
			valid = valid && utf8.ValidString(k)
			for _, v := range vs {
				valid = valid && utf8.ValidString(v)
			}
		}
		if valid && !reflect.DeepEqual(got, w) {
			t.Errorf("Parse(%q) = %v, Python %v", q, got, w)
		}
	}
}
