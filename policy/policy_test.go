package policy_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/guard"
	"github.com/gatehouse-auth/gatehouse/policy"
)

const example = `# the example of docs/protect-your-api.md
/health/{$}                 allow_any
/orders/                    authenticated
GET /orders/{id}/           read_write_scopes | authenticated
POST,PUT,PATCH /orders/     read_write_scopes=orders | permission=orders.change_order
/admin/                     staff
api.example.com/reports/    scopes=reports
/public/                    authenticated_or_read_only
/mixed/                     authenticated_or_scopes=read staff   # both must pass
DELETE /orders/{id}/        staff|permission=orders.delete_order
header username X-Remote-User
`

func mustParse(t *testing.T, text string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse("test.policy", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMatch(t *testing.T) {
	p := mustParse(t, example)
	for _, tc := range []struct {
		method, host, uri string
		line              int // 0: no rule
		refusal           policy.Refusal
	}{
		{"GET", "api.test", "/health/", 2, ""},
		{"GET", "api.test", "/health/x", 0, policy.RefuseNoRule},
		{"GET", "api.test", "/health", 0, policy.RefuseNoRule}, // only through ServeMux's slash redirect
		{"GET", "api.test", "/orders/", 3, ""},
		{"GET", "api.test", "/orders", 0, policy.RefuseNoRule},
		{"GET", "api.test", "/orders/7/", 4, ""},
		{"HEAD", "api.test", "/orders/7/", 4, ""},      // GET patterns match HEAD, as ServeMux documents
		{"GET", "api.test", "/orders/7/lines/", 4, ""}, // a pattern ending in "/" covers its subtree
		{"POST", "api.test", "/orders/", 5, ""},
		{"PATCH", "api.test", "/orders/7/", 5, ""},
		{"DELETE", "api.test", "/orders/7/", 10, ""},
		{"DELETE", "api.test", "/orders/", 3, ""},
		{"GET", "api.test", "/orders/?page=2&x=/admin/", 3, ""}, // the query is ignored
		{"GET", "API.example.com:8443", "/reports/q1", 7, ""},
		// A fully qualified name's trailing dot names the same host.
		{"GET", "api.example.com.", "/reports/q1", 7, ""},
		{"GET", "API.example.com.:8443", "/reports/q1", 7, ""},
		{"GET", "other.example.com", "/reports/q1", 0, policy.RefuseNoRule},
		{"GET", "api.test", "/ord%65rs/", 3, ""}, // decoded before matching
		{"GET", "api.test", "/admin/users/", 6, ""},
		{"GET", "api.test", "/", 0, policy.RefuseNoRule},
		{"GET", "api.test", "/public/../admin/", 0, policy.RefuseNotCanonical},
		{"GET", "api.test", "/public/%2e%2e/admin/", 0, policy.RefuseNotCanonical},
		{"GET", "api.test", "/public/%2E./admin/", 0, policy.RefuseNotCanonical},
		{"GET", "api.test", "/public/..;/admin/", 0, policy.RefuseNotCanonical},
		{"GET", "api.test", "/public/./x", 0, policy.RefuseNotCanonical},
		{"GET", "api.test", "/public//admin/", 0, policy.RefuseNotCanonical},
		{"GET", "api.test", "//public/", 0, policy.RefuseNotCanonical},
		{"GET", "api.test", "/public/a%2fb", 0, policy.RefuseNotCanonical},
		{"GET", "api.test", "/public/a%5Cb", 0, policy.RefuseNotCanonical},
		{"GET", "api.test", `/public/a\b`, 0, policy.RefuseNotCanonical},
		{"GET", "api.test", "/public/a%00b", 0, policy.RefuseNotCanonical},
		{"GET", "api.test", "/public/a%0ab", 0, policy.RefuseNotCanonical},
		{"GET", "api.test", "/public/a b", 0, policy.RefuseNotCanonical},
		{"GET", "api.test", "/public/a#b", 0, policy.RefuseNotCanonical},
		{"GET", "api.test", "/public/%zz", 0, policy.RefuseNotCanonical},
		{"GET", "api.test", "public/", 0, policy.RefuseNotCanonical},
		{"GET", "api.test", "http://api.test/public/", 0, policy.RefuseNotCanonical},
		{"GET", "api.test", "", 0, policy.RefuseNotCanonical},
		{"GET", "api.test", "/public/..data/", 7 + 1, ""}, // "..data" is a name, not a dot segment
	} {
		t.Run(tc.method+" "+tc.host+" "+tc.uri, func(t *testing.T) {
			rule, why := p.Match(tc.method, tc.host, tc.uri)
			switch {
			case tc.line == 0 && rule != nil:
				t.Fatalf("matched the rule at line %d (%s), want no rule (%s)", rule.Line, rule.Pattern, tc.refusal)
			case tc.line == 0 && why != tc.refusal:
				t.Fatalf("refusal %q, want %q", why, tc.refusal)
			case tc.line != 0 && rule == nil:
				t.Fatalf("no rule (%s), want line %d", why, tc.line)
			case tc.line != 0 && rule.Line != tc.line:
				t.Fatalf("rule at line %d (%s), want line %d", rule.Line, rule.Pattern, tc.line)
			}
		})
	}
}

// principal is a user's principal, or an OAuth token's with scopes.
func principal(kind guard.Kind, staff bool, scopes string, perms ...string) *guard.Principal {
	p := &guard.Principal{UserID: 7, Username: "ann", Kind: kind, IsStaff: staff,
		Known: guard.FieldsAll, Permissions: perms}
	if kind == guard.KindOAuth {
		p.Scopes = strings.Fields(scopes)
	}
	return p
}

// The requirements are package guard's permissions, combined as written.
func TestRequirements(t *testing.T) {
	p := mustParse(t, example)
	oauth := func(scopes string) *guard.Principal { return principal(guard.KindOAuth, false, scopes) }
	clientOnly := &guard.Principal{Kind: guard.KindOAuth, Scopes: []string{"read", "write", "orders"}, Known: guard.FieldsAll}
	for _, tc := range []struct {
		name        string
		method, uri string
		p           *guard.Principal
		want        int
	}{
		{"allow_any anonymous", "GET", "/health/", nil, 200},
		{"authenticated anonymous", "GET", "/orders/", nil, 401},
		{"authenticated drf token", "GET", "/orders/", principal(guard.KindToken, false, ""), 200},
		{"authenticated client alone", "GET", "/orders/", clientOnly, 403},
		{"read scope for GET", "GET", "/orders/7/", oauth("read"), 200},
		{"write scope is not read", "GET", "/orders/7/", &guard.Principal{Kind: guard.KindOAuth, Scopes: []string{"write"}, Known: guard.FieldsAll}, 403},
		{"user's oauth token passes the OR", "GET", "/orders/7/", oauth("write"), 200},
		{"or authenticated user", "GET", "/orders/7/", principal(guard.KindJWT, false, ""), 200},
		{"write+orders for POST", "POST", "/orders/", oauth("write orders"), 200},
		{"write without orders", "POST", "/orders/", oauth("write"), 403},
		{"read for POST", "POST", "/orders/", oauth("read orders"), 403},
		{"client alone with write+orders", "POST", "/orders/", clientOnly, 200},
		{"permission for POST", "POST", "/orders/", principal(guard.KindKnox, false, "", "orders.change_order"), 200},
		{"no permission for POST", "POST", "/orders/", principal(guard.KindKnox, false, "", "orders.view_order"), 403},
		{"staff", "GET", "/admin/", principal(guard.KindToken, true, ""), 200},
		{"not staff", "GET", "/admin/", principal(guard.KindToken, false, ""), 403},
		{"read only anonymous GET", "GET", "/public/x", nil, 200},
		{"read only anonymous POST", "POST", "/public/x", nil, 401},
		{"AND: both", "GET", "/mixed/", principal(guard.KindToken, true, ""), 200},
		{"AND: one", "GET", "/mixed/", principal(guard.KindToken, false, ""), 403},
		{"AND: oauth staff without scope", "GET", "/mixed/", principal(guard.KindOAuth, true, "write"), 403},
		{"OR: staff", "DELETE", "/orders/7/", principal(guard.KindToken, true, ""), 200},
		{"OR: permission", "DELETE", "/orders/7/", principal(guard.KindToken, false, "", "orders.delete_order"), 200},
		{"OR: neither", "DELETE", "/orders/7/", principal(guard.KindToken, false, "", "orders.change_order"), 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rule, why := p.Match(tc.method, "api.test", tc.uri)
			if rule == nil {
				t.Fatalf("no rule: %s", why)
			}
			r, _ := http.NewRequestWithContext(context.Background(), tc.method, "http://api.test"+tc.uri, nil)
			got, err := guard.Check(r, tc.p, rule.Permission)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("rule at line %d (%s): %d, want %d", rule.Line, rule.Requirement, got, tc.want)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	p := mustParse(t, example)
	want := policy.DefaultHeaders()
	want.Username = "X-Remote-User"
	if got := p.Headers(); got != want {
		t.Fatalf("headers %+v, want %+v", got, want)
	}
	p = mustParse(t, "/ allow_any\nheader user_id x-remote-user-id\n")
	if got := p.Headers().UserID; got != "X-Remote-User-Id" {
		t.Fatalf("user_id header %q, want the canonical X-Remote-User-Id", got)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"empty", "", "test.policy:1: no rule: every request would be denied"},
		{"comments only", "# nothing\n\n", "test.policy:2: no rule: every request would be denied"},
		{"no requirement", "/a/ allow_any\n/orders/\n", "test.policy:2: rule /orders/ has no requirement (such as authenticated, or allow_any)"},
		{"unknown requirement", "/orders/ logged_in\n", `test.policy:1: unknown requirement "logged_in" (want allow_any, authenticated, authenticated_or_read_only, staff, scopes=, read_write_scopes, authenticated_or_scopes=, permission=)`},
		{"requirement without pattern", "authenticated\n", `test.policy:1: "authenticated" is neither a method list in upper case (GET,POST) nor a path pattern (/orders/)`},
		{"lower case method", "get /orders/ authenticated\n", `test.policy:1: "get" is neither a method list in upper case (GET,POST) nor a path pattern (/orders/)`},
		{"method without pattern", "GET\n", "test.policy:1: a rule needs a path pattern after its methods (such as /orders/)"},
		{"method twice", "GET,GET /a/ staff\n", "test.policy:1: method GET listed twice"},
		{"empty method", "GET,,POST /a/ staff\n", `test.policy:1: empty method in "GET,,POST"`},
		{"host without path", "GET api.example.com staff\n", `test.policy:1: "api.example.com" is not a path pattern: it must contain a path starting with /`},
		{"scopes without list", "/a/ scopes\n", "test.policy:1: scopes needs a list: scopes=a,b"},
		{"scopes empty item", "/a/ scopes=read,\n", "test.policy:1: empty item in scopes=read,"},
		{"staff with value", "/a/ staff=yes\n", "test.policy:1: staff takes no value"},
		{"bad permission", "/a/ permission=change_order\n", `test.policy:1: permission "change_order": want app_label.codename (orders.change_order)`},
		{"permission with two dots", "/a/ permission=a.b.c\n", `test.policy:1: permission "a.b.c": want app_label.codename (orders.change_order)`},
		{"dangling or", "/a/ staff |\n", `test.policy:1: "|" needs a requirement on each side`},
		{"leading or", "/a/ | staff\n", `test.policy:1: "|" needs a requirement on each side`},
		{"double or", "/a/ staff || authenticated\n", `test.policy:1: "|" needs a requirement on each side`},
		{"invalid pattern", "/a/{id/ staff\n", "test.policy:1: invalid pattern /a/{id/: at offset 3: bad wildcard segment (must end with '}')"},
		{"duplicate wildcard", "/a/{x}/{x}/ staff\n", "test.policy:1: invalid pattern /a/{x}/{x}/: at offset 7: duplicate wildcard name \"x\""},
		{"same pattern twice", "/a/ staff\n\n/a/ authenticated\n", "test.policy:3: rule /a/ conflicts with the rule at line 1 (/a/): neither is more specific"},
		{"same method twice", "GET /a/ staff\nGET,POST /a/ authenticated\n", "test.policy:2: rule GET /a/ conflicts with the rule at line 1 (/a/): neither is more specific"},
		{"overlapping wildcards", "/a/{x}/b/ staff\n/a/b/{y}/ staff\n", "test.policy:2: rule /a/b/{y}/ conflicts with the rule at line 1 (/a/{x}/b/): neither is more specific"},
		{"header arity", "/a/ staff\nheader username\n", "test.policy:2: want: header FIELD NAME (FIELD one of user_id, username, email, is_staff, scopes, client_id, token_kind)"},
		{"header unknown field", "/a/ staff\nheader password X-P\n", `test.policy:2: unknown identity header "password" (want user_id, username, email, is_staff, scopes, client_id or token_kind)`},
		{"header bad name", "/a/ staff\nheader username X:User\n", `test.policy:2: "X:User" is not an HTTP header name`},
		{"header reserved", "/a/ staff\nheader username authorization\n", "test.policy:2: header authorization has a meaning of its own in HTTP or to the proxy: choose another name"},
		{"header twice", "/a/ staff\nheader username X-A\nheader username X-B\n", "test.policy:3: header username already named at line 2"},
		{"header clash", "/a/ staff\nheader email X-Auth-Username\n", "test.policy:2: header X-Auth-Username is named for both username and email"},
		{"control character", "/a/\x01 staff\n", `test.policy:1: control character '\x01'`},
		{"long line", "/a/ staff\n" + strings.Repeat("x", 70000) + "\n", "test.policy:2: line longer than 65536 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policy.Parse("test.policy", strings.NewReader(tc.text))
			if err == nil {
				t.Fatal("parsed; want an error")
			}
			if err.Error() != tc.want {
				t.Fatalf("error\n got %s\nwant %s", err, tc.want)
			}
			var pe *policy.Error
			if !errors.As(err, &pe) {
				t.Fatalf("%T is not a *policy.Error", err)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.policy")
	os.WriteFile(good, []byte(example), 0o600)
	p, err := policy.Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rules()) != 9 || p.Name() != good {
		t.Fatalf("%d rules from %s, want 9 from %s", len(p.Rules()), p.Name(), good)
	}
	_, err = policy.Load(filepath.Join(dir, "missing.policy"))
	if err == nil || !strings.Contains(err.Error(), "missing.policy") || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v, want an error naming it", err)
	}
	bad := filepath.Join(dir, "bad.policy")
	os.WriteFile(bad, []byte("/a/ staff\n/b/ nobody\n"), 0o600)
	_, err = policy.Load(bad)
	if err == nil || !strings.HasPrefix(err.Error(), bad+":2: unknown requirement \"nobody\"") {
		t.Fatalf("bad file: %v, want %s:2: ...", err, bad)
	}
}

// FuzzParse: the parser never panics, and a policy it accepts matches any
// request without panicking and only through a rule of its own.
func FuzzParse(f *testing.F) {
	f.Add(example, "GET", "/orders/7/")
	f.Add("/a/{x}/b/ staff\n/a/b/{y}/ staff\n", "POST", "/a/b/c/")
	f.Add("GET,POST api.example.com/x/{$} scopes=a,b|staff\nheader user_id X-U\n", "GET", "/x/")
	f.Add("/{a...} allow_any\n", "GET", "/%2e%2e/")
	f.Fuzz(func(t *testing.T, text, method, uri string) {
		p, err := policy.Parse("fuzz.policy", strings.NewReader(text))
		if err != nil {
			var pe *policy.Error
			if !errors.As(err, &pe) || pe.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		rule, why := p.Match(method, "api.test", uri)
		if rule == nil {
			if why != policy.RefuseNoRule && why != policy.RefuseNotCanonical {
				t.Fatalf("no rule and reason %q", why)
			}
			return
		}
		for _, r := range p.Rules() {
			if r == rule {
				return
			}
		}
		t.Fatalf("matched a rule not in the policy: %+v", rule)
	})
}

// The example of docs/protect-your-api.md parses, and decides as the
// document says.
func TestDocumentedExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/protect-your-api.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), "## The policy file")
	if !ok {
		t.Fatal("no policy file section")
	}
	_, block, _ := strings.Cut(after, "```\n")
	block, _, _ = strings.Cut(block, "```")
	p := mustParse(t, block)
	if got := p.Headers().Username; got != "X-Remote-User" {
		t.Fatalf("username header %q", got)
	}
	for _, tc := range []struct{ method, host, uri, pattern string }{
		{"GET", "api.example.com", "/health/", "/health/{$}"},
		{"GET", "x", "/orders/", "/orders/"},
		{"GET", "x", "/orders/7/", "/orders/{id}/"},
		{"DELETE", "x", "/orders/7/", "/orders/{id}/"},
		{"GET", "api.example.com", "/reports/q1", "api.example.com/reports/"},
		{"POST", "x", "/catalogue/1", "/catalogue/"},
	} {
		rule, why := p.Match(tc.method, tc.host, tc.uri)
		if rule == nil || rule.Pattern != tc.pattern {
			t.Errorf("%s %s%s: %v (%s), want %s", tc.method, tc.host, tc.uri, rule, why, tc.pattern)
		}
	}
	if rule, _ := p.Match("GET", "x", "/reports/q1"); rule != nil {
		t.Errorf("/reports/ on another host matched %s", rule.Pattern)
	}
}
