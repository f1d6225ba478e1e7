package main

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// waveSize is the login wave of the fault pass (issue 13): more logins at
// once than the password-hash queue takes.
const waveSize = 1500

// loginWave fires waveSize DRF logins of alice (argon2id) at once. Those
// the hash queue cannot take must be refused at once with 503 and
// Retry-After; anything else but 200 is an error. It returns a row with
// what happened and the server's peak RSS after the wave.
func loginWave(base string, pid int) (result, error) {
	name := fmt.Sprintf("login wave: %d concurrent POST /api-token-auth/ (argon2id)", waveSize)
	tr := &http.Transport{MaxIdleConnsPerHost: waveSize}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	var (
		mu              sync.Mutex
		served, refused int
		bad             []string
		slowest         time.Duration
		wg              sync.WaitGroup
	)
	start := time.Now()
	for i := 0; i < waveSize; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			req, err := logins[0].mk(base, "alice", "alicepass")
			if err != nil {
				return
			}
			res, err := c.Do(req)
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			slowest = max(slowest, d)
			if err != nil {
				bad = append(bad, err.Error())
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			switch {
			case res.StatusCode == 200:
				served++
			case res.StatusCode == 503 && res.Header.Get("Retry-After") != "":
				refused++
			default:
				bad = append(bad, res.Status)
			}
		}()
	}
	wg.Wait()
	r := resource("sqlite", name, fmt.Sprintf("%d served, %d refused with 503 + Retry-After, slowest answer %v, all in %v",
		served, refused, slowest.Round(time.Millisecond), time.Since(start).Round(time.Millisecond)), "")
	if len(bad) > 0 {
		return r, fmt.Errorf("%s: %d answers neither 200 nor 503 with Retry-After, e.g. %s", name, len(bad), bad[0])
	}
	return r, nil
}
