package throttle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// The Guard tracks failed logins per account, where an account is a
// username (the four login paths) or an OAuth client_id (client
// authentication), known or not: an unknown name is tracked like a known
// one, so the answers say nothing about which names exist.
//
// What it enforces, and why this shape:
//
//   - Per account and source (the client's address; an IPv6 /64 counts as
//     one source), FreeFailures failures are free; after them each attempt
//     waits BaseDelay, doubled per further failure up to MaxDelay, from the
//     last failure. One source guessing one account slows to a few
//     attempts an hour, and nobody else is slowed by it.
//   - Per account, at most AccountFailures failures in any Window (counted
//     in sixths of it: the failures of the last seven sixths are summed,
//     so the cap holds in every Window), from all sources together:
//     ASVS 2.2.1's cap, which
//     holds against an attacker with many addresses. Once it is reached
//     the account is locked, for at most 7/6 Window, to every source...
//   - ...except the sources the account logged in from successfully within
//     KnownFor. An attacker who knows a username can lock it, but not
//     against its owner on the device and network they usually use; and a
//     source with no record of success is what an attacker has. The owner
//     on a new network waits out the lock (at most Window) or uses a
//     known one. Failures from a known source still count and still back
//     off.
//
// A successful login clears its source's failures. Counters live in the
// store the Guard is given, so replicas on one PostgreSQL share them.
type Guard struct {
	store gatehouse.ThrottleStore
	cfg   GuardConfig
	now   func() time.Time

	// known remembers the (account, source) pairs this process recorded
	// as known lately, so that a busy client's every success is not a
	// write.
	knownMu sync.Mutex
	known   map[string]time.Time
	// failed, with GuardConfig.LocalHint, remembers the accounts this
	// process saw fail within Window; see LocalHint.
	failedMu sync.Mutex
	failed   map[string]time.Time
	overflow time.Time // when failed last overflowed
}

// GuardConfig are a Guard's limits; zero fields take DefaultGuardConfig's.
type GuardConfig struct {
	FreeFailures    int           // failures per account and source before back-off
	BaseDelay       time.Duration // the first back-off
	MaxDelay        time.Duration // the longest back-off
	AccountFailures int           // failures per account per Window before the lock
	Window          time.Duration
	KnownFor        time.Duration // how long a successful login makes its source known
	// LocalHint skips the store's read for an account this process has
	// not seen fail within Window (as long as its memory of failures did
	// not overflow). For OAuth clients, whose successful authentications
	// are the token endpoint's hot path: the read then costs nothing until
	// failures start, at the price of one unguarded attempt per replica.
	LocalHint bool
}

// DefaultGuardConfig: 5 free failures, then 1 s doubling to 15 min per
// source; 100 failures per account per hour (ASVS 2.2.1); sources known
// for 30 days.
func DefaultGuardConfig() GuardConfig {
	return GuardConfig{FreeFailures: 5, BaseDelay: time.Second, MaxDelay: 15 * time.Minute,
		AccountFailures: 100, Window: time.Hour, KnownFor: 30 * 24 * time.Hour}
}

func (c GuardConfig) withDefaults() GuardConfig {
	d := DefaultGuardConfig()
	if c.FreeFailures <= 0 {
		c.FreeFailures = d.FreeFailures
	}
	if c.BaseDelay <= 0 {
		c.BaseDelay = d.BaseDelay
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = d.MaxDelay
	}
	if c.AccountFailures <= 0 {
		c.AccountFailures = d.AccountFailures
	}
	if c.Window <= 0 {
		c.Window = d.Window
	}
	if c.KnownFor <= 0 {
		c.KnownFor = d.KnownFor
	}
	return c
}

// maxLocal bounds the Guard's in-process maps.
const maxLocal = 100_000

// NewGuard returns a Guard counting in store; now nil means time.Now.
func NewGuard(store gatehouse.ThrottleStore, cfg GuardConfig, now func() time.Time) *Guard {
	if now == nil {
		now = time.Now
	}
	return &Guard{store: store, cfg: cfg.withDefaults(), now: now, known: map[string]time.Time{}, failed: map[string]time.Time{}}
}

// Kinds of account a Guard tracks.
const (
	KindUser   = "user"
	KindClient = "client"
)

// Attempt is one login attempt the Guard let through; the caller reports
// how it went.
type Attempt struct {
	g                 *Guard
	kind, account     string
	source            string
	checked           bool // the store was read
	sourceFailures    int64
	known             bool
	accountKey, srcKy string
}

// SourceOf is the source an address counts as: itself, or for IPv6 its
// /64, which one subscriber usually holds whole.
func SourceOf(a netip.Addr) string {
	if !a.IsValid() {
		return "-"
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// Begin is called before a password or secret is checked. It returns an
// ETHROTTLED error (Reason ReasonRate for the back-off, ReasonLocked for
// the account's lock) when the attempt must not be made, else the Attempt
// to report on.
func (g *Guard) Begin(ctx context.Context, kind, account string, source netip.Addr) (*Attempt, error) {
	if g == nil {
		return &Attempt{}, nil // no guard: Failed and Succeeded do nothing
	}
	a := &Attempt{g: g, kind: kind, account: account, source: SourceOf(source)}
	a.accountKey = kind + "|" + keyPart(account)
	a.srcKy = a.accountKey + "|" + a.source
	now := g.now()
	if g.cfg.LocalHint && !g.failedLately(a.accountKey, now) {
		return a, nil
	}
	cs, err := g.store.ThrottleGet(ctx, now, append([]string{"fs|" + a.srcKy, "ok|" + a.srcKy}, g.accountKeys(a.accountKey, now)...)...)
	if err != nil {
		return nil, err
	}
	a.checked = true
	src := cs[0]
	a.sourceFailures, a.known = src.N, cs[1].N > 0
	if over := src.N - int64(g.cfg.FreeFailures); over >= 0 {
		delay := g.cfg.MaxDelay
		if over < 30 {
			if d := g.cfg.BaseDelay << over; d > 0 && d < delay {
				delay = d
			}
		}
		if wait := src.At.Add(delay).Sub(now); wait > 0 {
			return nil, gatehouse.Throttled(gatehouse.ReasonRate, wait)
		}
	}
	if !a.known {
		counts := make([]int64, slices+1)
		for i, c := range cs[2:] {
			counts[i] = c.N
		}
		if wait := g.lockWait(now, counts); wait > 0 {
			return nil, gatehouse.Throttled(gatehouse.ReasonLocked, wait)
		}
	}
	return a, nil
}

// keyPart is account as it goes into a key: itself when it is short
// valid text, else a digest, so that no name (NUL bytes, invalid UTF-8,
// 4 kB of it) can make the store refuse the key.
func keyPart(account string) string {
	if len(account) <= 200 && gatehouse.ValidText(account) {
		return account
	}
	sum := sha256.Sum256([]byte(account))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// slices is how many parts the Window is counted in.
const slices = 6

func (g *Guard) slice() time.Duration { return g.cfg.Window / slices }

func (g *Guard) sliceOf(t time.Time) int64 { return t.UnixMicro() / g.slice().Microseconds() }

// accountKeys are the keys of the account's failure counts in the slice of
// now and the slices before it, oldest first: every failure of the last
// Window is in one of them.
func (g *Guard) accountKeys(accountKey string, now time.Time) []string {
	cur := g.sliceOf(now)
	keys := make([]string, slices+1)
	for i := range keys {
		keys[i] = "fa|" + accountKey + "|" + strconv.FormatInt(cur-slices+int64(i), 10)
	}
	return keys
}

// lockWait is how long until the account's failures counted in the slices
// (oldest first, the last being now's) fall below the cap: 0 when they are
// below it already. The slices cover the last Window and up to one slice
// more, so the cap holds in every Window, at the price of a lock up to a
// slice longer than an exact count would make it.
func (g *Guard) lockWait(now time.Time, counts []int64) time.Duration {
	var sum int64
	for _, n := range counts {
		sum += n
	}
	limit := int64(g.cfg.AccountFailures)
	cur := g.sliceOf(now)
	for j := 0; j < len(counts) && sum >= limit; j++ {
		sum -= counts[j] // the oldest slice drops out when slice cur+j+1 starts
		if sum < limit {
			return time.UnixMicro((cur + int64(j) + 1) * g.slice().Microseconds()).Sub(now)
		}
	}
	if sum >= limit {
		return g.cfg.Window
	}
	return 0
}

// Failed records that the attempt's password or secret was wrong.
func (a *Attempt) Failed(ctx context.Context) error {
	g := a.g
	if g == nil {
		return nil
	}
	now := g.now()
	g.noteFailure(a.accountKey, now)
	ttl := g.cfg.Window
	if ttl < g.cfg.MaxDelay*2 {
		ttl = g.cfg.MaxDelay * 2
	}
	if _, err := g.store.ThrottleAdd(ctx, "fs|"+a.srcKy, now, ttl); err != nil {
		return err
	}
	keys := g.accountKeys(a.accountKey, now)
	_, err := g.store.ThrottleAdd(ctx, keys[len(keys)-1], now, g.cfg.Window+2*g.slice())
	return err
}

// Succeeded records a successful login: the source's failures are cleared
// and it becomes known to the account.
func (a *Attempt) Succeeded(ctx context.Context) error {
	g := a.g
	if g == nil {
		return nil
	}
	if a.sourceFailures > 0 {
		if err := g.store.ThrottleDelete(ctx, "fs|"+a.srcKy); err != nil {
			return err
		}
	}
	now := g.now()
	if a.checked && a.known {
		return nil
	}
	// Written at most once a day per pair and process (known lasts far
	// longer), so that a client authenticating many times a second does
	// not write each time.
	g.knownMu.Lock()
	last, ok := g.known[a.srcKy]
	fresh := ok && now.Sub(last) < 24*time.Hour
	if !fresh {
		if len(g.known) >= maxLocal {
			clear(g.known)
		}
		g.known[a.srcKy] = now
	}
	g.knownMu.Unlock()
	if fresh {
		return nil
	}
	_, err := g.store.ThrottleAdd(ctx, "ok|"+a.srcKy, now, g.cfg.KnownFor)
	return err
}

func (g *Guard) noteFailure(accountKey string, now time.Time) {
	if !g.cfg.LocalHint {
		return
	}
	g.failedMu.Lock()
	defer g.failedMu.Unlock()
	if len(g.failed) >= maxLocal {
		for k, t := range g.failed {
			if now.Sub(t) >= g.cfg.Window {
				delete(g.failed, k)
			}
		}
		if len(g.failed) >= maxLocal {
			clear(g.failed)
			g.overflow = now
		}
	}
	g.failed[accountKey] = now
}

func (g *Guard) failedLately(accountKey string, now time.Time) bool {
	g.failedMu.Lock()
	defer g.failedMu.Unlock()
	if !g.overflow.IsZero() && now.Sub(g.overflow) < g.cfg.Window {
		return true // memory of failures was lost lately: read the store
	}
	t, ok := g.failed[accountKey]
	return ok && now.Sub(t) < g.cfg.Window
}

// statsScan bounds the failure counters Stats reads.
const statsScan = 100000

// ThrottleStats reads what the counters hold at now: every live counter
// (rates and guards alike), the accounts with failures counted by the
// guards on g's store, and those g's limits hold now (a lock: the next
// attempt of an unknown source would be refused). For the admin's status
// page: it reads up to 100,000 failure counters.
func (g *Guard) ThrottleStats(ctx context.Context, now time.Time) (gatehouse.ThrottleStats, error) {
	if g == nil {
		return gatehouse.ThrottleStats{}, nil
	}
	total, _, err := g.store.ThrottleScan(ctx, now, "", 0)
	if err != nil {
		return gatehouse.ThrottleStats{}, err
	}
	_, fails, err := g.store.ThrottleScan(ctx, now, "fa|", statsScan)
	if err != nil {
		return gatehouse.ThrottleStats{}, err
	}
	// "fa|" + accountKey + "|" + slice: by account, the slices' counts.
	byAccount := map[string]map[string]int64{}
	for k, n := range fails {
		i := strings.LastIndexByte(k, '|')
		acct, slice := k[len("fa|"):i], k[i+1:]
		if byAccount[acct] == nil {
			byAccount[acct] = map[string]int64{}
		}
		byAccount[acct][slice] = n
	}
	st := gatehouse.ThrottleStats{Counters: total, FailingAccounts: int64(len(byAccount))}
	for acct, bySlice := range byAccount {
		keys := g.accountKeys(acct, now)
		counts := make([]int64, len(keys))
		for i, k := range keys {
			counts[i] = bySlice[k[strings.LastIndexByte(k, '|')+1:]]
		}
		if g.lockWait(now, counts) > 0 {
			st.HeldAccounts++
		}
	}
	return st, nil
}
