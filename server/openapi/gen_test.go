package openapi

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v4"
)

var update = flag.Bool("update", false, "rewrite gatehouse.json from gatehouse.yaml")

// TestJSONInSync checks that the embedded gatehouse.json is what
// gatehouse.yaml says; with -update it writes it.
func TestJSONInSync(t *testing.T) {
	src, err := os.ReadFile("gatehouse.yaml")
	if err != nil {
		t.Fatal(err)
	}
	n, err := fromYAML(src)
	if err != nil {
		t.Fatal(err)
	}
	want := append(n.appendJSON(nil, 0), '\n')
	if *update {
		if err := os.WriteFile("gatehouse.json", want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile("gatehouse.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("gatehouse.json is not gatehouse.yaml's: run go test ./server/openapi/ -run TestJSONInSync -update")
	}
}

// fromYAML reads the written document: YAML anchors, aliases and merge
// keys resolved, and every {"$ref": "#/components/x-..."} replaced by what
// it points at (the source's macros for what OpenAPI cannot reference:
// media types and operations), those sections then dropped.
func fromYAML(src []byte) (*node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, fmt.Errorf("want one YAML document")
	}
	root, err := convert(doc.Content[0])
	if err != nil {
		return nil, err
	}
	if err := expandMacros(root, root, 0); err != nil {
		return nil, err
	}
	if c := root.get("components"); c != nil {
		for _, k := range append([]string(nil), c.keys...) {
			if strings.HasPrefix(k, "x-") {
				c.del(k)
			}
		}
	}
	return root, nil
}

func convert(y *yaml.Node) (*node, error) {
	switch y.Kind {
	case yaml.AliasNode:
		return convert(y.Alias)
	case yaml.MappingNode:
		n := &node{kind: kindObject}
		for i := 0; i+1 < len(y.Content); i += 2 {
			k, v := y.Content[i], y.Content[i+1]
			if k.Value == "<<" && k.ShortTag() == "!!merge" {
				m, err := convert(v)
				if err != nil {
					return nil, err
				}
				for j, mk := range m.keys {
					if n.get(mk) == nil {
						n.set(mk, m.vals[j])
					}
				}
				continue
			}
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: a key must be a scalar", k.Line)
			}
			if n.get(k.Value) != nil {
				return nil, fmt.Errorf("line %d: %q repeats", k.Line, k.Value)
			}
			c, err := convert(v)
			if err != nil {
				return nil, err
			}
			n.set(k.Value, c)
		}
		return n, nil
	case yaml.SequenceNode:
		n := &node{kind: kindArray, vals: []*node{}}
		for _, item := range y.Content {
			c, err := convert(item)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, c)
		}
		return n, nil
	case yaml.ScalarNode:
		switch y.ShortTag() {
		case "!!str":
			return str(y.Value), nil
		case "!!int", "!!float":
			if _, err := strconv.ParseFloat(y.Value, 64); err != nil {
				return nil, fmt.Errorf("line %d: %q is not a JSON number", y.Line, y.Value)
			}
			return &node{kind: kindNumber, value: y.Value}, nil
		case "!!bool":
			return &node{kind: kindLiteral, value: strconv.FormatBool(strings.EqualFold(y.Value, "true"))}, nil
		case "!!null":
			return &node{kind: kindLiteral, value: "null"}, nil
		}
		return nil, fmt.Errorf("line %d: unsupported tag %s", y.Line, y.ShortTag())
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", y.Line)
}

func expandMacros(root, n *node, depth int) error {
	if depth > 50 {
		return fmt.Errorf("macros nest too deep")
	}
	for i, v := range n.vals {
		if ref := v.text("$ref"); len(v.keys) == 1 && strings.HasPrefix(ref, "#/components/x-") {
			target := root
			for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
				target = target.get(part)
			}
			if target == nil {
				return fmt.Errorf("%s: no such macro", ref)
			}
			n.vals[i] = target.clone()
			v = n.vals[i]
		}
		if err := expandMacros(root, v, depth+1); err != nil {
			return err
		}
	}
	return nil
}
