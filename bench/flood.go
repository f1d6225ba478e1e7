package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The security cases of issue 14. The bench server trusts the loopback
// peer as a proxy (GATEHOUSE_TRUSTED_PROXIES), so each client below names
// its own address in X-Forwarded-For, as clients behind a TLS proxy would
// reach gatehouse.

// floodClients is how many anonymous clients flood the logins.
const floodClients = 32

// loginAs is one DRF login of user from address ip, given up when ctx
// ends; it returns how long the answer took and its status.
func loginAs(ctx context.Context, c *http.Client, base, user, pass, ip string) (time.Duration, int, error) {
	req, err := jsonPost(base+"/api-token-auth/", user, pass)
	if err != nil {
		return 0, 0, err
	}
	req = req.WithContext(ctx)
	req.Header.Set("X-Forwarded-For", ip)
	t0 := time.Now()
	res, err := c.Do(req)
	if err != nil {
		return 0, 0, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return time.Since(t0), res.StatusCode, nil
}

// quantile q of ds (sorted in place).
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[min(len(ds)-1, int(math.Ceil(q*float64(len(ds))))-1)]
}

// loginFlood: one real user (alice, argon2id) logs in n times in a row,
// first on an idle server, then while floodClients clients, each from an
// address of its own, send logins of unknown users as fast as they are
// answered. Budget: the real user's p99 under the flood within 3x of the
// idle p99. The flooders' answers (400, or 503 + Retry-After when the hash
// queue is full) are counted, not judged.
func loginFlood(base, backend string, n int, forming time.Duration) ([]result, error) {
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: floodClients + 4}}
	real := func() ([]time.Duration, error) {
		var ds []time.Duration
		for i := 0; i < n; i++ {
			d, status, err := loginAs(context.Background(), c, base, "alice", "alicepass", "198.51.100.1")
			if err != nil {
				return nil, err
			}
			if status != 200 {
				return nil, fmt.Errorf("login flood: the real user's login answered %d", status)
			}
			ds = append(ds, d)
		}
		return ds, nil
	}
	idle, err := real()
	if err != nil {
		return nil, err
	}
	f := startFlood(c, base, 0)
	// The queue forms. Each flooding address's first logins come from a
	// source without failures and are served first; from its first
	// failure on, the address queues behind everyone else. The real user
	// is measured once that is so.
	time.Sleep(forming)
	flooded, err := real()
	sent, refused := f.stop()
	if err != nil {
		return nil, err
	}
	ip99, fp99 := quantile(idle, 0.99), quantile(flooded, 0.99)
	ratio := float64(fp99) / float64(ip99)
	name := fmt.Sprintf("login flood: the real user's p99 while %d clients from %d addresses send unknown-user logins", floodClients, floodClients)
	return []result{
		resource(backend, "idle login: the real user's p50 / p99 (POST /api-token-auth/, argon2id)",
			fmt.Sprintf("%v / %v (%d logins)", quantile(idle, 0.5).Round(time.Microsecond), ip99.Round(time.Microsecond), n), ""),
		resource(backend, name, fmt.Sprintf("%v / %v (p50 / p99, %d logins; flood: %d requests, %d answered other than 400)",
			quantile(flooded, 0.5).Round(time.Microsecond), fp99.Round(time.Microsecond), n, sent, refused),
			fmt.Sprintf("p99 %.1fx idle, ≤ 3x: %s", ratio, metStr(ratio <= 3))),
	}, nil
}

// floodForming is how long a flood runs before the case measures: its
// queue forms (2 s; 400 ms in a smoke run, which checks errors only).
func floodForming(o options) time.Duration {
	if o.smoke {
		return 400 * time.Millisecond
	}
	return 2 * time.Second
}

// flood is floodClients anonymous clients sending unknown-user logins,
// each from an address of its own, until stop.
type flood struct {
	done          chan struct{}
	cancel        context.CancelFunc // ends the logins under way at stop
	answered      atomic.Int64       // clients whose first login was answered
	wg            sync.WaitGroup
	sent, refused atomic.Int64
}

// startFlood starts a flood on base; round numbers the usernames and
// addresses apart from an earlier flood's.
func startFlood(c *http.Client, base string, round int) *flood {
	ctx, cancel := context.WithCancel(context.Background())
	f := &flood{done: make(chan struct{}), cancel: cancel}
	for i := 0; i < floodClients; i++ {
		f.wg.Add(1)
		go func(i int) {
			defer f.wg.Done()
			ip := fmt.Sprintf("10.%d.%d.%d", 66+round, i/200, i%200+1)
			for j := 0; ; j++ {
				select {
				case <-f.done:
					return
				default:
				}
				_, status, err := loginAs(ctx, c, base, fmt.Sprintf("nobody-%d-%d-%d", round, i, j), "guess", ip)
				if ctx.Err() != nil {
					return // stopped: this login's answer is not counted
				}
				if j == 0 {
					f.answered.Add(1)
				}
				f.sent.Add(1)
				if err == nil && status != 400 {
					f.refused.Add(1)
				}
			}
		}(i)
	}
	return f
}

// formed waits until every client's first login was answered (each
// flooding address has failed once, so its next checks are the second
// class's), or at most limit.
func (f *flood) formed(limit time.Duration) {
	deadline := time.Now().Add(limit)
	for f.answered.Load() < floodClients && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

// stop ends the flood and returns how many logins it sent and how many
// were answered other than 400.
func (f *flood) stop() (sent, refused int64) {
	close(f.done)
	// The flood's logins wait in the server's second hash class, up to
	// its request timeout: they are given up rather than waited for.
	f.cancel()
	f.wg.Wait()
	return f.sent.Load(), f.refused.Load()
}

// meDuringFloodName is the /api/me/ case measured while logins flood, and
// meDuringThrottledFloodName the same with the default login throttles.
const (
	meDuringFloodName          = "GET /api/me/ (JWT) while 32 clients flood the logins with unknown users"
	meDuringThrottledFloodName = meDuringFloodName + ", default throttles"
)

// meDuringFlood measures /api/me/ with a JWT in rounds alternating without
// and with a login flood (quiet, flooded, quiet, ...): the flood may cost
// the other users' requests at most 10 % (issue 20), so the flooded
// rounds' rate over the quiet rounds either side must be at least 0.9.
func meDuringFlood(o options, name, base, backend, jwt string) result {
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: floodClients + 4}}
	defer c.CloseIdleConnections()
	ro := o
	ro.duration = o.duration / time.Duration(o.rounds)
	mk := get(base+"/api/me/", jwt)
	var quiet, flooded []result
	var sent, refused int64
	for i := 0; i < o.rounds; i++ {
		if i > 0 {
			ro.warmup = o.warmup / 4
		}
		quiet = append(quiet, measure(ro, "gatehouse", backend, name, mk, nil))
		// Each round's 32 addresses are new: their first failed checks
		// are first-class, as any address's first is (a botnet of N fresh
		// addresses gets N of them every 15 minutes); the case measures
		// the flood after them, when every address is a suspect and its
		// checks share the second class's budget.
		f := startFlood(c, base, i)
		f.formed(10 * time.Second)
		time.Sleep(floodForming(o) / 2) // the flood's queue forms
		flooded = append(flooded, measure(ro, "gatehouse", backend, name, mk, nil))
		s, r := f.stop()
		sent, refused = sent+s, refused+r
	}
	quiet = append(quiet, measure(ro, "gatehouse", backend, name, mk, nil))
	r := vsRounds(quiet, flooded)
	q := merge(quiet)
	r.yardstick, r.yardName, r.min = q.rps, fmt.Sprintf("the same case without the flood (%.1f req/s; flood: %d logins, %d answered other than 400)", q.rps, sent, refused), 0.9
	return r
}

// failedLoginTiming times n failed logins of each class, one at a time,
// each from an address of its own (so that no back-off applies): an
// unknown user, a user with an argon2id hash, a user with an imported
// Django PBKDF2 hash. The time must not tell the classes apart (issue 14
// item 5): every pair's 5-95 % ranges must overlap. The two-sample
// Kolmogorov-Smirnov statistic D of each pair is reported too (0: the same
// distribution, 1: apart).
func failedLoginTiming(base, backend string, n int, pbkdf2User string) ([]result, error) {
	c := &http.Client{Timeout: 30 * time.Second}
	classes := []struct{ name, user string }{{"unknown user", "no-such-user"}, {"argon2id user", "alice"}, {"PBKDF2 user", pbkdf2User}}
	samples := make([][]time.Duration, len(classes))
	// Interleaved, so that the machine's drift falls on every class alike.
	for i := 0; i < n; i++ {
		for k, cl := range classes {
			d, status, err := loginAs(context.Background(), c, base, cl.user, "wrong-password", fmt.Sprintf("10.77.%d.%d", k*10+i/200, i%200+1))
			if err != nil {
				return nil, err
			}
			if status != 400 {
				return nil, fmt.Errorf("failed-login timing: %s answered %d", cl.name, status)
			}
			samples[k] = append(samples[k], d)
		}
	}
	var out []result
	var desc []string
	for k, cl := range classes {
		s := samples[k]
		desc = append(desc, fmt.Sprintf("%s %v/%v/%v", cl.name, quantile(s, 0.05).Round(10*time.Microsecond),
			quantile(s, 0.5).Round(10*time.Microsecond), quantile(s, 0.95).Round(10*time.Microsecond)))
	}
	ok := true
	var pairs []string
	for a := 0; a < len(classes); a++ {
		for b := a + 1; b < len(classes); b++ {
			sa, sb := samples[a], samples[b]
			overlap := quantile(sa, 0.05) <= quantile(sb, 0.95) && quantile(sb, 0.05) <= quantile(sa, 0.95)
			ok = ok && overlap
			pairs = append(pairs, fmt.Sprintf("%s vs %s: D %.2f", classes[a].name, classes[b].name, ksD(sa, sb)))
		}
	}
	out = append(out, resource(backend, fmt.Sprintf("failed-login time by class (%d each; p5/p50/p95)", n),
		strings.Join(desc, "; ")+". "+strings.Join(pairs, "; "), "5-95 % ranges of every pair overlap: "+metStr(ok)))
	return out, nil
}

// ksD is the two-sample Kolmogorov-Smirnov statistic of a and b.
func ksD(a, b []time.Duration) float64 {
	a, b = append([]time.Duration(nil), a...), append([]time.Duration(nil), b...)
	sort.Slice(a, func(i, j int) bool { return a[i] < a[j] })
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	var i, j int
	var d float64
	for i < len(a) && j < len(b) {
		if a[i] <= b[j] {
			i++
		} else {
			j++
		}
		d = math.Max(d, math.Abs(float64(i)/float64(len(a))-float64(j)/float64(len(b))))
	}
	return d
}
