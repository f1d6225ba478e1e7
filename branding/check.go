package branding

import (
	"fmt"
	"html/template"
	"reflect"
	"strings"
	"text/template/parse"
)

// checker walks a page's parse trees with the type of dot at each point,
// as the executor would, and records every field chain that the type
// does not have. html/template finds a missing field only when the
// branch naming it runs; this finds it in every branch, at start.
//
// A nil type is unknown (an interface, a function's result): anything
// may follow it.
type checker struct {
	root *template.Template
	page string
	data reflect.Type
	seen map[walked]bool // template name and dot type already walked
	used map[string]bool // fields of the page's data named anywhere
	errs []error
}

// walked is a template walked with a type of dot.
type walked struct {
	name string
	dot  reflect.Type
}

// scope holds the variables visible at a point, by name ("$", "$x").
type scope map[string]reflect.Type

func (sc scope) with() scope {
	out := make(scope, len(sc))
	for k, v := range sc {
		out[k] = v
	}
	return out
}

// template walks the template name with dot of type dot, once per pair.
func (c *checker) template(name string, dot reflect.Type) {
	key := walked{name, dot}
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	t := c.root.Lookup(name)
	if t == nil || t.Tree == nil || t.Tree.Root == nil {
		return // the escaper reports a call of an undefined template
	}
	c.list(t.Tree, t.Tree.Root, dot, scope{"$": dot})
}

func (c *checker) list(tr *parse.Tree, l *parse.ListNode, dot reflect.Type, vars scope) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		c.node(tr, n, dot, vars)
	}
}

func (c *checker) node(tr *parse.Tree, n parse.Node, dot reflect.Type, vars scope) {
	switch n := n.(type) {
	case *parse.ActionNode:
		c.pipe(tr, n.Pipe, dot, vars)
	case *parse.IfNode:
		inner := vars.with()
		c.pipe(tr, n.Pipe, dot, inner)
		c.list(tr, n.List, dot, inner.with())
		c.list(tr, n.ElseList, dot, inner.with())
	case *parse.WithNode:
		inner := vars.with()
		t := c.pipe(tr, n.Pipe, dot, inner)
		c.list(tr, n.List, t, inner.with())
		c.list(tr, n.ElseList, dot, inner.with())
	case *parse.RangeNode:
		inner := vars.with()
		t := c.pipeNoDecl(tr, n.Pipe, dot, inner)
		key, elem := rangeTypes(t)
		switch len(n.Pipe.Decl) {
		case 1:
			inner[n.Pipe.Decl[0].Ident[0]] = elem
		case 2:
			inner[n.Pipe.Decl[0].Ident[0]] = key
			inner[n.Pipe.Decl[1].Ident[0]] = elem
		}
		c.list(tr, n.List, elem, inner.with())
		c.list(tr, n.ElseList, dot, vars.with())
	case *parse.TemplateNode:
		var t reflect.Type
		if n.Pipe != nil {
			t = c.pipe(tr, n.Pipe, dot, vars.with())
		}
		c.template(n.Name, t)
	case *parse.ListNode:
		c.list(tr, n, dot, vars.with())
	}
}

// pipe is the type a pipeline yields; its declarations join vars.
func (c *checker) pipe(tr *parse.Tree, p *parse.PipeNode, dot reflect.Type, vars scope) reflect.Type {
	t := c.pipeNoDecl(tr, p, dot, vars)
	for _, d := range p.Decl {
		if !p.IsAssign {
			vars[d.Ident[0]] = t
		}
	}
	return t
}

func (c *checker) pipeNoDecl(tr *parse.Tree, p *parse.PipeNode, dot reflect.Type, vars scope) reflect.Type {
	if p == nil {
		return nil
	}
	var t reflect.Type
	for _, cmd := range p.Cmds {
		t = c.command(tr, cmd, dot, vars)
	}
	return t
}

// command is the type of one command: its first word decides; the other
// words are arguments, checked too.
func (c *checker) command(tr *parse.Tree, cmd *parse.CommandNode, dot reflect.Type, vars scope) reflect.Type {
	if len(cmd.Args) == 0 {
		return nil
	}
	for _, a := range cmd.Args[1:] {
		c.arg(tr, a, dot, vars)
	}
	if id, ok := cmd.Args[0].(*parse.IdentifierNode); ok {
		return funcResult(id.Ident, cmd.Args[1:], func(n parse.Node) reflect.Type { return c.arg(tr, n, dot, vars) })
	}
	return c.arg(tr, cmd.Args[0], dot, vars)
}

// arg is the type of one word of a command.
func (c *checker) arg(tr *parse.Tree, n parse.Node, dot reflect.Type, vars scope) reflect.Type {
	switch n := n.(type) {
	case *parse.DotNode:
		return dot
	case *parse.FieldNode:
		return c.fields(tr, n, dot, n.Ident)
	case *parse.VariableNode:
		t, ok := vars[n.Ident[0]]
		if !ok {
			return nil // the parser refuses an undefined variable
		}
		return c.fields(tr, n, t, n.Ident[1:])
	case *parse.ChainNode:
		return c.fields(tr, n, c.arg(tr, n.Node, dot, vars), n.Field)
	case *parse.PipeNode:
		return c.pipe(tr, n, dot, vars.with())
	case *parse.StringNode:
		return reflect.TypeFor[string]()
	case *parse.BoolNode:
		return reflect.TypeFor[bool]()
	case *parse.NumberNode:
		if n.IsInt {
			return reflect.TypeFor[int]()
		}
		return nil
	}
	return nil
}

// fields follows a chain of field names from a value of type t.
func (c *checker) fields(tr *parse.Tree, n parse.Node, t reflect.Type, chain []string) reflect.Type {
	for i, name := range chain {
		if t == nil {
			return nil
		}
		if m, ok := method(t, name); ok {
			if m.Type.NumOut() == 0 {
				return nil
			}
			t = m.Type.Out(0)
			continue
		}
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Interface:
			return nil
		case reflect.Map:
			if t.Key().Kind() == reflect.String {
				t = t.Elem()
				continue
			}
		case reflect.Struct:
			if f, ok := t.FieldByName(name); ok && f.IsExported() {
				if c.isData(t) {
					c.used[name] = true
				}
				t = f.Type
				continue
			}
		}
		loc, _ := tr.ErrorContext(n)
		c.errs = append(c.errs, fmt.Errorf("%s: .%s: %s", loc, strings.Join(chain[:i+1], "."), c.noField(t, name)))
		return nil
	}
	return t
}

// isData reports whether t is the page's data struct.
func (c *checker) isData(t reflect.Type) bool {
	d := c.data
	for d != nil && d.Kind() == reflect.Pointer {
		d = d.Elem()
	}
	return t == d
}

// noField says that t has no field name, and which it has.
func (c *checker) noField(t reflect.Type, name string) string {
	what := "a " + t.Kind().String()
	if c.isData(t) {
		what = "the " + strings.TrimSuffix(c.page, ".html") + " page's data"
	} else if t.Kind() == reflect.Struct {
		what = "this value"
	}
	if t.Kind() != reflect.Struct {
		return fmt.Sprintf("%s has no field %s", what, name)
	}
	var have []string
	for _, f := range reflect.VisibleFields(t) {
		if f.IsExported() && !f.Anonymous {
			have = append(have, "."+f.Name)
		}
	}
	return fmt.Sprintf("%s has no field %s (it has %s; see docs/branding.md)", what, name, strings.Join(have, ", "))
}

// method finds an exported method name of t or of *t.
func method(t reflect.Type, name string) (reflect.Method, bool) {
	if t.Kind() == reflect.Interface {
		return reflect.Method{}, false
	}
	if t.Kind() != reflect.Pointer {
		t = reflect.PointerTo(t)
	}
	return t.MethodByName(name)
}

// rangeTypes are the key and element types of ranging over t.
func rangeTypes(t reflect.Type) (key, elem reflect.Type) {
	if t == nil {
		return nil, nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return reflect.TypeFor[int](), t.Elem()
	case reflect.Map:
		return t.Key(), t.Elem()
	case reflect.Chan:
		return t.Elem(), t.Elem()
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Int16, reflect.Int8:
		return t, t
	}
	return nil, nil
}

// funcResult is the type a builtin function of text/template returns
// (gatehouse registers none of its own).
func funcResult(name string, args []parse.Node, typeOf func(parse.Node) reflect.Type) reflect.Type {
	switch name {
	case "not", "eq", "ne", "lt", "le", "gt", "ge":
		return reflect.TypeFor[bool]()
	case "len":
		return reflect.TypeFor[int]()
	case "print", "printf", "println", "html", "js", "urlquery":
		return reflect.TypeFor[string]()
	case "index":
		if len(args) < 2 {
			return nil
		}
		t := typeOf(args[0])
		for i := 1; i < len(args) && t != nil; i++ {
			_, t = rangeTypes(t)
		}
		return t
	case "slice":
		if len(args) > 0 {
			return typeOf(args[0])
		}
	}
	return nil // and, or, call: any of their arguments, or anything
}
