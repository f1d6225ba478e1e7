package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
)

// benchUsers writes the fixture plus n extra users per pool to a new
// dumpdata file and returns its path and the pools of usernames. Every
// extra user has user00's PBKDF2-SHA256 260000 hash (password
// "user00pass"), so the first login of each pays exactly what a user
// imported from Django pays: one PBKDF2 verification, then gatehouse's
// rehash to argon2id. A user logs in once; a pool never repeats a name.
func benchUsers(fixture, out string, pools, n int) ([][]string, error) {
	raw, err := os.ReadFile(fixture)
	if err != nil {
		return nil, err
	}
	var objs []map[string]any
	if err := json.Unmarshal(raw, &objs); err != nil {
		return nil, err
	}
	var tmpl map[string]any
	maxPK := 0.0
	for _, o := range objs {
		if o["model"] != "auth.user" {
			continue
		}
		if pk, _ := o["pk"].(float64); pk > maxPK {
			maxPK = pk
		}
		if f, _ := o["fields"].(map[string]any); f["username"] == "user00" {
			tmpl = f
		}
	}
	if tmpl == nil {
		return nil, fmt.Errorf("%s: no user00", fixture)
	}
	names := make([][]string, pools)
	pk := int(maxPK) + 1000
	for p := range names {
		for i := 0; i < n; i++ {
			f := map[string]any{}
			for k, v := range tmpl {
				f[k] = v
			}
			name := fmt.Sprintf("bench%d_%05d", p, i)
			f["username"], f["email"] = name, name+"@example.com"
			objs = append(objs, map[string]any{"model": "auth.user", "pk": pk, "fields": f})
			names[p] = append(names[p], name)
			pk++
		}
	}
	b, err := json.Marshal(objs)
	if err != nil {
		return nil, err
	}
	return names, os.WriteFile(out, b, 0o600)
}

// loginKind is one of the three password logins.
type loginKind struct {
	name string
	mk   func(base, user, pass string) (*http.Request, error)
}

var logins = []loginKind{
	{"POST /api-token-auth/", func(base, user, pass string) (*http.Request, error) {
		return jsonPost(base+"/api-token-auth/", user, pass)
	}},
	{"POST /access-token/", func(base, user, pass string) (*http.Request, error) {
		return jsonPost(base+"/access-token/", user, pass)
	}},
	{"POST /o/token/ (password)", func(base, user, pass string) (*http.Request, error) {
		form := url.Values{"grant_type": {"password"}, "username": {user}, "password": {pass},
			"client_id": {"conf-client"}, "client_secret": {"conf-secret"}}
		req, err := http.NewRequest("POST", base+"/o/token/", strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		return req, err
	}},
}

func jsonPost(u, user, pass string) (*http.Request, error) {
	body, _ := json.Marshal(map[string]string{"username": user, "password": pass})
	req, err := http.NewRequest("POST", u, strings.NewReader(string(body)))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, err
}

// pooled logs each user of names in once, in order; when the pool is
// used up the case fails rather than repeat a (by then rehashed) user.
// used reports how many of names were sent.
func pooled(base string, k loginKind, names []string, pass string) (mk request, used func() int) {
	var next atomic.Int64
	mk = func(int) (*http.Request, error) {
		i := next.Add(1) - 1
		if int(i) >= len(names) {
			return nil, fmt.Errorf("login pool of %d users used up", len(names))
		}
		return k.mk(base, names[i], pass)
	}
	return mk, func() int { return min(int(next.Load()), len(names)) }
}

// rehashed counts the users of names[:n] whose stored hash is argon2id.
func rehashed(backend, dbURL string, names []string) (int, error) {
	b, err := openBulk(backend, dbURL)
	if err != nil {
		return 0, err
	}
	defer b.close()
	q := "SELECT count(*) FROM users WHERE password LIKE 'argon2$%' AND username IN ("
	args := make([]any, len(names))
	for i, n := range names {
		if i > 0 {
			q += ", "
		}
		if backend == "postgres" {
			q += fmt.Sprintf("$%d", i+1)
		} else {
			q += "?"
		}
		args[i] = n
	}
	var c int
	err = b.db.QueryRow(q+")", args...).Scan(&c)
	return c, err
}

// repeated logs the same user in on every request.
func repeated(base string, k loginKind, user, pass string) request {
	return func(int) (*http.Request, error) { return k.mk(base, user, pass) }
}

// refreshChain rotates one refresh token per connection: each request
// sends the token the previous answer returned (rotation makes every
// refresh token single-use). start returns each connection's first token.
func refreshChain(base string, conns int, start func() (string, error)) (request, observer, error) {
	toks := make([]string, conns)
	for i := range toks {
		t, err := start()
		if err != nil {
			return nil, nil, err
		}
		toks[i] = t
	}
	mk := func(w int) (*http.Request, error) {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {toks[w]}}
		req, err := http.NewRequest("POST", base+"/o/token/", strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("conf-client", "conf-secret")
		}
		return req, err
	}
	seen := func(w int, body []byte) {
		var m struct {
			Refresh string `json:"refresh_token"`
		}
		if json.Unmarshal(body, &m) == nil && m.Refresh != "" {
			toks[w] = m.Refresh
		}
	}
	return mk, seen, nil
}

// passwordRefresh logs alice in with the password grant and returns the
// refresh token.
func passwordRefresh(base string) func() (string, error) {
	return func() (string, error) {
		req, err := logins[2].mk(base, "alice", "alicepass")
		if err != nil {
			return "", err
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		var m struct {
			Refresh string `json:"refresh_token"`
		}
		if err := json.NewDecoder(res.Body).Decode(&m); err != nil || res.StatusCode != 200 || m.Refresh == "" {
			return "", fmt.Errorf("password grant for a refresh token: status %d %v", res.StatusCode, err)
		}
		return m.Refresh, nil
	}
}

// jwtRefreshChain is refreshChain for simplejwt: each worker logs alice in
// at /access-token/ and then refreshes at /access-token/refresh/ with the
// refresh token its last answer gave (rotation on: each is new, the one
// before it blacklisted).
func jwtRefreshChain(base string, conns int) (request, observer, error) {
	toks := make([]string, conns)
	for i := range toks {
		res, err := http.Post(base+"/access-token/", "application/json", strings.NewReader(`{"username":"alice","password":"alicepass"}`))
		if err != nil {
			return nil, nil, err
		}
		var m struct {
			Refresh string `json:"refresh"`
		}
		err = json.NewDecoder(res.Body).Decode(&m)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 || m.Refresh == "" {
			return nil, nil, fmt.Errorf("simplejwt login for a refresh token: status %d %v", res.StatusCode, err)
		}
		toks[i] = m.Refresh
	}
	mk := func(w int) (*http.Request, error) {
		body, _ := json.Marshal(map[string]string{"refresh": toks[w]})
		req, err := http.NewRequest("POST", base+"/access-token/refresh/", bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	}
	seen := func(w int, body []byte) {
		var m struct {
			Refresh string `json:"refresh"`
		}
		if json.Unmarshal(body, &m) == nil && m.Refresh != "" {
			toks[w] = m.Refresh
		}
	}
	return mk, seen, nil
}
