package openapi

import (
	"bytes"
	_ "embed"
	"html/template"
	"strings"
)

// The documentation page is rendered on the server from the same document:
// no script, one style sheet served beside it, so it works offline and
// under a Content-Security-Policy that allows nothing else.

//go:embed docs.css
var docsCSS []byte

//go:embed docs.html
var docsHTML string

// CSS is the documentation page's style sheet.
func CSS() []byte { return docsCSS }

var docsTemplate = template.Must(template.New("docs").Funcs(template.FuncMap{"md": inlineCode}).Parse(docsHTML))

// inlineCode escapes s and shows its `code spans` as <code>, the one piece
// of Markdown the document's descriptions use.
func inlineCode(s string) template.HTML {
	var b strings.Builder
	for i, part := range strings.Split(s, "`") {
		if i%2 == 1 && i < strings.Count(s, "`") {
			b.WriteString("<code>" + template.HTMLEscapeString(part) + "</code>")
			continue
		}
		if i%2 == 1 {
			b.WriteString("`") // an unpaired backtick stays as written
		}
		b.WriteString(template.HTMLEscapeString(part))
	}
	return template.HTML(b.String())
}

type docsPage struct {
	Title, Version, Summary, Description, Server, SchemaURL string
	Tags                                                    []docsTag
	Schemes                                                 []docsScheme
	Schemas                                                 []docsNamedSchema
}

type docsTag struct {
	Name, Description string
	Ops               []docsOp
}

type docsOp struct {
	ID, Method, Path, Summary, Description string
	Security                               []string
	Params                                 []docsParam
	Body                                   []docsMedia
	Responses                              []docsResponse
}

type docsParam struct {
	Name, In, Description string
	Required              bool
	Schema                *docsSchema
}

type docsMedia struct {
	Type   string
	Schema *docsSchema
}

type docsResponse struct {
	Status, Description string
	Headers             []string
	Content             []docsMedia
}

type docsScheme struct{ Name, Kind, Description string }

type docsNamedSchema struct {
	Name   string
	Schema *docsSchema
}

// docsSchema is a schema as the page shows it: a link to a named schema,
// or its type with its members.
type docsSchema struct {
	Ref, Type, Description, Const, Format string
	Enum                                  []string
	Props                                 []docsProp
	Items                                 *docsSchema
	OneOf                                 []*docsSchema
	Extra                                 *docsSchema // additionalProperties
	Closed                                bool        // additionalProperties: false
}

type docsProp struct {
	Name     string
	Required bool
	Schema   *docsSchema
}

// HTML renders the documentation page; schemaURL is where the document
// itself is served (linked from the page).
func (d *Document) HTML(schemaURL string) []byte {
	r := d.root
	info := r.get("info")
	p := docsPage{Title: info.text("title"), Version: info.text("version"), Summary: info.text("summary"),
		Description: info.text("description"), SchemaURL: schemaURL}
	if s := r.get("servers"); s != nil && len(s.vals) > 0 {
		p.Server = s.vals[0].text("url")
	}
	byTag := map[string]*docsTag{}
	for _, t := range r.get("tags").list() {
		p.Tags = append(p.Tags, docsTag{Name: t.text("name"), Description: t.text("description")})
	}
	for i := range p.Tags {
		byTag[p.Tags[i].Name] = &p.Tags[i]
	}
	paths := r.get("paths")
	for i, path := range paths.keys {
		item := paths.vals[i]
		for j, method := range item.keys {
			if !isMethod(method) {
				continue
			}
			op := item.vals[j]
			o := docsOp{ID: op.text("operationId"), Method: strings.ToUpper(method), Path: path, Summary: op.text("summary"),
				Description: op.text("description")}
			if o.ID == "" {
				o.ID = method + strings.NewReplacer("/", "-", "{", "", "}", "", ".", "-").Replace(path)
			}
			if sec := op.get("security"); sec != nil {
				for _, req := range sec.vals {
					if len(req.keys) == 0 {
						o.Security = append(o.Security, "none")
					}
					for k, name := range req.keys {
						scopes := []string{}
						for _, s := range req.vals[k].vals {
							scopes = append(scopes, s.value)
						}
						if len(scopes) > 0 {
							name += " (" + strings.Join(scopes, ", ") + ")"
						}
						o.Security = append(o.Security, name)
					}
				}
			}
			params := append(append([]*node(nil), item.get("parameters").list()...), op.get("parameters").list()...)
			for _, prm := range params {
				prm = d.resolve(prm)
				o.Params = append(o.Params, docsParam{Name: prm.text("name"), In: prm.text("in"), Description: prm.text("description"),
					Required: prm.get("required") != nil && prm.get("required").value == "true", Schema: d.schema(prm.get("schema"), 0)})
			}
			if body := d.resolve(op.get("requestBody")); body != nil {
				o.Body = d.media(body.get("content"))
			}
			resps := op.get("responses")
			for k, status := range resps.keys {
				res := d.resolve(resps.vals[k])
				dr := docsResponse{Status: status, Description: res.text("description"), Content: d.media(res.get("content"))}
				dr.Headers = append(dr.Headers, res.get("headers").names()...)
				o.Responses = append(o.Responses, dr)
			}
			tag := "operations"
			if t := op.get("tags"); t != nil && len(t.vals) > 0 {
				tag = t.vals[0].value
			}
			if byTag[tag] == nil {
				p.Tags = append(p.Tags, docsTag{Name: tag})
				for i := range p.Tags {
					byTag[p.Tags[i].Name] = &p.Tags[i]
				}
			}
			byTag[tag].Ops = append(byTag[tag].Ops, o)
		}
	}
	comps := r.get("components")
	schemes := comps.get("securitySchemes")
	for i, name := range schemes.keys {
		s := schemes.vals[i]
		kind := s.text("type")
		if sc := s.text("scheme"); sc != "" {
			kind += " " + sc
		}
		if in := s.text("in"); in != "" {
			kind += " (" + in + " " + s.text("name") + ")"
		}
		p.Schemes = append(p.Schemes, docsScheme{Name: name, Kind: kind, Description: s.text("description")})
	}
	schemas := comps.get("schemas")
	for i, name := range schemas.keys {
		p.Schemas = append(p.Schemas, docsNamedSchema{Name: name, Schema: d.schema(schemas.vals[i], -1)})
	}
	var b bytes.Buffer
	if err := docsTemplate.Execute(&b, p); err != nil {
		// The template and the data are both this package's: a failure is
		// a bug its tests catch.
		panic(err)
	}
	return b.Bytes()
}

func isMethod(k string) bool {
	switch k {
	case "get", "put", "post", "delete", "options", "head", "patch", "trace":
		return true
	}
	return false
}

// resolve follows a local $ref (one level at a time, at most a few).
func (d *Document) resolve(n *node) *node {
	for range 5 {
		ref := n.text("$ref")
		if ref == "" || !strings.HasPrefix(ref, "#/") {
			return n
		}
		t := d.root
		for _, part := range strings.Split(ref[2:], "/") {
			t = t.get(part)
		}
		if t == nil {
			return n
		}
		n = t
	}
	return n
}

func (d *Document) media(content *node) []docsMedia {
	var out []docsMedia
	if content == nil {
		return nil
	}
	for i, mt := range content.keys {
		out = append(out, docsMedia{Type: mt, Schema: d.schema(content.vals[i].get("schema"), 0)})
	}
	return out
}

// schema describes n; a named schema is a link unless depth < 0 (the
// schema's own entry).
func (d *Document) schema(n *node, depth int) *docsSchema {
	if n == nil || depth > 8 {
		return nil
	}
	if ref := n.text("$ref"); ref != "" && depth >= 0 {
		return &docsSchema{Ref: strings.TrimPrefix(ref, "#/components/schemas/")}
	}
	if depth < 0 {
		depth = 0
	}
	s := &docsSchema{Description: n.text("description"), Format: n.text("format")}
	switch t := n.get("type"); {
	case t == nil:
	case t.kind == kindString:
		s.Type = t.value
	case t.kind == kindArray:
		var ts []string
		for _, v := range t.vals {
			ts = append(ts, v.value)
		}
		s.Type = strings.Join(ts, " | ")
	}
	if c := n.get("const"); c != nil {
		s.Const = c.value
	}
	for _, e := range n.get("enum").list() {
		s.Enum = append(s.Enum, e.value)
	}
	required := map[string]bool{}
	for _, r := range n.get("required").list() {
		required[r.value] = true
	}
	if props := n.get("properties"); props != nil {
		for i, name := range props.keys {
			s.Props = append(s.Props, docsProp{Name: name, Required: required[name], Schema: d.schema(props.vals[i], depth+1)})
		}
	}
	if ap := n.get("additionalProperties"); ap != nil {
		if ap.kind == kindLiteral {
			s.Closed = ap.value == "false"
		} else {
			s.Extra = d.schema(ap, depth+1)
		}
	}
	s.Items = d.schema(n.get("items"), depth+1)
	for _, alt := range append(n.get("oneOf").list(), n.get("anyOf").list()...) {
		s.OneOf = append(s.OneOf, d.schema(alt, depth+1))
	}
	return s
}
