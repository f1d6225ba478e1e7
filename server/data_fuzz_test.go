package server

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

var whereShape = regexp.MustCompile(`: line \d+ column \d+ \(char \d+\)$`)

// FuzzReadBody feeds arbitrary bodies and content types to the request
// decoder: it must never panic, and it either yields data or a 4xx.
func FuzzReadBody(f *testing.F) {
	for _, seed := range []struct{ ct, body string }{
		{"application/json", `{"username": "alice", "password": "x"}`},
		{"application/json", `{"username": "alice",`},
		{"application/json", `[1, 2]`},
		{"application/json", `null`},
		{"application/json; charset=utf-8", `{"a": [1, {"b": null}], "c": 1e5}`},
		{"application/x-www-form-urlencoded", "username=alice&password=%zz"},
		{"multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice\r\n--xyz--\r\n"},
		{"multipart/form-data", "--"},
		{"text/plain", "username=alice"},
		{"", "{}"},
		{"application/json", "\"\\ud800\""},
	} {
		f.Add(seed.ct, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		r := httptest.NewRequest("POST", "/sign_up/", bytes.NewReader(body))
		r.Header.Set("Content-Type", ct)
		p, e := readBody(httptest.NewRecorder(), r, parsesDefault)
		if e != nil {
			if e.status < 400 || e.status > 499 {
				t.Fatalf("status %d for %q %q", e.status, ct, body)
			}
			if _, err := marshal(e.body); err != nil {
				t.Fatalf("error body does not encode: %v", err)
			}
			return
		}
		for _, name := range []string{"username", "password", "email", ""} {
			p.str(name) // must not panic
		}
	})
}

// FuzzPythonJSONError checks the Python-style parse error on any input
// encoding/json refuses: always a message with a position.
func FuzzPythonJSONError(f *testing.F) {
	for _, s := range []string{"{", "{bad", `{"a" 1}`, `{"a": 1,}`, `[1,]`, `"abc`, "{\"a\": \"\x01\"}", `{"a": 1} x`, ``, `-`, `01`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if json.Valid(data) {
			return
		}
		msg := pythonJSONError(data)
		if !whereShape.MatchString(msg) && !strings.HasPrefix(msg, "Out of range float values are not JSON compliant: '") {
			t.Fatalf("%q -> %q", data, msg)
		}
	})
}

func TestPythonJSONErrorMessages(t *testing.T) {
	for in, want := range map[string]string{
		`{"username": "alice",`: "Expecting property name enclosed in double quotes: line 1 column 22 (char 21)",
		`{bad`:                  "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
		`{`:                     "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
		``:                      "Expecting value: line 1 column 1 (char 0)",
		`{"a" 1}`:               "Expecting ':' delimiter: line 1 column 6 (char 5)",
		`{"a": 1 "b": 2}`:       "Expecting ',' delimiter: line 1 column 9 (char 8)",
		`[1,]`:                  "Expecting value: line 1 column 4 (char 3)",
		`{"a": 1} x`:            "Extra data: line 1 column 10 (char 9)",
		"{\n  \"é\": tru}":      "Expecting value: line 2 column 8 (char 9)",
		`"abc`:                  "Unterminated string starting at: line 1 column 1 (char 0)",
		`01`:                    "Extra data: line 1 column 2 (char 1)",
		`{"a":"\x"}`:            "Invalid \\escape: line 1 column 7 (char 6)",
		`{"a": [1, NaN}`:        "Out of range float values are not JSON compliant: 'NaN'",
		`[Infinity, -Infinity]`: "Out of range float values are not JSON compliant: 'Infinity'",
		`{"a": -Infinity`:       "Out of range float values are not JSON compliant: '-Infinity'",
	} {
		if got := pythonJSONError([]byte(in)); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// A JSON body is decoded as DRF's JSONParser decodes it (Python's UTF-8
// stream reader, then its json module with strict constants): the same
// message for the same bytes, or the same acceptance. Checked against
// python3 where it is installed.
func TestJSONBodyDecodedAsPython(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found")
	}
	inputs := []string{
		"{\"a\": \"\xff\xfe\"}", "{\"a\": \"\xc3\"}", "{\"a\": \"\xe2\x82\"}", "{\"a\": \"\xe2\x82",
		"{\"a\": \"\xe2\x28\xa1\"}", "{\"a\":\"\xed\xa0\x80\"}", "{\"a\": \"\xf0\x90\x80", "{}\xf0\x90",
		"\xef\xbb\xbf{}", "{\"a\": NaN}", "{\"a\": -Infinity}", "[Infinity, NaN]", "{\"a\": \"\xf4\x90\x80\x80\"}",
		"{\"a\": \"\xe0\x80\x80\"}", "{\"a\": \"\xc0\xaf\"}", "{\"a\": \"ok\xf0\x9f\x98\x80\"}", "\x80", "{\"\xf1\x80\x80",
		"[\"\\ud800\"]", "{\"a\": 1}\xe2\x82",
	}
	script := `import codecs, io, json, sys
def strict(o):
    raise ValueError("Out of range float values are not JSON compliant: " + repr(o))
for line in sys.stdin:
    b = bytes.fromhex(line.strip())
    try:
        json.load(codecs.getreader("utf-8")(io.BytesIO(b)), parse_constant=strict)
        print("OK")
    except ValueError as e:
        print(str(e))
`
	var in strings.Builder
	for _, s := range inputs {
		in.WriteString(hex.EncodeToString([]byte(s)) + "\n")
	}
	cmd := exec.Command(python, "-c", script)
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	for i, s := range inputs {
		got := "OK"
		text, e := jsonText([]byte(s), "")
		switch {
		case e != nil:
			got = strings.TrimPrefix(e.body.(detailOnly).Detail, "JSON parse error - ")
		case !json.Valid(text):
			got = pythonJSONError(text)
		}
		if got != want[i] {
			t.Errorf("%q: %q, Python %q", s, got, want[i])
		}
	}
}
