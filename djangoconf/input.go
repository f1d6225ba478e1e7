// Package djangoconf carries a Django project's settings over to gatehouse:
// it reads what the documented `manage.py shell` lines print (ShellScript)
// or what `manage.py diffsettings --all` prints, and turns SIMPLE_JWT,
// OAUTH2_PROVIDER, REST_FRAMEWORK, PASSWORD_HASHERS and
// AUTH_PASSWORD_VALIDATORS into gatehouse settings (GATEHOUSE_* names and
// values). Every value it cannot honour is reported with the reason, and
// where gatehouse refuses a value as insecure the secure one is written
// instead and reported; nothing is dropped or guessed silently.
package djangoconf

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Input is a Django project's settings as far as gatehouse reads them.
// Absent settings are nil (a section) or their Has* flag is false.
type Input struct {
	// Format is "json" (the shell lines) or "diffsettings".
	Format string
	// Versions are the installed versions by distribution name (django,
	// djangorestframework, djangorestframework-simplejwt,
	// django-oauth-toolkit); empty when unknown.
	Versions map[string]string
	// InstalledApps is INSTALLED_APPS; HasInstalledApps is false when the
	// input does not say.
	InstalledApps    []string
	HasInstalledApps bool
	// AuthUserModel is AUTH_USER_MODEL ("" when not given).
	AuthUserModel string
	// OAuthModels are DOT's OAUTH2_PROVIDER_*_MODEL settings given, by
	// name ("OAUTH2_PROVIDER_APPLICATION_MODEL": "clients.Application").
	OAuthModels map[string]string
	// UsernameField is the user model's USERNAME_FIELD, which the shell
	// lines print ("" when not given).
	UsernameField string
	// SecretKey is Django's SECRET_KEY, present only when the input holds
	// it (the shell lines with SECRETS = True, or diffsettings).
	SecretKey    string
	HasSecretKey bool
	// SimpleJWT, OAuth2Provider and RestFramework are the settings
	// dictionaries as settings.py sets them (simplejwt, DOT and DRF fill
	// in their defaults for the keys absent); nil when not set.
	SimpleJWT, OAuth2Provider, RestFramework *Object
	// Hashers is PASSWORD_HASHERS; HasHashers is false when not given.
	Hashers    []Hasher
	HasHashers bool
	// Validators is AUTH_PASSWORD_VALIDATORS; HasValidators is false when
	// not given.
	Validators    []any
	HasValidators bool
}

// Hasher is one PASSWORD_HASHERS entry: its class path, and, from the
// shell lines, the algorithm and cost attributes of the instance Django
// built (iterations, rounds, time_cost, memory_cost, parallelism, ...).
type Hasher struct {
	Path      string
	Algorithm string         // "" when the input gives only the path
	Params    map[string]any // int64 or float64 values
}

// maxInput bounds what Read reads: settings are a few kilobytes.
const maxInput = 8 << 20

// Read reads the JSON the shell lines print, or the output of
// `manage.py diffsettings` (with --all, so that every setting is shown),
// telling them apart by the first character. An error says why the input
// cannot be read at all; settings it holds that cannot be honoured are
// Convert's to report.
func Read(r io.Reader) (Input, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return Input{}, err
	}
	if len(b) > maxInput {
		return Input{}, fmt.Errorf("more than %d bytes: not Django settings", maxInput)
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 {
		return Input{}, errors.New("the input is empty")
	}
	if trimmed[0] == '{' {
		return readJSON(trimmed)
	}
	return readDiffsettings(b)
}

// The settings gatehouse reads, by their Django names.
var topLevel = []string{"INSTALLED_APPS", "AUTH_USER_MODEL", "USERNAME_FIELD", "SECRET_KEY", "SIMPLE_JWT", "OAUTH2_PROVIDER",
	"REST_FRAMEWORK", "PASSWORD_HASHERS", "AUTH_PASSWORD_VALIDATORS", "OAUTH2_PROVIDER_APPLICATION_MODEL",
	"OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL", "OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL", "OAUTH2_PROVIDER_GRANT_MODEL"}

func readJSON(b []byte) (Input, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	v, err := decodeJSON(d, 0)
	if err != nil {
		return Input{}, fmt.Errorf("not the JSON of the shell lines: %w", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return Input{}, errors.New("not the JSON of the shell lines: more data after the JSON object")
	}
	top := v.(*Object)
	in := Input{Format: "json", Versions: map[string]string{}}
	if vs, ok := top.Get("versions"); ok {
		o, ok := vs.(*Object)
		if !ok {
			return in, errors.New(`"versions" is not an object`)
		}
		for _, k := range o.Keys {
			if s, ok := o.Values[k].(string); ok {
				in.Versions[k] = s
			}
		}
	}
	found := false
	for _, name := range topLevel {
		if v, ok := top.Get(name); ok {
			found = true
			if err := in.take(name, v); err != nil {
				return in, err
			}
		}
	}
	if !found {
		return in, fmt.Errorf("none of %s in the JSON: print it with the shell lines of `gatehouse django-settings --script`", strings.Join(topLevel, ", "))
	}
	return in, nil
}

// decodeJSON reads one JSON value keeping the order of object keys.
func decodeJSON(d *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("values nested too deeply")
	}
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch x := t.(type) {
	case json.Delim:
		switch x {
		case '{':
			o := &Object{Values: map[string]any{}}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeJSON(d, depth+1)
				if err != nil {
					return nil, err
				}
				o.set(kt.(string), v)
			}
			_, err := d.Token()
			return o, err
		case '[':
			out := []any{}
			for d.More() {
				v, err := decodeJSON(d, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			_, err := d.Token()
			return out, err
		}
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n, nil
		}
		return x.Float64()
	case string, bool, nil:
		return x, nil
	}
	return nil, fmt.Errorf("unexpected %v", t)
}

// take stores the top-level setting name.
func (in *Input) take(name string, v any) error {
	bad := func(want string) error { return fmt.Errorf("%s is not %s", name, want) }
	switch name {
	case "INSTALLED_APPS":
		list, ok := v.([]any)
		if !ok {
			return bad("a list")
		}
		in.HasInstalledApps = true
		for _, x := range list {
			if s, ok := x.(string); ok {
				in.InstalledApps = append(in.InstalledApps, s)
			}
		}
	case "AUTH_USER_MODEL":
		s, ok := v.(string)
		if !ok {
			return bad("a string")
		}
		in.AuthUserModel = s
	case "OAUTH2_PROVIDER_APPLICATION_MODEL", "OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL", "OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL", "OAUTH2_PROVIDER_GRANT_MODEL":
		s, ok := v.(string)
		if !ok {
			return bad("a string")
		}
		if in.OAuthModels == nil {
			in.OAuthModels = map[string]string{}
		}
		in.OAuthModels[name] = s
	case "USERNAME_FIELD":
		s, ok := v.(string)
		if !ok {
			return bad("a string")
		}
		in.UsernameField = s
	case "SECRET_KEY":
		s, ok := v.(string)
		if !ok {
			return bad("a string")
		}
		in.SecretKey, in.HasSecretKey = s, true
	case "SIMPLE_JWT", "OAUTH2_PROVIDER", "REST_FRAMEWORK":
		if v == nil {
			return nil // settings.py sets it to None: the defaults
		}
		o, ok := v.(*Object)
		if !ok {
			return bad("a dictionary")
		}
		switch name {
		case "SIMPLE_JWT":
			in.SimpleJWT = o
		case "OAUTH2_PROVIDER":
			in.OAuth2Provider = o
		default:
			in.RestFramework = o
		}
	case "PASSWORD_HASHERS":
		list, ok := v.([]any)
		if !ok {
			return bad("a list")
		}
		in.HasHashers = true
		for i, x := range list {
			h, err := hasherOf(x)
			if err != nil {
				return fmt.Errorf("PASSWORD_HASHERS[%d]: %w", i, err)
			}
			in.Hashers = append(in.Hashers, h)
		}
	case "AUTH_PASSWORD_VALIDATORS":
		list, ok := v.([]any)
		if !ok {
			return bad("a list")
		}
		in.Validators, in.HasValidators = list, true
	}
	return nil
}

// hasherOf reads a class path, or the shell lines' object of path,
// algorithm and costs.
func hasherOf(v any) (Hasher, error) {
	switch x := v.(type) {
	case string:
		return Hasher{Path: x}, nil
	case *Object:
		h := Hasher{Params: map[string]any{}}
		for _, k := range x.Keys {
			switch val := x.Values[k]; k {
			case "path":
				h.Path, _ = val.(string)
			case "algorithm":
				h.Algorithm, _ = val.(string)
			default:
				h.Params[k] = val
			}
		}
		if h.Path == "" {
			return h, errors.New("no path")
		}
		return h, nil
	}
	return Hasher{}, errors.New("neither a class path nor an object")
}

// readDiffsettings reads `manage.py diffsettings` output: one
// "NAME = repr(value)" line a setting, "### " before a setting at
// Django's default and "  ###" after one Django does not define (with
// --all). Only the settings gatehouse reads are parsed.
func readDiffsettings(b []byte) (Input, error) {
	in := Input{Format: "diffsettings", Versions: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), maxInput)
	n, found, lines := 0, 0, 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		line = strings.TrimSuffix(strings.TrimPrefix(line, "### "), "  ###")
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, repr, ok := strings.Cut(line, " = ")
		if !ok || name == "" || strings.ContainsAny(name, " \t") || strings.ToUpper(name) != name {
			return in, fmt.Errorf("line %d is not NAME = value: neither the JSON of the shell lines nor `manage.py diffsettings` output", n)
		}
		lines++
		if !contains(topLevel, name) {
			continue
		}
		v, err := parsePython(repr)
		if err != nil {
			return in, fmt.Errorf("line %d: %s: %w", n, name, err)
		}
		if err := in.take(name, v); err != nil {
			return in, fmt.Errorf("line %d: %w", n, err)
		}
		found++
	}
	if err := sc.Err(); err != nil {
		return in, err
	}
	if found == 0 {
		return in, fmt.Errorf("none of %s in %d settings lines: not `manage.py diffsettings --all` output", strings.Join(topLevel, ", "), lines)
	}
	return in, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
