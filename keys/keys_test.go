package keys_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/keys"
	"github.com/gatehouse-auth/gatehouse/secret"

	jose "github.com/go-jose/go-jose/v4"
)

// clock is a settable clock shared by the managers of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// auditLog is an Auditor that keeps the events.
type auditLog struct {
	mu     sync.Mutex
	events []gatehouse.AuditEvent
}

func (a *auditLog) Record(_ context.Context, e gatehouse.AuditEvent) {
	a.mu.Lock()
	a.events = append(a.events, e)
	a.mu.Unlock()
}

func (a *auditLog) named(event string) []gatehouse.AuditEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []gatehouse.AuditEvent
	for _, e := range a.events {
		if e.Event == event {
			out = append(out, e)
		}
	}
	return out
}

func testBox() *secret.Box {
	b, err := secret.NewBox("a server secret of the keys tests, long enough")
	if err != nil {
		panic(err)
	}
	return b
}

func deps(st gatehouse.SigningKeyStore, c *clock, alg string) keys.Deps {
	return keys.Deps{Store: st, Box: testBox(), Algorithm: alg, PublishAhead: time.Hour, KeepAfter: 2 * time.Hour,
		RefreshEvery: time.Minute, Now: c.Now}
}

func newManager(t *testing.T, d keys.Deps) *keys.Manager {
	t.Helper()
	m, err := keys.New(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// header decodes the protected header of a compact JWS.
func header(t *testing.T, token string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func sign(t *testing.T, m *keys.Manager, claims any) string {
	t.Helper()
	tok, err := m.Sign(t.Context(), "JWT", claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Each algorithm signs and verifies; the header holds alg, kid and typ
// (typ only when asked), the payload is the claims as encoding/json writes
// them; a second Manager on the store (a restart) verifies with the key
// it reads back.
func TestSignVerify(t *testing.T) {
	for _, alg := range keys.Algorithms() {
		t.Run(alg, func(t *testing.T) {
			c := newClock()
			st := testdb.Open(t, "sqlite")
			m := newManager(t, deps(st, c, alg))
			claims := map[string]any{"sub": "42", "aud": "client", "n": 1}
			tok, err := m.Sign(t.Context(), "at+jwt", claims)
			if err != nil {
				t.Fatal(err)
			}
			list, _ := m.List(t.Context())
			// A kid is safe as a command-line argument: never a leading "-"
			// (gatehouse keys retire KID).
			if len(list) == 1 && !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(list[0].KID) {
				t.Fatalf("kid %q is not 32 hex digits", list[0].KID)
			}
			if len(list) != 1 || list[0].Algorithm != alg {
				t.Fatalf("keys %+v", list)
			}
			h := header(t, tok)
			if h["alg"] != alg || h["kid"] != list[0].KID || h["typ"] != "at+jwt" || len(h) != 3 {
				t.Errorf("header %v", h)
			}
			typ, payload, err := m.Verify(t.Context(), tok)
			want, _ := json.Marshal(claims)
			if err != nil || typ != "at+jwt" || !bytes.Equal(payload, want) {
				t.Errorf("verify: %q %s %v", typ, payload, err)
			}
			plain, err := m.Sign(t.Context(), "", []int{1})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := header(t, plain)["typ"]; ok {
				t.Errorf("typ in %v", header(t, plain))
			}
			if typ, payload, err := m.Verify(t.Context(), plain); err != nil || typ != "" || string(payload) != "[1]" {
				t.Errorf("verify without typ: %q %s %v", typ, payload, err)
			}
			restarted := newManager(t, deps(st, c, alg))
			if _, _, err := restarted.Verify(t.Context(), tok); err != nil {
				t.Errorf("after a restart: %v", err)
			}
			if tok2 := sign(t, restarted, claims); header(t, tok2)["kid"] != list[0].KID {
				t.Errorf("the restart made a key of its own: %v", header(t, tok2))
			}
		})
	}
}

// The key set holds public members only, and verifies the tokens on its
// own (as a client would use it).
func TestJWKS(t *testing.T) {
	for _, alg := range keys.Algorithms() {
		t.Run(alg, func(t *testing.T) {
			c := newClock()
			m := newManager(t, deps(testdb.Open(t, "sqlite"), c, alg))
			tok := sign(t, m, map[string]string{"sub": "1"})
			doc, maxAge, err := m.JWKS(t.Context())
			if err != nil || maxAge != 5*time.Minute {
				t.Fatalf("JWKS: %v %v", maxAge, err)
			}
			var raw struct{ Keys []map[string]any }
			if err := json.Unmarshal(doc, &raw); err != nil || len(raw.Keys) != 1 {
				t.Fatalf("JWKS %s: %v", doc, err)
			}
			k := raw.Keys[0]
			kty := map[string]string{keys.RS256: "RSA", keys.ES256: "EC", keys.EdDSA: "OKP"}[alg]
			if k["kid"] != header(t, tok)["kid"] || k["alg"] != alg || k["use"] != "sig" || k["kty"] != kty {
				t.Errorf("key %v", k)
			}
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
				if _, ok := k[private]; ok {
					t.Errorf("private member %q in %s", private, doc)
				}
			}
			if alg == keys.RS256 {
				n, _ := base64.RawURLEncoding.DecodeString(k["n"].(string))
				if len(n)*8 < 2048 {
					t.Errorf("RSA key of %d bits", len(n)*8)
				}
			}
			if _, err := verifyWithJWKS(doc, tok); err != nil {
				t.Errorf("a client with the key set: %v", err)
			}
			if got := m.Algorithms(); len(got) != 1 || got[0] != alg {
				t.Errorf("Algorithms() = %v", got)
			}
		})
	}
}

// verifyWithJWKS is what a client does: the key of the token's kid from
// the set, the signature checked with it.
func verifyWithJWKS(doc []byte, token string) ([]byte, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, err
	}
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	if err != nil {
		return nil, err
	}
	found := set.Key(jws.Signatures[0].Header.KeyID)
	if len(found) != 1 {
		return nil, fmt.Errorf("kid %q not in the cached key set", jws.Signatures[0].Header.KeyID)
	}
	return jws.Verify(found[0].Key)
}

// cachingClient is a relying party that fetches the key set, keeps it for
// its max-age (or ttl when set) and fetches it again only when that ran
// out: it never refetches on an unknown kid.
type cachingClient struct {
	m       *keys.Manager
	c       *clock
	ttl     time.Duration
	doc     []byte
	expires time.Time
	fetches int
}

func (cl *cachingClient) verify(t *testing.T, token string) error {
	now := cl.c.Now()
	if cl.doc == nil || !now.Before(cl.expires) {
		doc, maxAge, err := cl.m.JWKS(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if cl.ttl != 0 {
			maxAge = cl.ttl
		}
		cl.doc, cl.expires = doc, now.Add(maxAge)
		cl.fetches++
	}
	_, err := verifyWithJWKS(cl.doc, token)
	return err
}

type issued struct {
	token   string
	expires time.Time
}

// runRotations issues a token every 5 minutes for three days, rotates by
// hand twice and on the daily schedule, runs Maintain every 5 minutes, and
// has the client verify every token still valid each time; it returns the
// verifications that failed and the kids that signed.
func runRotations(t *testing.T, ttl time.Duration) (failures int, kids map[string]bool) {
	c := newClock()
	d := deps(testdb.Open(t, "sqlite"), c, keys.RS256)
	d.RotateEvery = 24 * time.Hour
	const lifetime = time.Hour // KeepAfter is 2h
	m := newManager(t, d)
	client := &cachingClient{m: m, c: c, ttl: ttl}
	var live []issued
	kids = map[string]bool{}
	rotated := 0
	for minute := 0; minute < 3*24*60; minute++ {
		if minute%5 == 0 {
			tok := sign(t, m, map[string]any{"exp": c.Now().Add(lifetime).Unix()})
			kids[header(t, tok)["kid"].(string)] = true
			live = append(live, issued{tok, c.Now().Add(lifetime)})
		}
		if minute == 7*60+3 || minute == 7*60+40 { // twice by hand, the second while the first waits to sign
			if _, err := m.Rotate(t.Context()); err != nil {
				t.Fatal(err)
			}
			rotated++
		}
		if minute%5 == 2 {
			kept := live[:0]
			for _, it := range live {
				if !c.Now().Before(it.expires) {
					continue
				}
				kept = append(kept, it)
				if err := client.verify(t, it.token); err != nil {
					failures++
					if ttl == 0 {
						t.Errorf("minute %d: token of %s refused: %v", minute, header(t, it.token)["kid"], err)
					}
				}
			}
			live = kept
		}
		c.Advance(time.Minute)
		if minute%5 == 4 {
			if err := m.Maintain(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if rotated != 2 {
		t.Fatalf("rotated %d times by hand", rotated)
	}
	list, err := m.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// The old keys were deleted once past their publication.
	if len(list) > 3 {
		t.Errorf("%d keys left: %s", len(list), describe(list))
	}
	return failures, kids
}

// A client that caches the key set for its max-age verifies every token
// while keys rotate twice by hand and daily on schedule; one that caches
// it for longer than max-age does not, so the test would see a rotation
// that published too late.
func TestRotationWithCachingClient(t *testing.T) {
	failures, kids := runRotations(t, 0)
	if failures != 0 {
		t.Errorf("%d verifications failed", failures)
	}
	// The first key, the two by hand, and the scheduled ones of days 2 and 3.
	if len(kids) < 4 {
		t.Errorf("only %d keys signed", len(kids))
	}
	if failures, _ := runRotations(t, 3*time.Hour); failures == 0 {
		t.Error("a client caching for 3h never failed: the test cannot tell a late publication")
	}
}

// Rotate publishes the new key at once, and it signs only PublishAhead
// later; the old key then stops signing and stays published KeepAfter.
func TestRotateSchedule(t *testing.T) {
	c := newClock()
	audit := &auditLog{}
	d := deps(testdb.Open(t, "sqlite"), c, keys.ES256)
	d.Audit = audit
	m := newManager(t, d)
	first := header(t, sign(t, m, 1))["kid"]
	next, err := m.Rotate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if next.Sealed != nil || !next.SignsFrom.Equal(c.Now().Add(time.Hour)) {
		t.Errorf("new key %+v", next)
	}
	doc, _, _ := m.JWKS(t.Context())
	if !strings.Contains(string(doc), next.KID) || !strings.Contains(string(doc), first.(string)) {
		t.Errorf("JWKS after rotate: %s", doc)
	}
	states := func() string {
		list, _ := m.List(t.Context())
		var s []string
		for _, k := range list {
			s = append(s, gatehouse.SigningKeyState(list, k, c.Now()))
		}
		return strings.Join(s, ",")
	}
	if got := states(); got != "current,next" {
		t.Errorf("states %s", got)
	}
	if got := m.Algorithms(); len(got) != 1 || got[0] != keys.ES256 {
		t.Errorf("Algorithms() = %v", got)
	}
	c.Advance(time.Hour - time.Second)
	if kid := header(t, sign(t, m, 1))["kid"]; kid != first {
		t.Errorf("the new key signed before its time")
	}
	c.Advance(time.Second)
	if kid := header(t, sign(t, m, 1))["kid"]; kid != next.KID {
		t.Errorf("the new key does not sign at its time")
	}
	if got := states(); got != "previous,current" {
		t.Errorf("states %s", got)
	}
	c.Advance(2*time.Hour - time.Second)
	if doc, _, _ := m.JWKS(t.Context()); !strings.Contains(string(doc), first.(string)) {
		t.Error("the old key left the key set early")
	}
	c.Advance(time.Second)
	if doc, _, _ := m.JWKS(t.Context()); strings.Contains(string(doc), first.(string)) {
		t.Error("the old key is still published")
	}
	if err := m.Maintain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if list, _ := m.List(t.Context()); len(list) != 1 || list[0].KID != next.KID {
		t.Errorf("after Maintain: %s", describe(list))
	}
	if ev := audit.named(gatehouse.AuditKeyRotated); len(ev) != 1 || ev[0].Detail["kid"] != next.KID || ev[0].Detail["replaces"] != first || ev[0].Detail["scheduled"] != "false" {
		t.Errorf("rotation events %+v", ev)
	}
	if ev := audit.named(gatehouse.AuditKeyCreated); len(ev) != 1 || ev[0].Detail["kid"] != first {
		t.Errorf("created events %+v", ev)
	}
}

// Retire withdraws a key at once; the last key able to sign is refused;
// an unknown kid is ENOTFOUND.
func TestRetire(t *testing.T) {
	ctx := t.Context()
	c := newClock()
	audit := &auditLog{}
	d := deps(testdb.Open(t, "sqlite"), c, keys.EdDSA)
	d.Audit = audit
	m := newManager(t, d)
	old := sign(t, m, 1)
	oldKID := header(t, old)["kid"].(string)

	err := m.Retire(ctx, oldKID)
	if gatehouse.ErrorCode(err) != gatehouse.EINVALID || !strings.Contains(gatehouse.ErrorMessage(err), "rotate first") {
		t.Fatalf("retiring the only key: %v", err)
	}
	if _, _, err := m.Verify(ctx, old); err != nil {
		t.Fatalf("the refused retirement changed something: %v", err)
	}
	if err := m.Retire(ctx, "no-such-kid"); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("unknown kid: %v", err)
	}

	// Retiring a next key: the current one signs on, with no end.
	n1, err := m.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Retire(ctx, n1.KID); err != nil {
		t.Fatal(err)
	}
	list, _ := m.List(ctx)
	if cur, ok := gatehouse.CurrentSigningKey(list, c.Now()); !ok || cur.KID != oldKID || cur.SignsUntil != nil || cur.PublishedUntil != nil {
		t.Fatalf("after retiring the next key: %s", describe(list))
	}

	// Retiring the current key after a rotation: the new key signs at
	// once, the old one leaves the key set, its tokens are refused.
	n2, err := m.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Retire(ctx, oldKID); err != nil {
		t.Fatal(err)
	}
	if kid := header(t, sign(t, m, 1))["kid"]; kid != n2.KID {
		t.Errorf("signing with %v after the retirement, want %s", kid, n2.KID)
	}
	if _, _, err := m.Verify(ctx, old); gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
		t.Errorf("a token of the retired key: %v", err)
	}
	doc, _, _ := m.JWKS(ctx)
	if strings.Contains(string(doc), oldKID) || !strings.Contains(string(doc), n2.KID) {
		t.Errorf("JWKS after retirement: %s", doc)
	}
	list, _ = m.List(ctx)
	states := map[string]string{}
	for _, k := range list {
		states[k.KID] = gatehouse.SigningKeyState(list, k, c.Now())
	}
	if want := map[string]string{oldKID: "retired", n1.KID: "retired", n2.KID: "current"}; fmt.Sprint(states) != fmt.Sprint(want) {
		t.Errorf("states %v, want %v", states, want)
	}
	if err := m.Retire(ctx, oldKID); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Errorf("retiring again: %v", err)
	}
	if err := m.Retire(ctx, n2.KID); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
		t.Errorf("retiring the last signer: %v", err)
	}
	if ev := audit.named(gatehouse.AuditKeyRetired); len(ev) != 2 || ev[1].Detail["kid"] != oldKID || ev[1].Detail["signer"] != n2.KID {
		t.Errorf("retired events %+v", ev)
	}
}

// Verify refuses what gatehouse did not sign with a published key.
func TestVerifyRefuses(t *testing.T) {
	ctx := t.Context()
	c := newClock()
	st := testdb.Open(t, "sqlite")
	m := newManager(t, deps(st, c, keys.ES256))
	good := sign(t, m, map[string]string{"sub": "1"})
	kid := header(t, good)["kid"].(string)
	parts := strings.Split(good, ".")
	b64 := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	payload := b64(map[string]string{"sub": "1"})

	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signWith := func(alg jose.SignatureAlgorithm, k any, kid string) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: k, KeyID: kid}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		o, _ := s.Sign([]byte(`{"sub":"1"}`))
		tok, _ := o.CompactSerialize()
		return tok
	}
	list, _ := m.List(ctx)
	// HS256 with the published public key as the secret: the classic
	// confusion of algorithms.
	hsInput := b64(map[string]string{"alg": "HS256", "kid": kid}) + "." + payload
	mac := hmac.New(sha256.New, list[0].PublicKey)
	mac.Write([]byte(hsInput))
	hs256 := hsInput + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)

	for name, tok := range map[string]string{
		"alg none":           b64(map[string]string{"alg": "none", "kid": kid}) + "." + payload + ".",
		"alg none, no sig":   b64(map[string]string{"alg": "none"}) + "." + payload,
		"forged kid":         signWith(jose.ES256, other, "forged"),
		"another key, kid":   signWith(jose.ES256, other, kid),
		"no kid":             signWith(jose.ES256, other, ""),
		"tampered payload":   parts[0] + "." + b64(map[string]string{"sub": "2"}) + "." + parts[2],
		"tampered header":    b64(map[string]string{"alg": "ES256", "kid": kid, "typ": "at+jwt"}) + "." + parts[1] + "." + parts[2],
		"HS256":              hs256,
		"EdDSA with the kid": signWith(jose.EdDSA, edKey, kid),
		"RS256 with the kid": signWith(jose.RS256, rsaKey, kid),
		"truncated":          parts[0] + "." + parts[1],
		"empty":              "",
		"garbage":            "a.b.c",
	} {
		typ, p, err := m.Verify(ctx, tok)
		if gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED || gatehouse.ErrorReason(err) != gatehouse.ReasonCredentialInvalid || p != nil || typ != "" {
			t.Errorf("%s: %q %s %v", name, typ, p, err)
		}
	}
	if _, _, err := m.Verify(ctx, good); err != nil {
		t.Errorf("the good token: %v", err)
	}
}

// countingStore counts the reads of the keys.
type countingStore struct {
	gatehouse.SigningKeyStore
	mu    sync.Mutex
	reads int
}

func (s *countingStore) SigningKeys(ctx context.Context) ([]gatehouse.SigningKey, error) {
	s.mu.Lock()
	s.reads++
	s.mu.Unlock()
	return s.SigningKeyStore.SigningKeys(ctx)
}

func (s *countingStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

// A token with a kid this replica has not read yet makes it reread the
// store once and verify; unknown kids reread at most once per few seconds.
func TestUnknownKidRereads(t *testing.T) {
	ctx := t.Context()
	c := newClock()
	url := testdb.URL(t, "sqlite")
	a := &countingStore{SigningKeyStore: testdb.OpenURL(t, url)}
	ma := newManager(t, deps(a, c, keys.ES256))
	mb := newManager(t, deps(testdb.OpenURL(t, url), c, keys.ES256))
	if _, err := mb.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Hour) // the new key signs; A has not reread
	tok := sign(t, mb, 1)
	before := a.count()
	if _, _, err := ma.Verify(ctx, tok); err != nil {
		t.Fatalf("a key another replica made: %v", err)
	}
	if a.count() != before+1 {
		t.Errorf("%d rereads", a.count()-before)
	}
	forged := strings.Replace(tok, strings.Split(tok, ".")[0],
		base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","kid":"nope"}`)), 1)
	for range 10 {
		ma.Verify(ctx, forged)
	}
	if a.count() != before+1 {
		t.Errorf("%d rereads for 10 unknown kids within a second", a.count()-before-1)
	}
	c.Advance(6 * time.Second)
	ma.Verify(ctx, forged)
	if a.count() != before+2 {
		t.Errorf("no reread for an unknown kid 6 s later")
	}
}

// Two replicas on one database: tokens signed by A before B rotates
// verify on both after they reread the store, and so do tokens each signs
// after the rotation (PostgreSQL when GATEHOUSE_TEST_POSTGRES_URL is set).
func TestTwoReplicas(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			ctx := t.Context()
			c := newClock()
			url := testdb.URL(t, backend)
			a := newManager(t, deps(testdb.OpenURL(t, url), c, keys.RS256))
			b := newManager(t, deps(testdb.OpenURL(t, url), c, keys.RS256))
			before := sign(t, a, map[string]string{"by": "a"})
			beforeB := sign(t, b, map[string]string{"by": "b"})
			if header(t, before)["kid"] != header(t, beforeB)["kid"] {
				t.Fatal("the replicas sign with different keys")
			}
			next, err := b.Rotate(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range []*keys.Manager{a, b} {
				if err := m.Refresh(ctx); err != nil {
					t.Fatal(err)
				}
				if doc, _, _ := m.JWKS(ctx); !strings.Contains(string(doc), next.KID) {
					t.Errorf("replica's key set lacks the new key: %s", doc)
				}
			}
			c.Advance(time.Hour)
			afterA, afterB := sign(t, a, map[string]string{"by": "a"}), sign(t, b, map[string]string{"by": "b"})
			if header(t, afterA)["kid"] != next.KID || header(t, afterB)["kid"] != next.KID {
				t.Fatalf("after the rotation: %v %v", header(t, afterA), header(t, afterB))
			}
			for name, m := range map[string]*keys.Manager{"A": a, "B": b} {
				for i, tok := range []string{before, beforeB, afterA, afterB} {
					if _, _, err := m.Verify(ctx, tok); err != nil {
						t.Errorf("replica %s, token %d: %v", name, i, err)
					}
				}
			}
		})
	}
}

// Replicas starting together on an empty store make exactly one key, and
// all sign with it; the first start is recorded once.
func TestConcurrentFirstStart(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			c := newClock()
			url := testdb.URL(t, backend)
			audit := &auditLog{}
			const n = 5
			stores := make([]gatehouse.SigningKeyStore, n)
			for i := range stores {
				stores[i] = testdb.OpenURL(t, url)
			}
			managers := make([]*keys.Manager, n)
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					d := deps(stores[i], c, keys.ES256)
					d.Audit = audit
					managers[i], errs[i] = keys.New(t.Context(), d)
				})
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			list, err := stores[0].SigningKeys(t.Context())
			if err != nil || len(list) != 1 {
				t.Fatalf("%d keys after %d first starts (%v)", len(list), n, err)
			}
			for i, m := range managers {
				if kid := header(t, sign(t, m, 1))["kid"]; kid != list[0].KID {
					t.Errorf("replica %d signs with %v", i, kid)
				}
			}
			if ev := audit.named(gatehouse.AuditKeyCreated); len(ev) != 1 {
				t.Errorf("%d key.created events", len(ev))
			}
		})
	}
}

// Of two replicas whose schedule says "rotate" at the same moment, one
// rotates.
func TestScheduledRotationOnce(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			c := newClock()
			url := testdb.URL(t, backend)
			var ms []*keys.Manager
			for range 3 {
				d := deps(testdb.OpenURL(t, url), c, keys.ES256)
				d.RotateEvery = 24 * time.Hour
				ms = append(ms, newManager(t, d))
			}
			c.Advance(23*time.Hour - time.Second)
			for _, m := range ms {
				if err := m.Maintain(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			if list, _ := ms[0].List(t.Context()); len(list) != 1 {
				t.Fatalf("rotated early: %s", describe(list))
			}
			c.Advance(time.Second)
			var wg sync.WaitGroup
			for _, m := range ms {
				wg.Go(func() {
					if err := m.Maintain(t.Context()); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			list, _ := ms[0].List(t.Context())
			if len(list) != 2 || !list[1].SignsFrom.Equal(c.Now().Add(time.Hour)) || !list[1].SignsFrom.Equal(list[0].SignsFrom.Add(24*time.Hour)) {
				t.Fatalf("after the scheduled rotation: %s", describe(list))
			}
		})
	}
}

// The private key reaches the database sealed: the raw column holds
// neither the PKCS#8 DER nor its PEM, nor the private scalar, and opens
// with the server secret's box to the key of the published public key.
func TestPrivateKeySealed(t *testing.T) {
	for _, backend := range testdb.Backends() {
		for _, alg := range keys.Algorithms() {
			t.Run(backend+"/"+alg, func(t *testing.T) {
				st := testdb.Open(t, backend)
				m := newManager(t, deps(st, newClock(), alg))
				list, _ := m.List(t.Context())
				var raw, public []byte
				if err := st.DB().QueryRow("SELECT private_sealed, public_key FROM signing_keys").Scan(&raw, &public); err != nil {
					t.Fatal(err)
				}
				der, err := testBox().Open(raw)
				if err != nil {
					t.Fatalf("the column does not open with the box: %v", err)
				}
				priv, err := x509.ParsePKCS8PrivateKey(der)
				if err != nil {
					t.Fatal(err)
				}
				var scalar []byte
				switch k := priv.(type) {
				case *rsa.PrivateKey:
					scalar = k.D.Bytes()
				case *ecdsa.PrivateKey:
					scalar, _ = k.Bytes()
				case ed25519.PrivateKey:
					scalar = k.Seed()
				}
				for name, secret := range map[string][]byte{"DER": der, "scalar": scalar, "PEM": []byte("PRIVATE KEY"),
					"base64 DER": []byte(base64.StdEncoding.EncodeToString(der)[:40])} {
					if bytes.Contains(raw, secret) || bytes.Contains(public, secret) {
						t.Errorf("the %s of the private key is in the database", name)
					}
				}
				var jwk jose.JSONWebKey
				if err := jwk.UnmarshalJSON(public); err != nil || !jwk.IsPublic() || jwk.KeyID != list[0].KID {
					t.Fatalf("public_key %s: %v", public, err)
				}
				if !priv.(crypto.Signer).Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(jwk.Key) {
					t.Error("the sealed key is not the published key's")
				}
				if list[0].Sealed != nil {
					t.Error("List returns the sealed private key")
				}
			})
		}
	}
}

// New refuses settings that would make a rotation fail clients.
func TestNewRefuses(t *testing.T) {
	st := testdb.Open(t, "sqlite")
	c := newClock()
	for name, change := range map[string]func(*keys.Deps){
		"publish-ahead under max-age + refresh":  func(d *keys.Deps) { d.PublishAhead = 5 * time.Minute },
		"unknown algorithm":                      func(d *keys.Deps) { d.Algorithm = "HS256" },
		"rotation not longer than publish-ahead": func(d *keys.Deps) { d.RotateEvery = time.Hour },
		"no box":                                 func(d *keys.Deps) { d.Box = nil },
		"negative keep":                          func(d *keys.Deps) { d.KeepAfter = -time.Second },
	} {
		d := deps(st, c, keys.ES256)
		change(&d)
		if _, err := keys.New(t.Context(), d); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if list, _ := st.SigningKeys(t.Context()); len(list) != 0 {
		t.Errorf("a refused New stored keys: %+v", list)
	}
	d := deps(st, c, keys.ES256)
	d.PublishAhead = keys.MinPublishAhead(d.RefreshEvery)
	if _, err := keys.New(t.Context(), d); err != nil {
		t.Errorf("the least publish-ahead: %v", err)
	}
}

// describe lists keys' kids and schedules for a failure message.
func describe(list []gatehouse.SigningKey) string {
	var b strings.Builder
	for _, k := range list {
		fmt.Fprintf(&b, "\n  %s %s created %v signs %v..%v published until %v", k.KID, k.Algorithm, k.Created, k.SignsFrom, k.SignsUntil, k.PublishedUntil)
	}
	return b.String()
}
