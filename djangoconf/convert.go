package djangoconf

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/fixture"
)

// Setting is one gatehouse setting carried over: its variable, the value
// to write, and the Django setting it comes from.
type Setting struct {
	Name, Value, From string
	// Secret is set when Value is a secret (the JWT signing key): it must
	// not be shown, and the file holding it must be private.
	Secret bool
}

// Note is something the reader of the result must know: a Django setting
// gatehouse does not honour, with the reason (NotHonoured), or a fact
// about one that is honoured.
type Note struct {
	From, Text  string
	NotHonoured bool
}

func (n Note) String() string {
	if n.NotHonoured {
		return "not honoured: " + n.From + ": " + n.Text
	}
	return "note: " + n.From + ": " + n.Text
}

// Result is what Convert makes of an Input.
type Result struct {
	Settings []Setting
	Notes    []Note
}

// HasSecret reports whether a setting of r is a secret.
func (r Result) HasSecret() bool {
	return slices.ContainsFunc(r.Settings, func(s Setting) bool { return s.Secret })
}

// Convert turns in into gatehouse settings. It never fails: what it cannot
// use becomes a Note.
func Convert(in Input) Result {
	c := &converter{in: in}
	c.versions()
	c.simpleJWT()
	c.oauth2()
	c.restFramework()
	c.hashers()
	c.validators()
	if in.AuthUserModel != "" && in.AuthUserModel != "auth.User" {
		c.refuse("AUTH_USER_MODEL", "%q is a custom user model: gatehouse's users have the fields of auth.User (its id, username, e-mail, names, flags, password, dates); other fields are not carried. "+
			"gatehouse loaddata loads its users from a dump (--user-model %s names the model, --username-field its USERNAME_FIELD)", in.AuthUserModel, in.AuthUserModel)
	}
	for _, m := range fixture.OAuthModelSettings {
		if v := in.OAuthModels[m.Setting]; v != "" && !strings.EqualFold(strings.TrimSpace(v), m.Model) {
			c.refuse(m.Setting, "%q is a model of the project's own: gatehouse keeps the fields of DOT's %s, the model's other fields are not carried. "+
				"gatehouse loaddata finds it in a dump by those fields (--%s %s names it), and gatehouse import reads its table when named so", v, m.Model, fixture.OAuthModelFlag(m.Model), v)
		}
	}
	if f := in.UsernameField; f != "" && f != "username" {
		// simplejwt's obtain view reads the login name from the field
		// named after USERNAME_FIELD.
		c.set("GATEHOUSE_USERNAME_FIELD", f, "USERNAME_FIELD")
	}
	return c.res
}

// knownVersions are the versions whose defaults Convert knows, by
// distribution, major.minor.
var knownVersions = map[string]string{"django": "3.2", "djangorestframework": "3.14", "djangorestframework-simplejwt": "5.2", "django-oauth-toolkit": "1.7"}

// versions says when the defaults assumed for the keys settings.py leaves
// out may not be the installed packages'.
func (c *converter) versions() {
	if c.in.Format == "diffsettings" {
		c.note("input", "diffsettings does not give the installed versions: the defaults of Django 3.2, DRF 3.14, simplejwt 5.2 and DOT 1.7 are assumed for the keys settings.py leaves out; the shell lines print the versions")
		return
	}
	if len(c.in.Versions) == 0 {
		c.note("input", "the input does not give the installed versions: the defaults of Django 3.2, DRF 3.14, simplejwt 5.2 and DOT 1.7 are assumed for the keys settings.py leaves out; the shell lines print the versions")
		return
	}
	for _, dist := range []string{"django", "djangorestframework", "djangorestframework-simplejwt", "django-oauth-toolkit"} {
		v := c.in.Versions[dist]
		if v == "" {
			continue
		}
		if parts := strings.SplitN(v, ".", 3); len(parts) < 2 || parts[0]+"."+parts[1] != knownVersions[dist] {
			c.note("versions", "%s %s is installed; the defaults of %s %s are assumed for the keys settings.py leaves out (DOT 2's PKCE_REQUIRED=True excepted): check them", dist, v, dist, knownVersions[dist])
		}
	}
}

type converter struct {
	in  Input
	res Result
}

func (c *converter) set(name, value, from string) {
	c.res.Settings = append(c.res.Settings, Setting{Name: name, Value: value, From: from})
}

func (c *converter) refuse(from, format string, args ...any) {
	c.res.Notes = append(c.res.Notes, Note{From: from, Text: fmt.Sprintf(format, args...), NotHonoured: true})
}

func (c *converter) note(from, format string, args ...any) {
	c.res.Notes = append(c.res.Notes, Note{From: from, Text: fmt.Sprintf(format, args...)})
}

// section is one settings dictionary with its package's defaults.
type section struct {
	name     string
	user     *Object
	defaults map[string]any
	used     map[string]bool
}

func newSection(name string, user *Object, defaults map[string]any) *section {
	return &section{name: name, user: user, defaults: defaults, used: map[string]bool{}}
}

// get returns the effective value of key: the project's, else the default.
func (s *section) get(key string) any {
	s.used[key] = true
	if v, ok := s.user.Get(key); ok {
		return v
	}
	return s.defaults[key]
}

// isSet reports whether the project sets key.
func (s *section) isSet(key string) bool {
	_, ok := s.user.Get(key)
	return ok
}

func (s *section) from(key string) string { return s.name + "['" + key + "']" }

// changed reports whether the project sets key to something other than
// its default.
func (s *section) changed(key string) bool {
	s.used[key] = true
	v, ok := s.user.Get(key)
	return ok && !same(v, s.defaults[key])
}

// unused returns the keys the project sets that nothing read.
func (s *section) unused() []string {
	if s.user == nil {
		return nil
	}
	var out []string
	for _, k := range s.user.Keys {
		if !s.used[k] {
			out = append(out, k)
		}
	}
	return out
}

// same compares settings values, a tuple and a list of the same items
// being the same, and ints and floats by value.
func same(a, b any) bool {
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		return ok && fa == fb
	}
	if la, ok := a.([]any); ok {
		lb, ok := b.([]any)
		if !ok || len(la) != len(lb) {
			return false
		}
		for i := range la {
			if !same(la[i], lb[i]) {
				return false
			}
		}
		return true
	}
	if oa, ok := a.(*Object); ok {
		ob, ok := b.(*Object)
		if !ok || len(oa.Keys) != len(ob.Keys) {
			return false
		}
		for _, k := range oa.Keys {
			if !same(oa.Values[k], ob.Values[k]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// show writes a value as Python would, for messages.
func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return "'" + strings.ReplaceAll(x, "'", `\'`) + "'"
	case Opaque:
		return string(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = show(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case *Object:
		parts := make([]string, len(x.Keys))
		for i, k := range x.Keys {
			parts[i] = show(k) + ": " + show(x.Values[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

// seconds reads a duration in seconds (timedeltas arrive as seconds).
func seconds(v any) (time.Duration, bool) {
	f, ok := number(v)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > float64(math.MaxInt64/int64(time.Second)) {
		return 0, false
	}
	return time.Duration(math.Round(f * float64(time.Second))), true
}

// FormatDuration writes d as gatehouse's settings read it, briefly (whole
// hours as "2h", whole minutes as "15m", else Go's form).
func FormatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return d.String()
}

func stringList(v any) ([]string, bool) {
	if s, ok := v.(string); ok {
		return []string{s}, true
	}
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func boolean(v any) (bool, bool) {
	b, ok := v.(bool)
	return b, ok
}

// majorVersion is the major version of dist, 0 when unknown.
func (c *converter) majorVersion(dist string) int {
	v := c.in.Versions[dist]
	n, err := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	if err != nil {
		return 0
	}
	return n
}
