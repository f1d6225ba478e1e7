// Package keys keeps the asymmetric keys gatehouse signs tokens with
// (id_tokens, JWT access tokens) in the store, so that every replica signs
// with the same key and publishes the same key set, and rotates them on a
// schedule without making any client that caches the key set fail:
//
//   - a new key is published PublishAhead before it signs, and PublishAhead
//     is at least the key set's cache lifetime (JWKSMaxAge) plus how often
//     replicas reread the store, so every client that honours max-age
//     holds the key before the first token it signs;
//   - the key it replaces stops signing then, and stays published
//     KeepAfter longer, the longest lifetime of what it signed.
//
// Which key signs is decided from timestamps in the store
// (gatehouse.SigningKey), by each replica's clock: the newest key whose
// signs-from has come and which is not retired. Private keys are sealed
// with the server secret's box before they reach the store.
package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"

	jose "github.com/go-jose/go-jose/v4"
)

// The algorithms of signing keys.
const (
	RS256 = "RS256" // RSA PKCS#1 v1.5 with SHA-256, 2048-bit keys (the default: every client supports it)
	ES256 = "ES256" // ECDSA P-256 with SHA-256
	EdDSA = "EdDSA" // Ed25519
)

// Algorithms lists the algorithms a new key may have.
func Algorithms() []string { return []string{RS256, ES256, EdDSA} }

// JWKSMaxAge is how long a client may cache the key set (the max-age of
// its Cache-Control header).
const JWKSMaxAge = 5 * time.Minute

// Defaults of the Deps fields left zero.
const (
	DefaultRefreshEvery = time.Minute
	DefaultPublishAhead = time.Hour
	DefaultKeepAfter    = 24 * time.Hour
)

// rsaBits is the size of new RSA keys.
const rsaBits = 2048

// missRefreshEvery bounds the store rereads that tokens with an unknown
// kid cause: at most one per this long.
const missRefreshEvery = 5 * time.Second

// expiredBatch is how many expired keys one Maintain deletes at most.
const expiredBatch = 100

// Deps is what a Manager needs.
type Deps struct {
	Store gatehouse.SigningKeyStore
	// Box seals private keys before they reach the store (the server
	// secret's box).
	Box *secret.Box
	// Algorithm of new keys: RS256 (""), ES256 or EdDSA. Changing it
	// takes effect at the next rotation.
	Algorithm string
	// RotateEvery is the period of scheduled rotation: a new key signs
	// RotateEvery after the one before it started to. 0: only Rotate.
	RotateEvery time.Duration
	// PublishAhead is how long a new key is published before it signs; at
	// least JWKSMaxAge + RefreshEvery. 0: DefaultPublishAhead.
	PublishAhead time.Duration
	// KeepAfter is how long a key that stopped signing stays published:
	// the longest lifetime of a token it signs. 0: DefaultKeepAfter.
	KeepAfter time.Duration
	// RefreshEvery is how often Run rereads the keys (other replicas
	// rotate and retire). 0: DefaultRefreshEvery.
	RefreshEvery time.Duration
	// Now is the clock (nil: time.Now); Random makes kids (nil:
	// crypto/rand).
	Now    func() time.Time
	Random io.Reader
	Log    *slog.Logger
	// Audit receives key.created, key.rotated, key.retired and key.imported
	// (nil: none).
	Audit gatehouse.Auditor
}

// Manager signs and verifies with the keys of the store and publishes
// them. It is safe for concurrent use; it holds the keys in memory and
// rereads them on Refresh.
type Manager struct {
	d Deps

	mu    sync.RWMutex
	keys  []*key // by schedule
	byKID map[string]*key

	refreshMu sync.Mutex // one Refresh at a time
	missMu    sync.Mutex
	lastMiss  time.Time // the last reread for an unknown kid

	jwksMu   sync.Mutex // the last JWKS document, and the keys it holds
	jwksDoc  []byte
	jwksKeys []*key
}

// key is a stored key with its key material ready to use.
type key struct {
	meta    gatehouse.SigningKey // Sealed cleared
	alg     jose.SignatureAlgorithm
	public  crypto.PublicKey
	private crypto.Signer
	jwk     jose.JSONWebKey // public
}

// New checks d, loads the keys and, when none can sign, makes the first
// one, which signs at once. Of replicas starting together on one store,
// exactly one makes it (the store's UpdateSigningKeys excludes the others).
func New(ctx context.Context, d Deps) (*Manager, error) {
	if d.Store == nil || d.Box == nil {
		return nil, errors.New("keys: Store and Box are required")
	}
	if d.Algorithm == "" {
		d.Algorithm = RS256
	}
	if !slices.Contains(Algorithms(), d.Algorithm) {
		return nil, fmt.Errorf("keys: algorithm %q: want RS256, ES256 or EdDSA", d.Algorithm)
	}
	if d.RotateEvery < 0 || d.PublishAhead < 0 || d.KeepAfter < 0 || d.RefreshEvery < 0 {
		return nil, errors.New("keys: negative duration")
	}
	d.RefreshEvery = cmpOr(d.RefreshEvery, DefaultRefreshEvery)
	d.PublishAhead = cmpOr(d.PublishAhead, DefaultPublishAhead)
	d.KeepAfter = cmpOr(d.KeepAfter, DefaultKeepAfter)
	if least := MinPublishAhead(d.RefreshEvery); d.PublishAhead < least {
		return nil, fmt.Errorf("keys: publish-ahead %v is shorter than %v, the key set's max-age (%v) plus the refresh interval (%v): clients caching the key set would not know a new key when it signs",
			d.PublishAhead, least, JWKSMaxAge, d.RefreshEvery)
	}
	if d.RotateEvery != 0 && d.RotateEvery <= d.PublishAhead {
		return nil, fmt.Errorf("keys: rotation period %v must be longer than publish-ahead %v", d.RotateEvery, d.PublishAhead)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Random == nil {
		d.Random = rand.Reader
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Audit == nil {
		d.Audit = gatehouse.NoAudit{}
	}
	m := &Manager{d: d, byKID: map[string]*key{}}
	if err := m.Refresh(ctx); err != nil {
		return nil, err
	}
	if err := m.ensureSigner(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// MinPublishAhead is the shortest PublishAhead New accepts with refresh
// as RefreshEvery.
func MinPublishAhead(refresh time.Duration) time.Duration {
	return JWKSMaxAge + cmpOr(refresh, DefaultRefreshEvery)
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// ensureSigner makes the first key when no stored key can sign.
func (m *Manager) ensureSigner(ctx context.Context) error {
	if m.canSign(m.d.Now()) {
		return nil
	}
	fresh, err := m.generate(m.d.Algorithm)
	if err != nil {
		return err
	}
	created := false
	err = m.d.Store.UpdateSigningKeys(ctx, func(keys []gatehouse.SigningKey) (gatehouse.SigningKeyChange, error) {
		now := m.stamp()
		for _, k := range keys {
			if k.CanSign(now) {
				return gatehouse.SigningKeyChange{}, nil // another replica was first
			}
		}
		fresh.Created, fresh.SignsFrom = now, now
		created = true
		return gatehouse.SigningKeyChange{Create: []gatehouse.SigningKey{fresh}}, nil
	})
	if err != nil {
		return fmt.Errorf("keys: storing the first signing key: %w", err)
	}
	if created {
		m.d.Log.Info("signing key created", "kid", fresh.KID, "algorithm", fresh.Algorithm)
		m.d.Audit.Record(ctx, gatehouse.AuditEvent{Event: gatehouse.AuditKeyCreated,
			Detail: map[string]string{"kid": fresh.KID, "algorithm": fresh.Algorithm}})
	}
	return m.Refresh(ctx)
}

// canSign reports whether a loaded key can sign at now or later.
func (m *Manager) canSign(now time.Time) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, k := range m.keys {
		if k.meta.CanSign(now) {
			return true
		}
	}
	return false
}

// Refresh rereads the keys from the store. A key whose material does not
// read (a row sealed under another server secret) fails it, and the keys
// loaded before stay in use.
func (m *Manager) Refresh(ctx context.Context) error {
	m.refreshMu.Lock()
	defer m.refreshMu.Unlock()
	metas, err := m.d.Store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("keys: reading the signing keys: %w", err)
	}
	m.mu.RLock()
	old := m.byKID
	m.mu.RUnlock()
	keys := make([]*key, 0, len(metas))
	byKID := make(map[string]*key, len(metas))
	for _, meta := range metas {
		var k *key
		if o := old[meta.KID]; o != nil && o.meta.Algorithm == meta.Algorithm && string(o.meta.PublicKey) == string(meta.PublicKey) {
			c := *o // the key material never changes; the schedule may
			k = &c
		} else if k, err = m.open(meta); err != nil {
			return err
		}
		k.meta = meta
		k.meta.Sealed = nil
		keys = append(keys, k)
		byKID[meta.KID] = k
	}
	m.mu.Lock()
	m.keys, m.byKID = keys, byKID
	m.mu.Unlock()
	return nil
}

// Run maintains the keys until ctx is done: every RefreshEvery it runs
// Maintain, logging what fails.
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTicker(m.d.RefreshEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.Maintain(ctx); err != nil && ctx.Err() == nil {
				m.d.Log.Warn("signing keys", "err", err)
			}
		}
	}
}

// Maintain is one pass of Run: it rereads the keys, rotates when the
// schedule says so (of replicas doing it at once, one rotates), and
// deletes the keys past their publication.
func (m *Manager) Maintain(ctx context.Context) error {
	if err := m.Refresh(ctx); err != nil {
		return err
	}
	if m.d.RotateEvery > 0 && m.rotationDue(m.snapshot(), m.d.Now()) {
		if _, _, err := m.rotate(ctx, true); err != nil {
			return err
		}
	}
	n, err := m.d.Store.DeleteExpiredSigningKeys(ctx, m.d.Now(), expiredBatch)
	if err != nil {
		return fmt.Errorf("keys: deleting expired signing keys: %w", err)
	}
	if n > 0 {
		m.d.Log.Info("expired signing keys deleted", "count", n)
		return m.Refresh(ctx)
	}
	return nil
}

// snapshot is the schedule of the loaded keys.
func (m *Manager) snapshot() []gatehouse.SigningKey {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]gatehouse.SigningKey, len(m.keys))
	for i, k := range m.keys {
		out[i] = k.meta
	}
	return out
}

// rotationDue reports whether the schedule asks for a new key at now: the
// newest key still able to sign started (or starts) signing RotateEvery
// before the moment a key made now would sign.
func (m *Manager) rotationDue(keys []gatehouse.SigningKey, now time.Time) bool {
	latest, ok := latestSigner(keys, now)
	return !ok || !now.Add(m.d.PublishAhead).Before(latest.SignsFrom.Add(m.d.RotateEvery))
}

// latestSigner is the key able to sign with the latest schedule.
func latestSigner(keys []gatehouse.SigningKey, now time.Time) (k gatehouse.SigningKey, ok bool) {
	for _, c := range keys {
		if c.CanSign(now) {
			k, ok = c, true // keys are by schedule
		}
	}
	return k, ok
}

// Rotate makes a new key, published now, that signs PublishAhead from now;
// the key signing until then keeps signing until then and stays published
// KeepAfter longer. It returns the new key (without its sealed private
// key).
func (m *Manager) Rotate(ctx context.Context) (gatehouse.SigningKey, error) {
	k, _, err := m.rotate(ctx, false)
	return k, err
}

// rotate makes a new key; scheduled rotations happen only when still due
// in the store's transaction, and ok is false when another replica did it.
func (m *Manager) rotate(ctx context.Context, scheduled bool) (k gatehouse.SigningKey, ok bool, err error) {
	fresh, err := m.generate(m.d.Algorithm)
	if err != nil {
		return k, false, err
	}
	var replaced []string
	err = m.d.Store.UpdateSigningKeys(ctx, func(keys []gatehouse.SigningKey) (gatehouse.SigningKeyChange, error) {
		now := m.stamp()
		ok, replaced = false, nil
		if scheduled && !m.rotationDue(keys, now) {
			return gatehouse.SigningKeyChange{}, nil
		}
		fresh.Created, fresh.SignsFrom = now, now.Add(m.d.PublishAhead)
		change := gatehouse.SigningKeyChange{Create: []gatehouse.SigningKey{fresh}}
		for _, o := range keys {
			// The key with no end yet (the newest able to sign) ends when
			// the new one starts.
			if o.CanSign(now) && o.SignsUntil == nil {
				o.SignsUntil = &fresh.SignsFrom
				published := fresh.SignsFrom.Add(m.d.KeepAfter)
				o.PublishedUntil = &published
				change.Update = append(change.Update, o)
				replaced = append(replaced, o.KID)
			}
		}
		ok = true
		return change, nil
	})
	if err != nil {
		return k, false, fmt.Errorf("keys: rotating: %w", err)
	}
	if !ok {
		return k, false, nil
	}
	fresh.Sealed = nil
	m.d.Log.Info("signing key rotated", "kid", fresh.KID, "algorithm", fresh.Algorithm, "signs_from", fresh.SignsFrom, "replaces", replaced, "scheduled", scheduled)
	m.d.Audit.Record(ctx, gatehouse.AuditEvent{Event: gatehouse.AuditKeyRotated, Detail: map[string]string{
		"kid": fresh.KID, "algorithm": fresh.Algorithm, "signs_from": fresh.SignsFrom.Format(time.RFC3339),
		"replaces": strings.Join(replaced, ","), "scheduled": fmt.Sprint(scheduled)}})
	return fresh, true, m.Refresh(ctx)
}

// Retire withdraws the key kid at once (a compromise): it stops signing
// and leaves the key set. When it was signing, the next key (made by
// Rotate) signs from now on; when it was the newest, the key before it
// signs on with no end. It is refused (EINVALID) when no other key could
// sign: rotate first. An unknown or already retired kid is ENOTFOUND.
// Other replicas follow within RefreshEvery; clients that cached the key
// set keep the key for up to JWKSMaxAge.
func (m *Manager) Retire(ctx context.Context, kid string) error {
	var signer string
	var retired gatehouse.SigningKey
	err := m.d.Store.UpdateSigningKeys(ctx, func(keys []gatehouse.SigningKey) (gatehouse.SigningKeyChange, error) {
		now := m.stamp()
		i := slices.IndexFunc(keys, func(k gatehouse.SigningKey) bool { return k.KID == kid })
		if i < 0 || keys[i].Retired(now) {
			return gatehouse.SigningKeyChange{}, &gatehouse.Error{Code: gatehouse.ENOTFOUND, Message: fmt.Sprintf("No published signing key has the kid %q.", kid)}
		}
		others := 0
		for j, k := range keys {
			if j != i && k.CanSign(now) {
				others++
			}
		}
		if others == 0 {
			return gatehouse.SigningKeyChange{}, &gatehouse.Error{Code: gatehouse.EINVALID,
				Message: fmt.Sprintf("The signing key %s is the only key able to sign; rotate first (gatehouse keys rotate), then retire it.", kid)}
		}
		after := slices.Clone(keys)
		changed := map[string]bool{kid: true}
		t := after[i]
		end := now
		t.PublishedUntil = &end
		if t.SignsUntil == nil || t.SignsUntil.After(now) {
			t.SignsUntil = &end
		}
		after[i] = t
		// No key signing now (it was the retired one): the earliest next
		// key signs at once.
		if cur, ok := gatehouse.CurrentSigningKey(after, now); !ok || !cur.CanSign(now) {
			for j, k := range after {
				if k.CanSign(now) && k.SignsFrom.After(now) {
					after[j].SignsFrom = now
					changed[k.KID] = true
					break
				}
			}
		}
		// The newest key able to sign has no end.
		if j := lastIndexSigner(after, now); j >= 0 && after[j].SignsUntil != nil {
			after[j].SignsUntil, after[j].PublishedUntil = nil, nil
			changed[after[j].KID] = true
		}
		var change gatehouse.SigningKeyChange
		for _, k := range after {
			if changed[k.KID] {
				change.Update = append(change.Update, k)
			}
		}
		retired = t
		if cur, ok := gatehouse.CurrentSigningKey(after, now); ok {
			signer = cur.KID
		}
		return change, nil
	})
	if err != nil {
		return err
	}
	m.d.Log.Warn("signing key retired", "kid", kid, "signer", signer)
	m.d.Audit.Record(ctx, gatehouse.AuditEvent{Event: gatehouse.AuditKeyRetired, Detail: map[string]string{
		"kid": kid, "algorithm": retired.Algorithm, "signer": signer}})
	return m.Refresh(ctx)
}

func lastIndexSigner(keys []gatehouse.SigningKey, now time.Time) int {
	last := -1
	for j, k := range keys {
		if k.CanSign(now) {
			last = j
		}
	}
	return last
}

// List returns the stored keys by schedule, without their sealed private
// keys (gatehouse.SigningKeyState says what each is).
func (m *Manager) List(ctx context.Context) ([]gatehouse.SigningKey, error) {
	keys, err := m.d.Store.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	for i := range keys {
		keys[i].Sealed = nil
	}
	return keys, nil
}

// signer is the loaded key that signs at now: the current key, or, when
// none has started yet (a replica whose clock is behind the one that made
// the first key), the earliest able to sign.
func (m *Manager) signer(now time.Time) (*key, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	metas := make([]gatehouse.SigningKey, len(m.keys))
	for i, k := range m.keys {
		metas[i] = k.meta
	}
	if cur, ok := gatehouse.CurrentSigningKey(metas, now); ok {
		return m.byKID[cur.KID], nil
	}
	for _, k := range m.keys {
		if k.meta.CanSign(now) {
			return k, nil
		}
	}
	return nil, errors.New("keys: no signing key")
}

// Sign returns claims, marshalled with encoding/json, as a compact JWS
// signed with the current key: its header holds alg, kid and, when typ is
// not empty, typ.
func (m *Manager) Sign(ctx context.Context, typ string, claims any) (string, error) {
	k, err := m.signer(m.d.Now())
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("keys: claims: %w", err)
	}
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: k.private, KeyID: k.meta.KID}}, opts)
	if err != nil {
		return "", fmt.Errorf("keys: %w", err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("keys: signing: %w", err)
	}
	return obj.CompactSerialize()
}

// refused is Verify's error: the token is not gatehouse's.
func refused(why string, cause error) error {
	return &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: gatehouse.ReasonCredentialInvalid, Message: "The token's signature is not valid: " + why + ".", Err: cause}
}

// Verify checks that token is a compact JWS signed by a key published now
// with that key's algorithm, and returns its typ header ("" when none) and
// its payload. It checks no claim: expiry, issuer and audience are the
// caller's. A kid it does not know makes it reread the store (at most once
// every few seconds: another replica may have rotated) before refusing.
// Every refusal is EUNAUTHORIZED (ReasonCredentialInvalid).
func (m *Manager) Verify(ctx context.Context, token string) (typ string, payload []byte, err error) {
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	if err != nil {
		return "", nil, refused("not a JWS signed with RS256, ES256 or EdDSA", err)
	}
	if len(jws.Signatures) != 1 {
		return "", nil, refused("not one signature", nil)
	}
	h := jws.Signatures[0].Protected
	k := m.published(h.KeyID)
	if k == nil && h.KeyID != "" && m.refreshOnMiss(ctx) {
		k = m.published(h.KeyID)
	}
	if k == nil {
		return "", nil, refused("unknown kid", nil)
	}
	if h.Algorithm != string(k.alg) {
		return "", nil, refused("the algorithm is not the key's", nil)
	}
	payload, err = jws.Verify(k.public)
	if err != nil {
		return "", nil, refused("bad signature", err)
	}
	if v, ok := h.ExtraHeaders[jose.HeaderType]; ok {
		s, isString := v.(string)
		if !isString {
			return "", nil, refused("typ is not a string", nil)
		}
		typ = s
	}
	return typ, payload, nil
}

// published is the loaded key kid when it is published now.
func (m *Manager) published(kid string) *key {
	m.mu.RLock()
	k := m.byKID[kid]
	m.mu.RUnlock()
	if k == nil || !k.meta.Published(m.d.Now()) {
		return nil
	}
	return k
}

// refreshOnMiss rereads the store unless it did for a miss less than
// missRefreshEvery ago; it reports whether it did.
func (m *Manager) refreshOnMiss(ctx context.Context) bool {
	m.missMu.Lock()
	now := m.d.Now()
	if !m.lastMiss.IsZero() && now.Sub(m.lastMiss) < missRefreshEvery {
		m.missMu.Unlock()
		return false
	}
	m.lastMiss = now
	m.missMu.Unlock()
	if err := m.Refresh(ctx); err != nil {
		m.d.Log.Warn("signing keys: reread for an unknown kid", "err", err)
		return false
	}
	return true
}

// JWKS returns the RFC 7517 key set {"keys":[...]} of every key published
// now (public members only: kid, kty, alg, use "sig" and the key's
// own), by schedule, and the max-age the HTTP layer should send with it.
//
// The document is built again only when the keys it holds change (every
// relying party fetches it); the slice returned is shared: not to be
// changed.
func (m *Manager) JWKS(ctx context.Context) (doc []byte, maxAge time.Duration, err error) {
	now := m.d.Now()
	var published []*key
	m.mu.RLock()
	for _, k := range m.keys {
		if k.meta.Published(now) {
			published = append(published, k)
		}
	}
	m.mu.RUnlock()
	m.jwksMu.Lock()
	defer m.jwksMu.Unlock()
	if m.jwksDoc != nil && slices.Equal(published, m.jwksKeys) {
		return m.jwksDoc, JWKSMaxAge, nil
	}
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(published))}
	for _, k := range published {
		set.Keys = append(set.Keys, k.jwk)
	}
	doc, err = json.Marshal(set)
	if err != nil {
		return nil, 0, fmt.Errorf("keys: JWKS: %w", err)
	}
	m.jwksDoc, m.jwksKeys = doc, published
	return doc, JWKSMaxAge, nil
}

// Algorithms returns the algorithms of the keys published now, the
// current key's first, each once (discovery's
// id_token_signing_alg_values_supported).
func (m *Manager) Algorithms() []string {
	now := m.d.Now()
	var algs []string
	if k, err := m.signer(now); err == nil {
		algs = append(algs, k.meta.Algorithm)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, k := range m.keys {
		if k.meta.Published(now) && !slices.Contains(algs, k.meta.Algorithm) {
			algs = append(algs, k.meta.Algorithm)
		}
	}
	return algs
}

// generate makes a key of alg, its private key sealed; the schedule is the
// caller's to fill in.
func (m *Manager) generate(alg string) (gatehouse.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		err = fmt.Errorf("algorithm %q", alg)
	}
	if err != nil {
		return gatehouse.SigningKey{}, fmt.Errorf("keys: generating a key: %w", err)
	}
	var id [16]byte
	if _, err := io.ReadFull(m.d.Random, id[:]); err != nil {
		return gatehouse.SigningKey{}, fmt.Errorf("keys: kid: %w", err)
	}
	// Hex, not base64url: a kid may start with "-" in base64url, which
	// `gatehouse keys retire KID` would take for a flag.
	return m.seal(priv, hex.EncodeToString(id[:]), alg)
}

// open reads a stored key: its public JWK and its sealed private key,
// which must be a pair of the key's algorithm.
func (m *Manager) open(meta gatehouse.SigningKey) (*key, error) {
	bad := func(why string, err error) error {
		if err != nil {
			why += ": " + err.Error()
		}
		return fmt.Errorf("keys: stored signing key %s: %s", meta.KID, why)
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(meta.PublicKey); err != nil {
		return nil, bad("public key", err)
	}
	if !jwk.IsPublic() || jwk.KeyID != meta.KID || jwk.Algorithm != meta.Algorithm {
		return nil, bad("the public key is not a public JWK of this kid and algorithm", nil)
	}
	der, err := m.d.Box.Open(meta.Sealed)
	if err != nil {
		return nil, bad("the private key does not open with this server secret", err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	clear(der)
	if err != nil {
		return nil, bad("private key", err)
	}
	priv, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, bad("not a signing key", nil)
	}
	okType := false
	switch p := priv.(type) {
	case *rsa.PrivateKey:
		okType = meta.Algorithm == RS256 && p.N.BitLen() >= rsaBits
	case *ecdsa.PrivateKey:
		okType = meta.Algorithm == ES256 && p.Curve == elliptic.P256()
	case ed25519.PrivateKey:
		okType = meta.Algorithm == EdDSA
	}
	if !okType {
		return nil, bad("the private key does not fit "+meta.Algorithm, nil)
	}
	if eq, ok := priv.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(jwk.Key) {
		return nil, bad("the public and private keys are not a pair", nil)
	}
	return &key{alg: jose.SignatureAlgorithm(meta.Algorithm), public: jwk.Key, private: priv,
		jwk: jose.JSONWebKey{Key: jwk.Key, KeyID: meta.KID, Algorithm: meta.Algorithm, Use: "sig"}}, nil
}

// stamp is now as the store keeps times, to the microsecond, so that what
// Rotate returns is what List reads back.
func (m *Manager) stamp() time.Time { return m.d.Now().Truncate(time.Microsecond) }
