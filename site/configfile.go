package site

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/gatehouse-auth/gatehouse/internal/smallfile"
)

// The configuration file is TOML with flat keys, the settings' flag names:
//
//	addr = "127.0.0.1:9000"
//	page-size = 50
//	jwt-access-lifetime = "5m"
//	allowed-hosts = ["auth.example.com", ".example.org"]
//
// A string, a whole number, a number, a boolean, or an array of them
// (joined with commas, as the lists of the flags are) are read; a table,
// an unknown key or a value its setting refuses is an error naming the
// file and line. The secret settings may be given as NAME-file = "PATH"
// (the file's content, one trailing newline removed), as their *_FILE
// variables are. A file of the older GATEHOUSE_NAME=value lines is still
// read (readFile), with a warning saying how to convert it.

// fileSecrets are the settings that have a *_FILE variant (and a
// NAME-file key in the configuration file): their values are secrets, or
// may hold one (a database URL with a password); jwt-private-key has its
// own setting, jwt-private-key-file. GATEHOUSE_PASSWORD_FILE,
// the CLI's password, is read by the CLI.
var fileSecrets = []string{"secret-key", "jwt-signing-key", "database-url"}

// Source is where the value of a setting came from: "flag", "env
// GATEHOUSE_NAME" (or its _FILE variant), "FILE line N", or "default".
func (c *Config) Source(name string) string {
	if s, ok := c.source[name]; ok {
		return s
	}
	return "default"
}

// Warnings are what Parse found odd but not wrong: the older file format,
// GATEHOUSE_* variables that are no setting (UnknownVariables adds those).
//
// Besides the configuration file's, it says which settings contradict
// each other and were taken all the same (the one ignored is named).
func (c *Config) Warnings() []string {
	w := slices.Clone(c.warnings)
	if strings.HasPrefix(c.JWTAlgorithm, "HS") {
		if c.JWTPrivateKeyFile != "" || c.JWTPrivateKey != "" || c.JWTVerifyKeyFiles != "" {
			w = append(w, fmt.Sprintf("GATEHOUSE_JWT_PRIVATE_KEY(_FILE) and GATEHOUSE_JWT_VERIFY_KEY_FILES are ignored: GATEHOUSE_JWT_ALGORITHM is %s, "+
				"whose key is GATEHOUSE_JWT_SIGNING_KEY (or the server secret); set an asymmetric algorithm to use them", c.JWTAlgorithm))
		}
	} else if c.JWTSigningKey != "" {
		w = append(w, fmt.Sprintf("GATEHOUSE_JWT_SIGNING_KEY is ignored: GATEHOUSE_JWT_ALGORITHM is %s, which signs with GATEHOUSE_JWT_PRIVATE_KEY(_FILE)", c.JWTAlgorithm))
	}
	// OWASP's least argon2id memory (19 MiB, with 2 passes); Django's
	// default is 100 MiB. Below it new hashes are taken, weaker.
	if h := SplitList(c.PasswordHashers); len(h) > 0 && h[0] == "argon2" && c.Argon2Memory > 0 && c.Argon2Memory < 19*1024 {
		w = append(w, fmt.Sprintf("GATEHOUSE_ARGON2_MEMORY is %d KiB: new password hashes are weaker than OWASP's least for argon2id (19456 KiB); "+
			"Django's default is 102400", c.Argon2Memory))
	}
	// Asked for in so many words (it is on by default, and off without an
	// issuer, as the documentation says).
	if c.OIDCEnabled && c.Source("oidc-enabled") != "default" && c.Issuer == "" && loopbackIssuer(c.Addr, c.MountPrefix) == "" {
		w = append(w, "OpenID Connect is off: GATEHOUSE_OIDC_ENABLED is true but GATEHOUSE_ISSUER is not set and GATEHOUSE_ADDR is not a loopback address "+
			"(set GATEHOUSE_ISSUER to the public URL, or GATEHOUSE_OIDC_ENABLED=false to say so)")
	}
	return w
}

// Secret reports whether the setting called name holds a secret, so that
// its value is never printed.
func Secret(name string) bool {
	return slices.Contains([]string{"secret-key", "jwt-signing-key", "jwt-private-key"}, name)
}

// RedactedValue is the value of s for printing: secrets as "(set)" and a
// database URL's password as "xxxxx".
func RedactedValue(s Setting) string {
	v := s.Value.String()
	switch {
	case v == "":
		return v
	case Secret(s.Name):
		return "(set, not shown)"
	case s.Name == "database-url" || s.Name == "otel-endpoint":
		return redactURL(v)
	}
	return v
}

// redactURL is a database URL with its password hidden: the user's
// (user:pw@) and a password parameter (?password=); a value that does not
// parse as a URL is hidden whole when it mentions a password.
func redactURL(v string) string {
	u, err := url.Parse(v)
	if err != nil {
		// A URL that does not parse (a password with a bare %, an
		// unclosed [) may hold a password all the same: what lies between
		// the scheme and the last @ is hidden, and a value naming a
		// password parameter is hidden whole.
		if strings.Contains(strings.ToLower(v), "password") {
			return "(set, not shown: it holds a password)"
		}
		if scheme, rest, ok := strings.Cut(v, "://"); ok {
			if at := strings.LastIndexByte(rest, '@'); at >= 0 {
				return scheme + "://xxxxx" + rest[at:]
			}
		} else if strings.Contains(v, "@") {
			return "(set, not shown: it may hold a password)"
		}
		return v
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// fromSecretFile reads the *_FILE variant of setting s: its value and the
// variable it came from; ok is false when neither is set. Both set, or an
// unreadable file, is an error naming the variable.
func fromSecretFile(s Setting, getenv func(string) string) (value, from string, ok bool, err error) {
	name := s.Env() + "_FILE"
	path := getenv(name)
	if path == "" {
		return "", "", false, nil
	}
	if getenv(s.Env()) != "" {
		return "", "", false, fmt.Errorf("%s and %s are both set: set one", s.Env(), name)
	}
	v, err := readValueFile(path)
	if err != nil {
		return "", "", false, fmt.Errorf("%s: %w", name, err)
	}
	return v, name, true, nil
}

// readValueFile is the content of a secret's file with one trailing
// newline removed (what echo and most editors add).
func readValueFile(path string) (string, error) {
	b, err := smallfile.Read(path, smallfile.Text)
	if err != nil {
		return "", err
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if v == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return v, nil
}

// quotedText is a double-quoted run of a parser's message.
var quotedText = regexp.MustCompile(`"[^"]*"`)

// oldFormatLine finds a GATEHOUSE_NAME=value line of the older format.
var oldFormatLine = regexp.MustCompile(`(?m)^[ \t]*(export[ \t]+)?GATEHOUSE_[A-Z0-9_]*[ \t]*=`)

// isOldFormat reports whether the file is the older GATEHOUSE_NAME=value
// format: such lines and no TOML key of a setting.
func isOldFormat(b []byte) bool {
	return oldFormatLine.Match(b)
}

// readConfigFile reads the configuration file at path into c, in either
// format. Settings for which overridden reports true keep their value,
// but their lines are checked all the same.
func (c *Config) readConfigFile(path string, sets []Setting, overridden func(Setting) bool) error {
	b, err := smallfile.Read(path, smallfile.Text)
	if err != nil {
		return err
	}
	if isOldFormat(b) {
		c.warnings = append(c.warnings, fmt.Sprintf("%s is in the older GATEHOUSE_NAME=value format, still read for now: "+
			"convert it to TOML (each GATEHOUSE_NAME=value line as name = \"value\", the name in lower case with - for _, "+
			"as gatehouse config lists them; docs/configuration.md)", path))
		return c.readFile(path, sets, overridden)
	}
	return c.readTOML(path, b, sets, overridden)
}

// readTOML reads a TOML configuration file (see above).
func (c *Config) readTOML(path string, b []byte, sets []Setting, overridden func(Setting) bool) error {
	var m map[string]any
	md, err := toml.Decode(string(b), &m)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			// The parser quotes the text it stopped at, which may be a
			// secret written without quotes: not shown.
			msg := quotedText.ReplaceAllString(pe.Message, `"…"`)
			return fmt.Errorf("%s line %d: %s (the file is TOML: name = \"value\" lines, gatehouse config lists the names)", path, pe.Position.Line, msg)
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	byName := map[string]Setting{}
	for _, s := range sets {
		byName[s.Name] = s
	}
	lines := strings.Split(string(b), "\n")
	where := func(key string) string { return fmt.Sprintf("%s line %d", path, keyLine(lines, key)) }
	if c.origin == nil {
		c.origin = map[string]string{}
	}
	var secrets []string
	for _, k := range md.Keys() {
		if len(k) != 1 {
			// A dotted key (a.b = 1) or a key inside a table: the keys of
			// gatehouse's file are flat.
			return fmt.Errorf("%s: %s: a dotted or table key: the keys of gatehouse's file are flat (name = value, no [sections])",
				where(k[0]), k.String())
		}
		key := k[0]
		raw := m[key]
		name := key
		viaFile := false
		if n, ok := strings.CutSuffix(key, "-file"); ok && slices.Contains(fileSecrets, n) {
			name, viaFile = n, true
		}
		s, known := byName[name]
		switch {
		case isTable(raw):
			return fmt.Errorf("%s: %s: a table: the keys of gatehouse's file are flat (name = value, no [sections])", where(key), key)
		case key == "config":
			return fmt.Errorf("%s: config cannot be set in a configuration file", where(key))
		case !known:
			return fmt.Errorf("%s: unknown setting %q%s (gatehouse config lists them)", where(key), key, suggest(key, sets, false))
		}
		if _, both := m[name]; both && viaFile {
			return fmt.Errorf("%s: %s and %s are both set: set one", where(key), name, key)
		}
		value, err := tomlValue(raw)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", where(key), key, err)
		}
		if viaFile {
			if value, err = readValueFile(value); err != nil {
				return fmt.Errorf("%s: %s: %w", where(key), key, err)
			}
		} else if Secret(name) || (name == "database-url" && hasPassword(value)) {
			secrets = append(secrets, key)
		}
		target := s.Value
		if overridden(s) {
			target = scratchValue(s.Name) // checked, then dropped
		} else {
			c.origin[s.Env()] = where(key)
			c.source[s.Name] = where(key)
		}
		if err := target.Set(value); err != nil {
			return fmt.Errorf("%s: %s: %w", where(key), key, err)
		}
	}
	if len(secrets) > 0 {
		return checkPrivate(path, secrets)
	}
	return nil
}

func isTable(v any) bool {
	_, ok := v.(map[string]any)
	return ok
}

// tomlValue is a TOML value as the setting's flag reads it.
func tomlValue(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			s, err := tomlValue(e)
			if err != nil || strings.Contains(s, ",") {
				return "", errors.New("want an array of strings or numbers without commas")
			}
			parts[i] = s
		}
		return strings.Join(parts, ","), nil
	case map[string]any:
		return "", errors.New("a table: the keys of gatehouse's file are flat (name = value, no [sections])")
	}
	return "", fmt.Errorf("want a string, number or boolean, got a %T", v)
}

// keyLine is the line (from 1) that sets key, or that opens a table of
// that name; 0 when not found.
func keyLine(lines []string, key string) int {
	q := regexp.QuoteMeta(key)
	re := regexp.MustCompile(`^\s*(\[\s*)?(` + q + `|"` + q + `"|'` + q + `')\s*[=\].]`)
	for i, l := range lines {
		if re.MatchString(l) {
			return i + 1
		}
	}
	return 0
}

func hasPassword(v string) bool {
	u, err := url.Parse(v)
	if err != nil {
		// Unparsed: user information may hold one.
		return strings.Contains(strings.ToLower(v), "password") || strings.Contains(v, "@")
	}
	if u.Query().Has("password") {
		return true
	}
	if u.User == nil {
		return false
	}
	_, ok := u.User.Password()
	return ok
}

// suggest is ", did you mean X?" for the known name closest to name (by
// edit distance, at most 3 edits), or "".
func suggest(name string, sets []Setting, env bool) string {
	best, bestD := "", 4
	for _, s := range sets {
		cand := s.Name
		if env {
			cand = s.Env()
		}
		if d := editDistance(name, cand); d < bestD {
			best, bestD = cand, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %s?", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// otherVariables are the GATEHOUSE_* variables that are no setting but are
// read all the same.
var otherVariables = []string{"GATEHOUSE_PASSWORD", "GATEHOUSE_PASSWORD_FILE"}

// UnknownVariables returns a warning for each GATEHOUSE_* variable of
// environ (NAME=value strings, as os.Environ gives) that gatehouse does not
// read, naming the closest known one. GATEHOUSE_TEST_* (the tests') are
// exempt.
func UnknownVariables(environ []string) []string {
	var c Config
	sets := c.Settings()
	known := map[string]bool{}
	for _, s := range sets {
		known[s.Env()] = true
	}
	for _, n := range fileSecrets {
		known["GATEHOUSE_"+strings.ToUpper(strings.ReplaceAll(n, "-", "_"))+"_FILE"] = true
	}
	for _, n := range otherVariables {
		known[n] = true
	}
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "GATEHOUSE_") || strings.HasPrefix(name, "GATEHOUSE_TEST_") || known[name] {
			continue
		}
		out = append(out, fmt.Sprintf("%s is not a gatehouse setting and is ignored%s", name, suggest(name, sets, true)))
	}
	sort.Strings(out)
	return out
}
