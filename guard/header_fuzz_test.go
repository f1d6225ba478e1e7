package guard

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/jwt"
)

// Any Authorization header gives anonymous, a principal of a valid token
// or a 401 refusal, never an internal error (there is nothing to call),
// and is split as Python's bytes.split() splits it.
func FuzzAuthorizationHeader(f *testing.F) {
	clk := newClock()
	hs := codecHS(f, clk)
	valid := mint(f, hs, jwt.Access, 42)
	for _, s := range []string{"", "Token", "token a b", "Bearer", "Bearer a b", "bearer x", "Bearer x.y.z", "Basic abc",
		"Bearer " + valid, "\tBearer\v" + valid + "\f", "Bearer " + mint(f, hs, jwt.Refresh, 42), "TOKEN\u00a0key"} {
		f.Add(s)
	}
	r, err := NewRemote(Config{HMACKey: []byte(testSecret), Now: clk.now})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, h string) {
		var buf [3]string
		fields := splitFields(h, &buf)
		if !strings.ContainsFunc(h, func(c rune) bool { return c >= 0x80 }) {
			// On ASCII, Go's white space is Python's bytes.split()'s.
			want := strings.Fields(h)
			if len(want) > 3 {
				want = want[:3]
			}
			if strings.Join(fields, "\x00") != strings.Join(want, "\x00") {
				t.Fatalf("splitFields(%q) = %q, want %q", h, fields, want)
			}
		}
		req := httptest.NewRequest("GET", "/", nil)
		req.Header["Authorization"] = []string{h}
		p, err := r.Authenticate(req)
		var ref *Refusal
		switch {
		case err == nil && p == nil:
			if len(fields) > 0 && (fields[0] == "Bearer" || strings.EqualFold(fields[0], "token")) {
				t.Fatalf("%q: anonymous", h)
			}
		case err == nil:
			if len(fields) != 2 || fields[0] != "Bearer" || p.Kind != KindJWT || p.UserID != 42 {
				t.Fatalf("%q: principal %+v", h, p)
			}
		case errors.As(err, &ref):
			status, body := RefusalBody(ref)
			if _, merr := json.Marshal(body); status != 401 || merr != nil || ref.Keyword != fields[0] {
				t.Fatalf("%q: refusal %+v: %d", h, ref, status)
			}
		default:
			t.Fatalf("%q: internal error %v", h, err)
		}
	})
}
