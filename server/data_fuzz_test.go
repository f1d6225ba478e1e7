package server

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"regexp"
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
		if !whereShape.MatchString(msg) {
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
	} {
		if got := pythonJSONError([]byte(in)); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
