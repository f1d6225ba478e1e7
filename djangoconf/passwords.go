package djangoconf

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse/password"
)

// --- PASSWORD_HASHERS (Django 3.2)

// stockHashers maps Django's hasher classes to their algorithms.
var stockHashers = map[string]string{
	"django.contrib.auth.hashers.PBKDF2PasswordHasher":       password.AlgPBKDF2SHA256,
	"django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher":   password.AlgPBKDF2SHA1,
	"django.contrib.auth.hashers.Argon2PasswordHasher":       password.AlgArgon2,
	"django.contrib.auth.hashers.BCryptSHA256PasswordHasher": password.AlgBcryptSHA256,
	"django.contrib.auth.hashers.BCryptPasswordHasher":       password.AlgBcrypt,
	"django.contrib.auth.hashers.ScryptPasswordHasher":       password.AlgScrypt,
	"django.contrib.auth.hashers.SHA1PasswordHasher":         password.AlgSHA1,
	"django.contrib.auth.hashers.MD5PasswordHasher":          password.AlgMD5,
	"django.contrib.auth.hashers.UnsaltedSHA1PasswordHasher": password.AlgUnsaltedSHA1,
	"django.contrib.auth.hashers.UnsaltedMD5PasswordHasher":  password.AlgUnsaltedMD5,
	"django.contrib.auth.hashers.CryptPasswordHasher":        "crypt",
}

// djangoPBKDF2Iterations are PBKDF2PasswordHasher's iterations by Django
// version, for input that names the class only.
var djangoPBKDF2Iterations = map[string]int64{"3.2": 260000, "4.0": 320000, "4.1": 390000, "4.2": 600000, "5.0": 720000, "5.1": 870000, "5.2": 1000000}

func (c *converter) hashers() {
	const from = "PASSWORD_HASHERS"
	if !c.in.HasHashers {
		return
	}
	var algs, unknown []string
	var first *Hasher
	for i := range c.in.Hashers {
		h := c.in.Hashers[i]
		alg := h.Algorithm
		if alg == "" {
			alg = stockHashers[h.Path]
			h.Params = c.stockParams(alg)
		}
		switch {
		case alg == "":
			unknown = append(unknown, h.Path)
			if i == 0 {
				first = &Hasher{Path: h.Path} // its algorithm is not known
			}
			continue
		case alg == "crypt":
			c.refuse(from, "%s: Unix crypt is not verified (loaddata reports its users, who must set a new password)", show(h.Path))
			continue
		case !slices.Contains(password.Algorithms(), alg):
			c.refuse(from, "%s: algorithm %s is unknown to gatehouse: its hashes do not verify", show(h.Path), show(alg))
			continue
		case slices.Contains(algs, alg):
			continue // Django uses the first hasher of an algorithm
		}
		if first == nil {
			h.Algorithm = alg
			first = &h
		}
		algs = append(algs, alg)
	}
	if len(unknown) > 0 {
		// Which algorithm a class of the project's own writes is not in
		// the input: accept every strong one, so that its users can log
		// in, but no weak one the project did not list.
		var added []string
		for _, a := range []string{password.AlgArgon2, password.AlgPBKDF2SHA256, password.AlgBcryptSHA256, password.AlgScrypt} {
			if !slices.Contains(algs, a) {
				algs = append(algs, a)
				added = append(added, a)
			}
		}
		c.refuse(from, "%s: hasher classes gatehouse does not know, whose algorithm and cost the input does not give (the shell lines print them); so that their users can log in, %s hashes are accepted too",
			show(anySlice(unknown)), strings.Join(added, ", "))
	}
	if len(algs) == 0 {
		c.refuse(from, "no hasher gatehouse can use: every stored hash is refused; gatehouse keeps its default")
		return
	}
	switch {
	case first.Algorithm == "":
		c.refuse(from, "%s first: its algorithm is not known, so argon2 writes new hashes; the others verify and are replaced at login", show(first.Path))
	case !password.Writable(first.Algorithm):
		c.refuse(from, "%s (%s) first: gatehouse does not write %s hashes (%s); argon2 writes new hashes instead, and %s hashes verify and are replaced at login",
			show(first.Path), first.Algorithm, first.Algorithm, weakness(first.Algorithm), first.Algorithm)
	}
	if !password.Writable(first.Algorithm) {
		algs = append([]string{password.AlgArgon2}, slices.DeleteFunc(algs, func(a string) bool { return a == password.AlgArgon2 })...)
		first = &Hasher{Algorithm: password.AlgArgon2}
	}
	c.set("GATEHOUSE_PASSWORD_HASHERS", strings.Join(algs, ","), from)
	c.hasherCost(*first)
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

// weakness says why gatehouse writes no hashes of algorithm.
func weakness(algorithm string) string {
	switch algorithm {
	case password.AlgBcrypt:
		return "bcrypt ignores a password's bytes past the 72nd"
	case password.AlgPBKDF2SHA1:
		return "PBKDF2 over SHA-1"
	case password.AlgScrypt:
		return "Django 3.2 cannot read them"
	}
	return "a fast digest, guessed at billions a second"
}

// stockParams are the costs of Django's own hasher of algorithm, for
// input that names the class only.
func (c *converter) stockParams(algorithm string) map[string]any {
	switch algorithm {
	case password.AlgPBKDF2SHA256:
		v := c.in.Versions["django"]
		parts := strings.SplitN(v, ".", 3)
		it, ok := int64(260000), false
		if len(parts) >= 2 {
			it, ok = djangoPBKDF2Iterations[parts[0]+"."+parts[1]]
		}
		if !ok {
			it = 260000
		}
		return map[string]any{"iterations": it}
	case password.AlgArgon2:
		return map[string]any{"time_cost": int64(2), "memory_cost": int64(102400), "parallelism": int64(8)}
	case password.AlgBcryptSHA256:
		return map[string]any{"rounds": int64(12)}
	}
	return nil
}

// hasherCost carries the cost of the hasher that writes new hashes.
func (c *converter) hasherCost(h Hasher) {
	from := "PASSWORD_HASHERS[0]"
	param := func(name string) (int64, bool) {
		n, ok := h.Params[name].(int64)
		return n, ok
	}
	switch h.Algorithm {
	case password.AlgPBKDF2SHA256:
		it, ok := param("iterations")
		switch {
		case !ok:
			c.note(from, "the iterations of pbkdf2_sha256 are not in the input: gatehouse writes %d", password.DefaultPBKDF2Iterations)
		case it < password.MinPBKDF2Iterations:
			c.refuse(from, "pbkdf2_sha256 at %d iterations: gatehouse writes new hashes with at least %d (OWASP 2023, Django 4.2's default); stored hashes at %d verify and are replaced at login", it, password.MinPBKDF2Iterations, it)
			c.set("GATEHOUSE_PBKDF2_ITERATIONS", strconv.Itoa(password.MinPBKDF2Iterations), from)
		default:
			c.set("GATEHOUSE_PBKDF2_ITERATIONS", strconv.FormatInt(it, 10), from)
		}
	case password.AlgBcryptSHA256:
		r, ok := param("rounds")
		switch {
		case !ok:
			c.note(from, "the rounds of bcrypt_sha256 are not in the input: gatehouse writes cost %d", password.DefaultBcryptRounds)
		case r < password.MinBcryptRounds:
			c.refuse(from, "bcrypt_sha256 at cost %d: gatehouse writes new hashes at cost %d at least (OWASP)", r, password.MinBcryptRounds)
			c.set("GATEHOUSE_BCRYPT_ROUNDS", strconv.Itoa(password.MinBcryptRounds), from)
		case r > 16:
			c.refuse(from, "bcrypt_sha256 at cost %d: gatehouse writes at cost 16 at most", r)
			c.set("GATEHOUSE_BCRYPT_ROUNDS", "16", from)
		default:
			c.set("GATEHOUSE_BCRYPT_ROUNDS", strconv.FormatInt(r, 10), from)
		}
	case password.AlgArgon2:
		if h.Params == nil {
			return // argon2 written first in place of an unusable hasher: gatehouse's parameters
		}
		t, okT := param("time_cost")
		m, okM := param("memory_cost")
		p, okP := param("parallelism")
		if !okT || !okM || !okP {
			c.note(from, "the argon2 costs are not in the input: gatehouse's own are used (gatehouse config)")
			return
		}
		params := password.Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(p)}
		if m > math.MaxUint32 || t > math.MaxUint32 || p > 255 || params.Validate() != nil {
			c.refuse(from, "argon2 with time_cost %d, memory_cost %d KiB, parallelism %d is outside gatehouse's bounds; gatehouse's own costs are used", t, m, p)
			return
		}
		weak := m < 19456 || m*t < 19456*2
		if weak {
			c.refuse(from, "argon2 with %d KiB and %d passes is below OWASP's minimum (19 MiB, 2 passes); gatehouse's own costs are used", m, t)
			return
		}
		c.set("GATEHOUSE_ARGON2_MEMORY", strconv.FormatInt(m, 10), from)
		c.set("GATEHOUSE_ARGON2_TIME", strconv.FormatInt(t, 10), from)
		c.set("GATEHOUSE_ARGON2_THREADS", strconv.FormatInt(p, 10), from)
		if m > 19456 {
			c.note(from, "each argon2 login costs %d MiB of memory, as in the project (gatehouse's default is 19 MiB, OWASP's minimum); GATEHOUSE_MEMORY_LIMIT=auto makes room for it", m/1024)
		}
	}
}

// --- AUTH_PASSWORD_VALIDATORS (Django 3.2)

var stockValidators = map[string]string{
	"django.contrib.auth.password_validation.UserAttributeSimilarityValidator": password.ValidatorSimilarity,
	"django.contrib.auth.password_validation.MinimumLengthValidator":           password.ValidatorLength,
	"django.contrib.auth.password_validation.CommonPasswordValidator":          password.ValidatorCommon,
	"django.contrib.auth.password_validation.NumericPasswordValidator":         password.ValidatorNumeric,
}

func (c *converter) validators() {
	if !c.in.HasValidators {
		return
	}
	const from = "AUTH_PASSWORD_VALIDATORS"
	var names []string
	for i, v := range c.in.Validators {
		at := fmt.Sprintf("%s[%d]", from, i)
		o, ok := v.(*Object)
		if !ok {
			c.refuse(at, "%s is not a dictionary with NAME", show(v))
			continue
		}
		path, _ := o.Values["NAME"].(string)
		name, known := stockValidators[path]
		if !known {
			c.refuse(at, "%s: a validator gatehouse does not have; its rule is not applied", show(o.Values["NAME"]))
			continue
		}
		if slices.Contains(names, name) {
			c.refuse(at, "%s is listed twice; gatehouse applies it once, with the first one's options", path)
			continue
		}
		names = append(names, name)
		opts, _ := o.Values["OPTIONS"].(*Object)
		if raw, ok := o.Values["OPTIONS"]; ok && opts == nil && raw != nil {
			c.refuse(at, "OPTIONS %s is not a dictionary; the defaults apply", show(raw))
		}
		c.validatorOptions(at, name, opts)
	}
	if len(names) == 0 {
		c.set("GATEHOUSE_PASSWORD_VALIDATORS", "none", from)
		c.note(from, "no validator applies, as in the project: any password is accepted (gatehouse's default applies Django's four)")
		return
	}
	c.set("GATEHOUSE_PASSWORD_VALIDATORS", strings.Join(names, ","), from)
}

func (c *converter) validatorOptions(at, name string, opts *Object) {
	if opts == nil {
		opts = &Object{}
	}
	known := map[string][]string{password.ValidatorSimilarity: {"user_attributes", "max_similarity"},
		password.ValidatorLength: {"min_length"}, password.ValidatorCommon: {"password_list_path"}}[name]
	for _, k := range opts.Keys {
		if !slices.Contains(known, k) {
			c.refuse(at, "option %s is not one of %s", show(k), name)
		}
	}
	switch name {
	case password.ValidatorLength:
		n := int64(8)
		if v, ok := opts.Get("min_length"); ok {
			if x, ok := v.(int64); ok && x >= 0 {
				n = x
			} else {
				c.refuse(at, "min_length %s is not a whole number; 8 is written", show(v))
			}
		}
		c.set("GATEHOUSE_PASSWORD_MIN_LENGTH", strconv.FormatInt(n, 10), at)
		if n < 8 {
			c.note(at, "a minimum length of %d is below gatehouse's default of 8 (ASVS 2.1.1)", n)
		}
	case password.ValidatorSimilarity:
		attrs := password.SimilarityAttrs()
		if v, ok := opts.Get("user_attributes"); ok {
			list, ok := stringList(v)
			if !ok {
				c.refuse(at, "user_attributes %s is not a list of field names; the default ones are written", show(v))
			} else {
				attrs = nil
				for _, a := range list {
					if !slices.Contains(password.SimilarityAttrs(), a) {
						c.refuse(at, "user attribute %s: gatehouse's users have username, first_name, last_name and email; it is left out", show(a))
						continue
					}
					if !slices.Contains(attrs, a) {
						attrs = append(attrs, a)
					}
				}
			}
		}
		c.set("GATEHOUSE_PASSWORD_SIMILARITY_ATTRIBUTES", strings.Join(attrs, ","), at)
		sim := 0.7
		if v, ok := opts.Get("max_similarity"); ok {
			f, ok := number(v)
			switch {
			case !ok:
				c.refuse(at, "max_similarity %s is not a number; 0.7 is written", show(v))
			case f < 0.1:
				c.refuse(at, "max_similarity %s would refuse nearly every password (Django 4 refuses values below 0.1); 0.1 is written", show(v))
				sim = 0.1
			case f > 1:
				c.note(at, "max_similarity %s never matches; 1 is written, which matches only an equal value", show(v))
				sim = 1
			default:
				sim = f
			}
		}
		c.set("GATEHOUSE_PASSWORD_MAX_SIMILARITY", strconv.FormatFloat(sim, 'g', -1, 64), at)
		if len(attrs) == 0 {
			c.note(at, "no attribute is left to compare: the validator checks nothing")
		}
	case password.ValidatorCommon:
		if v, ok := opts.Get("password_list_path"); ok {
			if p, ok := v.(string); ok && p != "" {
				c.set("GATEHOUSE_PASSWORD_COMMON_FILE", p, at)
				c.note(at, "gatehouse reads %s at start: copy the file to that path on the gatehouse host (or change the setting)", show(p))
			} else {
				c.refuse(at, "password_list_path %s is not a file path; Django's list is used", show(v))
			}
		}
	}
}
