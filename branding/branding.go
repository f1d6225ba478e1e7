// Package branding loads a team's own templates for gatehouse's end-user
// pages (login, consent, errors, ...) from a directory, and the static
// files (style sheets, logos, fonts) those pages link to.
//
// The directory holds one html/template file per page it replaces, named
// after the page (login.html, consent.html, ...); a page without a file
// keeps gatehouse's built-in template. An optional base.html is parsed
// before every page file, so that pages share a layout: base.html
// defines named templates, a page calls them and (re)defines the blocks
// they leave open. An optional static/ subdirectory is read into memory
// and served as it is.
//
// Everything is read and checked once, by Load: a template that does not
// parse, that names a field its page's data does not have (in any branch,
// not only the ones a sample run takes), that the html/template escaper
// refuses, or that fails on sample data refuses the load with the file
// and line. Nothing is reloaded afterwards: a change takes a restart.
//
// The package knows the pages only as names and sample values of their
// data (Load's argument): the server owns both, so that its built-in
// templates and the team's get the same data.
package branding

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
)

// Base is the file parsed before every page's: the shared layout.
const Base = "base.html"

// StaticDir is the subdirectory of static files.
const StaticDir = "static"

// Page is a page that can be replaced: its file name and a sample of the
// data its template is executed with. Sample is a pointer to a struct,
// with every string field non-empty and every list holding an element, so
// that the sample run of Load reaches every branch a template would take
// with real data. Requires are fields the template must write (the form's
// CSRF token: a form without it is always refused).
type Page struct {
	File     string
	Sample   any
	Requires []string
}

// Set is the loaded directory: the pages it replaces and its static files.
// It is read-only after Load and safe for concurrent use.
type Set struct {
	dir    string
	pages  map[string]*template.Template
	static *Static // nil: no static/ subdirectory
}

// Load reads dir: the files of the pages listed in pages, base.html, and
// static/. A file ending in .html that names no page is refused (a
// misspelt page would otherwise silently keep the built-in one); other
// files are ignored. Errors name the file and, for a template, the line.
func Load(dir string, pages []Page) (*Set, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("templates directory: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("templates directory %s is not a directory", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("templates directory: %w", err)
	}
	known := map[string]Page{}
	var names []string
	for _, p := range pages {
		known[p.File] = p
		names = append(names, p.File)
	}
	slices.Sort(names)
	s := &Set{dir: dir, pages: map[string]*template.Template{}}
	var base string
	haveBase := false
	var present []Page
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == StaticDir && e.IsDir():
			if s.static, err = loadStatic(filepath.Join(dir, StaticDir)); err != nil {
				return nil, err
			}
		case !strings.HasSuffix(name, ".html") || strings.HasPrefix(name, "."):
			// Not a template: a README, an editor's backup.
		case name == Base:
			b, err := readTemplate(dir, name)
			if err != nil {
				return nil, err
			}
			base, haveBase = b, true
		default:
			p, ok := known[name]
			if !ok {
				return nil, fmt.Errorf("%s: not a page gatehouse serves; the pages are %s (and %s, the shared layout)",
					filepath.Join(dir, name), strings.Join(names, ", "), Base)
			}
			present = append(present, p)
		}
	}
	if haveBase {
		// Parsed alone too, so that a mistake in it is found even when no
		// page uses it yet.
		if _, err := template.New(Base).Parse(base); err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
	}
	for _, p := range present {
		text, err := readTemplate(dir, p.File)
		if err != nil {
			return nil, err
		}
		t, err := parsePage(p.File, base, haveBase, text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
		if err := check(t, p); err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
		s.pages[p.File] = t
	}
	return s, nil
}

// readTemplate reads one template file of dir, a regular file.
func readTemplate(dir, name string) (string, error) {
	path := filepath.Join(dir, name)
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s: not a regular file", path)
	}
	if fi.Size() > maxTemplate {
		return "", fmt.Errorf("%s: %d bytes, more than a template may have (%d)", path, fi.Size(), maxTemplate)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// maxTemplate bounds one template file.
const maxTemplate = 1 << 20

// parsePage builds a page's template: base.html first (when there is one),
// then the page's file, whose definitions win. The page's own text is the
// template named after its file.
func parsePage(file, base string, haveBase bool, text string) (*template.Template, error) {
	t := template.New(file).Option("missingkey=error")
	if haveBase {
		if _, err := t.New(Base).Parse(base); err != nil {
			return nil, err
		}
	}
	if _, err := t.Parse(text); err != nil {
		return nil, err
	}
	return t, nil
}

// check refuses a page's template that names a field its data lacks, that
// omits a required field, that the escaper refuses, or that fails on the
// sample data.
func check(t *template.Template, p Page) error {
	c := &checker{root: t, page: p.File, data: reflect.TypeOf(p.Sample), seen: map[walked]bool{}, used: map[string]bool{}}
	c.template(p.File, c.data)
	if err := errors.Join(c.errs...); err != nil {
		return err
	}
	for _, f := range p.Requires {
		if !c.used[f] {
			return fmt.Errorf("%s never writes {{.%s}}, which its form needs (docs/branding.md says where)", p.File, f)
		}
	}
	// The escaper runs on the first execution, over every template
	// reachable from the page; the sample data then exercises the
	// branches that real data takes.
	if err := t.Execute(io.Discard, p.Sample); err != nil {
		return err
	}
	return nil
}

// Pages are the file names of the pages the directory replaces, sorted.
func (s *Set) Pages() []string { return slices.Sorted(maps.Keys(s.pages)) }

// Lookup returns the template replacing the page of that file name, or
// nil when the directory has none (the built-in one serves).
func (s *Set) Lookup(file string) *template.Template {
	if s == nil {
		return nil
	}
	return s.pages[file]
}

// Static returns the static files, or nil when the directory has no
// static/ subdirectory.
func (s *Set) Static() *Static {
	if s == nil {
		return nil
	}
	return s.static
}

// Dir is the directory the set was loaded from.
func (s *Set) Dir() string { return s.dir }
