package server

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/jsonstr"
)

// FuzzAppendString checks the hand-written encoder against encoding/json.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "alice", "Ålice \"q\" \\ <b>&", "\x00\x01\b\f\n\r\t\x1f", "\u2028\u2029", "\xff\xfe", "é\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := jsonstr.Append(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: %s, want %s", s, got, want)
		}
	})
}

func TestMeOutMatchesEncodingJSON(t *testing.T) {
	for _, id := range []wireID{{id: 42}, {id: 42, key: "3026d28e-dbc0-4dea-8da0-8aa9f5a3118d"}, {id: 7, key: "<ké\"y>"}} {
		m := meOut{ID: id, FirstName: "Ål\"ice", LastName: "<L>", Email: "a@example.com", Username: "al\nice"}
		want, _ := marshal(m)
		if got := m.appendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("%s, want %s", got, want)
		}
	}
}

func TestSplitFields(t *testing.T) {
	for in, want := range map[string][]string{
		"":                 {},
		"   ":              {},
		"Token":            {"Token"},
		"Token  abc":       {"Token", "abc"},
		"\tBearer a b":     {"Bearer", "a", "b"},
		"Bearer a b c d e": {"Bearer", "a", "b"},
	} {
		var buf [3]string
		got := splitFields(in, &buf)
		if len(got) != len(want) {
			t.Fatalf("%q: %q, want %q", in, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%q: %q, want %q", in, got, want)
			}
		}
	}
}

// isSpace agrees with Python's bytes.split(), which DRF splits the
// Authorization header with, on every byte.
func TestIsSpace(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := strings.IndexByte(" \t\n\r\v\f", byte(c)) >= 0
		if got := isSpace(byte(c)); got != want {
			t.Errorf("isSpace(%#x) = %v, want %v", c, got, want)
		}
	}
	var buf [3]string
	if got := splitFields("Bearer\va\x1cb\x00c\fd", &buf); len(got) != 3 || got[1] != "a\x1cb\x00c" {
		t.Fatalf("%q", got)
	}
}

// dotJSON writes strings and integers itself and everything else through
// encoding/json; both must read back as the same members, in order, with
// DOT's ", " and ": " separators.
func TestDOTJSONMatchesEncodingJSON(t *testing.T) {
	members := []kv{{"access_token", "abc\"\\<>\u2028\xff"}, {"expires_in", 36000}, {"n", int64(-7)},
		{"active", true}, {"scope", nil}, {"list", []string{"a", "b"}}, {"é\n", "x"}}
	var want bytes.Buffer
	want.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			want.WriteString(", ")
		}
		k, _ := marshal(m.k)
		v, _ := marshal(m.v)
		want.Write(k)
		want.WriteString(": ")
		want.Write(v)
	}
	want.WriteByte('}')
	if got := dotJSON(members...); !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("%s\nwant %s", got, want.Bytes())
	}
}
