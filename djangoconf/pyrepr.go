package djangoconf

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Opaque is a value Python printed as something other than a literal: a
// class, a function, a path object. Its text is Python's repr, kept for
// messages; gatehouse reads nothing from it.
type Opaque string

// Object is a JSON object or Python dict with its keys in order, as
// Django's settings keep them (SCOPES is shown in its order).
type Object struct {
	Keys   []string
	Values map[string]any
}

// Get returns the value of key and whether it is present.
func (o *Object) Get(key string) (any, bool) {
	if o == nil {
		return nil, false
	}
	v, ok := o.Values[key]
	return v, ok
}

func (o *Object) set(key string, v any) {
	if o.Values == nil {
		o.Values = map[string]any{}
	}
	if _, dup := o.Values[key]; !dup {
		o.Keys = append(o.Keys, key)
	}
	o.Values[key] = v
}

// maxDepth bounds the nesting of values read, so that hostile input cannot
// exhaust the stack.
const maxDepth = 64

// parsePython reads one Python literal as repr() writes it for the values
// Django's settings hold: None, True, False, numbers, str, list, tuple,
// dict, set, datetime.timedelta(...) (as seconds, a float64), and anything
// else that repr writes as name(...) or <...> (as an Opaque). Values are
// nil, bool, int64, float64, string, []any, *Object and Opaque.
func parsePython(s string) (any, error) {
	p := &pyParser{s: s}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("unexpected %q after the value", p.rest())
	}
	return v, nil
}

type pyParser struct {
	s string
	i int
}

func (p *pyParser) rest() string {
	r := p.s[p.i:]
	if len(r) > 20 {
		r = r[:20] + "…"
	}
	return r
}

func (p *pyParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *pyParser) eat(c byte) bool {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *pyParser) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("values nested too deeply")
	}
	p.space()
	if p.i >= len(p.s) {
		return nil, errors.New("a value is missing")
	}
	switch c := p.s[p.i]; {
	case c == '\'' || c == '"':
		return p.str()
	case c == '[':
		p.i++
		return p.seq(']', depth)
	case c == '(':
		p.i++
		return p.seq(')', depth)
	case c == '{':
		p.i++
		return p.dict(depth)
	case c == '<':
		return p.angle()
	case c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'):
		return p.number()
	case isIdentStart(c):
		return p.name(depth)
	}
	return nil, fmt.Errorf("unexpected %q", p.rest())
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isIdent(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' || c == '.' }

// str reads a quoted string with Python's escapes.
func (p *pyParser) str() (string, error) {
	q := p.s[p.i]
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == q:
			p.i++
			return b.String(), nil
		case c == '\\':
			if p.i+1 >= len(p.s) {
				return "", errors.New("a string ends in a backslash")
			}
			p.i++
			e := p.s[p.i]
			p.i++
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '\\', '\'', '"':
				b.WriteByte(e)
			case 'x', 'u', 'U':
				n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
				if p.i+n > len(p.s) {
					return "", errors.New("a short escape in a string")
				}
				r, err := strconv.ParseUint(p.s[p.i:p.i+n], 16, 32)
				if err != nil || !utf8.ValidRune(rune(r)) {
					return "", fmt.Errorf("a bad escape \\%c%s in a string", e, p.s[p.i:p.i+n])
				}
				b.WriteRune(rune(r))
				p.i += n
			default:
				return "", fmt.Errorf("an unknown escape \\%c in a string", e)
			}
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return "", errors.New("a string is not closed")
}

// seq reads the items of a list, tuple or set up to end.
func (p *pyParser) seq(end byte, depth int) ([]any, error) {
	out := []any{}
	for {
		if p.eat(end) {
			return out, nil
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if !p.eat(',') {
			if p.eat(end) {
				return out, nil
			}
			return nil, fmt.Errorf("want , or %c, got %q", end, p.rest())
		}
	}
}

// dict reads a dict (or a set, which repr also writes in braces) whose
// opening brace was read.
func (p *pyParser) dict(depth int) (any, error) {
	o := &Object{Values: map[string]any{}}
	if p.eat('}') {
		return o, nil
	}
	first, err := p.value(depth + 1)
	if err != nil {
		return nil, err
	}
	if !p.eat(':') { // a set
		items := []any{first}
		if p.eat(',') {
			rest, err := p.seq('}', depth)
			if err != nil {
				return nil, err
			}
			return append(items, rest...), nil
		}
		if !p.eat('}') {
			return nil, fmt.Errorf("want , or }, got %q", p.rest())
		}
		return items, nil
	}
	key := first
	for {
		k, ok := key.(string)
		if !ok {
			k = fmt.Sprint(key)
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		o.set(k, v)
		if !p.eat(',') {
			break
		}
		if p.eat('}') {
			return o, nil
		}
		if key, err = p.value(depth + 1); err != nil {
			return nil, err
		}
		if !p.eat(':') {
			return nil, fmt.Errorf("want : after a key, got %q", p.rest())
		}
	}
	if !p.eat('}') {
		return nil, fmt.Errorf("want , or }, got %q", p.rest())
	}
	return o, nil
}

// angle reads <...> (the repr of a function or class) as Opaque.
func (p *pyParser) angle() (any, error) {
	end := strings.IndexByte(p.s[p.i:], '>')
	if end < 0 {
		return nil, errors.New("a <...> value is not closed")
	}
	v := Opaque(p.s[p.i : p.i+end+1])
	p.i += end + 1
	return v, nil
}

func (p *pyParser) number() (any, error) {
	start := p.i
	for p.i < len(p.s) && strings.IndexByte("+-.0123456789eE_", p.s[p.i]) >= 0 {
		p.i++
	}
	text := strings.ReplaceAll(p.s[start:p.i], "_", "")
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return nil, fmt.Errorf("a bad number %q", text)
	}
	return f, nil
}

// name reads None, True, False, datetime.timedelta(...) and other calls.
func (p *pyParser) name(depth int) (any, error) {
	start := p.i
	for p.i < len(p.s) && isIdent(p.s[p.i]) {
		p.i++
	}
	id := p.s[start:p.i]
	switch id {
	case "None":
		return nil, nil
	case "True":
		return true, nil
	case "False":
		return false, nil
	case "inf":
		return nil, errors.New("an infinite number")
	}
	if !p.eat('(') {
		return nil, fmt.Errorf("unexpected name %q", id)
	}
	if id == "datetime.timedelta" || id == "timedelta" {
		return p.timedelta(depth)
	}
	// Another call (PosixPath('/x'), a frozenset): skip its arguments.
	if _, err := p.args(depth); err != nil {
		return nil, err
	}
	return Opaque(p.s[start:p.i]), nil
}

// args reads call arguments, positional or key=value, up to ")".
func (p *pyParser) args(depth int) (map[string]any, error) {
	kw := map[string]any{}
	for {
		if p.eat(')') {
			return kw, nil
		}
		p.space()
		key := ""
		save := p.i
		for p.i < len(p.s) && isIdent(p.s[p.i]) {
			p.i++
		}
		if end := p.i; end > save && p.eat('=') {
			key = p.s[save:end]
		} else {
			p.i = save
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if key != "" {
			kw[key] = v
		}
		if !p.eat(',') {
			if p.eat(')') {
				return kw, nil
			}
			return nil, fmt.Errorf("want , or ), got %q", p.rest())
		}
	}
}

// timedelta reads the keyword arguments repr writes (days, seconds,
// microseconds) into seconds.
func (p *pyParser) timedelta(depth int) (any, error) {
	kw, err := p.args(depth)
	if err != nil {
		return nil, err
	}
	total := 0.0
	for k, v := range kw {
		var n float64
		switch x := v.(type) {
		case int64:
			n = float64(x)
		case float64:
			n = x
		default:
			return nil, fmt.Errorf("timedelta %s is not a number", k)
		}
		switch k {
		case "days":
			total += n * 86400
		case "seconds":
			total += n
		case "microseconds":
			total += n / 1e6
		case "minutes":
			total += n * 60
		case "hours":
			total += n * 3600
		case "weeks":
			total += n * 7 * 86400
		case "milliseconds":
			total += n / 1e3
		default:
			return nil, fmt.Errorf("timedelta has no %s", k)
		}
	}
	return total, nil
}
