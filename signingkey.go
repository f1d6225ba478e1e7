package gatehouse

import (
	"cmp"
	"slices"
	"time"
)

// SigningKey is one asymmetric key gatehouse signs tokens with (id_tokens,
// JWT access tokens), kept in the store so that every replica signs with
// the same key and publishes the same set (package keys). Its schedule is
// in timestamps, so that each replica decides by its own clock which key
// signs, without asking the others:
//
//	Created <= SignsFrom                the key is published from Created
//	SignsFrom <= now < SignsUntil       it may sign (SignsUntil nil: no end yet)
//	now < PublishedUntil                it is published (nil: no end yet)
//
// The store never sees the private key in clear: Sealed is the PKCS#8 DER
// sealed with the server secret's box.
type SigningKey struct {
	// KID is the key's random id, the "kid" of its JWK and of every token
	// it signs.
	KID string
	// Algorithm is the JWS algorithm: RS256, ES256 or EdDSA.
	Algorithm string
	// PublicKey is the public key as a JWK (JSON, with kid, alg and use).
	PublicKey []byte
	// Sealed is the private key, sealed (never in clear).
	Sealed []byte
	// Created is when the key was made and published.
	Created time.Time
	// SignsFrom is when the key starts signing (the newest key whose
	// SignsFrom has come signs).
	SignsFrom time.Time
	// SignsUntil is when a newer key replaces it, or when it was retired;
	// nil while no newer key is scheduled.
	SignsUntil *time.Time
	// PublishedUntil is when it leaves the key set (and the store); nil
	// while not scheduled. A key past it is retired.
	PublishedUntil *time.Time
}

// The states of a signing key, as `gatehouse keys list` shows them.
const (
	KeyNext     = "next"     // published, signs from SignsFrom on
	KeyCurrent  = "current"  // signs new tokens
	KeyPrevious = "previous" // replaced, published until what it signed expires
	KeyRetired  = "retired"  // withdrawn: no longer published
)

// Published reports whether k is in the key set at now.
func (k SigningKey) Published(now time.Time) bool {
	return k.PublishedUntil == nil || now.Before(*k.PublishedUntil)
}

// Retired reports whether k left the key set by now.
func (k SigningKey) Retired(now time.Time) bool { return !k.Published(now) }

// CanSign reports whether k may sign at now or later: it is published and
// its signing period has not ended.
func (k SigningKey) CanSign(now time.Time) bool {
	return k.Published(now) && (k.SignsUntil == nil || now.Before(*k.SignsUntil))
}

// NeverSigns reports whether k is published only: its signing period is
// empty (a key imported for what it signed elsewhere).
func (k SigningKey) NeverSigns() bool {
	return k.SignsUntil != nil && !k.SignsUntil.After(k.SignsFrom)
}

// CurrentSigningKey returns the key that signs at now: the newest (by
// SignsFrom, then Created) that is not retired, whose SignsFrom has come
// and which signs at all (not NeverSigns). ok is false when there is none.
func CurrentSigningKey(keys []SigningKey, now time.Time) (k SigningKey, ok bool) {
	for _, c := range keys {
		if c.Retired(now) || c.SignsFrom.After(now) || c.NeverSigns() {
			continue
		}
		if !ok || compareSchedule(c, k) > 0 {
			k, ok = c, true
		}
	}
	return k, ok
}

// compareSchedule orders keys by SignsFrom, then Created, then KID.
func compareSchedule(a, b SigningKey) int {
	return cmp.Or(a.SignsFrom.Compare(b.SignsFrom), a.Created.Compare(b.Created), cmp.Compare(a.KID, b.KID))
}

// SortSigningKeys sorts keys by their schedule, the earliest first.
func SortSigningKeys(keys []SigningKey) { slices.SortFunc(keys, compareSchedule) }

// SigningKeyState says what k is among keys at now: KeyRetired,
// KeyCurrent, KeyNext or KeyPrevious.
func SigningKeyState(keys []SigningKey, k SigningKey, now time.Time) string {
	switch cur, ok := CurrentSigningKey(keys, now); {
	case k.Retired(now):
		return KeyRetired
	case ok && cur.KID == k.KID:
		return KeyCurrent
	case k.SignsFrom.After(now):
		return KeyNext
	}
	return KeyPrevious
}

// SigningKeyChange is what an UpdateSigningKeys function asks for: keys
// to insert, and keys whose schedule (SignsFrom, SignsUntil,
// PublishedUntil) to rewrite, by KID.
type SigningKeyChange struct {
	Create []SigningKey
	Update []SigningKey
}
