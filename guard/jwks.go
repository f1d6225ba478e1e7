package guard

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse/jwt"
)

// maxJWKS bounds the key set document read from gatehouse.
const maxJWKS = 1 << 20

// keys is one generation of verification keys: the HMAC key and the
// JWKS as last fetched. It is never modified once published.
type keys struct {
	v       *jwt.Verifier // nil when there is no key at all
	kids    map[string]bool
	fetched bool      // the JWKS was fetched at least once
	next    time.Time // when the JWKS is due to be fetched again
}

func (k *keys) parse(token string) (jwt.Claims, error) {
	if k.v == nil {
		return jwt.Claims{}, jwt.ErrInvalid
	}
	return k.v.Parse(token)
}

// keySet holds the current keys and fetches the JWKS: when it is due (by
// one caller, the others going on with the keys they have) and when a
// token names a key id not seen yet, at most once per JWKSMinInterval.
type keySet struct {
	r    *Remote
	cur  atomic.Pointer[keys]
	mu   sync.Mutex // held while fetching; guards last and lastKid
	last time.Time  // the last fetch attempt
	// lastKid is the last fetch an unknown key id caused. Due refreshes
	// do not count against it, so that they never delay seeing a new key.
	lastKid time.Time
}

// current returns the keys to verify with, refreshing them first when
// they are due and no other caller is already doing so. A failed refresh
// keeps the keys (and is retried after JWKSMinInterval).
func (s *keySet) current(ctx context.Context) (*keys, error) {
	k := s.cur.Load()
	if !k.fetched || s.r.now().Before(k.next) {
		return k, nil
	}
	if s.mu.TryLock() {
		if k = s.cur.Load(); !s.r.now().Before(k.next) && s.r.now().Sub(s.last) >= s.r.cfg.JWKSMinInterval {
			if err := s.fetchLocked(ctx); err != nil {
				s.r.log.WarnContext(ctx, "guard: refreshing the JWKS failed; the keys fetched before stay in use", "err", err)
			}
		}
		s.mu.Unlock()
	}
	return s.cur.Load(), nil
}

// forUnknownKey is called when k did not verify token. When the token is
// signed with an asymmetric algorithm under a key id k does not hold, it
// fetches the JWKS (once for all callers waiting, and not again before
// JWKSMinInterval has passed) and returns the keys to try again with.
// An error when gatehouse cannot be asked and no JWKS was ever fetched.
func (s *keySet) forUnknownKey(ctx context.Context, k *keys, token string) (*keys, error) {
	if s.r.cfg.JWKSURL == "" {
		return k, nil
	}
	alg, kid, ok := tokenHeader(token)
	if !ok || (alg != jwt.RS256 && alg != jwt.ES256 && alg != jwt.EdDSA) || (kid == "" && k.fetched) || k.kids[kid] {
		return k, nil // not a key the JWKS can add
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.cur.Load(); cur != k && (cur.kids[kid] || kid == "") {
		return cur, nil // fetched while this caller waited
	}
	if !s.lastKid.IsZero() && s.r.now().Sub(s.lastKid) < s.r.cfg.JWKSMinInterval {
		cur := s.cur.Load()
		if !cur.fetched {
			return nil, errors.New("guard: the JWKS could not be fetched yet")
		}
		return cur, nil
	}
	s.lastKid = s.r.now()
	if err := s.fetchLocked(ctx); err != nil {
		return nil, err
	}
	return s.cur.Load(), nil
}

// fetch fetches the JWKS now.
func (s *keySet) fetch(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetchLocked(ctx)
}

func (s *keySet) fetchLocked(ctx context.Context) error {
	r := s.r
	s.last = r.now()
	// Callers waiting on this fetch share it: one request's cancellation
	// must not fail the others.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.JWKSURL, nil)
	if err != nil {
		return fmt.Errorf("guard: JWKS request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	res, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("guard: fetching the JWKS: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(res.Body, maxJWKS))
		return fmt.Errorf("guard: fetching the JWKS: %s answered %d", r.cfg.JWKSURL, res.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxJWKS+1))
	if err != nil {
		return fmt.Errorf("guard: reading the JWKS: %w", err)
	}
	if len(body) > maxJWKS {
		return fmt.Errorf("guard: the JWKS at %s is over %d bytes", r.cfg.JWKSURL, maxJWKS)
	}
	published, err := jwt.ParseJWKS(body)
	if err != nil {
		return fmt.Errorf("guard: the JWKS at %s: %w", r.cfg.JWKSURL, err)
	}
	v, err := r.verifier(published)
	if err != nil {
		return err
	}
	k := &keys{v: v, kids: make(map[string]bool, len(published)), fetched: true,
		next: s.last.Add(maxAge(res.Header.Get("Cache-Control"), r.cfg.JWKSRefresh, r.cfg.JWKSMinInterval))}
	for _, p := range published {
		k.kids[p.ID] = true
	}
	s.cur.Store(k)
	return nil
}

// maxAge is how long a JWKS answer stays fresh: its Cache-Control max-age
// (no less than floor, no more than a day), else def.
func maxAge(cc string, def, floor time.Duration) time.Duration {
	for _, d := range strings.Split(cc, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(d), "=")
		if !ok || !strings.EqualFold(name, "max-age") {
			continue
		}
		n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64)
		if err != nil || n < 0 {
			return def
		}
		age := time.Duration(min(n, 86400)) * time.Second
		return max(age, floor)
	}
	return def
}

// tokenHeader reads the alg and kid of a token's header.
func tokenHeader(token string) (alg, kid string, ok bool) {
	i := strings.IndexByte(token, '.')
	if i <= 0 || i > 1024 {
		return "", "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(token[:i])
	if err != nil {
		return "", "", false
	}
	var h struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if json.Unmarshal(raw, &h) != nil {
		return "", "", false
	}
	return h.Alg, h.Kid, true
}
