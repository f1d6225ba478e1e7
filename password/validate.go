package password

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Policy selects which of Django's password validators apply, with their
// options (AUTH_PASSWORD_VALIDATORS). Each check's zero value disables it.
type Policy struct {
	// MinLength is the minimum number of characters (Unicode code
	// points, as Python's len counts them); 0 disables the check.
	MinLength int
	// Common rejects passwords on Django's list of 20,000 common ones, or
	// on CommonList when it is set.
	Common bool
	// CommonList replaces Django's list (CommonPasswordValidator's
	// password_list_path); nil means Django's.
	CommonList *CommonList
	// Numeric rejects passwords made only of digits.
	Numeric bool
	// MaxSimilarity is the similarity ratio to a user attribute at or
	// above which the password is rejected; 0 disables the check.
	// Django refuses values below 0.1.
	MaxSimilarity float64
	// SimilarityAttrs are the attributes compared, in order, by their
	// Django field names (username, first_name, last_name, email: the
	// user_attributes option); nil means all four.
	SimilarityAttrs []string
	// Order lists the validators (Validator* names) in the order of
	// AUTH_PASSWORD_VALIDATORS, which is the order of their messages; nil
	// means Django's default order. Enabled checks it does not name run
	// after it, in the default order.
	Order []string
}

// The validators, by the names Policy.Order uses, in Django's default order.
const (
	ValidatorSimilarity = "similarity" // UserAttributeSimilarityValidator
	ValidatorLength     = "length"     // MinimumLengthValidator
	ValidatorCommon     = "common"     // CommonPasswordValidator
	ValidatorNumeric    = "numeric"    // NumericPasswordValidator
)

// Validators returns the validator names in Django's default order.
func Validators() []string {
	return []string{ValidatorSimilarity, ValidatorLength, ValidatorCommon, ValidatorNumeric}
}

// SimilarityAttrs returns the user attributes UserAttributeSimilarityValidator
// compares by default, by Django field name, in its order.
func SimilarityAttrs() []string { return []string{"username", "first_name", "last_name", "email"} }

// DefaultPolicy returns Django's default AUTH_PASSWORD_VALIDATORS.
func DefaultPolicy() Policy {
	return Policy{MinLength: 8, Common: true, Numeric: true, MaxSimilarity: 0.7}
}

// Attrs are the user attributes a password is compared with, in the order
// Django's UserAttributeSimilarityValidator checks them. Empty ones are
// skipped.
type Attrs struct {
	Username, FirstName, LastName, Email string
}

// Validate returns Django's English error messages for password, in the
// order of p.Order (by default that of Django's default validators:
// similarity, minimum length, common, numeric), or nil when the password
// passes every check p enables.
func (p Policy) Validate(password string, a Attrs) []string {
	var msgs []string
	order := append(slices.Clone(p.Order), Validators()...)
	done := map[string]bool{}
	for _, v := range order {
		if done[v] {
			continue
		}
		done[v] = true
		if msg := p.check(v, password, a); msg != "" {
			msgs = append(msgs, msg)
		}
	}
	return msgs
}

// check runs one validator, returning its message or "".
func (p Policy) check(validator, password string, a Attrs) string {
	switch validator {
	case ValidatorSimilarity:
		if p.MaxSimilarity > 0 {
			if name := similarAttr(password, a, p.MaxSimilarity, p.SimilarityAttrs); name != "" {
				return "The password is too similar to the " + name + "."
			}
		}
	case ValidatorLength:
		if p.MinLength > 0 && utf8.RuneCountInString(password) < p.MinLength {
			unit := "characters"
			if p.MinLength == 1 {
				unit = "character"
			}
			return "This password is too short. It must contain at least " + strconv.Itoa(p.MinLength) + " " + unit + "."
		}
	case ValidatorCommon:
		if p.Common && p.CommonList.has(password) {
			return "This password is too common."
		}
	case ValidatorNumeric:
		if p.Numeric && isNumeric(password) {
			return "This password is entirely numeric."
		}
	}
	return ""
}

// similarAttr returns the verbose name of the first attribute password is
// too similar to, or "". It follows Django's UserAttributeSimilarityValidator:
// the lowercased password is compared with each lowercased value and with
// the parts of the value between runs of non-word characters, skipping
// parts too short to reach maxSimilarity, using difflib's quick_ratio.
func similarAttr(password string, a Attrs, maxSimilarity float64, names []string) string {
	pw := []rune(strings.ToLower(password))
	if names == nil {
		names = SimilarityAttrs()
	}
	values := map[string]string{"username": a.Username, "first_name": a.FirstName, "last_name": a.LastName, "email": a.Email}
	verbose := map[string]string{"username": "username", "first_name": "first name", "last_name": "last name", "email": "email address"}
	var attrs []struct{ name, value string }
	for _, n := range names {
		attrs = append(attrs, struct{ name, value string }{verbose[n], values[n]})
	}
	for _, attr := range attrs {
		if attr.value == "" {
			continue
		}
		lower := strings.ToLower(attr.value)
		for _, part := range append(splitNonWord(lower), lower) {
			p := []rune(part)
			if exceedsLengthRatio(len(pw), len(p), maxSimilarity) {
				continue
			}
			if quickRatio(pw, p) >= maxSimilarity {
				return attr.name
			}
		}
	}
	return ""
}

// exceedsLengthRatio is Django's exceeds_maximum_length_ratio: a value at
// most a tenth of the password's length cannot reach the ratio, so it is
// skipped.
func exceedsLengthRatio(pwLen, valueLen int, maxSimilarity float64) bool {
	return pwLen >= 10*valueLen && float64(valueLen) < maxSimilarity/2*float64(pwLen)
}

// splitNonWord splits s like Python's re.split(r"\W+", s): at every run of
// characters that are not letters, numbers or "_", keeping the empty
// strings a leading or trailing run produces.
func splitNonWord(s string) []string {
	var parts []string
	start, inRun := 0, false
	for i, r := range s {
		word := unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_'
		switch {
		case !word && !inRun:
			parts = append(parts, s[start:i])
			inRun = true
		case word && inRun:
			start = i
			inRun = false
		}
	}
	if inRun {
		return append(parts, "")
	}
	return append(parts, s[start:])
}

// quickRatio is difflib.SequenceMatcher(a=a, b=b).quick_ratio(): twice the
// size of the multiset intersection of a and b over their total length, 1
// when both are empty.
func quickRatio(a, b []rune) float64 {
	total := len(a) + len(b)
	if total == 0 {
		return 1
	}
	avail := make(map[rune]int, len(b))
	for _, r := range b {
		avail[r]++
	}
	matches := 0
	for _, r := range a {
		if avail[r] > 0 {
			avail[r]--
			matches++
		}
	}
	return 2 * float64(matches) / float64(total)
}

// isNumeric is Python's str.isdigit(), which Django's
// NumericPasswordValidator uses: non-empty, and every character a decimal
// digit or another digit such as a superscript.
func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !unicode.IsDigit(r) && !unicode.Is(pythonOtherDigits, r) {
			return false
		}
	}
	return true
}

// pythonOtherDigits holds the characters with Unicode Numeric_Type=Digit
// that are not decimal digits (superscripts, circled and parenthesized
// digits, ...): Python's isdigit accepts them and unicode.IsDigit does
// not. Taken from Python 3.11's unicodedata (Unicode 14.0).
var pythonOtherDigits = &unicode.RangeTable{
	R16: []unicode.Range16{
		{Lo: 0x00b2, Hi: 0x00b3, Stride: 1},
		{Lo: 0x00b9, Hi: 0x00b9, Stride: 1},
		{Lo: 0x1369, Hi: 0x1371, Stride: 1},
		{Lo: 0x19da, Hi: 0x19da, Stride: 1},
		{Lo: 0x2070, Hi: 0x2070, Stride: 1},
		{Lo: 0x2074, Hi: 0x2079, Stride: 1},
		{Lo: 0x2080, Hi: 0x2089, Stride: 1},
		{Lo: 0x2460, Hi: 0x2468, Stride: 1},
		{Lo: 0x2474, Hi: 0x247c, Stride: 1},
		{Lo: 0x2488, Hi: 0x2490, Stride: 1},
		{Lo: 0x24ea, Hi: 0x24ea, Stride: 1},
		{Lo: 0x24f5, Hi: 0x24fd, Stride: 1},
		{Lo: 0x24ff, Hi: 0x24ff, Stride: 1},
		{Lo: 0x2776, Hi: 0x277e, Stride: 1},
		{Lo: 0x2780, Hi: 0x2788, Stride: 1},
		{Lo: 0x278a, Hi: 0x2792, Stride: 1},
	},
	R32: []unicode.Range32{
		{Lo: 0x10a40, Hi: 0x10a43, Stride: 1},
		{Lo: 0x10e60, Hi: 0x10e68, Stride: 1},
		{Lo: 0x11052, Hi: 0x1105a, Stride: 1},
		{Lo: 0x1f100, Hi: 0x1f10a, Stride: 1},
	},
	LatinOffset: 2,
}
