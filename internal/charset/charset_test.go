package charset

import (
	"os/exec"
	"testing"
)

// The decoders give what Python's codecs give for the same bytes, and
// refuse what they refuse.
func TestAsPython(t *testing.T) {
	cases := []struct {
		in      string
		charset string
		want    string
		ok      bool
	}{
		{"\xff\xfe{\x00}\x00", "utf-16", "{}", true},
		{"\xfe\xff\x00{\x00}", "utf-16", "{}", true},
		{"{\x00}\x00", "utf-16", "{}", true},
		{"\x00{\x00}", "utf-16be", "{}", true},
		{"\xff\xfe=\xd8\x00\xde", "utf-16", "😀", true},
		{"\xff\xfe\x00\xd8a\x00", "utf-16", "", false}, // a lone high surrogate
		{"\xff\xfe\x00\xdc", "utf-16", "", false},      // a lone low surrogate
		{"\xff\xfe{", "utf-16", "", false},             // an odd length
	}
	for _, c := range cases {
		got, ok := FromUTF16([]byte(c.in), c.charset)
		if ok != c.ok || string(got) != c.want {
			t.Errorf("FromUTF16(%q, %s) = %q %v, want %q %v", c.in, c.charset, got, ok, c.want, c.ok)
		}
	}
	if got := string(FromLatin1([]byte("caf\xe9 \xff"))); got != "café ÿ" {
		t.Errorf("FromLatin1 = %q", got)
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found: compared with the table only")
	}
	for _, c := range cases {
		codec := c.charset
		out, err := exec.Command(python, "-c", "import sys; b = bytes.fromhex(sys.argv[1]); "+
			"sys.stdout.write(b.decode(sys.argv[2]).encode('utf-8').hex())", hexOf(c.in), codec).Output()
		pyOK := err == nil
		got, ok := FromUTF16([]byte(c.in), c.charset)
		if pyOK != ok || (ok && string(out) != hexOf(string(got))) {
			t.Errorf("%q as %s: Python %v %s, here %v %q", c.in, codec, pyOK, out, ok, got)
		}
	}
}

func hexOf(s string) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, digits[s[i]>>4], digits[s[i]&15])
	}
	return string(b)
}
