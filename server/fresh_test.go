package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// A freshly started server takes 64 concurrent OAuth writes of each kind at
// once without an error or a stall. Every statement of a transaction runs
// on the transaction's own connection: one that needed a second connection
// from the pool (preparing a statement the first time it is used) stalled
// SQLite for its busy timeout and exhausted PostgreSQL's pool (issue 13).
func TestFreshServerTakesConcurrentOAuthWrites(t *testing.T) {
	eachWith(t, noThrottles, func(t *testing.T, e *env) {
		a := e.setupOAuth()
		// One refresh token per concurrent rotation, and one shared by all
		// (one winner, the others refused), issued by this server; each wave
		// then runs on a server freshly started on the same database.
		const n = 64
		refresh := make([]string, n)
		for i := range refresh {
			refresh[i] = e.password(a).Refresh
		}
		shared := e.password(a).Refresh
		e.close() // each wave runs on a server of its own; this one is done
		conf := basic("conf-client", a.confSecret)
		cc := basic("cc-client", a.ccSecret)
		kinds := []struct {
			name  string
			form  func(i int) url.Values
			auth  string
			codes map[int]bool
		}{
			{"password", func(int) url.Values {
				return url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alicepass"}}
			}, conf, map[int]bool{200: true}},
			{"client_credentials", func(int) url.Values { return url.Values{"grant_type": {"client_credentials"}} }, cc, map[int]bool{200: true}},
			{"refresh", func(i int) url.Values {
				return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh[i]}}
			}, conf, map[int]bool{200: true}},
			{"refresh of one token", func(int) url.Values {
				return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {shared}}
			}, conf, map[int]bool{200: true, 400: true}},
			{"revoke", func(i int) url.Values { return url.Values{"token": {refresh[i]}} }, conf, map[int]bool{200: true}},
		}
		client := &http.Client{Timeout: 8 * time.Second}
		for _, k := range kinds {
			f := e.restart(nil, noThrottles)
			defer f.close()
			path := "/o/token/"
			if k.name == "revoke" {
				path = "/o/revoke_token/"
			}
			start := time.Now()
			var wg sync.WaitGroup
			errs := make(chan string, n)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					req, _ := http.NewRequestWithContext(context.Background(), "POST", f.http.URL+path, strings.NewReader(k.form(i).Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.Header.Set("Authorization", k.auth)
					res, err := client.Do(req)
					if err != nil {
						errs <- err.Error()
						return
					}
					res.Body.Close()
					if !k.codes[res.StatusCode] {
						errs <- res.Status
					}
				}(i)
			}
			wg.Wait()
			close(errs)
			for msg := range errs {
				t.Errorf("%s: %s", k.name, msg)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("%s: %d concurrent writes took %v", k.name, n, d)
			}
			f.close()
		}
	})
}
