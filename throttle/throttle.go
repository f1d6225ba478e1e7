// Package throttle limits how often clients may call gatehouse, in two
// ways:
//
//   - Limiter: DRF-style rates per scope ("anon", "user", "login",
//     "sign_up", "token", ...), each "N/period" as in DRF's
//     DEFAULT_THROTTLE_RATES, counted per user or per client address;
//   - Guard: failed logins per account (a username, or an OAuth client_id),
//     with an exponential back-off per source and a cap per account of
//     failures per hour, which sources the account has logged in from
//     before are not held to (guard.go says why).
//
// Both keep their counters in a gatehouse.ThrottleStore: the database when
// replicas share PostgreSQL, so that every replica counts the same
// attempts, or Memory on a single node. The package knows nothing of HTTP:
// callers pass the client's address, and a refusal is a *gatehouse.Error
// with code ETHROTTLED and the wait in Wait.
package throttle

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// Rate is at most N requests per Per, as DRF writes "N/period". The zero
// Rate is no limit.
type Rate struct {
	N   int
	Per time.Duration
}

// Off reports whether r limits nothing.
func (r Rate) Off() bool { return r.N <= 0 || r.Per <= 0 }

func (r Rate) String() string {
	if r.Off() {
		return "none"
	}
	for _, u := range []struct {
		name string
		d    time.Duration
	}{{"day", 24 * time.Hour}, {"hour", time.Hour}, {"min", time.Minute}, {"sec", time.Second}} {
		if r.Per == u.d {
			return strconv.Itoa(r.N) + "/" + u.name
		}
	}
	return strconv.Itoa(r.N) + "/" + r.Per.String()
}

// ParseRate reads a rate as DRF's SimpleRateThrottle.parse_rate does:
// "100/day", "10/min", "5/s" (the period's first letter counts: s, m, h,
// d). "none" or "" is no limit. Unlike DRF, a number before the period
// ("5/15m") or a Go duration is accepted, and anything else is an error.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "none") {
		return Rate{}, nil
	}
	num, period, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if !ok || err != nil || n <= 0 || n > 1_000_000_000 {
		return Rate{}, fmt.Errorf("rate %q: want N/period with N a positive whole number, as 100/day or 10/min", s)
	}
	period = strings.TrimSpace(period)
	if d, err := time.ParseDuration(period); err == nil && d > 0 && strings.ContainsAny(period, "0123456789") {
		return Rate{N: n, Per: d}, nil
	}
	var per time.Duration
	if period != "" {
		per = map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}[period[0]|0x20]
	}
	if per == 0 {
		return Rate{}, fmt.Errorf("rate %q: the period must start with s, m, h or d (second, minute, hour, day) or be a duration such as 15m", s)
	}
	return Rate{N: n, Per: per}, nil
}

// Rates maps scopes to their rate, as DEFAULT_THROTTLE_RATES does.
type Rates map[string]Rate

// Scopes gatehouse's views throttle with.
const (
	ScopeAnon   = "anon"    // every DRF and simplejwt view, for anonymous callers (per address)
	ScopeUser   = "user"    // every DRF and simplejwt view, for authenticated users (per user)
	ScopeLogin  = "login"   // the login paths: DRF token, simplejwt pair, OAuth password grant, the login page (per address)
	ScopeSignUp = "sign_up" // POST /sign_up/ (per address)
	ScopeToken  = "token"   // the OAuth token, revocation and introspection endpoints (per address)
)

// DefaultRates are the rates gatehouse starts with. The login and sign-up
// paths cost a password hash per request and are what an attacker floods,
// so they are limited per address; the rest is left to the Guard (which
// counts failures, not the successes of a busy legitimate client) and to
// the operator, as DRF leaves DEFAULT_THROTTLE_RATES empty.
func DefaultRates() Rates {
	return Rates{
		ScopeAnon:   {},
		ScopeUser:   {},
		ScopeLogin:  {N: 300, Per: time.Minute},
		ScopeSignUp: {N: 100, Per: time.Hour},
		ScopeToken:  {},
	}
}

// ParseRates reads "scope=rate,scope=rate" (DEFAULT_THROTTLE_RATES as one
// setting) over base: scopes not named keep base's rate. A scope may be
// any name; the ones gatehouse uses are the Scope* constants.
func ParseRates(s string, base Rates) (Rates, error) {
	out := Rates{}
	for k, v := range base {
		out[k] = v
	}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		scope, rate, ok := strings.Cut(item, "=")
		scope = strings.TrimSpace(scope)
		if !ok || scope == "" {
			return nil, fmt.Errorf("throttle rates: %q is not scope=rate (e.g. login=60/min)", item)
		}
		r, err := ParseRate(rate)
		if err != nil {
			return nil, fmt.Errorf("throttle rates: scope %s: %w", scope, err)
		}
		out[scope] = r
	}
	return out, nil
}

// String writes rs as ParseRates reads it, scopes in order.
func (rs Rates) String() string {
	keys := make([]string, 0, len(rs))
	for k := range rs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + rs[k].String()
	}
	return strings.Join(parts, ",")
}

// Limiter applies Rates. Safe for concurrent use.
type Limiter struct {
	store gatehouse.ThrottleStore
	rates Rates
	now   func() time.Time
}

// NewLimiter returns a Limiter counting in store; now nil means time.Now.
func NewLimiter(store gatehouse.ThrottleStore, rates Rates, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{store: store, rates: rates, now: now}
}

// Enabled reports whether scope has a rate, so that callers can skip
// working out the identity of a request no rate applies to.
func (l *Limiter) Enabled(scope string) bool {
	return l != nil && !l.rates[scope].Off()
}

// Allow counts one request of ident (a user id or an address) in scope and
// returns nil, or an ETHROTTLED error with the wait when the scope's rate
// is used up. The rate is a bucket of N requests that refills at N per
// period: N may come at once, then one every period/N, which is DRF's
// limit (N in any period) without its bursts at a window's edge.
func (l *Limiter) Allow(ctx context.Context, scope, ident string) error {
	if !l.Enabled(scope) {
		return nil
	}
	r := l.rates[scope]
	interval := r.Per / time.Duration(r.N)
	if interval <= 0 {
		interval = 1
	}
	wait, err := l.store.ThrottleTake(ctx, "r|"+scope+"|"+ident, l.now(), interval, r.N)
	if err != nil {
		return err
	}
	if wait > 0 {
		return gatehouse.Throttled(gatehouse.ReasonRate, wait)
	}
	return nil
}

// Seconds is a wait as DRF words it: whole seconds, rounded up, at least 1.
func Seconds(wait time.Duration) int64 {
	s := int64(math.Ceil(wait.Seconds()))
	if s < 1 {
		s = 1
	}
	return s
}
