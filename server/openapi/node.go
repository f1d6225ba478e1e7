package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// node is a JSON value that keeps the order of an object's members, so
// that the document is served in the order it is written in.
type node struct {
	kind  kind
	keys  []string // object
	vals  []*node  // object: the members' values; array: the items
	value string   // string: the text; number and literal: as written
}

type kind uint8

const (
	kindObject kind = iota
	kindArray
	kindString
	kindNumber
	kindLiteral // true, false, null
)

// parse reads one JSON value.
func parse(data []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := parseValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("openapi: data after the document")
	}
	return n, nil
}

func parseValue(dec *json.Decoder) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &node{kind: kindObject}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k.(string))
				n.vals = append(n.vals, v)
			}
			_, err := dec.Token() // }
			return n, err
		case '[':
			n := &node{kind: kindArray}
			for dec.More() {
				v, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				n.vals = append(n.vals, v)
			}
			_, err := dec.Token() // ]
			return n, err
		}
	case string:
		return &node{kind: kindString, value: t}, nil
	case json.Number:
		return &node{kind: kindNumber, value: t.String()}, nil
	case bool:
		return &node{kind: kindLiteral, value: fmt.Sprint(t)}, nil
	case nil:
		return &node{kind: kindLiteral, value: "null"}, nil
	}
	return nil, fmt.Errorf("openapi: unexpected token %v", tok)
}

// get returns the member key of an object, nil when absent.
func (n *node) get(key string) *node {
	if n == nil || n.kind != kindObject {
		return nil
	}
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

// text is a string member's text, "" when it is absent or not a string.
func (n *node) text(key string) string {
	if v := n.get(key); v != nil && v.kind == kindString {
		return v.value
	}
	return ""
}

// list is an array's items or an object's values; nil for nil.
func (n *node) list() []*node {
	if n == nil {
		return nil
	}
	return n.vals
}

// names is an object's keys; nil for nil.
func (n *node) names() []string {
	if n == nil {
		return nil
	}
	return n.keys
}

// set replaces the member key, or adds it at the end.
func (n *node) set(key string, v *node) {
	for i, k := range n.keys {
		if k == key {
			n.vals[i] = v
			return
		}
	}
	n.keys = append(n.keys, key)
	n.vals = append(n.vals, v)
}

// del removes the member key.
func (n *node) del(key string) {
	for i, k := range n.keys {
		if k == key {
			n.keys = append(n.keys[:i:i], n.keys[i+1:]...)
			n.vals = append(n.vals[:i:i], n.vals[i+1:]...)
			return
		}
	}
}

// clone copies n deeply, so a served document never shares a node with
// the embedded one.
func (n *node) clone() *node {
	c := &node{kind: n.kind, value: n.value, keys: append([]string(nil), n.keys...)}
	if n.vals != nil {
		c.vals = make([]*node, len(n.vals))
		for i, v := range n.vals {
			c.vals[i] = v.clone()
		}
	}
	return c
}

func str(s string) *node { return &node{kind: kindString, value: s} }

// appendJSON writes n as indented JSON (two spaces), as the file in the
// repository is written.
func (n *node) appendJSON(b []byte, indent int) []byte {
	switch n.kind {
	case kindObject, kindArray:
		open, close := byte('{'), byte('}')
		if n.kind == kindArray {
			open, close = '[', ']'
		}
		if len(n.vals) == 0 {
			return append(b, open, close)
		}
		b = append(b, open)
		for i, v := range n.vals {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '\n')
			b = appendSpaces(b, indent+2)
			if n.kind == kindObject {
				b = appendQuoted(b, n.keys[i])
				b = append(b, ": "...)
			}
			b = v.appendJSON(b, indent+2)
		}
		b = append(b, '\n')
		b = appendSpaces(b, indent)
		return append(b, close)
	case kindString:
		return appendQuoted(b, n.value)
	}
	return append(b, n.value...)
}

func appendSpaces(b []byte, n int) []byte {
	for range n {
		b = append(b, ' ')
	}
	return b
}

// appendQuoted writes s as a JSON string, which is also a YAML
// double-quoted scalar.
func appendQuoted(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

// appendYAML writes n as block YAML at indent: an object's members one a
// line, an array's items after "- ", strings with newlines as literal
// blocks, other strings and keys plain when YAML reads them back as the
// same string, double-quoted otherwise.
func (n *node) appendYAML(b []byte, indent int) []byte {
	switch n.kind {
	case kindObject:
		for i, k := range n.keys {
			b = appendSpaces(b, indent)
			b = appendYAMLString(b, k, -1)
			b = append(b, ':')
			b = n.vals[i].appendYAMLValue(b, indent)
		}
	case kindArray:
		for _, v := range n.vals {
			b = appendSpaces(b, indent)
			b = append(b, '-')
			if (v.kind == kindObject || v.kind == kindArray) && len(v.vals) > 0 {
				// The item's first line follows "- ".
				inner := v.appendYAML(nil, indent+2)
				b = append(b, ' ')
				b = append(b, inner[indent+2:]...)
				continue
			}
			b = v.appendYAMLValue(b, indent)
		}
	}
	return b
}

// appendYAMLValue writes the value after "key:" or "-".
func (n *node) appendYAMLValue(b []byte, indent int) []byte {
	switch n.kind {
	case kindObject, kindArray:
		if len(n.vals) == 0 {
			if n.kind == kindObject {
				return append(b, " {}\n"...)
			}
			return append(b, " []\n"...)
		}
		b = append(b, '\n')
		return n.appendYAML(b, indent+2)
	case kindString:
		b = append(b, ' ')
		b = appendYAMLString(b, n.value, indent+2)
		return append(b, '\n')
	}
	b = append(b, ' ')
	b = append(b, n.value...)
	return append(b, '\n')
}

// appendYAMLString writes s plain, as a literal block (blockIndent >= 0
// and s has lines), or double-quoted.
func appendYAMLString(b []byte, s string, blockIndent int) []byte {
	if plainSafe(s) {
		return append(b, s...)
	}
	if blockIndent >= 0 && literalSafe(s) {
		body := s
		b = append(b, '|')
		switch {
		case strings.HasSuffix(s, "\n"):
			body = strings.TrimSuffix(s, "\n")
		default:
			b = append(b, '-')
		}
		for _, line := range strings.Split(body, "\n") {
			b = append(b, '\n')
			if line != "" {
				b = appendSpaces(b, blockIndent)
				b = append(b, line...)
			}
		}
		return b
	}
	return appendQuoted(b, s)
}

// plainSafe reports whether s can be written as a plain scalar that every
// YAML 1.1 and 1.2 reader takes for this string: a conservative subset
// (words and paths, no indicators, nothing a reader would type as a
// number, boolean or null).
func plainSafe(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	switch strings.ToLower(s) {
	case "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~":
		return false
	}
	first := s[0]
	if !(first >= 'a' && first <= 'z' || first >= 'A' && first <= 'Z' || first == '/' || first == '_') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_-./", c) >= 0) {
			return false
		}
	}
	return true
}

// literalSafe reports whether s can be a literal block: several lines,
// ending in at most one newline, the first line not starting with a
// space (which would need an indentation indicator), printable text.
func literalSafe(s string) bool {
	if !strings.Contains(strings.TrimSuffix(s, "\n"), "\n") || strings.HasSuffix(s, "\n\n") ||
		strings.HasPrefix(s, " ") || strings.HasPrefix(s, "\n") || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r != '\n' && (r < 0x20 || r == 0x7f || r == 0xfeff || r >= 0x80 && r < 0xa0 || r == '\u2028' || r == '\u2029') {
			return false
		}
	}
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimRight(line, " \t") != line {
			return false // trailing blanks survive, but some editors do not keep them
		}
	}
	return true
}
