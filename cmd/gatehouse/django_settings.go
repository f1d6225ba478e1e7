package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"

	"github.com/gatehouse-auth/gatehouse/djangoconf"
)

// djangoFlags are the flags of django-settings.
type djangoFlags struct {
	out    string
	script bool
}

func (f *djangoFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.out, "out", "", "write the configuration file here (mode 0600) instead of standard output")
	fs.BoolVar(&f.script, "script", false, "print the lines to run in `python manage.py shell` that print the settings as JSON, and exit")
}

// cmdDjangoSettings reads a Django project's settings (the JSON of the
// shell lines, or diffsettings output) from a file or standard input and
// writes a gatehouse configuration file. What is not honoured goes to
// standard error, one line each, and into the file as comments.
func cmdDjangoSettings(ctx context.Context, e *env, args []string) error {
	f := e.extra.django
	if f.script {
		_, err := io.WriteString(e.stdout, djangoconf.ShellScript)
		return err
	}
	if len(args) > 1 {
		return usagef("usage: gatehouse django-settings [--out FILE] [INPUT|-]")
	}
	r, name := e.stdin, "standard input"
	if len(args) == 1 && args[0] != "-" {
		file, err := os.Open(args[0])
		if err != nil {
			return err
		}
		defer file.Close()
		r, name = file, args[0]
	}
	if r == nil {
		return errors.New("no input: name a file, or - for standard input")
	}
	in, err := djangoconf.Read(r)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	res := djangoconf.Convert(in)
	text := configText(in, res)
	notHonoured := 0
	for _, n := range res.Notes {
		fmt.Fprintf(e.stderr, "django-settings: %s\n", n)
		if n.NotHonoured {
			notHonoured++
		}
	}
	if f.out == "" {
		if res.HasSecret() {
			fmt.Fprintln(e.stderr, "django-settings: the output holds the JWT signing key: keep the file you save it in private (chmod 600)")
		}
		_, err := io.WriteString(e.stdout, text)
		return err
	}
	if err := writePrivate(f.out, text); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "django-settings: wrote %d settings to %s; %d Django settings not honoured (listed above and in the file). Run gatehouse with --config %s\n",
		len(res.Settings), f.out, notHonoured, f.out)
	return nil
}

// configText writes res as a configuration file: a header naming the
// input, what is not honoured, then each setting after the Django setting
// it comes from.
func configText(in djangoconf.Input, res djangoconf.Result) string {
	var b strings.Builder
	b.WriteString("# gatehouse settings carried from a Django project by `gatehouse django-settings`\n")
	fmt.Fprintf(&b, "# from %s", map[string]string{"json": "JSON", "diffsettings": "manage.py diffsettings"}[in.Format])
	var versions []string
	for k, v := range in.Versions {
		versions = append(versions, k+" "+v)
	}
	sort.Strings(versions)
	if len(versions) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(versions, ", "))
	}
	b.WriteString(".\n# Read it with: gatehouse serve --config FILE (flags and GATEHOUSE_* variables win over it).\n")
	for _, n := range res.Notes {
		b.WriteString("# " + n.String() + "\n")
	}
	last := ""
	for _, s := range res.Settings {
		if s.From != last {
			b.WriteString("\n# " + s.From + "\n")
			last = s.From
		}
		b.WriteString(tomlKey(s.Name) + " = " + tomlString(s.Value) + "\n")
	}
	return b.String()
}

// tomlKey is the configuration file's key of the variable name:
// GATEHOUSE_JWT_ACCESS_LIFETIME is jwt-access-lifetime. Values are
// written as TOML basic strings: Go's quoting is one, since every value
// here is valid UTF-8 (the settings' flags read strings for every kind).
func tomlKey(env string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(env, "GATEHOUSE_"), "_", "-"))
}

// writePrivate writes text to path, mode 0600, replacing it at once.
func writePrivate(path, text string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.WriteString(text); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// tomlString writes v as a TOML basic string: quotes, backslashes and
// control characters escaped as TOML escapes them.
func tomlString(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if unicode.IsControl(r) {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
