package site_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/accounts"
	"github.com/gatehouse-auth/gatehouse/site"
)

// jwt-subject-claim adds sub (the user id as a string) to the simplejwt
// tokens /access-token/ issues, and they still authenticate; off (the
// default), the payload has no sub.
func TestJWTSubjectClaim(t *testing.T) {
	for _, on := range []bool{false, true} {
		c := testConfig(t, "sqlite")
		c.JWTSubjectClaim = on
		s, err := site.Open(context.Background(), c, site.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		u, err := s.Accounts.Create(context.Background(), accounts.NewUser{Username: "alice", Password: "correct-horse-battery-9"})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(s.Handler())
		t.Cleanup(hs.Close)
		res, err := http.PostForm(hs.URL+"/access-token/", url.Values{"username": {"alice"}, "password": {"correct-horse-battery-9"}})
		if err != nil {
			t.Fatal(err)
		}
		var pair struct{ Access string }
		json.NewDecoder(res.Body).Decode(&pair)
		res.Body.Close()
		parts := strings.Split(pair.Access, ".")
		if len(parts) != 3 {
			t.Fatalf("access token %q", pair.Access)
		}
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var claims map[string]any
		if err := json.Unmarshal(payload, &claims); err != nil {
			t.Fatal(err)
		}
		sub, has := claims["sub"]
		if has != on || (on && sub != strconv.FormatInt(u.ID, 10)) || claims["user_id"] != float64(u.ID) {
			t.Fatalf("subject claim %v: payload %s", on, payload)
		}
		req, _ := http.NewRequest("GET", hs.URL+"/api/me/", nil)
		req.Header.Set("Authorization", "Bearer "+pair.Access)
		me, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		me.Body.Close()
		if me.StatusCode != 200 {
			t.Fatalf("subject claim %v: /api/me/ answered %d", on, me.StatusCode)
		}
	}
}
